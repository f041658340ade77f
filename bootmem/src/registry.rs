//! The registered nodes, kept sorted by first page frame in a fixed-capacity list.
//!
//! Linux keeps its `bootmem_data` in a list sorted by `node_min_pfn`; this is
//! the same order without a heap. The registry also splits a frame range
//! into per-node pieces the way Linux's `mark_bootmem` walks the list, and
//! refuses, before anything changes, a range that leaves the nodes or
//! crosses a hole between them (deviation 6).

use crate::address::{FrameRange, PageFrameNumber, PageSize, PhysicalAddress};
use crate::error::{RangeError, RegistrationError};
use crate::list::FixedList;
use crate::node::NodeAllocator;
use crate::node_id::NodeId;
use crate::search::SearchRequest;
use crate::sequential::{Cached, StreakOrigin};
use crate::streaks::{StreakNode, Streaks};

/// Up to `MAX_NODES` node allocators in ascending address order. Every slot
/// below the length holds a node (the `Option` only lets the unused slots
/// exist without a node to fill them).
#[derive(Debug)]
pub(crate) struct NodeRegistry<Storage, const MAX_NODES: usize> {
    nodes: FixedList<Option<NodeAllocator<Storage>>, MAX_NODES>,
    /// Runs of allocations, each with one goal and limit, that the node
    /// they meet first placed ([`Streak`](crate::sequential::Streak), a few
    /// at once: [`Streaks`]).
    /// Each rests on the list of nodes alone (which node the walk tries
    /// first for the key), so what changes the list or every node at once
    /// ([`insert`](Self::insert), [`iter_mut`](Self::iter_mut),
    /// [`detach_nodes`](Self::detach_nodes)) ends them all; a change inside
    /// one node ([`get_mut`](Self::get_mut)) drops only that node's proofs,
    /// which the node does itself.
    streaks: Cached<Streaks>,
}

/// The consecutive nodes `first..=last` a frame range runs through.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pieces {
    pub(crate) first: usize,
    pub(crate) last: usize,
}

impl Pieces {
    /// The registry positions of the pieces.
    pub(crate) fn positions(self) -> core::ops::RangeInclusive<usize> {
        self.first..=self.last
    }
}

