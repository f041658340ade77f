//! The per-node search (Linux's `alloc_bootmem_bdata`), pure over a bitmap.
//!
//! Given a node's bitmap and its search state (the hint and the end of the
//! last allocation), [`find_placement`] decides where a request lands,
//! exactly as v4.19 does, step for step (spec §3.1), with two changes: every
//! scan works a word at a time, and the sub-page merge only happens while the
//! partly used page is still reserved (deviation 2). It changes nothing;
//! the node applies the placement.

use crate::address::{PageSize, PhysicalAddress};
use crate::bitmap::{
    run_starts, shortest_run_holding, stride_mask, whole_words_within, Bitmap, RegionTest,
    WordTest, BITS_PER_WORD, LONG_RUN_CAP, REGION_PAGES,
};

/// What the search knows about one node.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NodeWindow {
    /// First page frame of the node (`node_min_pfn`).
    pub(crate) start_frame: u64,
    /// Exclusive end frame (`node_low_pfn`).
    pub(crate) end_frame: u64,
    /// Node-relative byte offset of the end of the last allocation (`last_end_off`).
    pub(crate) last_end_offset: u64,
    /// Node-relative page index where the next search starts (`hint_idx`).
    pub(crate) hint_index: u64,
}

/// One request as the per-node search sees it: sizes in bytes, the goal
/// (zero: from the lowest address) and the exclusive limit, if any.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SearchRequest {
    pub(crate) size: u64,
    /// A power of two (checked by the caller).
    pub(crate) align: u64,
    pub(crate) goal: PhysicalAddress,
    pub(crate) limit: Option<PhysicalAddress>,
}

impl SearchRequest {
    /// The search's step: the alignment in pages, at least one.
    #[inline(always)]
    pub(crate) fn step(&self, page: PageSize) -> u64 {
        (self.align >> page.shift()).max(1)
    }
}

/// Where a request lands on a node, relative to the node's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Node-relative byte offset of the block.
    pub(crate) start_offset: u64,
    /// Node-relative exclusive end of the block.
    pub(crate) end_offset: u64,
    /// Node-relative page indices to mark reserved: `[reserve_from, reserve_to)`.
    /// The partly used page a merged block shares is not among them.
    pub(crate) reserve_from: u64,
    pub(crate) reserve_to: u64,
}

/// `ALIGN(value, step)` for a power-of-two `step`, saturating at `u64::MAX`
/// where Linux would wrap. A saturated value lies past every node, so the
/// search treats it as "no room", as arbitrary-precision arithmetic would.
#[inline]
pub(crate) fn align_up_saturating(value: u64, step: u64) -> u64 {
    match value.checked_add(step - 1) {
        Some(sum) => sum & !(step - 1),
        None => u64::MAX,
    }
}

/// Linux's `align_idx`: aligns the absolute frame of node index `index`.
pub(crate) fn align_index(window: &NodeWindow, index: u64, step: u64) -> u64 {
    align_up_saturating(window.start_frame.saturating_add(index), step) - window.start_frame
}

/// Where the scan starts, and where it falls back to (spec §3.1 steps 4–9).
pub(crate) struct ScanStart {
    /// Node-relative index the first pass starts from.
    pub(crate) first: u64,
    /// The requested start, when the hint moved the first pass beyond it.
    pub(crate) fallback: Option<u64>,
    /// Exclusive end of the search window, node-relative.
    pub(crate) window_end: u64,
    /// Pages to step by (`max(align / PAGE_SIZE, 1)`).
    pub(crate) step: u64,
}

/// Computes the window, step, requested start and hint of a search, or
/// `None` when the window is empty (`hi <= lo`).
pub(crate) fn scan_start(
    window: &NodeWindow,
    page: PageSize,
    request: &SearchRequest,
) -> Option<ScanStart> {
    let goal_frame = page.frame_containing(request.goal).as_u64();
    let low = window.start_frame;
    let mut high = window.end_frame;
    // v4.19 truncates the limit to its frame and tests that frame against
    // zero: a limit inside the first page bounds the node walk but not the
    // search within a node (spec §3.1 step 5).
    if let Some(limit_frame) = request
        .limit
        .map(|limit| page.frame_containing(limit).as_u64())
        .filter(|&frame| frame != 0)
    {
        high = high.min(limit_frame);
    }
    if high <= low {
        return None;
    }
    let step = request.step(page);
    // A goal strictly inside the window is the start (a zero goal never is).
    let start = if low < goal_frame && goal_frame < high {
        align_up_saturating(goal_frame, step)
    } else {
        align_up_saturating(low, step)
    };
    let requested = start - low;
    let (first, fallback) = if window.hint_index > requested {
        (
            align_index(window, window.hint_index, step),
            Some(requested),
        )
    } else {
        (requested, None)
    };
    Some(ScanStart {
        first,
        fallback,
        window_end: high - low,
        step,
    })
}

