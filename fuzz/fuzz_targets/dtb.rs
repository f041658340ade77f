//! Fuzzes the command's device tree reader (`bootmem_firmware::text::dtb`) and the normalisation of what it reads: no input may panic.
#![no_main]

use bootmem::PageSize;
use bootmem_firmware::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = text::dtb::parse(data, Some(0x8000_0000)).map(|map| map.normalise(PageSize::SIZE_4KIB));
});
