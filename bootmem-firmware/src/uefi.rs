//! The `uefi` crate's memory map (`MemoryMapOwned`, `MemoryMapRef`, ...): its descriptors and its type names.
//!
//! ```
//! use bootmem::memory_map::MemoryMapBuilder;
//! use bootmem_firmware::Policy;
//! use uefi::mem::memory_map::{MemoryAttribute, MemoryDescriptor, MemoryMapMeta, MemoryMapRef, MemoryType};
//!
//! // What GetMemoryMap returns: descriptors 48 bytes apart, in no order.
//! #[repr(C, align(8))]
//! struct Buffer([u8; 96]);
//! let mut buffer = Buffer([0; 96]);
//! let descriptors = [
//!     (MemoryType::CONVENTIONAL, 0x10_0000u64, 0x3_ff00u64),
//!     (MemoryType::BOOT_SERVICES_DATA, 0, 0x9f),
//! ];
//! for (slot, (kind, start, pages)) in descriptors.into_iter().enumerate() {
//!     let descriptor = MemoryDescriptor { ty: kind, phys_start: start, page_count: pages, ..MemoryDescriptor::default() };
//!     // SAFETY: the descriptor is plain data, 40 bytes, written inside the buffer.
//!     unsafe { core::ptr::write_unaligned(buffer.0[slot * 48..].as_mut_ptr().cast(), descriptor) };
//! }
//! let meta = MemoryMapMeta { map_size: 96, desc_size: 48, map_key: Default::default(), desc_version: 1 };
//! let map = MemoryMapRef::new(&buffer.0, meta).expect("a valid map");
//!
//! let mut builder = MemoryMapBuilder::<8, 1>::new();
//! let summary = bootmem_firmware::uefi::add(&map, &mut builder, Policy::Strict)?;
//! assert_eq!(summary.ram_bytes, (0x3_ff00 + 0x9f) * 4096);
//! # let _ = MemoryAttribute::empty();
//! # Ok::<(), bootmem_firmware::FirmwareError>(())
//! ```

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
use uefi::mem::memory_map::{MemoryDescriptor, MemoryMap, MemoryType};

pub use crate::efi::add_descriptors;
use crate::efi::Descriptor;
use crate::entry::{add_source, Entry, Policy, Source, Summary};
use crate::error::FirmwareError;

/// The kind of a descriptor: its type and its attributes (see [`crate::efi::range_kind`]).
///
/// ```
/// use bootmem::memory_map::RangeKind;
/// use uefi::mem::memory_map::{MemoryDescriptor, MemoryType};
/// let descriptor = MemoryDescriptor { ty: MemoryType::ACPI_RECLAIM, ..MemoryDescriptor::default() };
/// assert_eq!(bootmem_firmware::uefi::range_kind(&descriptor), RangeKind::AcpiData);
/// ```
pub fn range_kind(descriptor: &MemoryDescriptor) -> RangeKind {
    crate::efi::range_kind(descriptor.ty.0, descriptor.att.bits())
}

/// The kind of a memory type with no attributes.
pub fn type_kind(memory_type: MemoryType) -> RangeKind {
    crate::efi::range_kind(memory_type.0, 0)
}

struct Map<'a, M: MemoryMap + ?Sized>(&'a M);

impl<M: MemoryMap + ?Sized> Source for Map<'_, M> {
    fn visit(
        &self,
        visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        for index in 0..self.0.len() {
            let Some(descriptor) = self.0.get(index) else {
                break;
            };
            let decoded = Descriptor {
                memory_type: descriptor.ty.0,
                physical_start: descriptor.phys_start,
                pages: descriptor.page_count,
                attribute: descriptor.att.bits(),
            };
            visit(decoded.entry(index)?)?;
        }
        Ok(())
    }
}

/// Adds every descriptor of a `uefi` memory map.
///
/// # Errors
///
/// As [`add_descriptors`], by the descriptor's index in the map.
pub fn add<const RANGES: usize, const NODES: usize, M: MemoryMap + ?Sized>(
    map: &M,
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    add_source(&Map(map), builder, policy)
}
