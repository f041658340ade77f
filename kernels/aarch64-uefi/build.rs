//! Refuses any target but aarch64-unknown-uefi, readably.

use std::env;

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    if target != "aarch64-unknown-uefi" {
        panic!("this kernel builds only with --target aarch64-unknown-uefi (got {target:?})");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
