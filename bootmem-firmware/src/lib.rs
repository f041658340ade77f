//! Memory maps from what a kernel or a user holds (boot protocols, firmware tables, Linux logs) into `bootmem`'s `MemoryMap`.
//!
//! Each source is a module behind a feature named after it, read through
//! the field's own crate where one exists:
//!
//! | feature | module | source |
//! | --- | --- | --- |
//! | (always) | [`e820`] | a raw e820 table as `boot_params` holds it (20-byte entries) |
//! | (always) | [`efi`] | raw UEFI memory descriptors with their descriptor size |
//! | `uefi` | `uefi` | the `uefi` crate's memory map |
//! | `devicetree` | `devicetree` | a flattened device tree blob, read with `dtoolkit` |
//! | `acpi` | `srat` | the ACPI SRAT's memory affinities |
//! | `limine` | `limine` | the `limine` crate's memory map response entries |
//! | `bootloader-api` | `bootloader` | `bootloader_api::info::MemoryRegions` |
//! | `multiboot2` | `multiboot2` | the `multiboot2` crate's memory map and EFI memory map tags |
//! | `std` | `text` | Linux boot logs (e820, EFI, SRAT, NUMA, `memblock=debug`), `/proc/iomem`, TOML |
//!
//! Every reader adds its entries to a
//! [`MemoryMapBuilder`] (sources
//! combine: an e820 table and an SRAT, a device tree and a UEFI map), and
//! [`build`] normalises the result into a
//! [`MemoryMap`]. Nothing allocates outside
//! the `std` feature.
//!
//! # The entry policy
//!
//! Every reader takes a [`Policy`]. Whatever the policy, a reader never
//! panics on any input and adds nothing when it fails; its
//! [`FirmwareError`] names the entry (its index in the table, its byte
//! offset in a blob, or its line in a text) and the problem:
//!
//! | input | [`Policy::Strict`] (the default) | [`Policy::Sanitise`] |
//! | --- | --- | --- |
//! | entry passing 2^64 | error | error |
//! | truncated structure, bad magic, descriptor size below a descriptor, lying sizes | error | error |
//! | more entries than the builder holds | error, naming the first that does not fit | same |
//! | zero-length entry | error | skipped (as Linux's e820 sanitiser does) |
//! | two entries of one table sharing addresses (or repeating each other) | error naming both | kept: the normaliser lets the more restrictive kind win |
//! | unsorted entries | accepted (only Limine promises an order; UEFI and e820 do not) | accepted |
//!
//! "One table" means the ranges one structure lists: an e820 table, a UEFI
//! map, a Limine response, the `/memory` nodes of a device tree, the SRAT's
//! affinities. Reservations of a device tree (`/memreserve/`,
//! `/reserved-memory`) may overlap each other and RAM: firmware lists the
//! same region in both places.
//!
//! # Booting your kernel with bootmem
//!
//! Whatever the boot protocol, a kernel turns its structure into a
//! `MemoryMap` in three lines, then hands the map to `bootmem::setup`:
//!
//! ```
//! use bootmem::memory_map::MemoryMapBuilder;
//! use bootmem::PageSize;
//! use bootmem_firmware::{e820, Policy};
//!
//! // boot_params.e820_table, as the boot loader left it (here: built by hand).
//! let mut table = Vec::new();
//! for (address, size, kind) in [(0u64, 0x9_fc00u64, 1u32), (0xf_0000, 0x1_0000, 2), (0x10_0000, 0x7ff0_0000, 1)] {
//!     table.extend_from_slice(&address.to_le_bytes());
//!     table.extend_from_slice(&size.to_le_bytes());
//!     table.extend_from_slice(&kind.to_le_bytes());
//! }
//! let mut builder = MemoryMapBuilder::<64, 4>::new();
//! e820::add(&table, &mut builder, Policy::Strict)?;
//! let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB)?;
//! assert_eq!(map.nodes().len(), 1);
//! assert_eq!(map.ram_bytes(), 0x9_f000 + 0x7ff0_0000);
//! # Ok::<(), bootmem_firmware::FirmwareError>(())
//! ```
//!
//! The [`booting`] page has one example per boot protocol (built with
//! every feature on); each module's documentation has its own.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

mod bytes;
pub mod e820;
pub mod efi;
mod entry;
mod error;

#[cfg(feature = "bootloader-api")]
pub mod bootloader;
#[cfg(feature = "devicetree")]
pub mod devicetree;
#[cfg(feature = "limine")]
pub mod limine;
#[cfg(feature = "multiboot2")]
pub mod multiboot2;
#[cfg(feature = "acpi")]
pub mod srat;
#[cfg(feature = "std")]
pub mod text;
#[cfg(feature = "uefi")]
pub mod uefi;

/// # Booting your kernel with bootmem
///
#[doc = include_str!("../docs/booting.md")]
#[cfg(all(
    feature = "uefi",
    feature = "devicetree",
    feature = "acpi",
    feature = "limine",
    feature = "bootloader-api",
    feature = "multiboot2"
))]
pub mod booting {}

pub use entry::{add_source, Entry, EntryKind, Group, Policy, Source, Summary};
pub use error::{FirmwareError, Location, Problem};

use bootmem::memory_map::{MemoryMap, MemoryMapBuilder};
use bootmem::PageSize;

/// Normalises what the readers added (see `bootmem::memory_map`).
///
/// # Errors
///
/// The library's [`MemoryMapError`](bootmem::memory_map::MemoryMapError)
/// (no RAM, nodes overlapping, capacity), as a [`Problem::Map`] of the table.
pub fn build<const RANGES: usize, const NODES: usize>(
    builder: &MemoryMapBuilder<RANGES, NODES>,
    page_size: PageSize,
) -> Result<MemoryMap<RANGES, NODES>, FirmwareError> {
    builder.build(page_size).map_err(FirmwareError::from)
}
