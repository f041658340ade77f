//! Links the kernel with its own script at 0x80200000, where OpenSBI jumps.

use std::env;

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    if target != "riscv64gc-unknown-none-elf" {
        panic!("this kernel builds only with --target riscv64gc-unknown-none-elf (got {target:?})");
    }
    let directory = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg=-T{directory}/link.ld");
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
