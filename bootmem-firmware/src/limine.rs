//! The `limine` crate's memory map response: `MemoryMapResponse::entries()`, a slice of `&limine::memory_map::Entry`.
//!
//! Limine's types: usable memory is RAM; bootloader-reclaimable memory
//! (the loader's page tables, the response structures) is reserved at boot,
//! since the kernel still reads it while it sets up the allocator;
//! executable-and-modules holds the kernel itself; ACPI reclaimable is ACPI
//! data; the framebuffer and anything newer is reserved.
//!
//! ```
//! use bootmem::memory_map::MemoryMapBuilder;
//! use bootmem::PageSize;
//! use bootmem_firmware::Policy;
//! use limine::memory_map::{Entry, EntryType};
//!
//! // What `MEMORY_MAP_REQUEST.get_response().unwrap().entries()` gives.
//! let low = Entry { base: 0x1000, length: 0x9_e000, entry_type: EntryType::USABLE };
//! let acpi = Entry { base: 0xe_0000, length: 0x2_0000, entry_type: EntryType::ACPI_RECLAIMABLE };
//! let high = Entry { base: 0x10_0000, length: 0x7ff0_0000, entry_type: EntryType::USABLE };
//! let entries: &[&Entry] = &[&low, &acpi, &high];
//!
//! let mut builder = MemoryMapBuilder::<64, 1>::new();
//! bootmem_firmware::limine::add(entries, &mut builder, Policy::Strict)?;
//! let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB)?;
//! assert_eq!(map.ram_bytes(), 0x9_e000 + 0x7ff0_0000);
//! # Ok::<(), bootmem_firmware::FirmwareError>(())
//! ```

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
use limine::memory_map::{Entry as LimineEntry, EntryType};

use crate::entry::{add_source, Entry, EntryKind, Policy, Source, Summary};
use crate::error::FirmwareError;

/// The kind of a Limine memory map type.
///
/// ```
/// use bootmem::memory_map::RangeKind;
/// use bootmem_firmware::limine::range_kind;
/// use limine::memory_map::EntryType;
/// assert_eq!(range_kind(EntryType::USABLE), RangeKind::Ram);
/// assert_eq!(range_kind(EntryType::BOOTLOADER_RECLAIMABLE), RangeKind::Reserved);
/// ```
pub fn range_kind(entry_type: EntryType) -> RangeKind {
    match entry_type {
        EntryType::USABLE => RangeKind::Ram,
        EntryType::ACPI_RECLAIMABLE => RangeKind::AcpiData,
        EntryType::ACPI_NVS => RangeKind::AcpiNvs,
        EntryType::BAD_MEMORY => RangeKind::Unusable,
        _ => RangeKind::Reserved,
    }
}

struct Entries<'a>(&'a [&'a LimineEntry]);

impl Source for Entries<'_> {
    fn visit(
        &self,
        visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        for (index, entry) in self.0.iter().enumerate() {
            let kind = EntryKind::Range(range_kind(entry.entry_type));
            visit(Entry::at_index(index, entry.base, entry.length, kind))?;
        }
        Ok(())
    }
}

/// Adds the entries of a Limine memory map response.
///
/// # Errors
///
/// The entry policy's errors, by the entry's index; nothing is added on error.
pub fn add<const RANGES: usize, const NODES: usize>(
    entries: &[&LimineEntry],
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    add_source(&Entries(entries), builder, policy)
}
