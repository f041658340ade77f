//! Limine, bootloader_api and Multiboot2 maps built from the crates' own types, and their broken variants.

use bootloader_api::info::{MemoryRegion, MemoryRegionKind};
use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
use bootmem::PageSize;
use bootmem_firmware::{FirmwareError, Location, Policy, Problem};
use limine::memory_map::{Entry, EntryType};
use multiboot2::{
    EFIMemoryDesc, EFIMemoryMapTag, MaybeDynSized, MemoryArea, MemoryAreaType, MemoryMapTag,
};

type Builder = MemoryMapBuilder<32, 2>;

/// Limine's map of a 2 GiB QEMU guest.
fn limine_entries() -> Vec<Entry> {
    let entry = |base, length, entry_type| Entry {
        base,
        length,
        entry_type,
    };
    vec![
        entry(0, 0x1000, EntryType::RESERVED),
        entry(0x1000, 0x9_e000, EntryType::USABLE),
        entry(0xf_0000, 0x1_0000, EntryType::RESERVED),
        entry(0x10_0000, 0x7ee0_0000, EntryType::USABLE),
        entry(0x7ef0_0000, 0x8_0000, EntryType::BOOTLOADER_RECLAIMABLE),
        entry(0x7ef8_0000, 0x4_0000, EntryType::EXECUTABLE_AND_MODULES),
        entry(0x7efc_0000, 0x2_0000, EntryType::ACPI_RECLAIMABLE),
        entry(0x7efe_0000, 0x2_0000, EntryType::ACPI_NVS),
        entry(0xfd00_0000, 0x30_0000, EntryType::FRAMEBUFFER),
    ]
}

fn limine_read(entries: &[Entry], policy: Policy) -> Result<Builder, FirmwareError> {
    let references: Vec<&Entry> = entries.iter().collect();
    let mut builder = Builder::new();
    bootmem_firmware::limine::add(&references, &mut builder, policy)?;
    Ok(builder)
}

#[test]
fn limines_map_gives_usable_memory_only() {
    let builder = limine_read(&limine_entries(), Policy::Strict).unwrap();
    let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB).unwrap();
    assert_eq!(map.ram_bytes(), 0x9_e000 + 0x7ee0_0000);
    assert!(map
        .ranges()
        .iter()
        .any(|range| range.kind == RangeKind::AcpiNvs));
}

#[test]
fn broken_limine_entries_are_named() {
    let mut entries = limine_entries();
    entries[5].base = 0x7ef0_1000;
    let error = limine_read(&entries, Policy::Strict).unwrap_err();
    assert_eq!(
        (error.location, error.problem),
        (
            Location::Entry(5),
            Problem::Overlaps {
                other: Location::Entry(4)
            }
        )
    );
    let mut entries = limine_entries();
    entries[2].length = 0;
    assert_eq!(
        limine_read(&entries, Policy::Strict).unwrap_err().problem,
        Problem::Empty
    );
    let mut entries = limine_entries();
    entries[8].base = u64::MAX;
    assert_eq!(
        limine_read(&entries, Policy::Sanitise)
            .unwrap_err()
            .location,
        Location::Entry(8)
    );
}

fn region(start: u64, end: u64, kind: MemoryRegionKind) -> MemoryRegion {
    MemoryRegion { start, end, kind }
}

#[test]
fn bootloader_regions_and_their_unknown_kinds() {
    let regions = [
        region(0, 0x1000, MemoryRegionKind::Bootloader),
        region(0x1000, 0xa_0000, MemoryRegionKind::Usable),
        region(0x10_0000, 0x80_0000, MemoryRegionKind::Bootloader),
        region(0x80_0000, 0x7ffe_0000, MemoryRegionKind::Usable),
        region(0x7ffe_0000, 0x8000_0000, MemoryRegionKind::UnknownBios(2)),
        region(0xfeff_c000, 0xff00_0000, MemoryRegionKind::UnknownBios(4)),
    ];
    let mut builder = Builder::new();
    let summary =
        bootmem_firmware::bootloader::add(&regions, &mut builder, Policy::Strict).unwrap();
    assert_eq!(summary.ram_bytes, 0x9_f000 + 0x7f7e_0000);
    let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB).unwrap();
    assert!(map
        .ranges()
        .iter()
        .any(|range| range.kind == RangeKind::AcpiNvs));

    let inverted = [
        region(0x1000, 0xa_0000, MemoryRegionKind::Usable),
        region(0x20_0000, 0x10_0000, MemoryRegionKind::Usable),
    ];
    let error = bootmem_firmware::bootloader::add(&inverted, &mut Builder::new(), Policy::Strict)
        .unwrap_err();
    assert_eq!(error.location, Location::Entry(1));
    assert!(error.to_string().contains("below its start"), "{error}");
}