/// What [`NodeRegistry::extend_streak`] did with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreakStep {
    /// The streak's node placed it.
    Placed(PhysicalAddress),
    /// The streak's node, at this registry position, had no room.
    NoRoom(usize),
    /// No streak for this request: the walk decides from the first node.
    NoStreak,
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize>
    NodeRegistry<Storage, MAX_NODES>
{
    pub(crate) const fn new() -> Self {
        Self {
            nodes: FixedList::from_slots([const { None }; MAX_NODES]),
            streaks: Cached(Streaks::new()),
        }
    }

    /// The registered nodes in address order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &NodeAllocator<Storage>> + Clone {
        self.nodes.iter().flatten()
    }

    /// The registered nodes in address order, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut NodeAllocator<Storage>> {
        self.streaks.0.end_all();
        self.nodes.iter_mut().flatten()
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The node at `position` in address order.
    pub(crate) fn get(&self, position: usize) -> &NodeAllocator<Storage> {
        self.nodes
            .get(position)
            .and_then(Option::as_ref)
            .expect("positions below the length hold nodes")
    }

    /// The node at `position` in address order, mutably. A streak stays:
    /// the node drops its own proof when its pages, hint or last end change.
    pub(crate) fn get_mut(&mut self, position: usize) -> &mut NodeAllocator<Storage> {
        self.nodes
            .get_mut(position)
            .and_then(Option::as_mut)
            .expect("positions below the length hold nodes")
    }

    /// The position of node `id`, if registered.
    pub(crate) fn position_of(&self, id: NodeId) -> Option<usize> {
        self.iter().position(|node| node.id == id)
    }

    /// The position of the node holding `frame`.
    pub(crate) fn position_containing(&self, frame: PageFrameNumber) -> Option<usize> {
        self.iter().position(|node| node.contains(frame))
    }

    /// Checks that a node `id` over `frames` may join.
    pub(crate) fn check_new(
        &self,
        id: NodeId,
        frames: FrameRange,
    ) -> Result<(), RegistrationError> {
        if self.position_of(id).is_some() {
            return Err(RegistrationError::NodeAlreadyRegistered(id));
        }
        if let Some(node) = self.iter().find(|node| node.frames.overlaps(&frames)) {
            return Err(RegistrationError::OverlapsNode(node.id));
        }
        if self.nodes.is_full() {
            return Err(RegistrationError::RegistryFull {
                capacity: MAX_NODES,
            });
        }
        Ok(())
    }

    /// Starts a streak for `request` on the node at `position`, which just
    /// placed it as the first node the request meets (`origin` says why).
    /// A node that searches bit by bit (Linux's own search, kept as the
    /// benchmarks' reference) starts none: Linux walks the nodes and
    /// searches for every request.
    pub(crate) fn start_streak(
        &mut self,
        position: usize,
        origin: StreakOrigin,
        request: &SearchRequest,
    ) {
        let searches_by_word = self
            .nodes
            .get(position)
            .and_then(Option::as_ref)
            .is_some_and(|node| !node.bit_by_bit);
        if searches_by_word {
            self.streaks.0.start(position, origin, request);
        }
    }

    /// Places `request` by its streak, if it has one, without the node walk.
    ///
    /// A request with the streak's goal and limit meets the same nodes in
    /// the walk, whatever its size and alignment, so the walk would try
    /// the streak's node first and take whatever that node places. The
    /// node is asked directly ([`ask_streak_node`](Self::ask_streak_node)).
    #[inline]
    pub(crate) fn extend_streak(&mut self, page: PageSize, request: &SearchRequest) -> StreakStep {
        match self.streaks.0.for_walk(request) {
            Some(streak) => self.ask_streak_node(streak, page, request),
            None => StreakStep::NoStreak,
        }
    }

    /// Places `request`, which prefers the node at `position`, by a streak
    /// on that node with the request's goal and limit, whatever made it.
    #[inline]
    pub(crate) fn extend_streak_on(
        &mut self,
        position: usize,
        page: PageSize,
        request: &SearchRequest,
    ) -> StreakStep {
        match self.streaks.0.on_node(position, request) {
            Some(streak) => self.ask_streak_node(streak, page, request),
            None => StreakStep::NoStreak,
        }
    }

    /// Asks the streak's node for `request`: a block it can place from its
    /// proof without even a search ([`NodeAllocator::extend_streak`]), any
    /// other through its own search. A node that finds no room ends the
    /// streak, and the caller goes on as Linux would after that node
    /// ([`StreakStep::NoRoom`]).
    #[inline(always)]
    fn ask_streak_node(
        &mut self,
        streak: StreakNode,
        page: PageSize,
        request: &SearchRequest,
    ) -> StreakStep {
        let Some(node) = self.nodes.get_mut(streak.position).and_then(Option::as_mut) else {
            return StreakStep::NoStreak;
        };
        if let Some(address) = node.extend_streak(page, request, streak.id) {
            return StreakStep::Placed(address);
        }
        match node.allocate_on_streak(page, request, streak.id) {
            Some(address) => StreakStep::Placed(address),
            None => {
                self.streaks.0.end(streak.id);
                StreakStep::NoRoom(streak.position)
            }
        }
    }

    /// Inserts a node checked by [`check_new`](Self::check_new) before the
    /// first node that starts above it.
    pub(crate) fn insert(&mut self, node: NodeAllocator<Storage>) {
        self.streaks.0.end_all();
        let position = self
            .iter()
            .position(|other| other.frames.start() > node.frames.start())
            .unwrap_or(self.len());
        let inserted = self.nodes.insert(position, Some(node));
        debug_assert!(inserted.is_ok(), "check_new saw room");
    }

    /// Linux's `mark_bootmem` walk, checked: the nodes that `frames` run
    /// through. Their start must lie in a node even when they are empty;
    /// every later piece must begin exactly where the previous node ends.
    pub(crate) fn pieces(&self, frames: FrameRange) -> Result<Pieces, RangeError> {
        let first = self
            .position_containing(frames.start())
            .ok_or(RangeError::OutsideNodes {
                frame: frames.start(),
            })?;
        let mut last = first;
        loop {
            let node_end = self.get(last).frames.end();
            if frames.end() <= node_end {
                return Ok(Pieces { first, last });
            }
            if last + 1 == self.len() {
                return Err(RangeError::OutsideNodes { frame: node_end });
            }
            if self.get(last + 1).frames.start() != node_end {
                return Err(RangeError::CrossesHole { frame: node_end });
            }
            last += 1;
        }
    }

    /// The piece of `frames` that falls in the node at `position`
    /// (possibly empty, at the later of the two starts).
    pub(crate) fn piece(&self, position: usize, frames: FrameRange) -> FrameRange {
        frames.clipped_to(&self.get(position).frames)
    }

    /// Re-reserves, inside node `position`, every bitmap page of every node
    /// that falls in `frames` (deviation 7: frees leave them reserved).
    pub(crate) fn protect_bitmaps(&mut self, position: usize, frames: FrameRange) {
        for index in 0..self.len() {
            let Some(bitmap) = self.get(index).bitmap_frames else {
                continue;
            };
            if let Some(overlap) = bitmap.intersection(&frames) {
                self.get_mut(position).reserve_frames(overlap);
            }
        }
    }

    /// Reserves, in every registered node, the frames of `bitmap` that lie in it.
    pub(crate) fn pin_bitmap(&mut self, bitmap: FrameRange) {
        for node in self.iter_mut() {
            if let Some(overlap) = bitmap.intersection(&node.frames) {
                node.reserve_frames(overlap);
            }
        }
    }

    /// Takes the nodes out, in address order, then the empty slots.
    pub(crate) fn into_nodes(self) -> [Option<NodeAllocator<Storage>>; MAX_NODES] {
        let len = self.len();
        let mut slots = self.nodes.into_slots();
        // Past the length every slot is empty, unless an in-place hand-off
        // was leaked (`mem::forget`) before it emptied the slots it took:
        // their nodes were handed off (or began to be) and are not this
        // registry's any more.
        for slot in &mut slots[len..] {
            if slot.is_some() {
                *slot = None;
            }
        }
        slots
    }

    /// Empties the registry and lends out its nodes, in address order, for
    /// an in-place hand-off, which empties their slots when it is done.
    pub(crate) fn detach_nodes(&mut self) -> &mut [Option<NodeAllocator<Storage>>] {
        self.streaks.0.end_all();
        self.nodes.detach()
    }
}
