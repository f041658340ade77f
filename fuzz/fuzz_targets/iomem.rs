//! Fuzzes the iomem reader of `bootmem map` and the normalisation of what it reads: no input may panic.
#![no_main]

use bootmem::PageSize;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../bootmem-cli/src/parse/mod.rs"]
mod parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse::iomem::parse(text).map(|map| map.normalise(PageSize::SIZE_4KIB));
    }
});
