//! Streaks: a boot's run of allocations with one goal and limit, asked of one node directly.
//!
//! Most boot-time allocations follow one another with the same arguments:
//! the node walk then meets the same nodes in the same order each time,
//! and the first node that placed the last one is asked first again. A
//! streak asks it directly, without the walk. And the small ones end
//! inside a page (still reserved), the hint is the page after it, and the
//! next block of at most a page lands there, merged into the partly used
//! page when the alignment allows: this module proves that outcome from
//! the window, two bits and the node's refusals ([`hint_is_next`]), so
//! that such a block is placed without a search.

use crate::address::{PageSize, PhysicalAddress};
use crate::bitmap::{Bitmap, BITS_PER_WORD};
use crate::search::{align_index, scan_start, NodeWindow, SearchRequest};

/// The proof a streak's search-free steps rest on: the general search's
/// first pass starts from the hint, and (for a block merged into the
/// partly used page) the hint page is inside the window and free, no
/// refusal standing in the way. Worked out for the request's step, with
/// the end of the window its limit leaves.
#[inline(always)]
pub(crate) fn hint_is_next<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    page: PageSize,
    request: &SearchRequest,
    streak: StreakId,
) -> Proof {
    #[cfg(test)]
    tests::PROOFS.with(|proofs| proofs.set(proofs.get() + 1));
    let hint = window.hint_index;
    // The first pass starts from the hint when `scan_start` puts its first
    // candidate at the hint aligned to the step: the hint lies at or past
    // the requested start, or just before it with no step boundary between.
    let Some(scan) = scan_start(window, page, request) else {
        return Proof::new(streak, request, request.step(page), 0, false, hint);
    };
    let starts_at_hint = scan.first == align_index(window, hint, scan.step);
    let free_until = if starts_at_hint {
        free_stretch_end(bitmap, hint, scan.window_end)
    } else {
        hint
    };
    Proof::new(
        streak,
        request,
        scan.step,
        scan.window_end,
        starts_at_hint,
        free_until,
    )
}

/// The end of the free pages from the hint on, inside the hint's leaf
/// word and the window: the hint itself when the hint page is reserved or
/// past the window. One read of the word.
#[inline(always)]
fn free_stretch_end<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    hint: u64,
    window_end: u64,
) -> u64 {
    if hint >= window_end {
        return hint;
    }
    let offset = hint % BITS_PER_WORD;
    // Shifted right, the word's end reads as free: capped below.
    let free = u64::from((bitmap.word(hint / BITS_PER_WORD) >> offset).trailing_zeros());
    (hint + free.min(BITS_PER_WORD - offset)).min(window_end)
}

/// The key of a streak of allocations on one node: every request of the
/// streak asks for the same goal and limit, and meets the same node first
/// whatever its size and alignment, which that node's own search then
/// decides. Where the node comes from is the streak's [`StreakOrigin`].
///
/// A streak starts when that first node placed a request; the next
/// requests with the same key are asked of it directly
/// ([`NodeRegistry::extend_streak`](crate::registry::NodeRegistry::extend_streak)),
/// until it finds no room. While the node's proof ([`hint_is_next`])
/// holds, a block the search's first pass would find in the hint's leaf
/// word is placed without a search
/// ([`NodeAllocator::extend_streak`](crate::node::NodeAllocator::extend_streak)).
/// The proof is worked out the first time a streak asks after the node
/// changed, for the request's step ([`Proof`]). Only a change to the list
/// of nodes ends a streak; a change to a node's pages or hint drops that
/// node's proofs, except a streak's own search-free step, which keeps
/// every streak's ([`crate::proofs`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Streak {
    /// Which streak it is, for the proofs nodes keep for it.
    pub(crate) id: StreakId,
    /// Registry position of the node.
    pub(crate) position: usize,
    /// Why requests with the key meet that node first.
    pub(crate) origin: StreakOrigin,
    goal: PhysicalAddress,
    limit: Option<PhysicalAddress>,
}

/// Why a streak's requests meet its node first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreakOrigin {
    /// The node walk (`alloc_bootmem_core`) tries it first: which nodes
    /// the walk skips and where it stops read the goal and limit alone.
    Walk,
    /// The requests prefer it (`___alloc_bootmem_node_nopanic` tries the
    /// preferred node before all nodes): only requests preferring the
    /// same node continue the streak.
    Preferred,
}

/// Names one streak for the proof a node keeps for it: each streak a
/// registry starts gets the next one (64 bits: never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StreakId(u64);

impl StreakId {
    /// The first streak's.
    pub(crate) const FIRST: Self = Self(0);

    /// The one after it.
    pub(crate) const fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }
}

