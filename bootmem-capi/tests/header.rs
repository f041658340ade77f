//! The checked-in C header is what cbindgen generates from the sources today.

use std::path::Path;

/// The header cbindgen generates now.
fn generated_header() -> String {
    let crate_directory = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_directory.join("cbindgen.toml"))
        .expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_directory.join("src/lib.rs"))
        .generate()
        .expect("cbindgen reads the sources");
    let mut bytes = Vec::new();
    bindings.write(&mut bytes);
    String::from_utf8(bytes).expect("the header is UTF-8")
}

#[test]
fn checked_in_header_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/bootmem.h");
    let generated = generated_header();
    if std::env::var_os("BOOTMEM_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("include/bootmem.h is writable");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/bootmem.h is stale: regenerate it with \
         BOOTMEM_UPDATE_HEADER=1 cargo test -p bootmem-capi --test header"
    );
}

#[test]
fn header_declares_the_linux_names() {
    let header = generated_header();
    for declaration in [
        "unsigned long init_bootmem_node(int nid,",
        "void *alloc_bootmem(unsigned long size);",
        "void *__alloc_bootmem_node_nopanic(int nid,",
        "int free_bootmem(unsigned long physaddr, unsigned long size);",
        "int reserve_bootmem(unsigned long addr, unsigned long size, int flags);",
        "unsigned long free_all_bootmem(void);",
        "#define BOOTMEM_EXCLUSIVE 1",
    ] {
        assert!(header.contains(declaration), "missing: {declaration}");
    }
}
