//! The raw e820 reader on QEMU's table and on broken ones: every bad entry is named, nothing is half added.

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
use bootmem::PageSize;
use bootmem_firmware::{e820, FirmwareError, Location, Policy, Problem};

fn table(entries: &[(u64, u64, u32)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for &(address, size, kind) in entries {
        bytes.extend_from_slice(&address.to_le_bytes());
        bytes.extend_from_slice(&size.to_le_bytes());
        bytes.extend_from_slice(&kind.to_le_bytes());
    }
    bytes
}

/// QEMU's e820 for a 3 GiB i440FX guest.
const QEMU: &[(u64, u64, u32)] = &[
    (0, 0x9_fc00, 1),
    (0x9_fc00, 0x400, 2),
    (0xf_0000, 0x1_0000, 2),
    (0x10_0000, 0xbfee_0000, 1),
    (0xbffe_0000, 0x2_0000, 2),
    (0xfeff_c000, 0x4000, 2),
    (0xfffc_0000, 0x4_0000, 2),
    (0x1_0000_0000, 0x4000_0000, 1),
];

fn read(
    entries: &[(u64, u64, u32)],
    policy: Policy,
) -> Result<MemoryMapBuilder<16, 2>, FirmwareError> {
    let mut builder = MemoryMapBuilder::new();
    e820::add(&table(entries), &mut builder, policy)?;
    Ok(builder)
}

fn error_of(entries: &[(u64, u64, u32)]) -> FirmwareError {
    read(entries, Policy::Strict).expect_err("a broken table")
}

#[test]
fn qemus_table_gives_its_ram_exactly() {
    let mut builder = MemoryMapBuilder::<16, 2>::new();
    let summary = e820::add(&table(QEMU), &mut builder, Policy::Strict).unwrap();
    assert_eq!(summary.entries, 8);
    assert_eq!(summary.ram_bytes, 0x9_fc00 + 0xbfee_0000 + 0x4000_0000);
    let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB).unwrap();
    assert_eq!(map.ram_bytes(), 0x9_f000 + 0xbfee_0000 + 0x4000_0000);
    assert!(map
        .ranges()
        .iter()
        .any(|range| range.kind == RangeKind::Reserved && range.start.as_u64() == 0xf_0000));
}

#[test]
fn unsorted_entries_are_accepted() {
    let mut reversed = QEMU.to_vec();
    reversed.reverse();
    let sorted = bootmem_firmware::build(&read(QEMU, Policy::Strict).unwrap(), PageSize::SIZE_4KIB);
    let unsorted = bootmem_firmware::build(
        &read(&reversed, Policy::Strict).unwrap(),
        PageSize::SIZE_4KIB,
    );
    assert_eq!(sorted.unwrap().ranges(), unsorted.unwrap().ranges());
}

#[test]
fn broken_entries_are_named_by_index() {
    let wrapping = error_of(&[(0, 0x1000, 1), (u64::MAX - 0xfff, 0x2000, 1)]);
    assert_eq!(wrapping.location, Location::Entry(1));
    assert!(matches!(wrapping.problem, Problem::Wraps { .. }));
    assert!(wrapping.to_string().starts_with("entry 1: "), "{wrapping}");

    let empty = error_of(&[(0, 0x1000, 1), (0x1000, 0, 1)]);
    assert_eq!(
        (empty.location, empty.problem),
        (Location::Entry(1), Problem::Empty)
    );

    let overlapping = error_of(&[
        (0, 0x10_0000, 1),
        (0x2000, 0x1000, 2),
        (0x8_0000, 0x10_0000, 1),
    ]);
    assert_eq!(
        (overlapping.location, overlapping.problem),
        (
            Location::Entry(1),
            Problem::Overlaps {
                other: Location::Entry(0)
            }
        )
    );

    let duplicate = error_of(&[
        (0x10_0000, 0x1000, 1),
        (0, 0x1000, 1),
        (0x10_0000, 0x1000, 1),
    ]);
    assert_eq!(
        (duplicate.location, duplicate.problem),
        (
            Location::Entry(2),
            Problem::Duplicate {
                other: Location::Entry(0)
            }
        )
    );
}

