//! Fuzzes the no_std device tree reader (dtoolkit behind our own token walk): no blob may panic or half-add.
#![no_main]

mod common;

use bootmem_firmware::devicetree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::check(|builder, policy| devicetree::add(data, builder, policy).map(drop));
});
