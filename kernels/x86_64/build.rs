//! Links the kernel with its own script at 1 MiB, as a non-PIE executable for PVH.

use std::env;

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-none" {
        panic!("this kernel builds only with --target x86_64-unknown-none (got {target:?})");
    }
    let directory = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg=-T{directory}/link.ld");
    // The 32-bit PVH entry needs absolute addresses: undo the target's static-PIE default.
    println!("cargo:rustc-link-arg=--no-pie");
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
