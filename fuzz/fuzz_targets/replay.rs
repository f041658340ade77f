//! Fuzzes `bootmem replay`'s reading and replay of a `memblock=debug` boot log: no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../bootmem-cli/src"]
mod cli {
    pub mod parse;
    pub mod replay;
}
use cli::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cli::replay::replay_log(text, "fuzz");
    }
});