#[test]
fn a_truncated_table_names_its_last_entry() {
    let mut bytes = table(QEMU);
    bytes.truncate(bytes.len() - 3);
    let mut builder = MemoryMapBuilder::<16, 2>::new();
    let error = e820::add(&bytes, &mut builder, Policy::Strict).unwrap_err();
    assert_eq!(error.location, Location::Entry(7));
    assert!(matches!(
        error.problem,
        Problem::Truncated {
            needed: 20,
            available: 17
        }
    ));
    assert!(builder.added_ranges().is_empty(), "nothing half added");
}

#[test]
fn more_entries_than_room_names_the_first_that_does_not_fit() {
    let mut builder = MemoryMapBuilder::<4, 1>::new();
    builder
        .add_reserved(
            bootmem::PhysicalAddress::new(0),
            bootmem::PhysicalAddress::new(0x1000),
        )
        .unwrap();
    let error = e820::add(&table(QEMU), &mut builder, Policy::Strict).unwrap_err();
    assert_eq!(
        (error.location, error.problem),
        (Location::Entry(3), Problem::TooManyEntries { capacity: 4 })
    );
    assert_eq!(builder.added_ranges().len(), 1, "the builder is as it was");
}

#[test]
fn the_sanitising_policy_skips_empty_entries_and_lets_reservations_win() {
    let entries = [
        (0, 0x20_0000, 1),
        (0x10_0000, 0, 1),
        (0x10_0000, 0x1000, 2),
        (0x10_0000, 0x1000, 2),
    ];
    let builder = read(&entries, Policy::Sanitise).unwrap();
    let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB).unwrap();
    assert_eq!(map.ram_bytes(), 0x20_0000 - 0x1000);
    // Wrapping stays an error under either policy.
    assert!(read(&[(u64::MAX, 2, 1)], Policy::Sanitise).is_err());
}

#[test]
fn the_zero_page_holds_its_count_and_table() {
    let mut page = vec![0u8; 4096];
    page[e820::ZERO_PAGE_COUNT_OFFSET] = QEMU.len() as u8;
    let bytes = table(QEMU);
    page[e820::ZERO_PAGE_TABLE_OFFSET..][..bytes.len()].copy_from_slice(&bytes);
    let mut builder = MemoryMapBuilder::<16, 2>::new();
    let summary = e820::add_from_zero_page(&page, &mut builder, Policy::Strict).unwrap();
    assert_eq!(summary.entries, QEMU.len());
    page[e820::ZERO_PAGE_COUNT_OFFSET] = 200;
    let error =
        e820::add_from_zero_page(&page, &mut MemoryMapBuilder::<16, 2>::new(), Policy::Strict)
            .unwrap_err();
    assert_eq!(
        error.location,
        Location::Offset(e820::ZERO_PAGE_COUNT_OFFSET)
    );
    assert!(e820::add_from_zero_page(
        &page[..100],
        &mut MemoryMapBuilder::<16, 2>::new(),
        Policy::Strict
    )
    .is_err());
}

#[test]
fn pvh_entries_are_24_bytes() {
    let mut bytes = Vec::new();
    for &(address, size, kind) in QEMU {
        bytes.extend_from_slice(&address.to_le_bytes());
        bytes.extend_from_slice(&size.to_le_bytes());
        bytes.extend_from_slice(&kind.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
    }
    let mut builder = MemoryMapBuilder::<16, 2>::new();
    let summary = e820::add_entries(&bytes, 24, &mut builder, Policy::Strict).unwrap();
    assert_eq!(summary.ram_bytes, 0x9_fc00 + 0xbfee_0000 + 0x4000_0000);
    let error = e820::add_entries(&bytes, 16, &mut builder, Policy::Strict).unwrap_err();
    assert!(matches!(
        error.problem,
        Problem::DescriptorTooSmall {
            size: 16,
            minimum: 20
        }
    ));
}

#[test]
fn errors_are_errors() {
    fn takes(_: &dyn core::error::Error) {}
    takes(&error_of(&[(0, 0, 1)]));
}
