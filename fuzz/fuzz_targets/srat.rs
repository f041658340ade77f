//! Fuzzes the SRAT reader; the checksum is fixed up first so that the fuzzer reaches the subtables.
#![no_main]

mod common;

use bootmem_firmware::srat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::check(|builder, policy| srat::add(data, builder, policy).map(drop));
    let mut table = data.to_vec();
    if table.len() >= 48 {
        table[..4].copy_from_slice(b"SRAT");
        let length = u32::try_from(table.len()).unwrap_or(u32::MAX);
        table[4..8].copy_from_slice(&length.to_le_bytes());
        table[9] = 0;
        let sum = table.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte));
        table[9] = 0u8.wrapping_sub(sum);
    }
    common::check(|builder, policy| srat::add(&table, builder, policy).map(drop));
});
