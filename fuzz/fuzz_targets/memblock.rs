//! Fuzzes memblock's view of a log (`memblock_add:` / `memblock_remove:` lines, the MEMBLOCK dump) as the dmesg reader takes it: no input may panic.
#![no_main]

use bootmem::PageSize;
use bootmem_firmware::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // Half the inputs get the prefixes that make their lines memblock lines.
    let mut log = String::new();
    for (index, line) in input.lines().enumerate() {
        let prefix = match (data.len() % 2, index % 4) {
            (0, 0) => "[    0.000000] memblock_add: ",
            (0, 1) => "[    0.000000] memblock_remove: ",
            (0, 2) => "[    0.000000]  memory[0x0]\t",
            _ => "",
        };
        log.push_str(prefix);
        log.push_str(line);
        log.push('\n');
    }
    let _ = text::memblock::has_debug_trace(&log);
    if let Ok(map) = text::dmesg::parse(&log) {
        let _ = map.normalise(PageSize::SIZE_4KIB);
    }
});
