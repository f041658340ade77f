//! One node's allocator (Linux's `bootmem_data`): its frames, bitmap, hint and last end.

use crate::address::{FrameRange, PageFrameNumber, PageSize, PhysicalAddress};
use crate::bitmap::{node_storage_words, Bitmap, BITS_PER_WORD};
use crate::node_id::NodeId;
use crate::proofs::Proofs;
use crate::search::{self, NodeWindow, Placement, SearchRequest};
use crate::sequential::{self, StreakId};
use crate::trace;

/// One registered node.
#[derive(Debug)]
pub(crate) struct NodeAllocator<Storage> {
    pub(crate) id: NodeId,
    /// Its frames, `[node_min_pfn, node_low_pfn)`; never empty.
    pub(crate) frames: FrameRange,
    pub(crate) bitmap: Bitmap<Storage>,
    /// The frames its bitmap storage occupies (from `mapstart`), when the
    /// storage lies in physical memory.
    pub(crate) bitmap_frames: Option<FrameRange>,
    /// Node-relative byte offset of the end of the last allocation.
    pub(crate) last_end_offset: u64,
    /// Node-relative page index where the next search starts.
    pub(crate) hint_index: u64,
    /// Whether the search scans bit by bit, as Linux does (benchmarks and
    /// differential tests only).
    pub(crate) bit_by_bit: bool,
    /// The streaks' proofs ([`sequential::hint_is_next`]) since the node
    /// last changed, once a streak has asked: whether each holds, for the
    /// streak and step it was worked out for.
    pub(crate) streak_proofs: sequential::Cached<Proofs>,
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>> NodeAllocator<Storage> {
    /// A node over `frames` with every page reserved. The caller has
    /// validated the range and the storage size.
    pub(crate) fn new(
        id: NodeId,
        frames: FrameRange,
        storage: Storage,
        bitmap_frames: Option<FrameRange>,
    ) -> Self {
        let pages = frames.len();
        debug_assert!(storage.as_ref().len() as u64 >= node_storage_words(pages));
        Self {
            id,
            frames,
            bitmap: Bitmap::new_all_set(storage, pages),
            bitmap_frames,
            last_end_offset: 0,
            hint_index: 0,
            bit_by_bit: false,
            streak_proofs: sequential::Cached(Proofs::NONE),
        }
    }

    /// The node's first frame, as a number.
    pub(crate) fn start_frame(&self) -> u64 {
        self.frames.start().as_u64()
    }

    /// The node's exclusive end frame, as a number.
    pub(crate) fn end_frame(&self) -> u64 {
        self.frames.end().as_u64()
    }

    /// Whether `frame` lies in the node.
    pub(crate) fn contains(&self, frame: PageFrameNumber) -> bool {
        self.frames.contains(frame)
    }

    fn window(&self) -> NodeWindow {
        NodeWindow {
            start_frame: self.start_frame(),
            end_frame: self.end_frame(),
            last_end_offset: self.last_end_offset,
            hint_index: self.hint_index,
        }
    }

    /// Places `request` on this node if it fits: finds where it lands and
    /// reserves its pages, moving the hint and last end. Returns the block's
    /// address. A request that lands in the first bitmap word the search
    /// looks at (the common sequential small request: the hint page) is
    /// decided there, without the scan.
    #[inline]
    pub(crate) fn allocate(
        &mut self,
        page: PageSize,
        request: &SearchRequest,
    ) -> Option<PhysicalAddress> {
        trace::allocation_attempt(self.id, page, request);
        let window = self.window();
        let placement = if self.bit_by_bit {
            crate::reference::find_placement(&self.bitmap, &window, page, request)?
        } else {
            search::find_placement(&self.bitmap, &window, page, request)?
        };
        let address = self.commit(page, &placement);
        // The streaks' proofs are about the new hint: worked out when a
        // streak first needs one.
        self.forget_streak_proofs();
        Some(address)
    }

    /// [`allocate`](Self::allocate) for a streak's request that the node
    /// could not place without a search. Its block lies at or past the
    /// goal's page (both passes search from the requested start, the goal
    /// aligned, on), so the new hint lies past that page, and the first
    /// pass of every later request of the streak, whatever its step,
    /// starts from the hint: the new hint is past the requested start, or
    /// no step boundary lies between them. The streak's proof the node
    /// has, if any, is carried instead of worked out again; the other
    /// streaks' are dropped (the search may have moved the hint back).
    #[inline]
    pub(crate) fn allocate_on_streak(
        &mut self,
        page: PageSize,
        request: &SearchRequest,
        streak: StreakId,
    ) -> Option<PhysicalAddress> {
        let proof = self.streak_proofs.0.of_streak(streak);
        let address = self.allocate(page, request)?;
        if let Some(proof) = proof {
            let carried = proof
                .starting_at_hint()
                .carried(&self.bitmap, &self.window());
            self.streak_proofs.0.store(carried);
        }
        Some(address)
    }

    /// The next block of a streak ([`sequential::Streak`]), without a
    /// search, where the proof ([`sequential::hint_is_next`]) shows where
    /// the general path would place it: a block that fits in the partly
    /// used page goes at the end of the last block, aligned
    /// ([`merge_into_partly_used_page`](Self::merge_into_partly_used_page)),
    /// any other whose run the search's first pass would find in the
    /// hint's leaf word goes there ([`place_at_hint`](Self::place_at_hint)).
    /// `None` in every other case (the caller asks
    /// [`allocate_on_streak`](Self::allocate_on_streak)).
    #[inline(always)]
    pub(crate) fn extend_streak(
        &mut self,
        page: PageSize,
        request: &SearchRequest,
        streak: StreakId,
    ) -> Option<PhysicalAddress> {
        // A run longer than the rest of the hint's word is never found
        // there, nor merged: no proof is worked out for it.
        if page.pages_for(request.size) > BITS_PER_WORD - self.hint_index % BITS_PER_WORD {
            return None;
        }
        let proof = self.streak_proof(page, request, streak);
        // A block merges only into a partly used page: none after a last
        // end on a page boundary.
        let partly_used = self.last_end_offset & (page.bytes() - 1) != 0;
        if partly_used && proof.hint_free(&self.bitmap, self.hint_index) {
            if let Some(address) = self.merge_into_partly_used_page(page, request) {
                return Some(address);
            }
        }
        if !proof.starts_at_hint {
            return None;
        }
        if let Some(address) = self.place_in_free_stretch(page, request, proof) {
            return Some(address);
        }
        self.place_at_hint(page, request, proof)
    }

    /// A streak's block whose run starts at the hint and lies in the free
    /// stretch the proof read there ([`sequential::Proof::free_until`]),
    /// the hint a step boundary: the first-word step of
    /// [`place_at_hint`](Self::place_at_hint) would find that run first,
    /// so it is placed there without reading the word again (the
    /// sequential page-sized requests of a boot, 63 of every 64). The
    /// proof stays as it is: its stretch holds past the new hint.
    #[inline(always)]
    fn place_in_free_stretch(
        &mut self,
        page: PageSize,
        request: &SearchRequest,
        proof: sequential::Proof,
    ) -> Option<PhysicalAddress> {
        let hint = self.hint_index;
        let pages = page.pages_for(request.size);
        let window = self.window();
        let step = proof.step();
        if !proof.holds_run_at_hint(hint, pages)
            || search::align_index(&window, hint, step) != hint
            || hint >= self.bitmap.refused_from(pages, step)
        {
            return None;
        }
        #[cfg(test)]
        sequential::tests::STRETCH_STEPS.with(|steps| steps.set(steps.get() + 1));
        let placement = search::place(&self.bitmap, &window, page, request, hint);
        trace::allocation_attempt(self.id, page, request);
        Some(self.commit(page, &placement))
    }

    /// A streak's block inside the partly used page, where the hint page
    /// is the search's answer for a page ([`sequential::Proof::hint_free`]): Linux
    /// merges it there, at the end of the last block aligned, when that
    /// page is the one just before the hint page, and nothing changes but
    /// the last end. A block that does not end before the hint page is
    /// not merged here: one of more than a page, one after a last end on a
    /// page boundary (the hint page is then the last end's), one after a
    /// free that lowered the hint below the partly used page.
    #[inline(always)]
    fn merge_into_partly_used_page(
        &mut self,
        page: PageSize,
        request: &SearchRequest,
    ) -> Option<PhysicalAddress> {
        let shift = page.shift();
        let base = self.start_frame() << shift;
        let start = search::align_up_saturating(base + self.last_end_offset, request.align) - base;
        let end = start.checked_add(request.size)?;
        if end > self.hint_index << shift {
            return None;
        }
        #[cfg(test)]
        sequential::tests::MERGES.with(|merges| merges.set(merges.get() + 1));
        trace::allocation_attempt(self.id, page, request);
        self.last_end_offset = end;
        Some(PhysicalAddress::new(base + start))
    }

    /// A streak's block found in the hint's leaf word: where the proof
    /// shows that the general search's first pass starts at the hint, its
    /// first-word step is its answer whenever it finds the run there
    /// ([`search::place_from_hint`]). The proof is carried to the new hint
    /// ([`sequential::Proof::carried`]); the other streaks' proofs stay
    /// (the hint only moved forward: [`crate::proofs`]).
    #[inline]
    fn place_at_hint(
        &mut self,
        page: PageSize,
        request: &SearchRequest,
        proof: sequential::Proof,
    ) -> Option<PhysicalAddress> {
        let window = self.window();
        let placement =
            search::place_from_hint(&self.bitmap, &window, page, request, proof.window_end)?;
        trace::allocation_attempt(self.id, page, request);
        let address = self.commit(page, &placement);
        let carried = proof.carried(&self.bitmap, &self.window());
        self.streak_proofs.0.store(carried);
        Some(address)
    }

    /// Streak `streak`'s proof ([`sequential::hint_is_next`]) for
    /// `request` (a request with the streak's goal and limit): worked out
    /// the first time the streak asks at a step (the proof reads the
    /// request through its goal, limit and step alone), then kept until
    /// the node changes otherwise than by a streak's search-free step
    /// ([`forget_streak_proofs`](Self::forget_streak_proofs)), or proofs
    /// for two other streaks or steps take its place ([`Proofs`]).
    #[inline(always)]
    fn streak_proof(
        &mut self,
        page: PageSize,
        request: &SearchRequest,
        streak: StreakId,
    ) -> sequential::Proof {
        match self.streak_proofs.0.front() {
            Some(proof) if proof.serves(streak, page, request) => *proof,
            _ => self.later_or_new_streak_proof(page, request, streak),
        }
    }

    /// [`streak_proof`](Self::streak_proof) when the proof used last does
    /// not serve: another the node keeps, or else worked out (the first
    /// time for a streak at a step since the node changed).
    #[inline(never)]
    fn later_or_new_streak_proof(
        &mut self,
        page: PageSize,
        request: &SearchRequest,
        streak: StreakId,
    ) -> sequential::Proof {
        if let Some(proof) = self.streak_proofs.0.serving_later(streak, page, request) {
            return proof;
        }
        let proof = sequential::hint_is_next(&self.bitmap, &self.window(), page, request, streak);
        self.streak_proofs.0.store(proof);
        proof
    }

    /// Drops the streaks' proofs: the node's pages or hint have changed
    /// (a streak's search-free step excepted, which only moves the hint
    /// forward and reserves pages below it).
    fn forget_streak_proofs(&mut self) {
        self.streak_proofs.0.forget_all();
    }

    /// Applies a placement found by [`search::find_placement`]: reserves its pages
    /// and moves the hint and last end. Returns the block's address.
    #[inline(always)]
    fn commit(&mut self, page: PageSize, placement: &Placement) -> PhysicalAddress {
        self.last_end_offset = placement.end_offset;
        self.hint_index = page.pages_for(placement.end_offset);
        if self.bit_by_bit {
            self.reserve_bit_by_bit(placement);
        } else {
            self.bitmap
                .reserve_placed(placement.reserve_from, placement.reserve_to);
        }
        // Within the node, whose end address fits in 64 bits.
        PhysicalAddress::new((self.start_frame() << page.shift()) + placement.start_offset)
    }

    /// v4.19's `__reserve` for [`commit`](Self::commit) on the reference
    /// search: one bit per page.
    #[inline(never)]
    fn reserve_bit_by_bit(&mut self, placement: &Placement) {
        for index in placement.reserve_from..placement.reserve_to {
            self.bitmap.reserve_placed(index, index + 1);
        }
    }

    /// Node-relative index of a frame of the node (or of its end).
    fn index_of(&self, frame: PageFrameNumber) -> u64 {
        debug_assert!(frame >= self.frames.start());
        frame.as_u64() - self.start_frame()
    }

    /// The frame at node-relative `index`.
    fn frame_at(&self, index: u64) -> PageFrameNumber {
        PageFrameNumber::new(self.start_frame() + index)
    }

    /// The first frame of `frames` (inside the node) that is free, if any.
    pub(crate) fn first_free(&self, frames: FrameRange) -> Option<PageFrameNumber> {
        if frames.is_empty() {
            return None;
        }
        let to = self.index_of(frames.end());
        let found = self.bitmap.next_clear(self.index_of(frames.start()), to);
        (found < to).then(|| self.frame_at(found))
    }

    /// The first frame of `frames` (inside the node) that is reserved, if any.
    pub(crate) fn first_reserved(&self, frames: FrameRange) -> Option<PageFrameNumber> {
        if frames.is_empty() {
            return None;
        }
        let to = self.index_of(frames.end());
        let found = self.bitmap.next_set(self.index_of(frames.start()), to);
        (found < to).then(|| self.frame_at(found))
    }

    /// Marks `frames` (inside the node) reserved.
    pub(crate) fn reserve_frames(&mut self, frames: FrameRange) {
        if !frames.is_empty() {
            let (from, to) = (self.index_of(frames.start()), self.index_of(frames.end()));
            self.bitmap.set_range(from, to);
            self.forget_streak_proofs();
        }
    }

    /// Linux's `__free` on `frames` (inside the node, possibly empty):
    /// lowers the hint to the start of the range, even an empty one, and
    /// clears the bits. The caller re-reserves bitmap pages afterwards.
    /// A free that changes nothing (an empty range at or past the hint:
    /// the partial pages of a small `free_bootmem`) keeps the streak's proof.
    pub(crate) fn free_frames(&mut self, frames: FrameRange) {
        let from_index = self.index_of(frames.start());
        if from_index < self.hint_index {
            self.hint_index = from_index;
            self.forget_streak_proofs();
        }
        if !frames.is_empty() {
            self.bitmap
                .clear_range(from_index, self.index_of(frames.end()));
            self.forget_streak_proofs();
        }
    }

    /// Free pages in the node.
    pub(crate) fn free_pages(&self) -> u64 {
        self.bitmap.count_clear()
    }

    /// Whether `frame` of the node is reserved.
    pub(crate) fn is_reserved(&self, frame: PageFrameNumber) -> bool {
        self.bitmap.is_set(self.index_of(frame))
    }
}