impl Streak {
    /// Streak `id`, of requests like `request` on the node at `position`.
    pub(crate) fn new(
        id: StreakId,
        position: usize,
        origin: StreakOrigin,
        request: &SearchRequest,
    ) -> Self {
        Self {
            id,
            position,
            origin,
            goal: request.goal,
            limit: request.limit,
        }
    }

    /// Whether `request` has the streak's key (its size and alignment are
    /// the node's to judge).
    #[inline]
    pub(crate) fn matches(&self, request: &SearchRequest) -> bool {
        self.goal == request.goal && self.limit == request.limit
    }
}

/// A node's worked-out [`hint_is_next`] for a streak: the proof reads the
/// request through its goal and limit (the streak's key) and its step (its
/// alignment in pages, at least one), so it holds for every request of the
/// streak with that step: all those aligned to a page or less share it.
///
/// Thirty-two bytes (alignment and step as exponents): every node holds
/// two ([`crate::proofs`]), and an allocator of many nodes may be moved on
/// a small stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Proof {
    /// The streak it was worked out for: its goal and limit.
    streak: StreakId,
    /// The end of the search window (node-relative): the node's end, or
    /// the streak's limit.
    pub(crate) window_end: u64,
    /// The exponent of the alignment of the request it was worked out for.
    align_exponent: u8,
    /// The exponent of the step it was worked out for (that alignment's).
    step_exponent: u8,
    /// Where the free pages from the hint on end, inside the hint's leaf
    /// word and the window (the hint itself when none is free), read when
    /// the search's first pass starts from the hint (else the hint). Any
    /// streak's search-free step keeps it true: its blocks only reserve
    /// pages below the new hint, so the pages from the new hint to here
    /// are still free (none, when the hint passed it), and any other
    /// change to the node drops the proof.
    pub(crate) free_until: u64,
    /// Whether the search's first pass starts from the hint (at the hint
    /// aligned to the step).
    pub(crate) starts_at_hint: bool,
}

impl Proof {
    /// A proof for `request`'s alignment and `step` (a power of two).
    fn new(
        streak: StreakId,
        request: &SearchRequest,
        step: u64,
        window_end: u64,
        starts_at_hint: bool,
        free_until: u64,
    ) -> Self {
        Self {
            streak,
            window_end,
            free_until,
            // Powers of two: their exponents are below 64.
            align_exponent: request.align.trailing_zeros() as u8,
            step_exponent: step.trailing_zeros() as u8,
            starts_at_hint,
        }
    }

    /// Whether the hint page (`hint`, the node's) is free, in the free
    /// stretch, and no refusal for one page stands in the way. With a
    /// first pass from the hint, that page is then the pass's answer for
    /// one page wherever the hint is a step boundary, as it is at every
    /// step of one page, the only ones whose blocks merge into the partly
    /// used page (an alignment of a page or more starts past it): such a
    /// block goes there.
    #[inline(always)]
    pub(crate) fn hint_free<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &self,
        bitmap: &Bitmap<Storage>,
        hint: u64,
    ) -> bool {
        hint < self.free_until && hint < bitmap.refused_from(1, self.step())
    }

    /// Whether a run of `pages` pages starting at the hint lies in the
    /// free stretch ([`free_until`](Self::free_until)).
    #[inline(always)]
    pub(crate) fn holds_run_at_hint(&self, hint: u64, pages: u64) -> bool {
        hint.checked_add(pages)
            .is_some_and(|end| end <= self.free_until)
    }

    /// The step it was worked out for.
    #[inline(always)]
    pub(crate) fn step(&self) -> u64 {
        1 << self.step_exponent
    }

    /// Whether it serves `request` of streak `streak`: the streak it was
    /// worked out for (the same goal and limit), at the same step. The
    /// same alignment as the request it was worked out for is looked at
    /// first (one compare, no step).
    #[inline(always)]
    pub(crate) fn serves(&self, streak: StreakId, page: PageSize, request: &SearchRequest) -> bool {
        self.streak == streak
            && (u32::from(self.align_exponent) == request.align.trailing_zeros()
                || u32::from(self.step_exponent) == request.step(page).trailing_zeros())
    }

    /// Whether it was worked out for streak `streak`.
    #[inline(always)]
    pub(crate) fn belongs_to(&self, streak: StreakId) -> bool {
        self.streak == streak
    }

    /// Whether `other` was worked out for the same streak at the same step
    /// (one replaces the other).
    #[inline(always)]
    pub(crate) fn same_streak_and_step(&self, other: &Self) -> bool {
        self.streak == other.streak && self.step_exponent == other.step_exponent
    }

    /// The same proof, its first pass known to start from the hint.
    #[inline(always)]
    pub(crate) fn starting_at_hint(self) -> Self {
        Self {
            starts_at_hint: true,
            ..self
        }
    }

    /// The proof carried to the node's new hint, after a block was placed
    /// from the hint by a first pass this proof showed to start there, and
    /// reserved pages past it: the new hint lies past the old one, so past
    /// the requested start as well, and the first pass starts from it again.
    #[inline(always)]
    pub(crate) fn carried<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        self,
        bitmap: &Bitmap<Storage>,
        window: &NodeWindow,
    ) -> Self {
        debug_assert!(self.starts_at_hint);
        let hint = window.hint_index;
        Self {
            free_until: free_stretch_end(bitmap, hint, self.window_end),
            ..self
        }
    }
}

