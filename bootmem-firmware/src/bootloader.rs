//! The `bootloader` crate's memory map: `bootloader_api::info::MemoryRegions`, half-open `[start, end)` regions.
//!
//! `Usable` is RAM; `Bootloader` (the kernel, its stack, the page tables
//! and the boot information the kernel still reads) is reserved; unknown
//! UEFI and BIOS kinds are mapped by their own tables (see
//! [`crate::efi::range_kind`] and e820 types).
//!
//! ```
//! use bootloader_api::info::{MemoryRegion, MemoryRegionKind, MemoryRegions};
//! use bootmem::memory_map::MemoryMapBuilder;
//! use bootmem::PageSize;
//! use bootmem_firmware::Policy;
//!
//! // What `boot_info.memory_regions` holds.
//! let regions: &'static mut [MemoryRegion] = Box::leak(Box::new([
//!     MemoryRegion { start: 0x1000, end: 0xa_0000, kind: MemoryRegionKind::Usable },
//!     MemoryRegion { start: 0x10_0000, end: 0x40_0000, kind: MemoryRegionKind::Bootloader },
//!     MemoryRegion { start: 0x40_0000, end: 0x8000_0000, kind: MemoryRegionKind::Usable },
//! ]));
//! let regions = MemoryRegions::from(regions);
//!
//! let mut builder = MemoryMapBuilder::<64, 1>::new();
//! bootmem_firmware::bootloader::add(&regions, &mut builder, Policy::Strict)?;
//! let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB)?;
//! assert_eq!(map.ram_bytes(), 0x9_f000 + 0x7fc0_0000);
//! # Ok::<(), bootmem_firmware::FirmwareError>(())
//! ```

use bootloader_api::info::{MemoryRegion, MemoryRegionKind};
use bootmem::memory_map::{MemoryMapBuilder, RangeKind};

use crate::entry::{add_source, Entry, EntryKind, Policy, Source, Summary};
use crate::error::{FirmwareError, Location, Problem};

/// The kind of a region.
///
/// ```
/// use bootloader_api::info::MemoryRegionKind;
/// use bootmem::memory_map::RangeKind;
/// use bootmem_firmware::bootloader::range_kind;
/// assert_eq!(range_kind(MemoryRegionKind::Usable), RangeKind::Ram);
/// assert_eq!(range_kind(MemoryRegionKind::UnknownBios(3)), RangeKind::AcpiData);
/// assert_eq!(range_kind(MemoryRegionKind::UnknownUefi(10)), RangeKind::AcpiNvs);
/// ```
pub fn range_kind(kind: MemoryRegionKind) -> RangeKind {
    match kind {
        MemoryRegionKind::Usable => RangeKind::Ram,
        MemoryRegionKind::UnknownBios(number) => match RangeKind::from_e820_type(number) {
            // A type the loader did not call usable is not RAM to us either.
            RangeKind::Ram => RangeKind::Reserved,
            other => other,
        },
        MemoryRegionKind::UnknownUefi(number) => match crate::efi::range_kind(number, 0) {
            RangeKind::Ram => RangeKind::Reserved,
            other => other,
        },
        _ => RangeKind::Reserved,
    }
}

struct Regions<'a>(&'a [MemoryRegion]);

impl Source for Regions<'_> {
    fn visit(
        &self,
        visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        for (index, region) in self.0.iter().enumerate() {
            let size = region
                .end
                .checked_sub(region.start)
                .ok_or(FirmwareError::new(
                    Location::Entry(index),
                    Problem::Malformed("region ends below its start"),
                ))?;
            let kind = EntryKind::Range(range_kind(region.kind));
            visit(Entry::at_index(index, region.start, size, kind))?;
        }
        Ok(())
    }
}

/// Adds the regions (a `&MemoryRegions` derefs to this slice).
///
/// # Errors
///
/// A region ending below its start, and the entry policy's errors, by the
/// region's index; nothing is added on error.
pub fn add<const RANGES: usize, const NODES: usize>(
    regions: &[MemoryRegion],
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    add_source(&Regions(regions), builder, policy)
}
