//! Fuzzes the Limine, bootloader_api and Multiboot2 readers with entries made of the input's bytes.
#![no_main]

mod common;

use bootloader_api::info::{MemoryRegion, MemoryRegionKind};
use common::word;
use libfuzzer_sys::fuzz_target;
use limine::memory_map::{Entry, EntryType};
use multiboot2::{MemoryArea, MemoryMapTag};

fuzz_target!(|data: &[u8]| {
    let limine: Vec<Entry> = data
        .chunks(17)
        .map(|chunk| Entry {
            base: word(chunk, 0),
            length: word(chunk, 8),
            entry_type: match chunk.get(16).copied().unwrap_or(0) % 9 {
                0 => EntryType::USABLE,
                1 => EntryType::RESERVED,
                2 => EntryType::ACPI_RECLAIMABLE,
                3 => EntryType::ACPI_NVS,
                4 => EntryType::BAD_MEMORY,
                5 => EntryType::BOOTLOADER_RECLAIMABLE,
                6 => EntryType::EXECUTABLE_AND_MODULES,
                _ => EntryType::FRAMEBUFFER,
            },
        })
        .collect();
    let references: Vec<&Entry> = limine.iter().collect();
    common::check(|builder, policy| {
        bootmem_firmware::limine::add(&references, builder, policy).map(drop)
    });

    let regions: Vec<MemoryRegion> = data
        .chunks(17)
        .map(|chunk| MemoryRegion {
            start: word(chunk, 0),
            end: word(chunk, 8),
            kind: match chunk.get(16).copied().unwrap_or(0) % 4 {
                0 => MemoryRegionKind::Usable,
                1 => MemoryRegionKind::Bootloader,
                2 => MemoryRegionKind::UnknownBios(u32::from(chunk[0])),
                _ => MemoryRegionKind::UnknownUefi(u32::from(chunk[0])),
            },
        })
        .collect();
    common::check(|builder, policy| {
        bootmem_firmware::bootloader::add(&regions, builder, policy).map(drop)
    });

    let areas: Vec<MemoryArea> = data
        .chunks(17)
        .map(|chunk| {
            let kind = u32::from(chunk.get(16).copied().unwrap_or(0));
            MemoryArea::new(
                word(chunk, 0),
                word(chunk, 8),
                multiboot2::MemoryAreaTypeRaw::from(kind),
            )
        })
        .collect();
    let tag = MemoryMapTag::new(&areas);
    common::check(|builder, policy| {
        bootmem_firmware::multiboot2::add_memory_map(&tag, builder, policy).map(drop)
    });
    common::check(|builder, policy| {
        bootmem_firmware::multiboot2::add_efi_tag_bytes(data, builder, policy).map(drop)
    });
});
