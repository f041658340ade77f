//! Normalising firmware memory maps (e820, UEFI, device tree, SRAT) into per-node RAM, without a heap.
//!
//! A firmware describes memory as a list of ranges of assorted kinds, in
//! any order, sometimes overlapping, sometimes not page aligned, and (on
//! NUMA machines) a separate list of which addresses belong to which node.
//! [`MemoryMapBuilder`] takes both, one entry at a time, and
//! [`MemoryMapBuilder::build`] turns them into a [`MemoryMap`]:
//!
//! - ranges sorted by address, adjacent ranges of one kind merged;
//! - where ranges overlap, reservations win over RAM (and among
//!   reservations, the more restrictive kind wins);
//! - RAM rounded inward to whole pages;
//! - every RAM range assigned to a node: the node whose NUMA range covers
//!   it, the nearest node for RAM no NUMA range covers, node 0 when there
//!   is no NUMA information; nodes named by NUMA ranges that hold no RAM are
//!   kept as memoryless nodes;
//! - each node sized from its RAM only, so that a reserved window far above
//!   RAM does not grow its bitmap.
//!
//! Capacities are const parameters: `RANGES` bounds the ranges (and,
//! separately, the NUMA ranges) and `NODES` the distinct nodes. Nothing
//! panics and no address arithmetic wraps, whatever the input.
//!
//! ```
//! use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
//! use bootmem::{NodeId, PageSize, PhysicalAddress};
//!
//! let address = PhysicalAddress::new;
//! let mut builder = MemoryMapBuilder::<32, 4>::new();
//! // An e820-like table, out of order, with a sub-page tail and a reservation inside RAM.
//! builder.add_ram(address(0x10_0000), address(0x8000_0000))?;
//! builder.add_ram(address(0), address(0x9_fc00))?;
//! builder.add_range(address(0x9_fc00), address(0x10_0000), RangeKind::Reserved)?;
//! builder.add_range(address(0x100_0000), address(0x200_0000), RangeKind::Reserved)?;
//! // SRAT: two nodes.
//! builder.add_node_affinity(address(0), address(0x4000_0000), NodeId::new(0))?;
//! builder.add_node_affinity(address(0x4000_0000), address(0x8000_0000), NodeId::new(1))?;
//!
//! let map = builder.build(PageSize::SIZE_4KIB)?;
//! assert_eq!(map.nodes().len(), 2);
//! let node1 = map.node(NodeId::new(1)).unwrap();
//! assert_eq!((node1.start.as_u64(), node1.end.as_u64()), (0x4_0000, 0x8_0000));
//! // Node 0 lost the partial page at 0x9f000 and the reserved 16 MiB.
//! assert_eq!(map.node(NodeId::new(0)).unwrap().ram_bytes, 0x9_f000 + 0x3ff0_0000 - 0x100_0000);
//! let ram_of_node0: Vec<_> = map.ram_ranges_of(NodeId::new(0)).map(|range| range.start.as_u64()).collect();
//! assert_eq!(ram_of_node0, [0, 0x10_0000, 0x200_0000]);
//! # Ok::<(), bootmem::memory_map::MemoryMapError>(())
//! ```

mod error;
mod node;
mod range;
mod sweep;

#[cfg(test)]
mod tests;

pub use error::MemoryMapError;
pub use node::NodeSpan;
pub use range::{MemoryRange, NodeAffinity, RangeKind};

use crate::address::{PageFrameNumber, PageSize, PhysicalAddress};
use crate::list::FixedList;
use crate::node_id::NodeId;

/// Collects firmware ranges and NUMA affinities, in any order, then
/// normalises them with [`build`](Self::build).
///
/// `RANGES` bounds the ranges added, the NUMA affinities added (each
/// separately) and the ranges of the normalised map; `NODES` bounds the
/// distinct nodes.
#[derive(Clone, Debug)]
pub struct MemoryMapBuilder<const RANGES: usize, const NODES: usize> {
    ranges: FixedList<MemoryRange, RANGES>,
    affinities: FixedList<NodeAffinity, RANGES>,
    declared_nodes: FixedList<NodeId, NODES>,
}

impl<const RANGES: usize, const NODES: usize> Default for MemoryMapBuilder<RANGES, NODES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const RANGES: usize, const NODES: usize> MemoryMapBuilder<RANGES, NODES> {
    /// An empty builder.
    pub const fn new() -> Self {
        Self {
            ranges: FixedList::new(MemoryRange::EMPTY),
            affinities: FixedList::new(NodeAffinity::EMPTY),
            declared_nodes: FixedList::new(NodeId::new(0)),
        }
    }

