//! Refuses any target but x86_64-unknown-uefi, readably.

use std::env;

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-uefi" {
        panic!("this kernel builds only with --target x86_64-unknown-uefi (got {target:?})");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
