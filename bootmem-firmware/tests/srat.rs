//! SRAT tables built byte by byte: Linux's node numbering, disabled entries, and every broken length.

use bootmem::memory_map::MemoryMapBuilder;
use bootmem::{NodeId, PageSize};
use bootmem_firmware::{e820, srat, FirmwareError, Location, Policy, Problem};

fn processor(domain: u32, enabled: bool) -> Vec<u8> {
    let mut entry = vec![0u8; 16];
    entry[0] = 0;
    entry[1] = 16;
    entry[2] = domain as u8;
    entry[4..8].copy_from_slice(&u32::from(enabled).to_le_bytes());
    entry[9..12].copy_from_slice(&domain.to_le_bytes()[1..]);
    entry
}

fn x2apic(domain: u32) -> Vec<u8> {
    let mut entry = vec![0u8; 24];
    entry[0] = 2;
    entry[1] = 24;
    entry[4..8].copy_from_slice(&domain.to_le_bytes());
    entry[12..16].copy_from_slice(&1u32.to_le_bytes());
    entry
}

fn memory(domain: u32, base: u64, length: u64, flags: u32) -> Vec<u8> {
    let mut entry = vec![0u8; 40];
    entry[0] = 1;
    entry[1] = 40;
    entry[2..6].copy_from_slice(&domain.to_le_bytes());
    entry[8..16].copy_from_slice(&base.to_le_bytes());
    entry[16..24].copy_from_slice(&length.to_le_bytes());
    entry[28..32].copy_from_slice(&flags.to_le_bytes());
    entry
}

fn table(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = vec![0u8; 48];
    bytes[..4].copy_from_slice(b"SRAT");
    bytes[8] = 3;
    bytes[10..16].copy_from_slice(b"BOCHS ");
    for entry in entries {
        bytes.extend_from_slice(entry);
    }
    let length = bytes.len() as u32;
    bytes[4..8].copy_from_slice(&length.to_le_bytes());
    fix_checksum(&mut bytes);
    bytes
}

fn fix_checksum(bytes: &mut [u8]) {
    bytes[9] = 0;
    let sum = bytes.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte));
    bytes[9] = 0u8.wrapping_sub(sum);
}

/// A 4 GiB two-socket machine as QEMU describes it, whose proximity domains are 7 and 3.
fn two_sockets() -> Vec<u8> {
    table(&[
        processor(7, true),
        x2apic(3),
        processor(9, false),
        memory(3, 0, 0xa_0000, 1),
        memory(3, 0x10_0000, 0x7ff0_0000, 1),
        memory(7, 0x8000_0000, 0x8000_0000, 1),
        memory(7, 0x1_0000_0000, 0x1_0000_0000, 1 | 2),
        memory(5, 0x4_0000_0000, 0x1000_0000, 0),
    ])
}

fn e820_table() -> Vec<u8> {
    let mut bytes = Vec::new();
    for (address, size, kind) in [
        (0u64, 0x9_fc00u64, 1u32),
        (0x10_0000, 0xbfee_0000, 1),
        (0x1_0000_0000, 0x4000_0000, 1),
    ] {
        bytes.extend_from_slice(&address.to_le_bytes());
        bytes.extend_from_slice(&size.to_le_bytes());
        bytes.extend_from_slice(&kind.to_le_bytes());
    }
    bytes
}

#[test]
fn nodes_are_numbered_as_linux_numbers_them() {
    let mut builder = MemoryMapBuilder::<32, 4>::new();
    e820::add(&e820_table(), &mut builder, Policy::Strict).unwrap();
    let summary = srat::add(&two_sockets(), &mut builder, Policy::Strict).unwrap();
    assert_eq!(summary.affinities, 4, "the disabled range is left out");
    let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB).unwrap();
    // PXM 7 appears first (a processor): node 0; PXM 3 next: node 1.
    let node0 = map.node(NodeId::new(0)).unwrap();
    let node1 = map.node(NodeId::new(1)).unwrap();
    assert_eq!(node0.ram_bytes, 0x3ffe_0000 + 0x4000_0000);
    assert_eq!(node1.ram_bytes, 0x9_f000 + 0x7ff0_0000);
    assert_eq!(map.nodes().len(), 2, "the disabled processor names no node");
}

fn error_of(bytes: &[u8]) -> FirmwareError {
    let mut builder = MemoryMapBuilder::<32, 4>::new();
    let error = srat::add(bytes, &mut builder, Policy::Strict).unwrap_err();
    assert!(
        builder.added_affinities().is_empty(),
        "nothing half added: {error}"
    );
    error
}