/// Linux's `find_block` loop: the first index at or after `from` where
/// `pages` free pages start on a `step` boundary, or `None`.
///
/// A search that fails up to the node's end is remembered from where it
/// started (until a page is freed): the same or a larger request at the
/// same or a coarser alignment is refused at once from there on, and a
/// search that starts earlier stops there.
///
/// The first word looked at decides most small requests, in a small
/// inlined step; the scan itself is kept out of line ([`scan_from`]).
#[inline(always)]
fn find_run<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    from: u64,
    window_end: u64,
    pages: u64,
    step: u64,
) -> Option<u64> {
    let refused_from = bitmap.refused_from(pages, step);
    if from >= refused_from {
        return None;
    }
    let bounds = ScanBounds::new(refused_from, window_end);
    free_in_first_word(bitmap, window, from, bounds, pages, step)
        .or_else(|| scan_from(bitmap, window, from, bounds, pages, step))
}

/// The scan of [`find_run`] past the first word, and the refusal it
/// leaves when it fails up to the node's end.
#[inline(never)]
fn scan_from<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    from: u64,
    bounds: ScanBounds,
    pages: u64,
    step: u64,
) -> Option<u64> {
    // The scan's first reads (the summary words and the leaf word at its
    // start) miss the cache at a random goal: ask for them together.
    bitmap.prefetch_page(from);
    let found = scan_for_run(bitmap, window, from, bounds, pages, step);
    let window_end = bounds.window_end;
    if let (Err(failure), true) = (found, window_end == bitmap.len()) {
        bitmap.record_refusal(pages, step, from);
        // No run of free words that long from there, up to the node's end:
        // no request that needs one fits there, whatever its alignment.
        if let (ScanFailure::NoFreeWords { pages, from }, true) =
            (failure, bounds.starts_before == window_end)
        {
            bitmap.record_refusal(pages, 1, from);
        }
    }
    found.ok()
}

/// Why a scan found nothing.
#[derive(Clone, Copy, Debug)]
enum ScanFailure {
    /// Free runs long enough were found, but none fitted the alignment.
    NoAlignedStart,
    /// A failure that holds at every alignment: from `from` on, no run of
    /// free words is long enough for `pages` free pages (the fewest that
    /// need as many whole free words).
    NoFreeWords { pages: u64, from: u64 },
}

/// Where a scan may look: runs end at or before `window_end`, and start
/// before `starts_before` (past it, a refusal is known).
#[derive(Clone, Copy)]
struct ScanBounds {
    starts_before: u64,
    window_end: u64,
}

impl ScanBounds {
    /// The bounds of a window ending at `window_end` where no run starts
    /// from `refused_from` on (the request's [`Bitmap::refused_from`]).
    #[inline(always)]
    fn new(refused_from: u64, window_end: u64) -> Self {
        Self {
            starts_before: refused_from.min(window_end),
            window_end,
        }
    }
}

/// The scan of [`find_run`], once `from`'s word holds no answer
/// ([`free_in_first_word`]). The bitmap's summary makes every step cheap:
/// the next free page and the next reserved page are found across whole
/// stretches at once, and a request spanning whole words first skips to
/// the next stretch of that many entirely free words, so a fragmented
/// node refuses a large request without visiting its many short free runs.
fn scan_for_run<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    mut from: u64,
    bounds: ScanBounds,
    pages: u64,
    step: u64,
) -> Result<u64, ScanFailure> {
    let ScanBounds {
        starts_before,
        window_end,
    } = bounds;
    // Any run of `pages` free pages holds at least this many whole free words.
    let whole_words = whole_words_within(pages);
    // Candidates then start on word boundaries.
    let word_boundaries = step >= BITS_PER_WORD && window.start_frame % BITS_PER_WORD == 0;
    // A run starting before `starts_before` ends before this.
    let runs_end = window_end.min(starts_before.saturating_add(pages));
    // Whether a candidate has already failed. The regions whose runs are
    // all too short are skipped from the first turn for a request that
    // needs no whole free word (the free-word search cannot skip for it),
    // and from the second on for the others: a node cut into runs a
    // little shorter than the request offers one candidate a run, each
    // holding as many whole free words as the request needs, while the
    // first turn, where nearly every search ends, does not pay for the
    // look.
    let mut failed_once = false;
    loop {
        #[cfg(test)]
        tests::SCAN_STEPS.with(|steps| steps.set(steps.get() + 1));
        if word_boundaries {
            from = skip_unusable_boundaries(bitmap, window, from, starts_before, pages, step);
        }
        if failed_once || whole_words == 0 {
            // A run longer than the values tell apart starts where a
            // region's value is at the cap.
            from = bitmap.next_short_run_region(from, pages.min(LONG_RUN_CAP), starts_before);
        }
        if failed_once && pages <= BITS_PER_WORD && from < starts_before {
            // After a failed candidate, for a run that fits in a word: one
            // lying whole in `from`'s word is found from the word at once,
            // and one that starts in it and leaves it starts in the word's
            // last free stretch, so the free pages before that stretch,
            // however many separate ones, are passed together.
            if let Some(found) = free_in_first_word(bitmap, window, from, bounds, pages, step) {
                return Ok(found);
            }
            from = from.max(bitmap.last_free_stretch(from / BITS_PER_WORD));
        }
        if whole_words > 0 {
            let Some(word) = bitmap.free_words_run(
                from.div_ceil(BITS_PER_WORD),
                runs_end / BITS_PER_WORD,
                whole_words,
            ) else {
                return Err(ScanFailure::NoFreeWords {
                    pages: shortest_run_holding(whole_words),
                    from,
                });
            };
            // A run holding those words may start up to 63 pages before
            // them, in a partly free word; a start on a word boundary
            // cannot, and that word (far less often in cache than the
            // summary) is then not read.
            let run_from = if word_boundaries {
                word * BITS_PER_WORD
            } else {
                (word * BITS_PER_WORD).saturating_sub(BITS_PER_WORD - 1)
            };
            from = from.max(run_from);
            // The candidate's two ends are read next (the first free page,
            // then the last page the request would take), each in a leaf
            // word far less often in cache than the summary: ask for both
            // now, so that their waits overlap.
            bitmap.prefetch_page(from);
            bitmap.prefetch_page(from.saturating_add(pages - 1));
        }
        from = bitmap.next_clear(from.min(starts_before), starts_before);
        from = align_index(window, from, step);
        let end = from.saturating_add(pages);
        if from >= starts_before || end > window_end {
            return Err(ScanFailure::NoAlignedStart);
        }
        let reserved = bitmap.next_set(from, end);
        if reserved == end {
            return Ok(from);
        }
        let aligned = align_index(window, reserved, step);
        from = if aligned == reserved {
            reserved.saturating_add(step)
        } else {
            aligned
        };
        failed_once = true;
    }
}

