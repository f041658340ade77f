//! UEFI maps: the `uefi` crate's map and the raw bytes GetMemoryMap returns, with a descriptor size above 40 and entries out of order.

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
use bootmem::PageSize;
use bootmem_firmware::{efi, FirmwareError, Location, Policy, Problem};
use uefi::mem::memory_map::{
    MemoryAttribute, MemoryDescriptor, MemoryMapMeta, MemoryMapRef, MemoryType,
};

/// OVMF's map of a 512 MiB guest, shortened, in the firmware's (unsorted) order.
fn ovmf() -> Vec<(MemoryType, u64, u64, MemoryAttribute)> {
    let plain = MemoryAttribute::WRITE_BACK;
    vec![
        (MemoryType::BOOT_SERVICES_CODE, 0, 1, plain),
        (MemoryType::CONVENTIONAL, 0x1000, 0x9f, plain),
        (MemoryType::CONVENTIONAL, 0x10_0000, 0x700, plain),
        (MemoryType::ACPI_NON_VOLATILE, 0x80_0000, 0x8, plain),
        (MemoryType::LOADER_CODE, 0x1e00_0000, 0x100, plain),
        (MemoryType::CONVENTIONAL, 0x90_0000, 0x1_d700, plain),
        (
            MemoryType::RUNTIME_SERVICES_DATA,
            0x1f00_0000,
            0x80,
            plain | MemoryAttribute::RUNTIME,
        ),
        (MemoryType::BOOT_SERVICES_DATA, 0x1e10_0000, 0xf00, plain),
        (MemoryType::ACPI_RECLAIM, 0x1f08_0000, 0x10, plain),
        (
            MemoryType::RESERVED,
            0xfec0_0000,
            0x1,
            MemoryAttribute::UNCACHEABLE,
        ),
    ]
}

const STRIDE: usize = 48;

#[repr(C, align(8))]
struct Buffer([u8; 4096]);

fn buffer(descriptors: &[(MemoryType, u64, u64, MemoryAttribute)]) -> Box<Buffer> {
    let mut buffer = Box::new(Buffer([0xa5; 4096]));
    for (slot, &(ty, phys_start, page_count, att)) in descriptors.iter().enumerate() {
        let descriptor = MemoryDescriptor {
            ty,
            phys_start,
            page_count,
            att,
            ..MemoryDescriptor::default()
        };
        let bytes = &mut buffer.0[slot * STRIDE..][..STRIDE];
        // SAFETY: a descriptor is 40 bytes of plain data, written inside the 48-byte slot.
        unsafe { core::ptr::write_unaligned(bytes.as_mut_ptr().cast(), descriptor) };
    }
    buffer
}

fn expected_ram() -> u64 {
    ovmf()
        .iter()
        .filter(|(ty, ..)| bootmem_firmware::uefi::type_kind(*ty) == RangeKind::Ram)
        .map(|&(_, _, pages, _)| pages * 4096)
        .sum()
}

#[test]
fn the_crates_map_with_48_byte_descriptors_out_of_order() {
    let descriptors = ovmf();
    let buffer = buffer(&descriptors);
    let meta = MemoryMapMeta {
        map_size: descriptors.len() * STRIDE,
        desc_size: STRIDE,
        map_key: Default::default(),
        desc_version: 1,
    };
    let map = MemoryMapRef::new(&buffer.0[..meta.map_size], meta).unwrap();
    let mut builder = MemoryMapBuilder::<32, 1>::new();
    let summary = bootmem_firmware::uefi::add(&map, &mut builder, Policy::Strict).unwrap();
    assert_eq!(summary.entries, descriptors.len());
    assert_eq!(summary.ram_bytes, u128::from(expected_ram()));
    let memory_map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB).unwrap();
    assert_eq!(memory_map.ram_bytes(), expected_ram());
    let kind_at = |address: u64| {
        memory_map
            .ranges()
            .iter()
            .find(|range| range.start.as_u64() <= address && address < range.end.as_u64())
            .map(|range| range.kind)
    };
    assert_eq!(kind_at(0x80_0000), Some(RangeKind::AcpiNvs));
    assert_eq!(kind_at(0x1f00_0000), Some(RangeKind::Reserved));
    assert_eq!(kind_at(0x1f08_0000), Some(RangeKind::AcpiData));
    assert_eq!(
        kind_at(0x1e10_0000),
        Some(RangeKind::Ram),
        "boot services data is free after ExitBootServices"
    );
}

