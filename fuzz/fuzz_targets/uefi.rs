//! Fuzzes the UEFI readers: raw descriptors with any descriptor size, and the `uefi` crate's map over the same bytes.
#![no_main]

mod common;

use bootmem_firmware::efi;
use libfuzzer_sys::fuzz_target;
use uefi::mem::memory_map::{MemoryMapMeta, MemoryMapRef};

#[repr(C, align(8))]
struct Aligned([u8; 4096]);

fuzz_target!(|data: &[u8]| {
    let Some((&size, rest)) = data.split_first() else {
        return;
    };
    let descriptor_size = usize::from(size);
    common::check(|builder, policy| {
        efi::add_descriptors(rest, descriptor_size, builder, policy).map(drop)
    });
    let mut buffer = Box::new(Aligned([0; 4096]));
    let length = rest.len().min(4096);
    buffer.0[..length].copy_from_slice(&rest[..length]);
    let meta = MemoryMapMeta {
        map_size: length,
        desc_size: descriptor_size,
        map_key: Default::default(),
        desc_version: 1,
    };
    if let Ok(map) = MemoryMapRef::new(&buffer.0[..length], meta) {
        common::check(|builder, policy| {
            bootmem_firmware::uefi::add(&map, builder, policy).map(drop)
        });
    }
});