#[test]
fn multiboot2_memory_map_tag() {
    let tag = MemoryMapTag::new(&[
        MemoryArea::new(0, 0x9_fc00, MemoryAreaType::Available),
        MemoryArea::new(0x9_fc00, 0x400, MemoryAreaType::Reserved),
        MemoryArea::new(0x10_0000, 0x7fee_0000, MemoryAreaType::Available),
        MemoryArea::new(0x7ffe_0000, 0x2_0000, MemoryAreaType::AcpiAvailable),
        MemoryArea::new(0xfffc_0000, 0x4_0000, MemoryAreaType::ReservedHibernate),
    ]);
    let mut builder = Builder::new();
    let summary =
        bootmem_firmware::multiboot2::add_memory_map(&tag, &mut builder, Policy::Strict).unwrap();
    assert_eq!(summary.ram_bytes, 0x9_fc00 + 0x7fee_0000);
    let duplicated = MemoryMapTag::new(&[
        MemoryArea::new(0x10_0000, 0x7fee_0000, MemoryAreaType::Available),
        MemoryArea::new(0x10_0000, 0x7fee_0000, MemoryAreaType::Available),
    ]);
    let error = bootmem_firmware::multiboot2::add_memory_map(
        &duplicated,
        &mut Builder::new(),
        Policy::Strict,
    )
    .unwrap_err();
    assert_eq!(
        error.problem,
        Problem::Duplicate {
            other: Location::Entry(0)
        }
    );
}

fn efi_map(stride: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (ty, start, pages) in [
        (
            uefi_raw::table::boot::MemoryType::CONVENTIONAL,
            0x10_0000u64,
            0x7_0000u64,
        ),
        (
            uefi_raw::table::boot::MemoryType::BOOT_SERVICES_DATA,
            0x1000,
            0x9f,
        ),
        (
            uefi_raw::table::boot::MemoryType::ACPI_NON_VOLATILE,
            0x8000_0000,
            0x10,
        ),
    ] {
        let descriptor = EFIMemoryDesc {
            ty,
            phys_start: start,
            page_count: pages,
            ..EFIMemoryDesc::default()
        };
        let mut slot = vec![0u8; stride];
        // SAFETY: a descriptor is 40 bytes of plain data, written inside the slot.
        unsafe { core::ptr::write_unaligned(slot.as_mut_ptr().cast(), descriptor) };
        bytes.extend_from_slice(&slot);
    }
    bytes
}

#[test]
fn multiboot2_efi_memory_map_tag_with_a_larger_descriptor() {
    let tag = EFIMemoryMapTag::new_from_map(48, 1, &efi_map(48));
    let mut builder = Builder::new();
    let summary =
        bootmem_firmware::multiboot2::add_efi_memory_map(&tag, &mut builder, Policy::Strict)
            .unwrap();
    assert_eq!(summary.entries, 3);
    assert_eq!(summary.ram_bytes, (0x7_0000 + 0x9f) * 4096);
}

#[test]
fn broken_efi_tags_are_errors_where_the_crate_would_panic() {
    // A descriptor size of 8: the crate's own iterator asserts on it.
    let tag = EFIMemoryMapTag::new_from_map(8, 1, &efi_map(48));
    let error =
        bootmem_firmware::multiboot2::add_efi_memory_map(&tag, &mut Builder::new(), Policy::Strict)
            .unwrap_err();
    assert_eq!(
        error.problem,
        Problem::DescriptorTooSmall {
            size: 8,
            minimum: 40
        }
    );
    // A map that is not a whole number of descriptors.
    let ragged = EFIMemoryMapTag::new_from_map(48, 1, &efi_map(48)[..100]);
    let error = bootmem_firmware::multiboot2::add_efi_memory_map(
        &ragged,
        &mut Builder::new(),
        Policy::Strict,
    )
    .unwrap_err();
    assert_eq!(error.location, Location::Entry(2));
    // A tag whose size field lies.
    let mut bytes = tag.as_bytes().to_vec();
    bytes[4..8].copy_from_slice(&4096u32.to_le_bytes());
    assert!(matches!(
        bootmem_firmware::multiboot2::add_efi_tag_bytes(
            &bytes,
            &mut Builder::new(),
            Policy::Strict
        )
        .unwrap_err()
        .problem,
        Problem::Truncated { .. }
    ));
    for length in 0..16 {
        assert!(bootmem_firmware::multiboot2::add_efi_tag_bytes(
            &bytes[..length],
            &mut Builder::new(),
            Policy::Strict
        )
        .is_err());
    }
}