#[test]
fn the_raw_reader_agrees_with_the_crates_map() {
    let descriptors = ovmf();
    let buffer = buffer(&descriptors);
    let mut builder = MemoryMapBuilder::<32, 1>::new();
    let bytes = &buffer.0[..descriptors.len() * STRIDE];
    let summary = efi::add_descriptors(bytes, STRIDE, &mut builder, Policy::Strict).unwrap();
    assert_eq!(summary.ram_bytes, u128::from(expected_ram()));
}

fn raw_error(bytes: &[u8], stride: usize) -> FirmwareError {
    let mut builder = MemoryMapBuilder::<32, 1>::new();
    let error = efi::add_descriptors(bytes, stride, &mut builder, Policy::Strict).unwrap_err();
    assert!(
        builder.added_ranges().is_empty(),
        "nothing half added: {error}"
    );
    error
}

#[test]
fn broken_raw_maps_are_named() {
    let descriptors = ovmf();
    let buffer = buffer(&descriptors);
    let bytes = &buffer.0[..descriptors.len() * STRIDE];
    assert_eq!(
        raw_error(bytes, 32).problem,
        Problem::DescriptorTooSmall {
            size: 32,
            minimum: 40
        }
    );
    let truncated = raw_error(&bytes[..bytes.len() - 8], STRIDE);
    assert_eq!(truncated.location, Location::Entry(descriptors.len() - 1));

    let mut overlapping = descriptors.clone();
    overlapping.push((
        MemoryType::CONVENTIONAL,
        0x10_1000,
        1,
        MemoryAttribute::WRITE_BACK,
    ));
    let error = raw_error(&buffer_bytes(&overlapping), STRIDE);
    assert_eq!(
        error.problem,
        Problem::Overlaps {
            other: Location::Entry(2)
        }
    );
    assert_eq!(error.location, Location::Entry(descriptors.len()));

    let empty = raw_error(
        &buffer_bytes(&[(
            MemoryType::CONVENTIONAL,
            0x1000,
            0,
            MemoryAttribute::empty(),
        )]),
        STRIDE,
    );
    assert_eq!(
        (empty.location, empty.problem),
        (Location::Entry(0), Problem::Empty)
    );

    let wrapping = raw_error(
        &buffer_bytes(&[(
            MemoryType::CONVENTIONAL,
            0xffff_ffff_ffff_0000,
            0x100,
            MemoryAttribute::empty(),
        )]),
        STRIDE,
    );
    assert!(matches!(wrapping.problem, Problem::Wraps { .. }));
    let pages_overflow = raw_error(
        &buffer_bytes(&[(
            MemoryType::CONVENTIONAL,
            0,
            u64::MAX / 2,
            MemoryAttribute::empty(),
        )]),
        STRIDE,
    );
    assert!(matches!(pages_overflow.problem, Problem::Wraps { .. }));
}

fn buffer_bytes(descriptors: &[(MemoryType, u64, u64, MemoryAttribute)]) -> Vec<u8> {
    buffer(descriptors).0[..descriptors.len() * STRIDE].to_vec()
}

#[test]
fn specific_purpose_memory_is_soft_reserved() {
    let descriptor = MemoryDescriptor {
        ty: MemoryType::CONVENTIONAL,
        att: MemoryAttribute::SPECIAL_PURPOSE,
        ..MemoryDescriptor::default()
    };
    assert_eq!(
        bootmem_firmware::uefi::range_kind(&descriptor),
        RangeKind::SoftReserved
    );
    assert_eq!(
        bootmem_firmware::uefi::type_kind(MemoryType::PERSISTENT_MEMORY),
        RangeKind::Persistent
    );
    assert_eq!(
        bootmem_firmware::uefi::type_kind(MemoryType::UNUSABLE),
        RangeKind::Unusable
    );
    assert_eq!(
        bootmem_firmware::uefi::type_kind(MemoryType::MMIO),
        RangeKind::Reserved
    );
}