/// For a step of whole words: from a candidate `from` on a step boundary,
/// skips every boundary whose first word the summary alone shows unusable
/// (no free page; or, for a run of 64 pages or more, not entirely free),
/// many boundaries a summary word, without reading the leaf words.
/// Returns `from` unchanged when it is not on a boundary, and at least
/// `starts_before` when no boundary before it is usable.
fn skip_unusable_boundaries<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    from: u64,
    starts_before: u64,
    pages: u64,
    step: u64,
) -> u64 {
    if from >= starts_before || align_index(window, from, step) != from {
        return from;
    }
    // Boundaries at region starts (4096 pages): a run starts at a
    // region's first page, which must be free, and a run of a region's
    // pages or more covers that region whole. Level 2 alone tells both.
    if step % REGION_PAGES == 0 && window.start_frame % REGION_PAGES == 0 {
        let test = if pages >= REGION_PAGES {
            RegionTest::EntirelyFree
        } else {
            RegionTest::StartsFree
        };
        let level1 = bitmap.next_region_boundary(
            test,
            from / REGION_PAGES,
            step / REGION_PAGES,
            starts_before.div_ceil(REGION_PAGES),
        );
        return level1.saturating_mul(REGION_PAGES).max(from);
    }
    let test = if pages >= BITS_PER_WORD {
        WordTest::EntirelyFree
    } else {
        WordTest::HasFree
    };
    let word = bitmap.next_boundary_word(
        test,
        from / BITS_PER_WORD,
        step / BITS_PER_WORD,
        starts_before.div_ceil(BITS_PER_WORD),
    );
    (word * BITS_PER_WORD).max(from)
}

/// The common case of a boot's small allocations, from one leaf word: the
/// first start at or after `from`, on a `step` boundary, of `pages` free
/// pages lying whole inside `from`'s word, the run ending inside the
/// window and starting before `starts_before`. That is the scan's answer:
/// every later candidate starts later, and a run that starts in the word
/// but ends past it starts after any run the word holds whole (it covers
/// the word's last page, which such a run would then also have to). Only
/// the word's summary bits and the word itself are read, however many
/// reserved pages lie between `from` and the start. `None` when the word
/// holds no such start; the scan then decides.
#[inline(always)]
fn free_in_first_word<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    from: u64,
    bounds: ScanBounds,
    pages: u64,
    step: u64,
) -> Option<u64> {
    // Past the window or a refusal (an aligned start may lie past the
    // node), no start is looked for, and no word read.
    let end = from.checked_add(pages)?;
    let offset = from % BITS_PER_WORD;
    if from >= bounds.starts_before || end > bounds.window_end || pages > BITS_PER_WORD - offset {
        return None;
    }
    let word = bitmap.word(from / BITS_PER_WORD);
    // The sequential case first: `from` itself, on a boundary, its run free.
    let run = (u64::MAX >> (BITS_PER_WORD - pages)) << offset;
    if word & run == 0 && align_index(window, from, step) == from {
        return Some(from);
    }
    let word_start = from - offset;
    // The word's first step boundary, as a bit; none when it lies past the
    // word (a step of more than a word's pages).
    let first_boundary = align_index(window, word_start, step) - word_start;
    if first_boundary >= BITS_PER_WORD {
        return None;
    }
    let boundaries = stride_mask(step.min(BITS_PER_WORD), first_boundary);
    // Where `pages` free pages start at `from` or after, lying whole in
    // the word (pad bits read as set: no run reaches past the node).
    let starts = run_starts(!word & (u64::MAX << offset), pages) & boundaries;
    if starts == 0 {
        return None;
    }
    let found = word_start + u64::from(starts.trailing_zeros());
    let inside = found < bounds.starts_before
        && found
            .checked_add(pages)
            .is_some_and(|end| end <= bounds.window_end);
    inside.then_some(found)
}