    /// Adds the range `[start, end)` of `kind`. An empty range (`start ==
    /// end`) is accepted and ignored.
    ///
    /// # Errors
    ///
    /// [`MemoryMapError::EndBeforeStart`], [`MemoryMapError::TooManyRanges`].
    pub fn add_range(
        &mut self,
        start: PhysicalAddress,
        end: PhysicalAddress,
        kind: RangeKind,
    ) -> Result<(), MemoryMapError> {
        if end < start {
            return Err(MemoryMapError::EndBeforeStart { start, end });
        }
        self.ranges
            .push(MemoryRange::new(start, end, kind))
            .map_err(|_| MemoryMapError::TooManyRanges { capacity: RANGES })
    }

    /// Adds usable RAM `[start, end)`.
    ///
    /// # Errors
    ///
    /// As [`add_range`](Self::add_range).
    pub fn add_ram(
        &mut self,
        start: PhysicalAddress,
        end: PhysicalAddress,
    ) -> Result<(), MemoryMapError> {
        self.add_range(start, end, RangeKind::Ram)
    }

    /// Adds a reservation `[start, end)` (kind [`RangeKind::Reserved`]).
    ///
    /// # Errors
    ///
    /// As [`add_range`](Self::add_range).
    pub fn add_reserved(
        &mut self,
        start: PhysicalAddress,
        end: PhysicalAddress,
    ) -> Result<(), MemoryMapError> {
        self.add_range(start, end, RangeKind::Reserved)
    }

    /// Adds RAM `[start, end)` that belongs to `node` (a device tree memory
    /// node with `numa-node-id`): a RAM range and a NUMA affinity at once.
    ///
    /// # Errors
    ///
    /// As [`add_range`](Self::add_range) and
    /// [`add_node_affinity`](Self::add_node_affinity); nothing is added on error.
    pub fn add_ram_on_node(
        &mut self,
        start: PhysicalAddress,
        end: PhysicalAddress,
        node: NodeId,
    ) -> Result<(), MemoryMapError> {
        if self.affinities.is_full() {
            return Err(MemoryMapError::TooManyAffinities { capacity: RANGES });
        }
        self.add_ram(start, end)?;
        self.add_node_affinity(start, end, node)
    }

    /// Declares that the addresses `[start, end)` belong to `node` (an SRAT
    /// memory affinity). Affinities say nothing of whether memory is there:
    /// only RAM ranges do. A node whose affinities hold no RAM is kept as a
    /// memoryless node. Affinities of one node may overlap; affinities of
    /// different nodes may not (checked by [`build`](Self::build)).
    ///
    /// # Errors
    ///
    /// [`MemoryMapError::EndBeforeStart`], [`MemoryMapError::TooManyAffinities`].
    pub fn add_node_affinity(
        &mut self,
        start: PhysicalAddress,
        end: PhysicalAddress,
        node: NodeId,
    ) -> Result<(), MemoryMapError> {
        if end < start {
            return Err(MemoryMapError::EndBeforeStart { start, end });
        }
        self.affinities
            .push(NodeAffinity { start, end, node })
            .map_err(|_| MemoryMapError::TooManyAffinities { capacity: RANGES })
    }

    /// Declares a node that exists even if it has no memory (a CPU-only or
    /// device-only node). Declaring a node twice is harmless.
    ///
    /// # Errors
    ///
    /// [`MemoryMapError::TooManyNodes`].
    pub fn declare_node(&mut self, node: NodeId) -> Result<(), MemoryMapError> {
        if self.declared_nodes.as_slice().contains(&node) {
            return Ok(());
        }
        self.declared_nodes
            .push(node)
            .map_err(|_| MemoryMapError::TooManyNodes { capacity: NODES })
    }

    /// The ranges added so far, in the order added.
    pub fn added_ranges(&self) -> &[MemoryRange] {
        self.ranges.as_slice()
    }

    /// The NUMA affinities added so far, in the order added.
    pub fn added_affinities(&self) -> &[NodeAffinity] {
        self.affinities.as_slice()
    }

