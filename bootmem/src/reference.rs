//! The v4.19 per-node search transcribed literally, one bit at a time.
//!
//! This is the yardstick for [`search`](crate::search): the same decisions
//! (with the same deviations), made the way Linux makes them, testing one
//! bit per step. Differential tests check that both always agree, and
//! `bootmem bench` measures the word-at-a-time search against it.

use crate::address::PageSize;
use crate::bitmap::Bitmap;
use crate::search::{align_up_saturating, place, scan_start, NodeWindow, Placement, SearchRequest};

/// Bit-by-bit `find_block` loop.
fn find_run<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    mut index: u64,
    window_end: u64,
    pages: u64,
    step: u64,
) -> Option<u64> {
    let align = |index: u64| {
        align_up_saturating(window.start_frame.saturating_add(index), step) - window.start_frame
    };
    'search: loop {
        // find_next_zero_bit, one bit at a time.
        while index < window_end && bitmap.is_set(index) {
            index += 1;
        }
        index = align(index.min(window_end));
        let end = index.saturating_add(pages);
        if index >= window_end || end > window_end {
            return None;
        }
        let mut probe = index;
        while probe < end {
            if bitmap.is_set(probe) {
                let aligned = align(probe);
                index = if aligned == probe {
                    probe.saturating_add(step)
                } else {
                    aligned
                };
                continue 'search;
            }
            probe += 1;
        }
        return Some(index);
    }
}

/// The placement v4.19 (with this crate's deviations) picks, found bit by bit.
pub(crate) fn find_placement<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    bitmap: &Bitmap<Storage>,
    window: &NodeWindow,
    page: PageSize,
    request: &SearchRequest,
) -> Option<Placement> {
    let start = scan_start(window, page, request)?;
    let pages = page.pages_for(request.size);
    let mut found = find_run(
        bitmap,
        window,
        start.first,
        start.window_end,
        pages,
        start.step,
    );
    if found.is_none() {
        if let Some(requested) = start.fallback {
            found = find_run(
                bitmap,
                window,
                requested,
                start.window_end,
                pages,
                start.step,
            );
        }
    }
    Some(place(bitmap, window, page, request, found?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitmap::node_storage_words;
    use proptest::prelude::*;
    use std::vec::Vec;

    proptest! {
        /// The word-at-a-time search and the bit-by-bit one always agree.
        #[test]
        fn word_search_agrees_with_bit_by_bit(
            start_frame in 0u64..200,
            words in proptest::collection::vec(any::<u64>(), 1..6),
            density in 0u32..4,
            shrink in 0u64..64,
            size in 1u64..40_000,
            align_shift in 0u32..16,
            goal in 0u64..0x200_000,
            limit in prop_oneof![Just(0u64), 0u64..0x200_000],
            hint in 0u64..400,
            last_end_offset in 0u64..0x100_000,
        ) {
            let pages = (words.len() as u64 * 64).saturating_sub(shrink).max(1);
            // Denser bitmaps: AND several random words together, inverted.
            let storage: Vec<u64> = words
                .iter()
                .map(|word| match density { 0 => *word, 1 => word & word.rotate_left(7), 2 => word | word.rotate_left(13), _ => !word })
                .collect();
            let mut bitmap = Bitmap::new_all_set(std::vec![0; node_storage_words(pages) as usize], pages);
            bitmap.clear_range(0, pages);
            for index in 0..pages {
                if storage[(index / 64) as usize] & (1 << (index % 64)) != 0 {
                    bitmap.set_range(index, index + 1);
                }
            }
            let window = NodeWindow { start_frame, end_frame: start_frame + pages, last_end_offset: last_end_offset.min(pages * 4096), hint_index: hint };
            let request = SearchRequest {
                size,
                align: 1 << align_shift,
                goal: crate::PhysicalAddress::new(goal),
                limit: (limit != 0).then_some(crate::PhysicalAddress::new(limit)),
            };
            let page = PageSize::SIZE_4KIB;
            prop_assert_eq!(
                crate::search::find_placement(&bitmap, &window, page, &request),
                find_placement(&bitmap, &window, page, &request)
            );
        }
    }
}
