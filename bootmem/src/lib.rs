//! Linux's boot-time memory allocator (bootmem), as a `no_std`, heap-free library.
//!
//! A kernel registers one allocator per NUMA node over a range of page
//! frames, with a bitmap (one bit per page, 1 = reserved) in storage it
//! provides; frees its RAM, reserves what is in use; allocates with goals,
//! limits, alignments and node preferences exactly as Linux v4.19 placed
//! them; and at the end hands every free page to its page allocator.
//!
//! The crate has two fronts over one algorithm:
//!
//! - [`linux::Bootmem`]: the Linux names (`alloc_bootmem`,
//!   `__alloc_bootmem_node_nopanic`, `free_bootmem`, `reserve_bootmem`,
//!   `free_all_bootmem`, ...), for porting and for following Linux texts;
//! - [`BootAllocator`]: the same allocator with typed addresses
//!   ([`PhysicalAddress`], [`PageFrameNumber`], [`PhysicalRange`],
//!   [`FrameRange`]), one [`AllocationRequest`] type and errors that say
//!   which constraint failed.
//!
//! [`setup::set_up`] builds either from a normalised
//! [`memory_map::MemoryMap`] in one call: each node's bitmap placed in its
//! own RAM, the nodes registered, their RAM freed, the rest reserved.
//!
//! ```
//! use bootmem::{AllocationRequest, BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress};
//! use bootmem::memory::NoZeroing;
//!
//! let mut allocator: BootAllocator<Vec<u64>, NoZeroing, 2> = BootAllocator::new(Configuration::X86_64, NoZeroing);
//! for (node, start, end) in [(0, 0, 0x8000), (1, 0x8000, 0x10000)] {
//!     let storage = vec![0; bootmem::node_storage_words(end - start) as usize];
//!     allocator.register_node(NodeId::new(node), PageFrameNumber::new(start)..PageFrameNumber::new(end), storage, None)?;
//! }
//! allocator.free(PhysicalAddress::new(0x1000), 0x1000_0000 - 0x1000)?;
//! let on_node_1 = allocator.allocate(&AllocationRequest::new(4096).aligned(4096).on_node(NodeId::new(1)))?;
//! assert_eq!(on_node_1, PhysicalAddress::new(0x800_0000));
//! let pages = allocator.free_all().count_pages();
//! assert_eq!(pages, 0x10000 - 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Placement follows v4.19 with eleven fixes of latent defects, all listed
//! in [`contract`]; every scan works a word at a time where Linux tests one
//! bit at a time. Failed calls change nothing.
//!
//! # Where to start
//!
//! - [`guide`]: from a firmware map to a working allocator, porting code
//!   written against Linux's bootmem, and how this differs from memblock.
//! - [`contract`]: what each call does, step by step: the per-node search,
//!   the node walk, frees, reservations, teardown and the deviations.
//! - [`memory_map`]: normalising firmware maps (e820, UEFI, device tree,
//!   SRAT) into per-node RAM.
//! - [`setup`]: from a normalised map to a ready allocator in one call.
//! - [`adapters`]: the `x86_64` crate's frame allocator, a `lock_api` lock
//!   for SMP bring-up, an early `GlobalAlloc` heap.
//!
//! # Features
//!
//! None is on by default, and the library needs none: it is `no_std`,
//! without `alloc` and without dependencies.
//!
//! | feature | gives | depends on |
//! |---|---|---|
//! | `log` | Linux's `bootmem::` debug lines (`bootmem_debug`) through the `log` crate | `log` |
//! | `reference` | the bit-by-bit search of v4.19, switchable for benchmarks and differential tests | |
//! | `x86_64` | `FrameAllocator<Size4KiB/Size2MiB/Size1GiB>` and address conversions ([`adapters::x86_64`]) | `x86_64` |
//! | `lock_api` | [`LockedBootAllocator`](adapters::lock::LockedBootAllocator), `const`-constructible in a `static` | `lock_api` |
//! | `heap` | `GlobalAlloc` over sub-page allocations ([`adapters::heap`]); implies `lock_api` | `lock_api` |
//! | `allocator-api2` | the early heap as an `allocator_api2::alloc::Allocator`; implies `heap` | `allocator-api2` |
//!
//! The minimum supported Rust version is 1.81 (`core::error::Error`), with
//! every feature.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The docs link to the adapters, which exist only with their features; every
// link is checked by the all-features build (`cargo doc --all-features`).
#![cfg_attr(
    not(all(feature = "x86_64", feature = "heap")),
    allow(rustdoc::broken_intra_doc_links)
)]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[cfg(test)]
extern crate std;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

mod address;
mod allocator;
mod bitmap;
mod config;
mod error;
mod handoff;
mod list;
mod node;
mod node_id;
mod node_walk;
mod proofs;
mod reference;
mod registry;
mod search;
mod sequential;
mod streaks;
#[cfg(test)]
mod test_random;
mod trace;

pub mod adapters;
#[doc = include_str!("../docs/contract.md")]
pub mod contract {}
#[doc = include_str!("../docs/guide.md")]
pub mod guide {}
pub mod linux;
pub mod memory;
pub mod memory_map;
pub mod setup;

pub use address::{
    FrameRange, PageFrameNumber, PageSize, PageSizeNotPowerOfTwo, PhysicalAddress, PhysicalRange,
};
pub use allocator::{AllocationRequest, BootAllocator, NodePreference, NodeSummary, ReserveMode};
pub use bitmap::{bitmap_bytes, bitmap_words, node_storage_bytes, node_storage_words};
pub use config::Configuration;
pub use error::{AllocationError, RangeError, RegistrationError};
pub use handoff::{BlockKind, FreeBlock, HandOff, HandOffInPlace};
pub use node_id::NodeId;