/// Streak bookkeeping beside an allocator's state: a cache, not state, so
/// it prints alike whatever it holds (two allocators with the same bits,
/// hints and last ends print alike, and a failed call prints as before).
#[derive(Clone, Copy, Default)]
pub(crate) struct Cached<T>(pub(crate) T);

impl<T> core::fmt::Debug for Cached<T> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str("Cached")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bitmap::node_storage_words;
    use crate::search::{find_placement, place, Placement};
    use std::vec;
    use std::vec::Vec;

    /// What the proof lets a streak place without a search (as the
    /// node's `extend_streak` does, on the bitmap alone): a block of at
    /// most a page that ends inside the partly used page, merged there,
    /// where the hint page is free; any other block whose run the first
    /// pass finds in the hint's word, where that pass starts from the hint.
    fn next_to_last_block(
        bitmap: &Bitmap<Vec<u64>>,
        window: &NodeWindow,
        page: PageSize,
        request: &SearchRequest,
    ) -> Option<Placement> {
        let proof = hint_is_next(bitmap, window, page, request, StreakId::FIRST);
        let hint = window.hint_index;
        let partly_used = window.last_end_offset % page.bytes() != 0;
        if request.size <= page.bytes() && partly_used && proof.hint_free(bitmap, hint) {
            let merged = place(bitmap, window, page, request, hint);
            if merged.end_offset <= hint * page.bytes() {
                return Some(merged);
            }
        }
        if !proof.starts_at_hint {
            return None;
        }
        let (pages, step) = (page.pages_for(request.size), proof.step());
        if proof.holds_run_at_hint(hint, pages)
            && align_index(window, hint, step) == hint
            && hint < bitmap.refused_from(pages, step)
        {
            return Some(place(bitmap, window, page, request, hint));
        }
        crate::search::place_from_hint(bitmap, window, page, request, proof.window_end)
    }

    std::thread_local! {
        /// Proofs ([`hint_is_next`]) worked out on this thread, counted
        /// where a timed test would be noise.
        pub(crate) static PROOFS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
        /// Blocks a streak merged into the partly used page on this
        /// thread, without the first-word step.
        pub(crate) static MERGES: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
        /// Blocks a streak placed in the proof's free stretch on this
        /// thread, without reading the hint's word.
        pub(crate) static STRETCH_STEPS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
    }

    const PAGES: u64 = 20;
    const PAGE: u64 = 4096;

    fn request(size: u64, align: u64, goal: u64, limit: Option<u64>) -> SearchRequest {
        SearchRequest {
            size,
            align,
            goal: PhysicalAddress::new(goal),
            limit: limit.map(PhysicalAddress::new),
        }
    }

    /// A node of [`PAGES`] pages from `start_frame`: the pages before the
    /// hint reserved (the last block's), the hint page free unless `hint_taken`.
    fn node(
        start_frame: u64,
        hint: u64,
        last_end: u64,
        hint_taken: bool,
    ) -> (Bitmap<Vec<u64>>, NodeWindow) {
        let mut bitmap = Bitmap::new_all_set(vec![0; node_storage_words(PAGES) as usize], PAGES);
        bitmap.clear_range(hint, PAGES);
        if hint_taken {
            bitmap.set_range(hint, hint + 1);
        }
        let window = NodeWindow {
            start_frame,
            end_frame: start_frame + PAGES,
            last_end_offset: last_end,
            hint_index: hint,
        };
        (bitmap, window)
    }

    #[test]
    fn the_shortcut_places_exactly_where_the_general_search_does() {
        let page = PageSize::SIZE_4KIB;
        // Under Miri (a thousand times slower) a corner of the same space.
        let miri = cfg!(miri);
        let hints: Vec<u64> = if miri { vec![5] } else { (0..PAGES).collect() };
        let starts: &[u64] = if miri { &[3] } else { &[0, 3, 64] };
        let sizes: &[u64] = if miri {
            &[0x40, PAGE]
        } else {
            &[1, 0x40, 0x800, PAGE, PAGE + 1]
        };
        let aligns: &[u64] = if miri {
            &[0x40, 2 * PAGE]
        } else {
            &[1, 0x40, PAGE, 2 * PAGE, 4 * PAGE]
        };
        let mut shortcuts = 0;
        for &start_frame in starts {
            let base = start_frame * PAGE;
            for &hint in &hints {
                for last_end in [hint * PAGE, (hint * PAGE).saturating_sub(0x40), 0] {
                    for hint_taken in [false, true] {
                        // No refusal, or one from the node's start, the hint or past it.
                        for refused_from in [None, Some(0), Some(hint), Some(hint + 1)] {
                            let (bitmap, window) = node(start_frame, hint, last_end, hint_taken);
                            for &size in sizes {
                                for &align in aligns {
                                    if let Some(from) = refused_from {
                                        bitmap.record_refusal(1, (align / PAGE).max(1), from);
                                    }
                                    for goal in [0, base, base + 7 * PAGE, base + PAGES * PAGE] {
                                        for limit in [None, Some(base + 9 * PAGE), Some(0x800)] {
                                            let request = request(size, align, goal, limit);
                                            let Some(placement) = next_to_last_block(
                                                &bitmap, &window, page, &request,
                                            ) else {
                                                continue;
                                            };
                                            shortcuts += 1;
                                            assert_eq!(
                                                Some(placement),
                                                find_placement(&bitmap, &window, page, &request),
                                                "start {start_frame} hint {hint} last end {last_end:#x} \
                                                 taken {hint_taken} size {size:#x} align {align:#x} \
                                                 goal {goal:#x} limit {limit:x?}"
                                            );
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(shortcuts > 0, "the shortcut was never taken");
    }

    #[test]
    fn the_shortcut_takes_the_page_after_the_last_block() {
        // The last block ended 0x40 bytes before page 5: the next small
        // block merges into page 4, a page-aligned one takes page 5, one
        // aligned to two pages page 6, the next boundary.
        let (bitmap, window) = node(0, 5, 5 * PAGE - 0x40, false);
        let page = PageSize::SIZE_4KIB;
        let start = |bitmap: &Bitmap<Vec<u64>>, window: &NodeWindow, size, align| {
            next_to_last_block(bitmap, window, page, &request(size, align, 0, None))
                .map(|placement| placement.start_offset)
        };
        assert_eq!(start(&bitmap, &window, 0x20, 0x20), Some(5 * PAGE - 0x40));
        assert_eq!(start(&bitmap, &window, PAGE, PAGE), Some(5 * PAGE));
        assert_eq!(start(&bitmap, &window, 0x20, 2 * PAGE), Some(6 * PAGE));
        // Two pages and a bit: three pages from the hint, merged.
        assert_eq!(
            start(&bitmap, &window, 2 * PAGE + 1, 0x40),
            Some(5 * PAGE - 0x40)
        );
        // A taken hint page: the next free page, not merged.
        let (taken, window) = node(0, 5, 5 * PAGE - 0x40, true);
        assert_eq!(start(&taken, &window, 0x20, 0x20), Some(6 * PAGE));
        // A run that would leave the hint's word, or a goal past the hint
        // (the first pass starts there): no shortcut.
        let (bitmap, window) = node(0, 5, 5 * PAGE - 0x40, false);
        assert_eq!(start(&bitmap, &window, 60 * PAGE, PAGE), None);
        let past_hint = request(0x20, 0x20, 9 * PAGE, None);
        assert!(next_to_last_block(&bitmap, &window, page, &past_hint).is_none());
    }

    #[test]
    fn a_streak_continues_only_with_the_same_goal_and_limit() {
        let first = request(0x40, 0x40, 0x1000, Some(0x10_0000));
        let streak = Streak::new(StreakId::FIRST, 0, StreakOrigin::Walk, &first);
        assert!(streak.matches(&request(0x80, 0x40, 0x1000, Some(0x10_0000))));
        assert!(streak.matches(&request(0x40, 0x1000, 0x1000, Some(0x10_0000))));
        assert!(!streak.matches(&request(0x40, 0x40, 0x2000, Some(0x10_0000))));
        assert!(!streak.matches(&request(0x40, 0x40, 0x1000, None)));
        assert!(!streak.matches(&request(0x40, 0x40, 0x1000, Some(0x20_0000))));
    }

    #[test]
    fn a_cache_prints_the_same_whatever_it_holds() {
        assert_eq!(std::format!("{:?}", Cached(7)), "Cached");
        assert_eq!(std::format!("{:?}", Cached(Some(1))), "Cached");
    }
}
