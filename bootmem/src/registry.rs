//! The registered nodes, kept sorted by first page frame in a fixed-size array.
//!
//! Linux keeps its `bootmem_data` in a list sorted by `node_min_pfn`; this is
//! the same order without a heap. The registry also splits a physical range
//! into per-node pieces the way Linux's `mark_bootmem` walks the list, and
//! refuses, before anything changes, a range that leaves the nodes or
//! crosses a hole between them (deviation 6).

use crate::address::PageFrameNumber;
use crate::error::{RangeError, RegistrationError};
use crate::node::NodeAllocator;
use crate::node_id::NodeId;

/// Up to `MAX_NODES` node allocators in ascending address order.
#[derive(Debug)]
pub(crate) struct NodeRegistry<Storage, const MAX_NODES: usize> {
    nodes: [Option<NodeAllocator<Storage>>; MAX_NODES],
    count: usize,
}

/// The consecutive nodes `first..=last` a frame range runs through.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pieces {
    pub(crate) first: usize,
    pub(crate) last: usize,
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize>
    NodeRegistry<Storage, MAX_NODES>
{
    pub(crate) const fn new() -> Self {
        Self {
            nodes: [const { None }; MAX_NODES],
            count: 0,
        }
    }

    /// The registered nodes in address order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &NodeAllocator<Storage>> + Clone {
        self.nodes[..self.count].iter().flatten()
    }

    /// The registered nodes in address order, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut NodeAllocator<Storage>> {
        self.nodes[..self.count].iter_mut().flatten()
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The node at `position` in address order.
    pub(crate) fn get(&self, position: usize) -> &NodeAllocator<Storage> {
        self.nodes[position]
            .as_ref()
            .expect("positions below count hold nodes")
    }

    /// The node at `position` in address order, mutably.
    pub(crate) fn get_mut(&mut self, position: usize) -> &mut NodeAllocator<Storage> {
        self.nodes[position]
            .as_mut()
            .expect("positions below count hold nodes")
    }

    /// The position of node `id`, if registered.
    pub(crate) fn position_of(&self, id: NodeId) -> Option<usize> {
        self.iter().position(|node| node.id == id)
    }

    /// The position of the node holding `frame`.
    pub(crate) fn position_containing(&self, frame: u64) -> Option<usize> {
        self.iter().position(|node| node.contains(frame))
    }

    /// Checks that a node `id` over `[start, end)` may join.
    pub(crate) fn check_new(
        &self,
        id: NodeId,
        start: u64,
        end: u64,
    ) -> Result<(), RegistrationError> {
        if self.position_of(id).is_some() {
            return Err(RegistrationError::NodeAlreadyRegistered(id));
        }
        if let Some(node) = self
            .iter()
            .find(|node| node.start_frame < end && start < node.end_frame)
        {
            return Err(RegistrationError::OverlapsNode(node.id));
        }
        if self.count == MAX_NODES {
            return Err(RegistrationError::RegistryFull {
                capacity: MAX_NODES,
            });
        }
        Ok(())
    }

    /// Inserts a node checked by [`check_new`](Self::check_new) before the
    /// first node that starts above it, and returns its position.
    pub(crate) fn insert(&mut self, node: NodeAllocator<Storage>) -> usize {
        let position = self
            .iter()
            .position(|other| other.start_frame > node.start_frame)
            .unwrap_or(self.count);
        self.nodes[position..=self.count].rotate_right(1);
        self.nodes[position] = Some(node);
        self.count += 1;
        position
    }

    /// Linux's `mark_bootmem` walk, checked: the nodes that frames
    /// `[start, end)` run through. `start` must lie in a node even when the
    /// range is empty or inverted; every later piece must begin exactly where
    /// the previous node ends.
    pub(crate) fn pieces(&self, start: u64, end: u64) -> Result<Pieces, RangeError> {
        let first = self
            .position_containing(start)
            .ok_or(RangeError::OutsideNodes {
                frame: PageFrameNumber::new(start),
            })?;
        let mut last = first;
        loop {
            let node_end = self.get(last).end_frame;
            if end <= node_end {
                return Ok(Pieces { first, last });
            }
            let frame = PageFrameNumber::new(node_end);
            if last + 1 == self.count {
                return Err(RangeError::OutsideNodes { frame });
            }
            if self.get(last + 1).start_frame != node_end {
                return Err(RangeError::CrossesHole { frame });
            }
            last += 1;
        }
    }

    /// The frames of piece `position` of a walk over `[start, end)`.
    pub(crate) fn piece_frames(&self, position: usize, start: u64, end: u64) -> (u64, u64) {
        let node = self.get(position);
        (start.max(node.start_frame), end.min(node.end_frame))
    }

    /// Re-reserves, inside node `position`, every bitmap page of every node
    /// that falls in `[from, to)` (deviation 7: frees leave them reserved).
    pub(crate) fn protect_bitmaps(&mut self, position: usize, from: u64, to: u64) {
        for index in 0..self.count {
            let Some(frames) = self.get(index).bitmap_frames else {
                continue;
            };
            let (low, high) = (from.max(frames.start), to.min(frames.end));
            self.get_mut(position).reserve_frames(low, high);
        }
    }

    /// Takes the nodes out, in address order.
    pub(crate) fn into_nodes(self) -> [Option<NodeAllocator<Storage>>; MAX_NODES] {
        self.nodes
    }
}