/// [`find_placement`]'s answer from the first word alone, for a search
/// whose first pass is known to start from the hint, in a window ending
/// at `window_end` (a streak's proof, [`crate::sequential::Proof`]): the
/// run [`free_in_first_word`] finds from the hint, placed as
/// [`find_placement`] places it. `None` where the scan would have to go
/// on (the caller then searches).
#[inline(always)]
pub(crate) fn place_from_hint<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    page: PageSize,
    request: &SearchRequest,
    window_end: u64,
) -> Option<Placement> {
    let pages = page.pages_for(request.size);
    let step = request.step(page);
    let bounds = ScanBounds::new(bitmap.refused_from(pages, step), window_end);
    let found = free_in_first_word(bitmap, window, window.hint_index, bounds, pages, step)?;
    Some(place(bitmap, window, page, request, found))
}

/// Decides where `request` lands on the node, or `None` when it does not fit.
#[inline]
pub(crate) fn find_placement<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    page: PageSize,
    request: &SearchRequest,
) -> Option<Placement> {
    #[cfg(test)]
    tests::SEARCHES.with(|searches| searches.set(searches.get() + 1));
    let pages = page.pages_for(request.size);
    let step = request.step(page);
    // A node known to hold no room for the request anywhere is refused
    // before its window is worked out.
    if bitmap.refused_from(pages, step) == 0 {
        return None;
    }
    let start = scan_start(window, page, request)?;
    let found =
        find_run(bitmap, window, start.first, start.window_end, pages, step).or_else(|| {
            let requested = start.fallback?;
            find_run(bitmap, window, requested, start.window_end, pages, step)
        })?;
    Some(place(bitmap, window, page, request, found))
}

