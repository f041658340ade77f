//! Linux's boot-time memory allocator (bootmem), as a `no_std`, heap-free library.
//!
//! (Crate guide in progress.)
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(test)]
extern crate std;

mod address;
mod config;
mod node_id;

pub mod memory_map;

pub use address::{PageFrameNumber, PageSize, PageSizeNotPowerOfTwo, PhysicalAddress};
pub use config::Configuration;
pub use node_id::NodeId;
