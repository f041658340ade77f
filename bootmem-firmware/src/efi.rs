//! UEFI memory descriptors as raw bytes: what `GetMemoryMap` (or a Multiboot2 EFI tag) hands over, with its descriptor size.
//!
//! A descriptor is `type: u32, (pad), physical_start: u64, virtual_start:
//! u64, number_of_pages: u64, attribute: u64`: 40 bytes, but firmware may
//! use a larger stride (`descriptor_size`) and gives the entries in no
//! particular order. The type mapping is Linux's (`do_add_efi_memmap`):
//! loader and boot services memory is free once boot services exit;
//! conventional memory with the specific-purpose attribute is soft
//! reserved.
//!
//! ```
//! use bootmem::memory_map::MemoryMapBuilder;
//! use bootmem_firmware::{efi, Policy};
//!
//! // Two 48-byte descriptors, out of order: conventional memory at 1 MiB, boot data at 0.
//! let mut buffer = [0u8; 96];
//! for (slot, (kind, start, pages)) in [(7u32, 0x10_0000u64, 0x100u64), (4, 0, 0x9f)].into_iter().enumerate() {
//!     let descriptor = &mut buffer[slot * 48..];
//!     descriptor[..4].copy_from_slice(&kind.to_le_bytes());
//!     descriptor[8..16].copy_from_slice(&start.to_le_bytes());
//!     descriptor[24..32].copy_from_slice(&pages.to_le_bytes());
//! }
//! let mut builder = MemoryMapBuilder::<8, 1>::new();
//! let summary = efi::add_descriptors(&buffer, 48, &mut builder, Policy::Strict)?;
//! assert_eq!(summary.ram_bytes, (0x100 + 0x9f) * 4096);
//! # Ok::<(), bootmem_firmware::FirmwareError>(())
//! ```

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};

use crate::bytes::{le_u32, le_u64};
use crate::entry::{add_source, Entry, EntryKind, Policy, Source, Summary};
use crate::error::{FirmwareError, Location, Problem};

/// Bytes of a version-1 UEFI memory descriptor.
pub const DESCRIPTOR_SIZE: usize = 40;
/// UEFI pages are 4 KiB, whatever the kernel's page size.
pub const PAGE_SIZE: u64 = 4096;
/// `EFI_MEMORY_SP`: specific-purpose memory, left to drivers.
pub const SPECIFIC_PURPOSE: u64 = 0x4_0000;

/// The kind of a UEFI memory type number, with its attributes.
///
/// ```
/// use bootmem::memory_map::RangeKind;
/// use bootmem_firmware::efi::range_kind;
/// assert_eq!(range_kind(7, 0), RangeKind::Ram); // EfiConventionalMemory
/// assert_eq!(range_kind(4, 0), RangeKind::Ram); // EfiBootServicesData
/// assert_eq!(range_kind(6, 0), RangeKind::Reserved); // EfiRuntimeServicesData
/// assert_eq!(range_kind(10, 0), RangeKind::AcpiNvs);
/// assert_eq!(range_kind(7, 0x4_0000), RangeKind::SoftReserved);
/// ```
pub const fn range_kind(memory_type: u32, attribute: u64) -> RangeKind {
    match memory_type {
        // Loader code and data, boot services code and data, conventional, unaccepted.
        1..=4 | 15 => RangeKind::Ram,
        7 if attribute & SPECIFIC_PURPOSE != 0 => RangeKind::SoftReserved,
        7 => RangeKind::Ram,
        8 => RangeKind::Unusable,
        9 => RangeKind::AcpiData,
        10 => RangeKind::AcpiNvs,
        14 => RangeKind::Persistent,
        // Reserved, runtime services, MMIO, PAL code, anything newer.
        _ => RangeKind::Reserved,
    }
}

/// One decoded descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// `Type`.
    pub memory_type: u32,
    /// `PhysicalStart`.
    pub physical_start: u64,
    /// `NumberOfPages` (4 KiB each).
    pub pages: u64,
    /// `Attribute`.
    pub attribute: u64,
}

impl Descriptor {
    /// Decodes the descriptor at the start of `bytes`, `None` when shorter
    /// than [`DESCRIPTOR_SIZE`].
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < DESCRIPTOR_SIZE {
            return None;
        }
        Some(Self {
            memory_type: le_u32(bytes, 0)?,
            physical_start: le_u64(bytes, 8)?,
            pages: le_u64(bytes, 24)?,
            attribute: le_u64(bytes, 32)?,
        })
    }

    /// The entry it makes at `index`.
    pub(crate) fn entry(&self, index: usize) -> Result<Entry, FirmwareError> {
        let size = self.pages.checked_mul(PAGE_SIZE).ok_or(FirmwareError::new(
            Location::Entry(index),
            Problem::Wraps {
                start: self.physical_start,
                size: u64::MAX,
            },
        ))?;
        let kind = EntryKind::Range(range_kind(self.memory_type, self.attribute));
        Ok(Entry::at_index(index, self.physical_start, size, kind))
    }
}

/// A raw memory map and its stride.
pub(crate) struct RawMap<'a> {
    pub(crate) buffer: &'a [u8],
    pub(crate) descriptor_size: usize,
}

impl RawMap<'_> {
    pub(crate) fn check_size(&self) -> Result<(), FirmwareError> {
        if self.descriptor_size < DESCRIPTOR_SIZE {
            return Err(FirmwareError::of_table(Problem::DescriptorTooSmall {
                size: self.descriptor_size,
                minimum: DESCRIPTOR_SIZE,
            }));
        }
        Ok(())
    }
}

impl Source for RawMap<'_> {
    fn visit(
        &self,
        visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        self.check_size()?;
        for (index, raw) in self.buffer.chunks(self.descriptor_size).enumerate() {
            if raw.len() < self.descriptor_size {
                return Err(FirmwareError::new(
                    Location::Entry(index),
                    Problem::Truncated {
                        needed: self.descriptor_size,
                        available: raw.len(),
                    },
                ));
            }
            let descriptor = Descriptor::decode(raw).ok_or(FirmwareError::new(
                Location::Entry(index),
                Problem::Truncated {
                    needed: DESCRIPTOR_SIZE,
                    available: raw.len(),
                },
            ))?;
            visit(descriptor.entry(index)?)?;
        }
        Ok(())
    }
}

/// Adds the descriptors of `buffer` (the `map_size` bytes `GetMemoryMap`
/// filled), `descriptor_size` bytes apart.
///
/// # Errors
///
/// A descriptor size below 40, a buffer that ends inside a descriptor, a
/// descriptor whose pages pass 2^64, more descriptors than the builder
/// holds; with [`Policy::Strict`], zero-page and overlapping descriptors.
/// Nothing is added on error.
pub fn add_descriptors<const RANGES: usize, const NODES: usize>(
    buffer: &[u8],
    descriptor_size: usize,
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    let map = RawMap {
        buffer,
        descriptor_size,
    };
    map.check_size()?;
    add_source(&map, builder, policy)
}