    /// Normalises what was added into a [`MemoryMap`] of `page_size` pages
    /// (see the [module documentation](self) for the rules). The builder is
    /// left as it was, so more entries may be added and the map built again.
    ///
    /// # Errors
    ///
    /// [`MemoryMapError::OverlappingNodes`] when affinities of two nodes
    /// overlap, [`MemoryMapError::NoRam`] when no whole page of RAM remains,
    /// [`MemoryMapError::TooManyNormalisedRanges`] and
    /// [`MemoryMapError::TooManyNodes`] when the result does not fit.
    pub fn build(&self, page_size: PageSize) -> Result<MemoryMap<RANGES, NODES>, MemoryMapError> {
        self.check_affinities()?;
        let mut map = MemoryMap {
            ranges: FixedList::new(MemoryRange::EMPTY),
            nodes: FixedList::new(NodeSpan::memoryless(NodeId::new(0))),
            page_size,
        };
        let mut pending: Option<MemoryRange> = None;
        sweep::sweep::<RANGES, _>(self.added_ranges(), |segment| match pending.as_mut() {
            Some(open) if open.end == segment.start && open.kind == segment.kind => {
                open.end = segment.end;
                Ok(())
            }
            _ => match pending.replace(segment) {
                Some(done) => self.emit(&mut map, done),
                None => Ok(()),
            },
        })?;
        if let Some(done) = pending {
            self.emit(&mut map, done)?;
        }
        if map.ranges().iter().all(|range| !range.kind.is_ram()) {
            return Err(MemoryMapError::NoRam);
        }
        map.size_nodes()?;
        for affinity in self.added_affinities() {
            map.ensure_node(affinity.node)?;
        }
        for &node in self.declared_nodes.iter() {
            map.ensure_node(node)?;
        }
        Ok(map)
    }

    /// Refuses two affinities of different nodes that share an address.
    ///
    /// In start order, every earlier affinity that reaches past the start
    /// of the current one contains that start, so (the earlier ones being
    /// consistent) they all belong to one node: comparing with the one that
    /// reaches furthest is enough. O(n log n).
    fn check_affinities(&self) -> Result<(), MemoryMapError> {
        let affinities = self.added_affinities();
        let mut by_start: FixedList<usize, RANGES> = FixedList::new(0);
        for (index, affinity) in affinities.iter().enumerate() {
            if !affinity.as_physical_range().is_empty() {
                // At most RANGES affinities were added.
                let _ = by_start.push(index);
            }
        }
        by_start
            .as_mut_slice()
            .sort_unstable_by_key(|&index| affinities[index].start);
        let mut furthest: Option<usize> = None;
        for &index in by_start.iter() {
            let current = &affinities[index];
            if let Some(reaching) = furthest {
                let earlier = &affinities[reaching];
                if earlier.end > current.start && earlier.node != current.node {
                    let (first, second) = (reaching.min(index), reaching.max(index));
                    return Err(MemoryMapError::OverlappingNodes {
                        first,
                        first_node: affinities[first].node,
                        second,
                        second_node: affinities[second].node,
                    });
                }
            }
            if furthest.map_or(true, |reaching| current.end > affinities[reaching].end) {
                furthest = Some(index);
            }
        }
        Ok(())
    }

    /// Writes one merged segment: non-RAM as it is, RAM rounded inward to
    /// pages and cut at node boundaries.
    fn emit(
        &self,
        map: &mut MemoryMap<RANGES, NODES>,
        segment: MemoryRange,
    ) -> Result<(), MemoryMapError> {
        if !segment.kind.is_ram() {
            return map.push(segment);
        }
        let page = map.page_size.bytes();
        let Some(start) = segment.start.align_up(page) else {
            return Ok(());
        };
        let end = segment.end.align_down(page);
        if start >= end {
            return Ok(());
        }
        let affinities = self.added_affinities();
        let mut position = start;
        while position < end {
            let mut node = None;
            let mut next = end;
            for affinity in affinities {
                if affinity.start <= position && position < affinity.end {
                    node = Some(affinity.node);
                    next = next.min(affinity.end);
                } else if affinity.start > position {
                    next = next.min(affinity.start);
                }
            }
            // Node boundaries inside a page: keep the page whole, with the
            // node of its first byte.
            let next = match next.align_up(page) {
                Some(rounded) if rounded < end => rounded,
                _ => end,
            };
            let node = node.unwrap_or_else(|| self.nearest_node(position, next));
            let mut piece = MemoryRange::new(position, next, RangeKind::Ram);
            piece.node = Some(node);
            map.push(piece)?;
            position = next;
        }
        Ok(())
    }

