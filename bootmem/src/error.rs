//! The errors of each kind of call, each variant naming the constraint that failed.
//!
//! A call that returns an error has changed nothing: every check is made
//! before the first bit of any bitmap is touched.

use core::fmt;

use crate::address::{PageFrameNumber, PhysicalAddress};
use crate::node_id::NodeId;

/// Why an allocation failed.
///
/// [`is_misuse`](Self::is_misuse) tells the caller's mistakes (where Linux
/// would `BUG()`) from memory exhaustion (where Linux returns `NULL` or
/// panics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocationError {
    /// No registered node had room, even after dropping the goal.
    OutOfMemory {
        /// The bytes asked for.
        size: u64,
    },
    /// No node had room below the limit, even after dropping the goal.
    NoMemoryBelowLimit {
        /// The bytes asked for.
        size: u64,
        /// The exclusive limit.
        limit: PhysicalAddress,
    },
    /// The preferred node was never registered.
    NodeNotRegistered(NodeId),
    /// A size of zero bytes.
    ZeroSize,
    /// The alignment is zero or not a power of two.
    AlignmentNotPowerOfTwo {
        /// The alignment given.
        alignment: u64,
    },
    /// `goal + size` lies past the limit of a request that may not drop its limit.
    GoalPastLimit {
        /// The goal.
        goal: PhysicalAddress,
        /// The size.
        size: u64,
        /// The limit.
        limit: PhysicalAddress,
    },
    /// `goal + size` does not fit in 64 bits.
    AddressOverflow {
        /// The goal.
        goal: PhysicalAddress,
        /// The size.
        size: u64,
    },
}

impl AllocationError {
    /// Whether the error is the caller's mistake (Linux would `BUG()`), as
    /// opposed to a lack of memory.
    ///
    /// ```
    /// use bootmem::AllocationError;
    /// assert!(AllocationError::ZeroSize.is_misuse());
    /// assert!(!AllocationError::OutOfMemory { size: 8 }.is_misuse());
    /// ```
    pub const fn is_misuse(&self) -> bool {
        !matches!(
            self,
            Self::OutOfMemory { .. } | Self::NoMemoryBelowLimit { .. }
        )
    }
}

impl fmt::Display for AllocationError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfMemory { size } => write!(formatter, "no node has {size} free bytes"),
            Self::NoMemoryBelowLimit { size, limit } => {
                write!(formatter, "no node has {size} free bytes below {limit}")
            }
            Self::NodeNotRegistered(node) => write!(formatter, "node {node} is not registered"),
            Self::ZeroSize => formatter.write_str("size is zero"),
            Self::AlignmentNotPowerOfTwo { alignment } => {
                write!(formatter, "alignment {alignment:#x} is not a power of two")
            }
            Self::GoalPastLimit { goal, size, limit } => {
                write!(
                    formatter,
                    "goal {goal} + size {size:#x} is past limit {limit}"
                )
            }
            Self::AddressOverflow { goal, size } => {
                write!(
                    formatter,
                    "goal {goal} + size {size:#x} does not fit in 64 bits"
                )
            }
        }
    }
}

impl core::error::Error for AllocationError {}

/// Why a free or a reservation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeError {
    /// `start + size` does not fit in 64 bits.
    AddressOverflow {
        /// The start address.
        start: PhysicalAddress,
        /// The size.
        size: u64,
    },
    /// The range starts in no node, or runs past the last node.
    OutsideNodes {
        /// The first page frame that no node covers.
        frame: PageFrameNumber,
    },
    /// The range crosses a hole between two nodes.
    CrossesHole {
        /// The first page frame of the hole.
        frame: PageFrameNumber,
    },
    /// The range leaves the one node it was meant for.
    OutsideNode {
        /// The node.
        node: NodeId,
        /// The first frame of the range, after rounding.
        start: PageFrameNumber,
        /// The exclusive end frame of the range, after rounding.
        end: PageFrameNumber,
    },
    /// The node was never registered.
    NodeNotRegistered(NodeId),
    /// A free met a page that is already free (a double free).
    PageAlreadyFree {
        /// The page.
        frame: PageFrameNumber,
    },
    /// An exclusive reservation met a reserved page (Linux's `-EBUSY`).
    Busy {
        /// The first reserved page met.
        frame: PageFrameNumber,
    },
}

