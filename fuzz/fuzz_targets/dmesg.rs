//! Fuzzes the dmesg reader of `bootmem-firmware` (feature `std`) and the normalisation of what it reads: no input may panic.
#![no_main]

use bootmem::PageSize;
use bootmem_firmware::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        let _ = text::dmesg::parse(input).map(|map| map.normalise(PageSize::SIZE_4KIB));
    }
});
