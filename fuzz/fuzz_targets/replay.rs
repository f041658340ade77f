//! Fuzzes `bootmem replay`'s reading and replay of a `memblock=debug` boot log: no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

use bootmem_cli::replay;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = replay::replay(text, "fuzz", replay::Policy::Both);
    }
});
