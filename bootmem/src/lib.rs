//! Linux's boot-time memory allocator (bootmem), as a `no_std`, heap-free library.
//!
//! (Crate guide in progress.)
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
pub use bitmap::{bitmap_bytes, bitmap_words};
pub use config::Configuration;
pub use error::{AllocationError, RangeError, RegistrationError};
pub use handoff::{BlockKind, FreeBlock, HandOff};
pub use node_id::NodeId;
