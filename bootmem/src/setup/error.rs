//! Why a memory map could not be set up: each variant names the node and the reason.

use core::fmt;

use crate::address::{PageSize, PhysicalRange};
use crate::error::{RangeError, RegistrationError};
use crate::node_id::NodeId;

/// Why [`set_up`](super::set_up) refused a map. Nothing was built: the
/// storage closure was not called, or its storage was dropped unused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// The map was normalised to another page size than the configuration's.
    PageSizeMismatch {
        /// The map's page size.
        map: PageSize,
        /// The configuration's page size.
        configuration: PageSize,
    },
    /// No node of the map owns RAM.
    NoRam,
    /// The map has more nodes (memoryless ones included) than the
    /// allocator's capacity `MAX_NODES`.
    TooManyNodes {
        /// Nodes in the map.
        nodes: usize,
        /// The allocator's capacity.
        capacity: usize,
    },
    /// The spans of two nodes (first to last RAM page) overlap, as on a
    /// machine whose nodes interleave: each node's bitmap covers its whole
    /// span, so such nodes cannot both be registered.
    NodesOverlap {
        /// The node with the lower number.
        first: NodeId,
        /// The other node.
        second: NodeId,
    },
    /// No single RAM range of the node is as large as its bitmap storage.
    NodeTooSmall {
        /// The node.
        node: NodeId,
        /// Bytes of bitmap storage the node needs, in whole pages.
        bitmap_bytes: u64,
        /// Bytes of the node's largest RAM range.
        largest_ram_range: u64,
    },
    /// The node's RAM ranges are large enough for its bitmap storage, but
    /// the ranges in use leave no piece of that size free.
    NoRoomForBitmap {
        /// The node.
        node: NodeId,
        /// Bytes of bitmap storage the node needs, in whole pages.
        bitmap_bytes: u64,
    },
    /// The storage closure returned fewer words than the node needs.
    StorageTooSmall {
        /// The node.
        node: NodeId,
        /// Words needed ([`node_storage_words`](crate::node_storage_words)).
        needed_words: u64,
        /// Words returned.
        given_words: u64,
    },
    /// Registering the node failed (a map built by
    /// [`MemoryMapBuilder::build`](crate::memory_map::MemoryMapBuilder::build)
    /// never causes this).
    Registration {
        /// The node.
        node: NodeId,
        /// What the registry said.
        error: RegistrationError,
    },
    /// Freeing a RAM range or reserving a range inside a node failed (a map
    /// built by the builder never causes this).
    Range {
        /// The node the range lies in.
        node: NodeId,
        /// The range.
        range: PhysicalRange,
        /// What the allocator said.
        error: RangeError,
    },
}

impl fmt::Display for SetupError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PageSizeMismatch { map, configuration } => write!(
                formatter,
                "the map has {}-byte pages but the configuration {}-byte pages",
                map.bytes(),
                configuration.bytes()
            ),
            Self::NoRam => formatter.write_str("no node of the map has RAM"),
            Self::TooManyNodes { nodes, capacity } => write!(
                formatter,
                "the map has {nodes} nodes, more than the allocator's {capacity}"
            ),
            Self::NodesOverlap { first, second } => write!(
                formatter,
                "node {first} and node {second}: their RAM interleaves, so their spans overlap"
            ),
            Self::NodeTooSmall {
                node,
                bitmap_bytes,
                largest_ram_range,
            } => write!(
                formatter,
                "node {node}: too small for its bitmap of {bitmap_bytes:#x} bytes \
                 (its largest RAM range has {largest_ram_range:#x})"
            ),
            Self::NoRoomForBitmap { node, bitmap_bytes } => write!(
                formatter,
                "node {node}: no {bitmap_bytes:#x} bytes of its RAM are clear of the ranges in use"
            ),
            Self::StorageTooSmall {
                node,
                needed_words,
                given_words,
            } => write!(
                formatter,
                "node {node}: bitmap storage of {given_words} words is smaller than the {needed_words} needed"
            ),
            Self::Registration { node, error } => write!(formatter, "node {node}: {error}"),
            Self::Range { node, range, error } => {
                write!(formatter, "node {node}: range {range}: {error}")
            }
        }
    }
}

impl core::error::Error for SetupError {}
