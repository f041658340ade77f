//! What the set-up did, node by node, for a command or a kernel to print.

use core::fmt;

use crate::address::{FrameRange, PhysicalRange};
use crate::list::FixedList;
use crate::node_id::NodeId;

/// What the set-up did on one node of the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeSetup {
    /// The node.
    pub node: NodeId,
    /// The frames registered for it, from its first RAM page to its last
    /// (empty for a memoryless node).
    pub frames: FrameRange,
    /// Bytes of RAM it owns (whole pages).
    pub ram_bytes: u64,
    /// Where its bitmap storage lies, in whole pages (`None` for a
    /// memoryless node, which is not registered). These pages stay reserved
    /// until the hand-off releases them as bitmap pages.
    pub bitmap: Option<PhysicalRange>,
    /// Ranges reserved on it: the map's non-RAM ranges and the ranges in
    /// use, each clipped to the node.
    pub reserved_ranges: u32,
    /// Bytes of the node left reserved by the set-up besides its bitmap:
    /// holes between its RAM ranges, its non-RAM ranges, the ranges in use
    /// and the partly covered pages around them.
    pub reserved_bytes: u64,
}

impl NodeSetup {
    pub(crate) const EMPTY: Self = Self {
        node: NodeId::new(0),
        frames: FrameRange::empty_at(crate::address::PageFrameNumber::new(0)),
        ram_bytes: 0,
        bitmap: None,
        reserved_ranges: 0,
        reserved_bytes: 0,
    };

    /// Whether the node has no RAM (and so was not registered).
    pub const fn is_memoryless(&self) -> bool {
        self.bitmap.is_none()
    }
}

impl fmt::Display for NodeSetup {
    /// `node 0: frames [0x0, 0x80000), 2047 MiB RAM, bitmap [0x7fff0000, 0x80000000) (64 KiB), 3 ranges reserved (1 MiB)`,
    /// or `node 2: no memory`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(bitmap) = self.bitmap else {
            return write!(formatter, "node {}: no memory", self.node);
        };
        write!(
            formatter,
            "node {}: frames {}, {} RAM, bitmap {} ({}), {} ranges reserved ({})",
            self.node,
            self.frames,
            Bytes(self.ram_bytes),
            bitmap,
            Bytes(bitmap.size()),
            self.reserved_ranges,
            Bytes(self.reserved_bytes),
        )
    }
}

/// A byte count in the largest binary unit that divides it exactly.
struct Bytes(u64);

impl fmt::Display for Bytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u32, &str); 4] = [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")];
        let bytes = self.0;
        for (shift, unit) in UNITS {
            if bytes != 0 && bytes.trailing_zeros() >= shift {
                return write!(formatter, "{} {unit}", bytes >> shift);
            }
        }
        write!(formatter, "{bytes} bytes")
    }
}

/// What [`set_up`](super::set_up) did: one [`NodeSetup`] per node of the
/// map, memoryless nodes included, by increasing node number.
///
/// Its `Display` writes one line per node.
#[derive(Clone, Debug)]
pub struct SetupSummary<const MAX_NODES: usize> {
    nodes: FixedList<NodeSetup, MAX_NODES>,
}

impl<const MAX_NODES: usize> SetupSummary<MAX_NODES> {
    pub(crate) const fn new() -> Self {
        Self {
            nodes: FixedList::new(NodeSetup::EMPTY),
        }
    }

    /// Adds a node; the caller has checked the capacity.
    pub(crate) fn push(&mut self, node: NodeSetup) {
        let pushed = self.nodes.push(node);
        debug_assert!(pushed.is_ok(), "the plan checked the capacity");
    }

    pub(crate) fn nodes_mut(&mut self) -> &mut [NodeSetup] {
        self.nodes.as_mut_slice()
    }

    /// Every node of the map, by increasing node number.
    pub fn nodes(&self) -> &[NodeSetup] {
        self.nodes.as_slice()
    }

    /// What was done on `node`, if the map has it.
    pub fn node(&self, node: NodeId) -> Option<&NodeSetup> {
        self.nodes().iter().find(|setup| setup.node == node)
    }

    /// The nodes registered (those with RAM).
    pub fn registered(&self) -> impl Iterator<Item = &NodeSetup> + '_ {
        self.nodes().iter().filter(|setup| !setup.is_memoryless())
    }
}

impl<const MAX_NODES: usize> fmt::Display for SetupSummary<MAX_NODES> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for node in self.nodes() {
            writeln!(formatter, "{node}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{PageFrameNumber, PhysicalAddress};
    use std::format;

    #[test]
    fn byte_counts_use_the_largest_exact_unit() {
        assert_eq!(format!("{}", Bytes(0)), "0 bytes");
        assert_eq!(format!("{}", Bytes(1536)), "1536 bytes");
        assert_eq!(format!("{}", Bytes(2048)), "2 KiB");
        assert_eq!(format!("{}", Bytes(3 << 20)), "3 MiB");
        assert_eq!(format!("{}", Bytes(100)), "100 bytes");
    }

    #[test]
    fn one_line_per_node() {
        let frames = FrameRange::new(PageFrameNumber::new(0), PageFrameNumber::new(0x100)).unwrap();
        let bitmap = PhysicalRange::new(
            PhysicalAddress::new(0xff000),
            PhysicalAddress::new(0x100000),
        )
        .unwrap();
        let mut summary = SetupSummary::<2>::new();
        summary.push(NodeSetup {
            node: NodeId::new(0),
            frames,
            ram_bytes: 1 << 20,
            bitmap: Some(bitmap),
            reserved_ranges: 1,
            reserved_bytes: 0x1000,
        });
        summary.push(NodeSetup {
            node: NodeId::new(1),
            ..NodeSetup::EMPTY
        });
        assert_eq!(
            format!("{summary}"),
            "node 0: frames [0x0, 0x100), 1 MiB RAM, bitmap [0xff000, 0x100000) (4 KiB), 1 ranges reserved (4 KiB)\nnode 1: no memory\n"
        );
        assert_eq!(summary.registered().count(), 1);
        assert!(summary.node(NodeId::new(1)).unwrap().is_memoryless());
    }
}
