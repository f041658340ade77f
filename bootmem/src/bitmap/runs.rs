//! The free runs of a bitmap in address order, found a summary word at a time for the hand-off.
//!
//! A scan that asks "next free page, then next reserved page" for every
//! run (as [`Bitmap::next_clear`] and [`Bitmap::next_set`] do) takes a
//! dozen unpredictable branches a run. This scan walks the summary once,
//! in order, and visits only the leaf words where a run can start or end:
//! those partly free, and uniform ones whose state differs from the last
//! page before them. Every page transition inside a visited word comes
//! from one mask (`free ^ (free << 1 | free before)`), so a word with one
//! transition, the common case, costs one pass. Summary words that only
//! continue the last page's state are crossed through the level above, as
//! the other scans do. Thirty-two summary words ahead, the processor is
//! asked for every partly free leaf word the scan will read
//! ([`Bitmap::prefetch_partial_words`]), one summary word's worth as the
//! scan enters each, so requests reach memory in a steady stream rather
//! than in bursts that fill the processor's queue of misses, and on a
//! fragmented TiB the scan seldom waits for memory.

use super::bits::{self, WORD};
use super::layout::Set;
use super::Bitmap;

/// How far ahead of the scan, in summary words, its partly free leaf
/// words are asked for (2 048 leaf words: a few dozen runs of a
/// fragmented node, far enough for memory to answer before the scan
/// gets there).
const READ_AHEAD: u64 = 32;

/// Where a scan of free runs stands. It holds no borrow: each call to
/// [`next_run`](Self::next_run) is given the bitmap, which must be the one
/// the scan started on and unchanged since.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FreeRuns {
    /// The next level-1 summary word to look at.
    next_summary_word: u64,
    /// The level-1 summary word being scanned.
    summary_word: u64,
    /// Its "has a free page" bits.
    any_free: u64,
    /// Its "entirely free" bits.
    all_free: u64,
    /// Leaf words of that summary word still to visit, one bit each.
    pending_words: u64,
    /// The leaf word whose transitions are being reported.
    leaf_word: u64,
    /// Its page transitions not yet reported, one bit each.
    pending_pages: u64,
    /// Whether the last page before everything still pending is free
    /// (the page before the first reads as reserved).
    free_before: bool,
    /// Where the open run started, if one is open.
    open: Option<u64>,
    /// Summary words below this one had their partly free leaf words asked for.
    read_to: u64,
}

impl FreeRuns {
    /// A scan from the bitmap's first page.
    pub(crate) const fn new() -> Self {
        Self {
            next_summary_word: 0,
            summary_word: 0,
            any_free: 0,
            all_free: 0,
            pending_words: 0,
            leaf_word: 0,
            pending_pages: 0,
            free_before: false,
            open: None,
            read_to: 0,
        }
    }

