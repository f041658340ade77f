//! The `multiboot2` crate's memory map tag (type 6) and EFI memory map tag (type 17).
//!
//! The memory map tag's types are e820's (1 available, 3 ACPI, 4 hibernate,
//! 5 defective). The EFI tag carries the raw UEFI map and its descriptor
//! size; it is read from the tag's bytes with [`crate::efi`]'s checks,
//! since the crate's own iterator asserts on a bad descriptor size.
//!
//! ```
//! use bootmem::memory_map::MemoryMapBuilder;
//! use bootmem::PageSize;
//! use bootmem_firmware::Policy;
//! use multiboot2::{MemoryArea, MemoryAreaType, MemoryMapTag};
//!
//! // What `boot_information.memory_map_tag()` gives.
//! let tag = MemoryMapTag::new(&[
//!     MemoryArea::new(0, 0x9_fc00, MemoryAreaType::Available),
//!     MemoryArea::new(0x9_fc00, 0x400, MemoryAreaType::Reserved),
//!     MemoryArea::new(0x10_0000, 0x7ff0_0000, MemoryAreaType::Available),
//! ]);
//! let mut builder = MemoryMapBuilder::<64, 1>::new();
//! bootmem_firmware::multiboot2::add_memory_map(&tag, &mut builder, Policy::Strict)?;
//! let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB)?;
//! assert_eq!(map.ram_bytes(), 0x9_f000 + 0x7ff0_0000);
//! # Ok::<(), bootmem_firmware::FirmwareError>(())
//! ```

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
use multiboot2::{EFIMemoryMapTag, MaybeDynSized, MemoryArea, MemoryMapTag};

use crate::bytes::le_u32;
use crate::efi::RawMap;
use crate::entry::{add_source, Entry, EntryKind, Policy, Source, Summary};
use crate::error::{FirmwareError, Location, Problem};

/// Bytes of the EFI tag before its descriptors: type, size, descriptor size, version.
const EFI_TAG_HEADER: usize = 16;

struct Areas<'a>(&'a [MemoryArea]);

impl Source for Areas<'_> {
    fn visit(
        &self,
        visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        for (index, area) in self.0.iter().enumerate() {
            let number = u32::from(area.typ());
            let kind = EntryKind::Range(RangeKind::from_e820_type(number));
            visit(Entry::at_index(
                index,
                area.start_address(),
                area.size(),
                kind,
            ))?;
        }
        Ok(())
    }
}

/// Adds the areas of a memory map tag.
///
/// # Errors
///
/// The entry policy's errors, by the area's index; nothing is added on error.
pub fn add_memory_map<const RANGES: usize, const NODES: usize>(
    tag: &MemoryMapTag,
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    add_source(&Areas(tag.memory_areas()), builder, policy)
}

/// Adds the descriptors of an EFI memory map tag.
///
/// # Errors
///
/// A tag shorter than its header, a descriptor size below 40, a map that
/// ends inside a descriptor, and the entry policy's errors, by the
/// descriptor's index; nothing is added on error.
pub fn add_efi_memory_map<const RANGES: usize, const NODES: usize>(
    tag: &EFIMemoryMapTag,
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    add_efi_tag_bytes(tag.as_bytes(), builder, policy)
}

/// Adds the descriptors of an EFI memory map tag given as its bytes (from
/// its `type` field on).
///
/// # Errors
///
/// As [`add_efi_memory_map`].
pub fn add_efi_tag_bytes<const RANGES: usize, const NODES: usize>(
    tag: &[u8],
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    let truncated = |needed| {
        FirmwareError::new(
            Location::Offset(tag.len()),
            Problem::Truncated {
                needed,
                available: tag.len(),
            },
        )
    };
    let (Some(size), Some(descriptor_size)) = (le_u32(tag, 4), le_u32(tag, 8)) else {
        return Err(truncated(EFI_TAG_HEADER));
    };
    let size = size as usize;
    if size < EFI_TAG_HEADER {
        return Err(FirmwareError::malformed(
            Location::Offset(4),
            "the tag's size is smaller than its header",
        ));
    }
    let descriptors = tag.get(EFI_TAG_HEADER..size).ok_or(truncated(size))?;
    let map = RawMap {
        buffer: descriptors,
        descriptor_size: descriptor_size as usize,
    };
    map.check_size()?;
    add_source(&map, builder, policy)
}