/// Spec §3.1 step 11: the byte placement of a run found at index `found`,
/// merging into the previous allocation's partly used page when it is the
/// page just before `found` and is still reserved.
#[inline(always)]
pub(crate) fn place<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    page: PageSize,
    request: &SearchRequest,
    found: u64,
) -> Placement {
    let shift = page.shift();
    let last_end = window.last_end_offset;
    let partial_page = last_end >> shift;
    let node_base = window.start_frame << shift;
    let start_offset = if last_end & (page.bytes() - 1) != 0
        && partial_page + 1 == found
        && bitmap.is_set(partial_page)
    {
        // Align the absolute address, then make it node-relative again.
        // Within the node, so it cannot overflow: the result is at most the
        // start of page `found`, which is step-aligned.
        align_up_saturating(node_base + last_end, request.align) - node_base
    } else {
        found << shift
    };
    let merged = (start_offset >> shift) < found;
    let end_offset = start_offset + request.size;
    Placement {
        start_offset,
        end_offset,
        reserve_from: (start_offset >> shift) + u64::from(merged),
        reserve_to: page.pages_for(end_offset),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bitmap::node_storage_words;
    use std::vec;
    use std::vec::Vec;

    std::thread_local! {
        /// Turns of [`scan_for_run`]'s loop on this thread: what a search
        /// visits, counted where a timed test would be noise.
        pub(super) static SCAN_STEPS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
        /// Calls of [`find_placement`] on this thread.
        pub(crate) static SEARCHES: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
    }

    fn scan_steps() -> u64 {
        SCAN_STEPS.with(core::cell::Cell::get)
    }

    fn free_node(start_frame: u64, pages: u64) -> (Bitmap<Vec<u64>>, NodeWindow) {
        let mut bitmap = Bitmap::new_all_set(vec![0; node_storage_words(pages) as usize], pages);
        bitmap.clear_range(0, pages);
        let window = NodeWindow {
            start_frame,
            end_frame: start_frame + pages,
            last_end_offset: 0,
            hint_index: 0,
        };
        (bitmap, window)
    }

    /// Where `request` lands on a node of 4 KiB pages.
    fn place_4k(
        bitmap: &Bitmap<Vec<u64>>,
        window: &NodeWindow,
        request: SearchRequest,
    ) -> Option<Placement> {
        find_placement(bitmap, window, PageSize::SIZE_4KIB, &request)
    }

    fn request(size: u64, align: u64, goal: u64, limit: u64) -> SearchRequest {
        SearchRequest {
            size,
            align,
            goal: PhysicalAddress::new(goal),
            limit: (limit != 0).then_some(PhysicalAddress::new(limit)),
        }
    }

    #[test]
    fn goal_inside_the_node_is_the_start() {
        let (bitmap, window) = free_node(0, 0x8000);
        let placement = place_4k(&bitmap, &window, request(64, 64, 0x100_0000, 0)).unwrap();
        assert_eq!(placement.start_offset, 0x100_0000);
        assert_eq!(
            (placement.reserve_from, placement.reserve_to),
            (0x1000, 0x1001)
        );
    }

    #[test]
    fn limit_excludes_the_page_holding_it() {
        let (bitmap, window) = free_node(0, 0x10);
        // Limit 0x3fff truncates to page 3: pages 0..3 only.
        let fits = place_4k(&bitmap, &window, request(0x3000, 4096, 0, 0x3fff));
        assert_eq!(fits.map(|p| p.start_offset), Some(0));
        let too_big = place_4k(&bitmap, &window, request(0x3001, 4096, 0, 0x3fff));
        assert_eq!(too_big, None);
    }

    #[test]
    fn small_block_merges_into_the_partly_used_page() {
        let (mut bitmap, mut window) = free_node(0, 0x10);
        bitmap.set_range(0, 1);
        window.last_end_offset = 0xfc0;
        window.hint_index = 1;
        let placement = place_4k(&bitmap, &window, request(0x20, 0x20, 0, 0)).unwrap();
        assert_eq!(placement.start_offset, 0xfc0);
        assert_eq!((placement.reserve_from, placement.reserve_to), (1, 1));
        // Once the partly used page is free again, no merge (deviation 2).
        bitmap.clear_range(0, 1);
        let placement = place_4k(&bitmap, &window, request(0x20, 0x20, 0, 0)).unwrap();
        assert_eq!(placement.start_offset, 0x1000);
    }

    #[test]
    fn rounding_to_the_page_end_does_not_merge() {
        let (mut bitmap, mut window) = free_node(0, 0x10);
        bitmap.set_range(0, 1);
        window.last_end_offset = 0xfc1;
        window.hint_index = 1;
        let placement = place_4k(&bitmap, &window, request(0x10, 0x80, 0, 0)).unwrap();
        assert_eq!(placement.start_offset, 0x1000);
        assert_eq!(placement.reserve_from, 1);
    }

    #[test]
    fn hint_beyond_the_start_falls_back_to_the_requested_start() {
        let (mut bitmap, mut window) = free_node(0, 0x10);
        bitmap.set_range(8, 0x10);
        window.hint_index = 8;
        let placement = place_4k(&bitmap, &window, request(0x2000, 4096, 0, 0)).unwrap();
        assert_eq!(placement.start_offset, 0);
    }

    #[test]
    fn alignment_is_absolute_not_node_relative() {
        let (bitmap, window) = free_node(3, 0x40);
        let placement = place_4k(&bitmap, &window, request(4096, 0x4000, 0, 0)).unwrap();
        // Frame 4 is the first multiple of 4 in the node; index 1.
        assert_eq!(placement.start_offset, 0x1000);
    }

    #[test]
    fn a_run_holding_the_fewest_whole_words_its_length_allows_is_found() {
        // 200 free pages from page 70: words 2 and 3 whole, 1 and 4 partly.
        // Any run of 200 pages holds at least two whole words; the search
        // must not ask for more.
        let (mut bitmap, window) = free_node(0, 4096);
        bitmap.set_range(0, 70);
        bitmap.set_range(270, 4096);
        for (pages, expected) in [(200, Some(70 * 4096)), (201, None)] {
            let placed = place_4k(&bitmap, &window, request(pages * 4096, 4096, 0, 0));
            assert_eq!(placed.map(|placement| placement.start_offset), expected);
        }
    }

    #[test]
    fn a_short_run_at_the_start_of_a_partly_free_boundary_word_is_found() {
        // Only pages 128..138 are free: the start of word 2, a 64-page
        // boundary. A 10-page request aligned to 64 pages fits there.
        let (mut bitmap, window) = free_node(0, 4096);
        bitmap.set_range(0, 128);
        bitmap.set_range(138, 4096);
        for (pages, expected) in [(10, Some(128 * 4096)), (11, None)] {
            let placed = place_4k(&bitmap, &window, request(pages * 4096, 64 * 4096, 0, 0));
            assert_eq!(placed.map(|placement| placement.start_offset), expected);
        }
    }

    #[test]
    fn requests_aligned_to_whole_regions_agree_with_the_bit_by_bit_search() {
        // Regions of 4 096 pages, in turn: first page reserved; page 100
        // reserved (first page free, not entirely free); entirely free;
        // pages 2 000 to 2 100 reserved; entirely reserved. Nodes start on
        // a region, on a word but off a region, and off a word, so that
        // boundaries are region starts only where the node starts on one.
        let regions = if cfg!(miri) { 10 } else { 40 };
        for start_frame in [
            0,
            64,
            7,
            3 * REGION_PAGES,
            3 * REGION_PAGES + 64,
            3 * REGION_PAGES + 7,
        ] {
            let (mut bitmap, window) = free_node(start_frame, regions * REGION_PAGES);
            for region in 0..regions {
                let base = region * REGION_PAGES;
                match region % 5 {
                    0 => bitmap.set_range(base, base + 1),
                    1 => bitmap.set_range(base + 100, base + 101),
                    2 => {}
                    3 => bitmap.set_range(base + 2000, base + 2100),
                    _ => bitmap.set_range(base, base + REGION_PAGES),
                }
            }
            for pages in [
                1,
                10,
                64,
                100,
                1900,
                4095,
                4096,
                4097,
                8192,
                3 * REGION_PAGES + 5,
            ] {
                for align_pages in [
                    REGION_PAGES,
                    2 * REGION_PAGES,
                    4 * REGION_PAGES,
                    16 * REGION_PAGES,
                ] {
                    for goal_page in [0, 1, 7 * REGION_PAGES + 1, 20 * REGION_PAGES] {
                        let request = request(
                            pages * 4096,
                            align_pages * 4096,
                            (start_frame + goal_page) * 4096,
                            0,
                        );
                        assert_eq!(
                            place_4k(&bitmap, &window, request),
                            crate::reference::find_placement(
                                &bitmap,
                                &window,
                                PageSize::SIZE_4KIB,
                                &request
                            ),
                            "node at {start_frame}: {pages} pages aligned to {align_pages}, goal page {goal_page}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_failure_is_remembered_from_where_it_started_until_a_page_is_freed() {
        let (mut bitmap, window) = free_node(0, 4096);
        bitmap.set_range(100, 101);
        let page = PageSize::SIZE_4KIB;
        // From a goal: no run of 3897 pages starts at page 200 or later.
        let from_goal = request(3897 * 4096, 4096, 200 * 4096, 0);
        assert_eq!(find_placement(&bitmap, &window, page, &from_goal), None);
        assert_eq!(bitmap.refused_from(3897, 1), 200);
        assert_eq!(bitmap.refused_from(3896, 1), u64::MAX);
        // The same request from the node's start still looks before page
        // 200: the run at 101 is 3995 pages long.
        let whole_node = request(3897 * 4096, 4096, 0, 0);
        let placed = find_placement(&bitmap, &window, page, &whole_node);
        assert_eq!(
            placed.map(|placement| placement.start_offset),
            Some(101 * 4096)
        );
        // A request that fits nowhere is refused over the whole node.
        let too_long = request(3996 * 4096, 4096, 0, 0);
        assert_eq!(find_placement(&bitmap, &window, page, &too_long), None);
        assert_eq!(bitmap.refused_from(3996, 1), 0);
        assert_eq!(bitmap.refused_from(4000, 8), 0);
        // Reserving keeps it so; freeing forgets it.
        bitmap.set_range(2000, 2001);
        assert_eq!(bitmap.refused_from(3996, 1), 0);
        bitmap.clear_range(100, 101);
        assert_eq!(bitmap.refused_from(3996, 1), u64::MAX);
        assert!(
            find_placement(&bitmap, &window, page, &request(1999 * 4096, 4096, 0, 0)).is_some()
        );
    }

    #[test]
    fn runs_with_a_partly_free_word_of_63_pages_on_each_side_are_found() {
        // Free pages 65..255: 63 in word 1, word 2 whole, 63 in word 3. A
        // run of 190 pages needs one whole word (190 - 126 = 64), 127
        // pages one too (rounded up), 191 two.
        for (first, last, pages, expected) in [
            (65, 255, 190, Some(65)),
            (65, 255, 191, None),
            (65, 192, 127, Some(65)),
            (65, 191, 127, None),
            (65, 256, 191, Some(65)),
        ] {
            let (mut bitmap, window) = free_node(0, 4096);
            bitmap.set_range(0, first);
            bitmap.set_range(last, 4096);
            let placed = place_4k(&bitmap, &window, request(pages * 4096, 4096, 0, 0));
            assert_eq!(
                placed.map(|placement| placement.start_offset / 4096),
                expected,
                "{pages} pages in {first}..{last}"
            );
        }
    }

    #[test]
    fn a_request_just_longer_than_every_run_is_refused_without_visiting_them() {
        // Runs of 299 free pages, one reserved page apart, over 256
        // regions: about 3 500 runs, each holding as many whole free words
        // as 300 pages need. After the first candidate fails, the regions'
        // values (each below 300) refuse the rest at once; 128 to 100 000
        // pages likewise among runs one page shorter (ten runs of 99 999
        // fit, 32 of 32 766). Among runs of 1 048 575 pages or more the
        // values, capped there, cannot tell; such runs are few.
        let (len, sizes) = if cfg!(miri) {
            (8 * REGION_PAGES, &[300, 4095, 4101][..])
        } else {
            (
                256 * REGION_PAGES,
                &[
                    128, 300, 1000, 4000, 4095, 4101, 20_000, 32_767, 32_769, 100_000,
                ][..],
            )
        };
        let page = PageSize::SIZE_4KIB;
        for &pages in sizes {
            let (mut bitmap, window) = free_node(0, len);
            for reserved in (pages - 1..len).step_by(pages as usize) {
                bitmap.set_range(reserved, reserved + 1);
            }
            let before = scan_steps();
            let refused =
                find_placement(&bitmap, &window, page, &request(pages * 4096, 4096, 0, 0));
            assert_eq!(refused, None, "{pages} pages");
            let steps = scan_steps() - before;
            assert!(steps <= 3, "{pages} pages: {steps} steps");
            // One page shorter fits, at the first run.
            let placed = find_placement(
                &bitmap,
                &window,
                page,
                &request((pages - 1) * 4096, 4096, 0, 0),
            );
            assert_eq!(placed.map(|placement| placement.start_offset), Some(0));
        }
    }

    #[test]
    fn a_failure_for_lack_of_free_words_holds_at_every_alignment() {
        // Free runs of 1000 pages every 2000 pages: no 29 free words in a row.
        let (mut bitmap, window) = free_node(0, 64 * 64 * 8);
        for start in (1000..64 * 64 * 8).step_by(2000) {
            bitmap.set_range(start, (start + 1000).min(64 * 64 * 8));
        }
        let page = PageSize::SIZE_4KIB;
        let request_2000 = request(2000 * 4096, 64 * 4096, 0, 0);
        assert_eq!(find_placement(&bitmap, &window, page, &request_2000), None);
        // 2000 pages need 30 whole free words (63 pages may lie on either
        // side of them), as do 30 * 64 + 63 = 1983: refused at every
        // alignment, finer ones included.
        assert_eq!(bitmap.refused_from(1983, 1), 0);
        assert_eq!(bitmap.refused_from(1982, 1), u64::MAX);
        // From a goal, the same holds from the goal on.
        let (mut bitmap, window) = free_node(0, 64 * 64 * 8);
        for start in (1000..64 * 64 * 8).step_by(2000) {
            bitmap.set_range(start, (start + 1000).min(64 * 64 * 8));
        }
        let from_goal = request(2000 * 4096, 64 * 4096, 6400 * 4096, 0);
        assert_eq!(find_placement(&bitmap, &window, page, &from_goal), None);
        assert_eq!(bitmap.refused_from(1983, 1), 6400);
    }

    #[test]
    fn a_search_stops_where_a_known_refusal_begins() {
        // Free runs of 40 pages at 1000 and of 60 pages at 3000.
        let (mut bitmap, window) = free_node(0, 4096);
        bitmap.set_range(0, 1000);
        bitmap.set_range(1040, 3000);
        bitmap.set_range(3060, 4096);
        let page = PageSize::SIZE_4KIB;
        // A (false) refusal of 50 pages from page 2000 hides the run at
        // 3000 from a search that starts before it: proof that the search
        // stops there. Nothing the allocator records is false; this only
        // shows that the bound is used.
        bitmap.record_refusal(50, 1, 2000);
        let fifty = request(50 * 4096, 4096, 0, 0);
        assert_eq!(find_placement(&bitmap, &window, page, &fifty), None);
        // Shorter requests are not covered by it.
        let forty = request(40 * 4096, 4096, 1500 * 4096, 0);
        let placed = find_placement(&bitmap, &window, page, &forty);
        assert_eq!(
            placed.map(|placement| placement.start_offset),
            Some(3000 * 4096)
        );
    }

    #[test]
    fn a_short_request_longer_than_every_free_run_is_refused_and_the_longest_found() {
        // Free runs of 1 to 59 pages between reserved runs of 1 to 5, over
        // twenty regions; then one run of 70 pages late in the node.
        let pages = 64 * 64 * 20;
        let (mut bitmap, window) = free_node(0, pages);
        let mut random = crate::test_random::XorShift::new(0x51ed_2701);
        let mut runs = Vec::new();
        let mut page = 0;
        while page < pages {
            let free_end = (page + 1 + random.below(59)).min(pages);
            runs.push((page, free_end));
            let reserved_end = (free_end + 1 + random.below(5)).min(pages);
            bitmap.set_range(free_end, reserved_end);
            page = reserved_end;
        }
        let late = pages - 1000;
        bitmap.set_range(late - 1, late + 71);
        bitmap.clear_range(late, late + 70);
        let page_size = PageSize::SIZE_4KIB;
        let placed = |size_pages: u64, align_pages: u64| {
            let request = request(size_pages * 4096, align_pages * 4096, 0, 0);
            find_placement(&bitmap, &window, page_size, &request)
                .map(|placement| placement.start_offset / 4096)
        };
        // The first free run of 59 pages, page by page.
        let first_59 =
            (0..pages).find(|&start| (start..start + 59).all(|page| !bitmap.is_set(page)));
        assert_eq!(placed(59, 1), first_59);
        assert_eq!(placed(70, 1), Some(late));
        assert_eq!(placed(64, 2), Some(late));
        assert_eq!(placed(71, 1), None);
        assert!(!runs.is_empty());
    }

    #[test]
    fn a_request_landing_in_the_first_word_looked_at_is_placed_without_a_scan() {
        // Nodes of four words from a word, off a word and off a page pair,
        // half their pages reserved at random; hints and last ends all
        // over; requests of 1 to 64 pages (and under a page) at every
        // alignment from a byte to two words, goals and limits anywhere.
        let page = PageSize::SIZE_4KIB;
        let mut random = crate::test_random::XorShift::new(0x1f57_3a11);
        let rounds = if cfg!(miri) { 20 } else { 4000 };
        let (mut without_a_scan, mut scanned) = (0, 0);
        for round in 0..rounds {
            let start_frame = [0, 64, 3, 131][round % 4];
            let (mut bitmap, mut window) = free_node(start_frame, 256);
            for index in 0..256 {
                if random.below(2) == 0 {
                    bitmap.set_range(index, index + 1);
                }
            }
            window.hint_index = random.below(257);
            window.last_end_offset =
                (window.hint_index * 4096).saturating_sub(random.below(2) * 64);
            let pages = 1 + random.below(64);
            let size = if random.below(4) == 0 {
                1 + random.below(4096)
            } else {
                pages * 4096 - random.below(4096)
            };
            let align = 1 << random.below(20);
            let goal = (start_frame + random.below(300)) * 4096 * random.below(2);
            let limit = (start_frame + random.below(300)) * 4096 * random.below(2);
            let request = request(size, align, goal, limit);
            let expected = crate::reference::find_placement(&bitmap, &window, page, &request);
            let steps = scan_steps();
            let placed = find_placement(&bitmap, &window, page, &request);
            assert_eq!(placed, expected, "round {round}: {request:?} {window:?}");
            // The run starts where its first page is reserved: in the
            // word the first pass starts in, lying whole in it?
            let first = scan_start(&window, page, &request).map(|start| start.first);
            let in_first_word = match (placed, first) {
                (Some(placement), Some(first)) => {
                    let found = placement.reserve_from;
                    let pages = page.pages_for(request.size);
                    found >= first
                        && found / BITS_PER_WORD == first / BITS_PER_WORD
                        && found % BITS_PER_WORD + pages <= BITS_PER_WORD
                }
                _ => false,
            };
            if in_first_word {
                without_a_scan += 1;
                assert_eq!(scan_steps(), steps, "round {round}: scanned");
            } else if scan_steps() > steps {
                scanned += 1;
            }
        }
        assert!(
            without_a_scan > rounds / 10,
            "{without_a_scan} without a scan"
        );
        assert!(scanned > rounds / 10, "{scanned} scanned");
    }

    #[test]
    fn separate_free_pages_are_passed_a_word_at_a_time() {
        // Every other page free over three words, then a free word: a
        // request of two pages passes 96 single free pages.
        let (mut bitmap, window) = free_node(0, 256);
        for index in (1..192).step_by(2) {
            bitmap.set_range(index, index + 1);
        }
        let steps = scan_steps();
        let placed = place_4k(&bitmap, &window, request(2 * 4096, 4096, 0, 0));
        assert_eq!(
            placed.map(|placement| placement.start_offset / 4096),
            Some(192)
        );
        // A turn or two per word, not one per free page.
        assert!(scan_steps() - steps <= 8, "{} turns", scan_steps() - steps);
        assert_eq!(
            placed,
            crate::reference::find_placement(
                &bitmap,
                &window,
                PageSize::SIZE_4KIB,
                &request(2 * 4096, 4096, 0, 0)
            )
        );
    }

    #[test]
    fn a_word_looked_at_after_a_skip_to_a_later_region_keeps_the_alignment() {
        // Frames from 3, so region 2 starts at frame 8 195, off the
        // two-page step. Region 0 holds one free run of three pages at
        // its end whose only aligned start fails on the region's last
        // page; region 1 is reserved, region 2 free. The scan skips to
        // region 2's first page, free but off the step: the run starts
        // a page later.
        let (mut bitmap, window) = free_node(3, 3 * REGION_PAGES);
        bitmap.set_range(0, REGION_PAGES - 4);
        bitmap.set_range(REGION_PAGES - 1, 2 * REGION_PAGES);
        let request = request(3 * 4096, 2 * 4096, 0, 0);
        let placed = place_4k(&bitmap, &window, request);
        assert_eq!(
            placed.map(|placement| placement.start_offset / 4096),
            Some(2 * REGION_PAGES + 1)
        );
        assert_eq!(
            placed,
            crate::reference::find_placement(&bitmap, &window, PageSize::SIZE_4KIB, &request)
        );
    }

    #[test]
    fn huge_alignment_saturates_instead_of_wrapping() {
        let (bitmap, window) = free_node(1, 0x40);
        let placement = find_placement(
            &bitmap,
            &window,
            PageSize::from_shift(0),
            &request(1, 1 << 63, 0, 0),
        );
        assert_eq!(placement, None);
    }
}
