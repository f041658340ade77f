//! Links the kernel with its own script at 0x40200000, clear of the device tree QEMU puts at the start of RAM.

use std::env;

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    if target != "aarch64-unknown-none" {
        panic!("this kernel builds only with --target aarch64-unknown-none (got {target:?})");
    }
    let directory = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg=-T{directory}/link.ld");
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
