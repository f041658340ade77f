//! x86's e820 table as `boot_params` (the zero page) holds it: entries of 20 bytes, `addr: u64, size: u64, type: u32`.
//!
//! The firmware's INT 15h, E820h answers, as the boot loader copied them
//! into `boot_params.e820_table` (at offset 0x2d0, `e820_entries` of them,
//! the count at offset 0x1e8). The same layout, padded to 24 bytes, is
//! the PVH `hvm_memmap_table_entry`: [`add_entries`] takes the entry size.
//!
//! ```
//! use bootmem::memory_map::MemoryMapBuilder;
//! use bootmem::PageSize;
//! use bootmem_firmware::{e820, Policy};
//!
//! fn entry(address: u64, size: u64, kind: u32) -> [u8; 20] {
//!     let mut bytes = [0; 20];
//!     bytes[..8].copy_from_slice(&address.to_le_bytes());
//!     bytes[8..16].copy_from_slice(&size.to_le_bytes());
//!     bytes[16..].copy_from_slice(&kind.to_le_bytes());
//!     bytes
//! }
//! let table = [entry(0, 0x9_fc00, 1), entry(0x9_fc00, 0x400, 2), entry(0x10_0000, 0x3ff0_0000, 1)].concat();
//! let mut builder = MemoryMapBuilder::<16, 1>::new();
//! let summary = e820::add(&table, &mut builder, Policy::Strict)?;
//! assert_eq!(summary.ram_bytes, 0x9_fc00 + 0x3ff0_0000);
//! let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB)?;
//! assert_eq!(map.ram_bytes(), 0x9_f000 + 0x3ff0_0000);
//! # Ok::<(), bootmem_firmware::FirmwareError>(())
//! ```

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};

use crate::bytes::{le_u32, le_u64};
use crate::entry::{add_source, Entry, EntryKind, Policy, Source, Summary};
use crate::error::{FirmwareError, Location, Problem};

/// Bytes of one `struct boot_e820_entry`.
pub const ENTRY_SIZE: usize = 20;
/// Entries `boot_params.e820_table` has room for (`E820_MAX_ENTRIES_ZEROPAGE`).
pub const ZERO_PAGE_ENTRIES: usize = 128;
/// Offset of `e820_entries` (a `u8`) in `boot_params`.
pub const ZERO_PAGE_COUNT_OFFSET: usize = 0x1e8;
/// Offset of `e820_table` in `boot_params`.
pub const ZERO_PAGE_TABLE_OFFSET: usize = 0x2d0;

/// An e820 table of `entry_size`-byte entries whose first 20 bytes are
/// `addr, size, type`.
struct Table<'a> {
    bytes: &'a [u8],
    entry_size: usize,
}

impl Source for Table<'_> {
    fn visit(
        &self,
        visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        for (index, raw) in self.bytes.chunks(self.entry_size).enumerate() {
            let decoded = (le_u64(raw, 0), le_u64(raw, 8), le_u32(raw, 16));
            let (Some(start), Some(size), Some(kind)) = decoded else {
                return Err(FirmwareError::new(
                    Location::Entry(index),
                    Problem::Truncated {
                        needed: self.entry_size,
                        available: raw.len(),
                    },
                ));
            };
            if raw.len() < self.entry_size {
                return Err(FirmwareError::new(
                    Location::Entry(index),
                    Problem::Truncated {
                        needed: self.entry_size,
                        available: raw.len(),
                    },
                ));
            }
            let kind = EntryKind::Range(RangeKind::from_e820_type(kind));
            visit(Entry::at_index(index, start, size, kind))?;
        }
        Ok(())
    }
}

/// Adds the entries of a raw e820 table (`table.len()` a multiple of 20).
///
/// # Errors
///
/// A truncated last entry, an entry that wraps past 2^64, more entries than
/// the builder holds; with [`Policy::Strict`], zero-length and overlapping
/// entries. Each names the entry by its index; nothing is added on error.
pub fn add<const RANGES: usize, const NODES: usize>(
    table: &[u8],
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    add_entries(table, ENTRY_SIZE, builder, policy)
}

/// Adds a table of `entry_size`-byte entries laid out as e820's (the PVH
/// memory map has 24-byte entries).
///
/// # Errors
///
/// As [`add`]; an `entry_size` below 20 is an error of the table.
pub fn add_entries<const RANGES: usize, const NODES: usize>(
    table: &[u8],
    entry_size: usize,
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    if entry_size < ENTRY_SIZE {
        return Err(FirmwareError::of_table(Problem::DescriptorTooSmall {
            size: entry_size,
            minimum: ENTRY_SIZE,
        }));
    }
    add_source(
        &Table {
            bytes: table,
            entry_size,
        },
        builder,
        policy,
    )
}

/// Adds the e820 table of a whole `boot_params` page (4096 bytes).
///
/// # Errors
///
/// A page too short for its table, a count above 128, and the errors of [`add`].
pub fn add_from_zero_page<const RANGES: usize, const NODES: usize>(
    zero_page: &[u8],
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    let count = *zero_page
        .get(ZERO_PAGE_COUNT_OFFSET)
        .ok_or(FirmwareError::new(
            Location::Offset(ZERO_PAGE_COUNT_OFFSET),
            Problem::Truncated {
                needed: ZERO_PAGE_COUNT_OFFSET + 1,
                available: zero_page.len(),
            },
        ))? as usize;
    if count > ZERO_PAGE_ENTRIES {
        return Err(FirmwareError::malformed(
            Location::Offset(ZERO_PAGE_COUNT_OFFSET),
            "e820_entries is above the 128 entries the zero page holds",
        ));
    }
    let end = ZERO_PAGE_TABLE_OFFSET + count * ENTRY_SIZE;
    let table = zero_page
        .get(ZERO_PAGE_TABLE_OFFSET..end)
        .ok_or(FirmwareError::new(
            Location::Offset(ZERO_PAGE_TABLE_OFFSET),
            Problem::Truncated {
                needed: end,
                available: zero_page.len(),
            },
        ))?;
    add(table, builder, policy)
}
