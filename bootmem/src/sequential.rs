//! The shortcut for a boot's sequential small allocations: the page right after the last block's partly used page.
//!
//! Most boot-time allocations are small and follow one another: the last
//! block ended inside a page (still reserved), the hint is the page after
//! it, and the next block of at most a page lands there, merged into the
//! partly used page when the alignment allows. For such a request the
//! general search ([`find_placement`](crate::search::find_placement)) would
//! compute the window, start its scan at the hint, find the hint page free
//! and merge. This module proves that outcome from the window, two bits
//! and the node's refusals, and returns the same placement; in any other
//! case it returns `None` and the general search decides.

use crate::address::{PageSize, PhysicalAddress};
use crate::bitmap::Bitmap;
use crate::search::{align_up_saturating, place, NodeWindow, Placement, SearchRequest};

/// The placement the general search would return when its scan starts at
/// the hint and the hint page is free, or `None` when that is not shown.
#[inline(always)]
pub(crate) fn next_to_last_block<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    page: PageSize,
    request: &SearchRequest,
) -> Option<Placement> {
    let hint = window.hint_index;
    // One page at most: the run the scan looks for is the hint page alone.
    if request.size > page.bytes() || hint >= bitmap.len() {
        return None;
    }
    let shift = page.shift();
    let low = window.start_frame;
    let mut high = window.end_frame;
    if let Some(limit_frame) = request
        .limit
        .map(|limit| page.frame_containing(limit).as_u64())
        .filter(|&frame| frame != 0)
    {
        high = high.min(limit_frame);
    }
    // The window must hold the hint page.
    if high <= low || hint >= high - low {
        return None;
    }
    let step = (request.align >> shift).max(1);
    // The hint page must lie on a step boundary (absolute frames).
    if (low + hint) & (step - 1) != 0 {
        return None;
    }
    // The scan starts at the hint when the hint is at or past the requested start.
    let goal_frame = page.frame_containing(request.goal).as_u64();
    let start = if goal_frame != 0 && low < goal_frame && goal_frame < high {
        align_up_saturating(goal_frame, step)
    } else {
        align_up_saturating(low, step)
    };
    if hint < start - low || bitmap.is_set(hint) || bitmap.refused(1, step) {
        return None;
    }
    Some(place(bitmap, window, page, request, hint))
}

/// The key of a streak of sequential small allocations on one node: every
/// request of the streak asks for the same goal, limit and alignment from
/// any node, so the node walk and the scan start decide alike for each.
///
/// A streak starts when [`next_to_last_block`] placed a request on the
/// first node the walk tried, merged into the partly used page with no page
/// to reserve: the bitmap, the hint and the refusals are then unchanged,
/// and so is every proof the shortcut made, for the next request of at most
/// a page with the same key. While the next block ends inside that same
/// page, the general path would place it exactly there
/// ([`NodeAllocator::extend_streak`](crate::node::NodeAllocator::extend_streak)).
/// Any other change to any node ends the streak.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Streak {
    /// Registry position of the node.
    pub(crate) position: usize,
    goal: PhysicalAddress,
    limit: Option<PhysicalAddress>,
    align: u64,
}

impl Streak {
    /// A streak of requests like `request` on the node at `position`.
    pub(crate) fn new(position: usize, request: &SearchRequest) -> Self {
        Self {
            position,
            goal: request.goal,
            limit: request.limit,
            align: request.align,
        }
    }

    /// Whether `request` has the streak's key (its size is checked by the node).
    #[inline]
    pub(crate) fn matches(&self, request: &SearchRequest) -> bool {
        self.goal == request.goal && self.limit == request.limit && self.align == request.align
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
