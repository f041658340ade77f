//! Fuzzes the raw e820 reader (20-byte entries, and the zero page): no input may panic or half-add.
#![no_main]

mod common;

use bootmem_firmware::e820;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::check(|builder, policy| e820::add(data, builder, policy).map(drop));
    common::check(|builder, policy| e820::add_from_zero_page(data, builder, policy).map(drop));
    if let Some((&size, rest)) = data.split_first() {
        common::check(|builder, policy| {
            e820::add_entries(rest, usize::from(size), builder, policy).map(drop)
        });
    }
});