impl RangeError {
    /// Whether the error is the caller's mistake (Linux would `BUG()`);
    /// only [`Busy`](Self::Busy) is not.
    pub const fn is_misuse(&self) -> bool {
        !matches!(self, Self::Busy { .. })
    }
}

impl fmt::Display for RangeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AddressOverflow { start, size } => {
                write!(
                    formatter,
                    "start {start} + size {size:#x} does not fit in 64 bits"
                )
            }
            Self::OutsideNodes { frame } => write!(formatter, "page {frame} is in no node"),
            Self::CrossesHole { frame } => {
                write!(
                    formatter,
                    "range crosses the hole between nodes at page {frame}"
                )
            }
            Self::OutsideNode { node, start, end } => {
                write!(formatter, "pages {start}-{end} leave node {node}")
            }
            Self::NodeNotRegistered(node) => write!(formatter, "node {node} is not registered"),
            Self::PageAlreadyFree { frame } => write!(formatter, "page {frame} is already free"),
            Self::Busy { frame } => write!(formatter, "page {frame} is already reserved"),
        }
    }
}

impl core::error::Error for RangeError {}

/// Why a node could not be registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationError {
    /// The frame range is empty or inverted.
    EmptyRange {
        /// First frame.
        start: PageFrameNumber,
        /// Exclusive end frame.
        end: PageFrameNumber,
    },
    /// The node's end address (`end × page size`) does not fit in 64 bits.
    AddressOverflow {
        /// Exclusive end frame.
        end: PageFrameNumber,
    },
    /// The range overlaps a node already registered.
    OverlapsNode(NodeId),
    /// A node with this number is already registered.
    NodeAlreadyRegistered(NodeId),
    /// The registry holds as many nodes as its capacity allows.
    RegistryFull {
        /// The capacity.
        capacity: usize,
    },
    /// The bitmap storage is smaller than the node needs.
    BitmapTooSmall {
        /// Words needed ([`node_storage_words`](crate::node_storage_words)).
        needed_words: u64,
        /// Words given.
        given_words: u64,
    },
}

impl fmt::Display for RegistrationError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyRange { start, end } => write!(formatter, "empty page range {start}-{end}"),
            Self::AddressOverflow { end } => {
                write!(formatter, "end page {end} lies past 2^64 bytes")
            }
            Self::OverlapsNode(node) => write!(formatter, "range overlaps node {node}"),
            Self::NodeAlreadyRegistered(node) => {
                write!(formatter, "node {node} is already registered")
            }
            Self::RegistryFull { capacity } => {
                write!(formatter, "the registry already holds {capacity} nodes")
            }
            Self::BitmapTooSmall {
                needed_words,
                given_words,
            } => write!(
                formatter,
                "bitmap storage of {given_words} words is smaller than the {needed_words} needed"
            ),
        }
    }
}

