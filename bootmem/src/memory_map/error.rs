//! Why a memory map could not be built: each variant names the constraint that failed.

use core::fmt;

use crate::address::PhysicalAddress;
use crate::node_id::NodeId;

/// Why adding to or normalising a memory map failed.
///
/// Indices count the calls of one kind from zero, in the order they were
/// made: `range` counts [`add_range`](super::MemoryMapBuilder::add_range)
/// and its shorthands, `affinity` counts
/// [`add_node_affinity`](super::MemoryMapBuilder::add_node_affinity) (and
/// the affinity half of
/// [`add_ram_on_node`](super::MemoryMapBuilder::add_ram_on_node)), so that a
/// parser can point back at the line an entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryMapError {
    /// More ranges were added than the map holds (its `RANGES` parameter).
    TooManyRanges {
        /// The capacity.
        capacity: usize,
    },
    /// More NUMA affinities were added than the map holds (also `RANGES`).
    TooManyAffinities {
        /// The capacity.
        capacity: usize,
    },
    /// More distinct nodes than the map holds (its `NODES` parameter).
    TooManyNodes {
        /// The capacity.
        capacity: usize,
    },
    /// After splitting RAM at reservations and node boundaries, the
    /// normalised ranges do not fit in `RANGES`.
    TooManyNormalisedRanges {
        /// The capacity.
        capacity: usize,
    },
    /// A range whose end lies below its start.
    EndBeforeStart {
        /// The first address given.
        start: PhysicalAddress,
        /// The (exclusive) end given.
        end: PhysicalAddress,
    },
    /// No whole page of RAM is left once reservations are taken out and RAM
    /// is rounded inward to pages.
    NoRam,
    /// Two NUMA affinities of different nodes share addresses (when several
    /// pairs do, one of them is named).
    OverlappingNodes {
        /// The index of the affinity added first.
        first: usize,
        /// Its node.
        first_node: NodeId,
        /// The index of the affinity added later.
        second: usize,
        /// Its node.
        second_node: NodeId,
    },
}

impl fmt::Display for MemoryMapError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooManyRanges { capacity } => {
                write!(formatter, "more than {capacity} memory ranges")
            }
            Self::TooManyAffinities { capacity } => {
                write!(formatter, "more than {capacity} NUMA node ranges")
            }
            Self::TooManyNodes { capacity } => write!(formatter, "more than {capacity} NUMA nodes"),
            Self::TooManyNormalisedRanges { capacity } => write!(
                formatter,
                "more than {capacity} ranges after splitting RAM at reservations and nodes"
            ),
            Self::EndBeforeStart { start, end } => {
                write!(
                    formatter,
                    "range ends at {end:#x}, below its start {start:#x}"
                )
            }
            Self::NoRam => {
                formatter.write_str("the map has no RAM (no whole page of usable memory)")
            }
            Self::OverlappingNodes {
                first_node,
                second_node,
                ..
            } => write!(
                formatter,
                "NUMA ranges of node {first_node} and node {second_node} overlap"
            ),
        }
    }
}

impl core::error::Error for MemoryMapError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_map_error_names_the_constraint_that_failed() {
        let cases = [
            (
                MemoryMapError::TooManyRanges { capacity: 64 },
                "more than 64 memory ranges",
            ),
            (
                MemoryMapError::TooManyAffinities { capacity: 64 },
                "more than 64 NUMA node ranges",
            ),
            (
                MemoryMapError::TooManyNodes { capacity: 8 },
                "more than 8 NUMA nodes",
            ),
            (
                MemoryMapError::TooManyNormalisedRanges { capacity: 64 },
                "more than 64 ranges after splitting RAM at reservations and nodes",
            ),
            (
                MemoryMapError::EndBeforeStart {
                    start: PhysicalAddress::new(0x2000),
                    end: PhysicalAddress::new(0x1000),
                },
                "range ends at 0x1000, below its start 0x2000",
            ),
            (
                MemoryMapError::NoRam,
                "the map has no RAM (no whole page of usable memory)",
            ),
            (
                MemoryMapError::OverlappingNodes {
                    first: 0,
                    first_node: NodeId::new(1),
                    second: 3,
                    second_node: NodeId::new(2),
                },
                "NUMA ranges of node 1 and node 2 overlap",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(std::format!("{error}"), message);
        }
    }
}