#[test]
fn broken_tables_are_named_by_offset() {
    let good = two_sockets();
    assert!(matches!(
        error_of(&good[..30]).problem,
        Problem::Truncated { needed: 48, .. }
    ));
    let mut signature = good.clone();
    signature[0] = b'X';
    assert_eq!(error_of(&signature).problem, Problem::BadMagic);
    let mut checksum = good.clone();
    checksum[60] ^= 1;
    assert_eq!(
        error_of(&checksum),
        FirmwareError::new(Location::Offset(9), Problem::BadChecksum)
    );
    let lying = &good[..good.len() - 1];
    assert!(matches!(error_of(lying).problem, Problem::Truncated { .. }));

    let mut zero_length = table(&[memory(0, 0, 0x1000, 1)]);
    zero_length[49] = 0;
    fix_checksum(&mut zero_length);
    assert_eq!(error_of(&zero_length).location, Location::Offset(49));

    let mut short_memory = table(&[memory(0, 0, 0x1000, 1)]);
    short_memory[49] = 20;
    short_memory.truncate(68);
    let length = short_memory.len() as u32;
    short_memory[4..8].copy_from_slice(&length.to_le_bytes());
    fix_checksum(&mut short_memory);
    assert!(matches!(
        error_of(&short_memory).problem,
        Problem::Truncated { needed: 40, .. }
    ));

    let mut running_off = table(&[memory(0, 0, 0x1000, 1)]);
    running_off[49] = 200;
    fix_checksum(&mut running_off);
    assert_eq!(error_of(&running_off).location, Location::Offset(48));

    let overlapping = table(&[
        memory(0, 0, 0x2000_0000, 1),
        memory(1, 0x1000_0000, 0x2000_0000, 1),
    ]);
    let error = error_of(&overlapping);
    assert_eq!(
        (error.location, error.problem),
        (
            Location::Offset(88),
            Problem::Overlaps {
                other: Location::Offset(48)
            }
        )
    );
    let wrapping = table(&[memory(0, u64::MAX - 0xfff, 0x2000, 1)]);
    assert!(matches!(error_of(&wrapping).problem, Problem::Wraps { .. }));
}

#[test]
fn every_prefix_is_an_error_never_a_panic() {
    let good = two_sockets();
    for length in 0..good.len() {
        let mut builder = MemoryMapBuilder::<32, 4>::new();
        assert!(srat::add(&good[..length], &mut builder, Policy::Strict).is_err());
    }
}

#[test]
fn a_builder_without_room_for_the_nodes_is_left_untouched() {
    let mut builder = MemoryMapBuilder::<32, 1>::new();
    let error = srat::add(&two_sockets(), &mut builder, Policy::Strict).unwrap_err();
    assert!(matches!(error.problem, Problem::Map(_)), "{error}");
    assert!(builder.added_affinities().is_empty());
}

/// Physical memory is this process's memory: an identity mapping.
#[derive(Clone, Copy)]
struct Identity;

impl acpi::AcpiHandler for Identity {
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> acpi::PhysicalMapping<Self, T> {
        let pointer = core::ptr::NonNull::new(physical_address as *mut T).expect("a table");
        // SAFETY: the tables of this test live in this process, identity-mapped.
        unsafe { acpi::PhysicalMapping::new(physical_address, pointer, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &acpi::PhysicalMapping<Self, T>) {}
}

/// An XSDT (36-byte header, then 64-bit pointers) listing `tables`.
fn xsdt(tables: &[&[u8]]) -> Vec<u8> {
    let mut bytes = vec![0u8; 36];
    bytes[..4].copy_from_slice(b"XSDT");
    bytes[8] = 1;
    for table in tables {
        bytes.extend_from_slice(&(table.as_ptr() as u64).to_le_bytes());
    }
    let length = bytes.len() as u32;
    bytes[4..8].copy_from_slice(&length.to_le_bytes());
    fix_checksum(&mut bytes);
    bytes
}

#[test]
fn the_acpi_crate_finds_the_srat() {
    let srat_table = two_sockets();
    let root = xsdt(&[&srat_table]);
    // SAFETY: `root` is an XSDT in this process's memory, pointing to `srat_table`, both alive below.
    let tables =
        unsafe { acpi::AcpiTables::from_rsdt(Identity, 2, root.as_ptr() as usize) }.unwrap();
    let mut builder = MemoryMapBuilder::<32, 4>::new();
    let summary = srat::add_from_tables(&tables, &mut builder, Policy::Strict).unwrap();
    assert_eq!(summary.affinities, 4);
    // A machine without an SRAT adds nothing.
    let empty = xsdt(&[]);
    // SAFETY: as above.
    let tables =
        unsafe { acpi::AcpiTables::from_rsdt(Identity, 2, empty.as_ptr() as usize) }.unwrap();
    let summary = srat::add_from_tables(
        &tables,
        &mut MemoryMapBuilder::<32, 4>::new(),
        Policy::Strict,
    )
    .unwrap();
    assert_eq!(summary.entries, 0);
}