    /// The next free run `[start, end)` of `bitmap`, in page indices, or
    /// `None` once every run has been reported.
    #[inline(always)]
    pub(crate) fn next_run<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &mut self,
        bitmap: &Bitmap<Storage>,
    ) -> Option<(u64, u64)> {
        loop {
            if self.pending_pages != 0 {
                let page = self.leaf_word * WORD + u64::from(self.pending_pages.trailing_zeros());
                self.pending_pages &= self.pending_pages - 1;
                match self.open.take() {
                    None => self.open = Some(page),
                    Some(start) => return Some((start, page)),
                }
            } else if self.pending_words != 0 {
                self.visit_leaf_word(bitmap);
            } else if !self.next_summary_word(bitmap) {
                // Pad bits read as reserved, so a run still open here ends
                // at the last page.
                return self.open.take().map(|start| (start, bitmap.len()));
            }
        }
    }

    /// Reads the next pending leaf word (from the summary when it is
    /// uniform) and queues its page transitions. Then decides whether the
    /// word after it needs a visit: a uniform word does only if its state
    /// differs from this word's last page.
    #[inline(always)]
    fn visit_leaf_word<Storage: AsRef<[u64]> + AsMut<[u64]>>(&mut self, bitmap: &Bitmap<Storage>) {
        let bit = u64::from(self.pending_words.trailing_zeros());
        self.pending_words &= self.pending_words - 1;
        let index = self.summary_word * WORD + bit;
        let partial = self.any_free & !self.all_free;
        let is_partial = partial >> bit & 1 != 0;
        // Uniform: 0 (every page free) or all ones (every page reserved).
        let uniform = (self.all_free >> bit & 1).wrapping_sub(1);
        let reserved = if is_partial {
            bitmap.storage.as_ref()[index as usize]
        } else {
            uniform
        };
        let free = !reserved;
        self.leaf_word = index;
        self.pending_pages = free ^ (free << 1 | u64::from(self.free_before));
        self.free_before = free >> (WORD - 1) != 0;
        if bit + 1 < WORD {
            let next = 1 << (bit + 1);
            let next_uniform = next & !partial;
            let differs = (self.all_free & next != 0) != self.free_before;
            self.pending_words = self.pending_words & !next_uniform
                | next_uniform & u64::from(differs).wrapping_neg();
        }
    }

    /// Moves to the next summary word with a leaf word to visit, crossing
    /// summary words that continue the last page's state (all entirely
    /// free, or without a free page) through level 2; `false` past the
    /// last summary word.
    fn next_summary_word<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &mut self,
        bitmap: &Bitmap<Storage>,
    ) -> bool {
        let any = bitmap.summary(Set::AnyFree);
        let all = bitmap.summary(Set::AllFree);
        let words = any.len() as u64;
        let next = if self.free_before {
            bits::next(
                bitmap.summary(Set::AllFreeFull),
                self.next_summary_word,
                words,
                false,
            )
        } else {
            bits::next(
                bitmap.summary(Set::AnyFreeNonzero),
                self.next_summary_word,
                words,
                true,
            )
        };
        if next >= words {
            self.next_summary_word = words;
            return false;
        }
        self.summary_word = next;
        self.next_summary_word = next + 1;
        self.any_free = any[next as usize];
        self.all_free = all[next as usize];
        let partial = self.any_free & !self.all_free;
        // To visit: every partly free word, and every uniform word whose
        // state differs from the word before it. The bit of a uniform word
        // after a partly free one is set again when that word has been
        // read and its last page is known.
        let all_before = self.all_free << 1 | u64::from(self.free_before);
        self.pending_words = partial | (self.all_free ^ all_before);
        // Ask for the summary words up to `READ_AHEAD` past this one not
        // yet asked for: one as the scan moves on by one, the whole
        // stretch after a jump.
        let ahead = next + READ_AHEAD;
        if ahead >= self.read_to {
            let from = self.read_to.max(next + 1);
            self.read_to = ahead + 1;
            bitmap.prefetch_partial_words(from, self.read_to);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitmap::node_storage_words;
    use std::vec;
    use std::vec::Vec;

    /// A bitmap of `len` pages, every page reserved, over storage full of
    /// ones (a whole free word must then read free through the summary).
    fn reserved(len: u64) -> Bitmap<Vec<u64>> {
        Bitmap::new_all_set(vec![u64::MAX; node_storage_words(len) as usize], len)
    }

    fn scanned(map: &Bitmap<Vec<u64>>) -> Vec<(u64, u64)> {
        let mut scan = FreeRuns::new();
        let mut runs = Vec::new();
        while let Some(run) = scan.next_run(map) {
            runs.push(run);
        }
        assert_eq!(scan.next_run(map), None, "the scan stays finished");
        runs
    }

    fn page_by_page(map: &Bitmap<Vec<u64>>) -> Vec<(u64, u64)> {
        let mut runs = Vec::new();
        let mut open = None;
        for page in 0..=map.len() {
            match (open, map.is_set(page)) {
                (None, false) => open = Some(page),
                (Some(start), true) => {
                    runs.push((start, page));
                    open = None;
                }
                _ => {}
            }
        }
        runs
    }

    #[test]
    fn runs_agree_with_reading_each_page() {
        // Lengths around word, summary-word and level-2 boundaries; run
        // lengths from single pages to several level-2 words.
        let lengths: &[u64] = if cfg!(miri) {
            &[1, 64, 4097]
        } else {
            &[1, 63, 64, 65, 4096, 4097, 262_144 + 77, 900_000]
        };
        let mut random = crate::test_random::XorShift::new(0x2545_f491_4f6c_dd1d);
        let mut next = move |bound: u64| random.below(bound);
        for &len in lengths {
            // Under Miri (a thousand times slower), short runs and long ones.
            let longests: &[u64] = if cfg!(miri) {
                &[2, 5000]
            } else {
                &[2, 70, 5000, 400_000]
            };
            for &longest in longests {
                let mut map = reserved(len);
                let mut page = next(3);
                while page < len {
                    let free_end = (page + 1 + next(longest)).min(len);
                    // Some runs on word boundaries, some not.
                    let word_end = free_end & !63;
                    let free_end = if next(4) == 0 && word_end > page {
                        word_end
                    } else {
                        free_end
                    };
                    map.clear_range(page, free_end);
                    page = free_end + 1 + next(longest / 2);
                }
                assert_eq!(
                    scanned(&map),
                    page_by_page(&map),
                    "len {len} longest {longest}"
                );
                // Whole words reserved again keep their old leaf bits in
                // storage: only the summary may say what they hold.
                let mut page = next(5000);
                while page + 256 <= len {
                    map.set_range(page & !63, (page & !63) + 128);
                    page += 1 + next(20_000);
                }
                let stale = "stale words";
                assert_eq!(
                    scanned(&map),
                    page_by_page(&map),
                    "len {len} longest {longest}, {stale}"
                );
            }
        }
    }

    #[test]
    fn whole_node_free_and_whole_node_reserved() {
        for len in [64 * 64 * 64 * 3, 1000] {
            let mut map = reserved(len);
            assert_eq!(scanned(&map), []);
            map.clear_range(0, len);
            assert_eq!(scanned(&map), [(0, len)]);
            map.set_range(len - 1, len);
            map.set_range(0, 1);
            assert_eq!(scanned(&map), [(1, len - 1)]);
        }
        assert_eq!(scanned(&reserved(0)), []);
    }
}