    /// The node of the affinity closest to `[start, end)`, which no affinity
    /// covers; node 0 when there are no affinities.
    fn nearest_node(&self, start: PhysicalAddress, end: PhysicalAddress) -> NodeId {
        let mut best: Option<(u64, NodeId)> = None;
        for affinity in self.added_affinities() {
            if affinity.end <= affinity.start {
                continue;
            }
            let distance = if affinity.end <= start {
                start.as_u64() - affinity.end.as_u64()
            } else {
                affinity.start.as_u64().saturating_sub(end.as_u64())
            };
            if best.map_or(true, |(shortest, _)| distance < shortest) {
                best = Some((distance, affinity.node));
            }
        }
        best.map_or(NodeId::new(0), |(_, node)| node)
    }
}

/// A normalised memory map: disjoint ranges in address order, RAM in whole
/// pages with its node, and the span of every node.
///
/// Made by [`MemoryMapBuilder::build`]; see the [module documentation](self).
#[derive(Clone, Debug)]
pub struct MemoryMap<const RANGES: usize, const NODES: usize> {
    ranges: FixedList<MemoryRange, RANGES>,
    nodes: FixedList<NodeSpan, NODES>,
    page_size: PageSize,
}

impl<const RANGES: usize, const NODES: usize> MemoryMap<RANGES, NODES> {
    /// Every range, RAM and not, sorted by address, disjoint; adjacent
    /// ranges differ in kind or node.
    pub fn ranges(&self) -> &[MemoryRange] {
        self.ranges.as_slice()
    }

    /// The RAM ranges, in address order.
    pub fn ram_ranges(&self) -> impl Iterator<Item = &MemoryRange> + '_ {
        self.ranges().iter().filter(|range| range.kind.is_ram())
    }

    /// The RAM ranges of `node`, in address order: what to free into the
    /// node's allocator once it is registered.
    pub fn ram_ranges_of(&self, node: NodeId) -> impl Iterator<Item = &MemoryRange> + '_ {
        self.ram_ranges()
            .filter(move |range| range.node == Some(node))
    }

    /// Every node, with and without memory, by increasing node number.
    pub fn nodes(&self) -> &[NodeSpan] {
        self.nodes.as_slice()
    }

    /// The span of `node`, if the map has that node.
    pub fn node(&self, node: NodeId) -> Option<&NodeSpan> {
        self.nodes().iter().find(|span| span.node == node)
    }

    /// The bytes of RAM in the map (whole pages, reservations taken out).
    pub fn ram_bytes(&self) -> u64 {
        // Disjoint ranges below 2^64 cannot add up past 2^64.
        self.ram_ranges()
            .map(MemoryRange::size)
            .fold(0, u64::saturating_add)
    }

    /// The page size the map was normalised to.
    pub fn page_size(&self) -> PageSize {
        self.page_size
    }

    /// The frame past the highest RAM page (Linux's `max_pfn`).
    pub fn end_of_ram(&self) -> PageFrameNumber {
        self.nodes()
            .iter()
            .map(|span| span.end)
            .max()
            .unwrap_or_default()
    }

    fn push(&mut self, range: MemoryRange) -> Result<(), MemoryMapError> {
        if let Some(last) = self.ranges.last_mut() {
            if last.end == range.start && last.kind == range.kind && last.node == range.node {
                last.end = range.end;
                return Ok(());
            }
        }
        self.ranges
            .push(range)
            .map_err(|_| MemoryMapError::TooManyNormalisedRanges { capacity: RANGES })
    }

    /// Finds `node` in the node table, inserting it (memoryless) in order if absent.
    fn ensure_node(&mut self, node: NodeId) -> Result<usize, MemoryMapError> {
        match self.nodes().binary_search_by_key(&node, |span| span.node) {
            Ok(index) => Ok(index),
            Err(index) => {
                self.nodes
                    .insert(index, NodeSpan::memoryless(node))
                    .map_err(|_| MemoryMapError::TooManyNodes { capacity: NODES })?;
                Ok(index)
            }
        }
    }

    fn size_nodes(&mut self) -> Result<(), MemoryMapError> {
        let page_size = self.page_size;
        for position in 0..self.ranges.len() {
            let range = self.ranges.as_slice()[position];
            let Some(node) = range.node.filter(|_| range.kind.is_ram()) else {
                continue;
            };
            let index = self.ensure_node(node)?;
            let span = &mut self.nodes.as_mut_slice()[index];
            let first = page_size.frame_containing(range.start);
            let past = page_size.frame_containing(range.end);
            if span.ram_bytes == 0 {
                span.start = first;
                span.end = past;
            } else {
                span.start = span.start.min(first);
                span.end = span.end.max(past);
            }
            span.ram_bytes = span.ram_bytes.saturating_add(range.size());
        }
        Ok(())
    }
}