impl core::error::Error for RegistrationError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    fn address(value: u64) -> PhysicalAddress {
        PhysicalAddress::new(value)
    }

    fn frame(value: u64) -> PageFrameNumber {
        PageFrameNumber::new(value)
    }

    #[test]
    fn only_a_lack_of_memory_is_not_an_allocation_misuse() {
        assert!(!AllocationError::OutOfMemory { size: 8 }.is_misuse());
        assert!(!AllocationError::NoMemoryBelowLimit {
            size: 8,
            limit: address(0x1000),
        }
        .is_misuse());
        for misuse in [
            AllocationError::NodeNotRegistered(NodeId::new(1)),
            AllocationError::ZeroSize,
            AllocationError::AlignmentNotPowerOfTwo { alignment: 3 },
            AllocationError::GoalPastLimit {
                goal: address(0x2000),
                size: 8,
                limit: address(0x1000),
            },
            AllocationError::AddressOverflow {
                goal: address(u64::MAX),
                size: 8,
            },
        ] {
            assert!(misuse.is_misuse(), "{misuse:?}");
        }
    }

    #[test]
    fn each_allocation_error_names_the_constraint_that_failed() {
        let cases = [
            (
                AllocationError::OutOfMemory { size: 4096 },
                "no node has 4096 free bytes",
            ),
            (
                AllocationError::NoMemoryBelowLimit {
                    size: 4096,
                    limit: address(0x100_0000),
                },
                "no node has 4096 free bytes below 0x1000000",
            ),
            (
                AllocationError::NodeNotRegistered(NodeId::new(3)),
                "node 3 is not registered",
            ),
            (AllocationError::ZeroSize, "size is zero"),
            (
                AllocationError::AlignmentNotPowerOfTwo { alignment: 0x30 },
                "alignment 0x30 is not a power of two",
            ),
            (
                AllocationError::GoalPastLimit {
                    goal: address(0x2000),
                    size: 0x1000,
                    limit: address(0x2800),
                },
                "goal 0x2000 + size 0x1000 is past limit 0x2800",
            ),
            (
                AllocationError::AddressOverflow {
                    goal: address(u64::MAX),
                    size: 2,
                },
                "goal 0xffffffffffffffff + size 0x2 does not fit in 64 bits",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(format!("{error}"), message);
        }
    }

    #[test]
    fn only_a_busy_page_is_not_a_range_misuse() {
        assert!(!RangeError::Busy { frame: frame(7) }.is_misuse());
        for misuse in [
            RangeError::AddressOverflow {
                start: address(u64::MAX),
                size: 2,
            },
            RangeError::OutsideNodes { frame: frame(7) },
            RangeError::CrossesHole { frame: frame(7) },
            RangeError::OutsideNode {
                node: NodeId::new(0),
                start: frame(7),
                end: frame(9),
            },
            RangeError::NodeNotRegistered(NodeId::new(1)),
            RangeError::PageAlreadyFree { frame: frame(7) },
        ] {
            assert!(misuse.is_misuse(), "{misuse:?}");
        }
    }

    #[test]
    fn each_range_error_names_the_constraint_that_failed() {
        let cases = [
            (
                RangeError::AddressOverflow {
                    start: address(0xffff_ffff_ffff_f000),
                    size: 0x2000,
                },
                "start 0xfffffffffffff000 + size 0x2000 does not fit in 64 bits",
            ),
            (
                RangeError::OutsideNodes {
                    frame: frame(0x100),
                },
                "page 0x100 is in no node",
            ),
            (
                RangeError::CrossesHole {
                    frame: frame(0x200),
                },
                "range crosses the hole between nodes at page 0x200",
            ),
            (
                RangeError::OutsideNode {
                    node: NodeId::new(2),
                    start: frame(0x10),
                    end: frame(0x30),
                },
                "pages 0x10-0x30 leave node 2",
            ),
            (
                RangeError::NodeNotRegistered(NodeId::new(5)),
                "node 5 is not registered",
            ),
            (
                RangeError::PageAlreadyFree { frame: frame(0x42) },
                "page 0x42 is already free",
            ),
            (
                RangeError::Busy { frame: frame(0x43) },
                "page 0x43 is already reserved",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(format!("{error}"), message);
        }
    }

    #[test]
    fn each_registration_error_names_the_constraint_that_failed() {
        let cases = [
            (
                RegistrationError::EmptyRange {
                    start: frame(0x20),
                    end: frame(0x10),
                },
                "empty page range 0x20-0x10",
            ),
            (
                RegistrationError::AddressOverflow {
                    end: frame(1 << 52),
                },
                "end page 0x10000000000000 lies past 2^64 bytes",
            ),
            (
                RegistrationError::OverlapsNode(NodeId::new(1)),
                "range overlaps node 1",
            ),
            (
                RegistrationError::NodeAlreadyRegistered(NodeId::new(4)),
                "node 4 is already registered",
            ),
            (
                RegistrationError::RegistryFull { capacity: 8 },
                "the registry already holds 8 nodes",
            ),
            (
                RegistrationError::BitmapTooSmall {
                    needed_words: 12,
                    given_words: 3,
                },
                "bitmap storage of 3 words is smaller than the 12 needed",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(format!("{error}"), message);
        }
    }
}
