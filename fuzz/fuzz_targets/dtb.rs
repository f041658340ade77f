//! Fuzzes the dtb reader of `bootmem map` and the normalisation of what it reads: no input may panic.
#![no_main]

use bootmem::PageSize;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../bootmem-cli/src/parse/mod.rs"]
mod parse;

fuzz_target!(|data: &[u8]| {
    let _ =
        parse::dtb::parse(data, Some(0x8000_0000)).map(|map| map.normalise(PageSize::SIZE_4KIB));
});
