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
//!   ([`PhysicalAddress`], [`PageFrameNumber`]), one [`AllocationRequest`]
//!   type and errors that say which constraint failed.
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
//! Placement follows v4.19 with eleven documented fixes (see the README); every
//! scan works a word at a time where Linux tests one bit at a time.
//! Failed calls change nothing. Features: `log` (Linux's `bootmem::` debug
//! lines through the `log` crate), `reference` (the bit-by-bit search, for
//! benchmarks and differential tests).
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[cfg(test)]
extern crate std;

mod address;
mod allocator;
mod bitmap;
mod config;
mod error;
mod handoff;
mod node;
mod node_id;
mod node_walk;
mod reference;
mod registry;
mod search;
mod trace;

pub mod linux;
pub mod memory;
pub mod memory_map;

pub use address::{PageFrameNumber, PageSize, PageSizeNotPowerOfTwo, PhysicalAddress};
pub use allocator::{AllocationRequest, BootAllocator, NodePreference, NodeSummary, ReserveMode};
pub use bitmap::{bitmap_bytes, bitmap_words, node_storage_bytes, node_storage_words};
pub use config::Configuration;
pub use error::{AllocationError, RangeError, RegistrationError};
pub use handoff::{BlockKind, FreeBlock, HandOff};
pub use node_id::NodeId;
