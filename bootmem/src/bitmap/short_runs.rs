//! Per summary word, the longest free run starting under it, so a short request skips fragmented stretches.
//!
//! A request of fewer than 190 pages needs no whole level-1 word free, so
//! the summary's free-word searches cannot skip for it: on a node whose
//! free runs are all short, a request longer than every one of them would
//! visit each run, many times the cost of reading the bitmap once. So one
//! byte per level-1 summary word (4 096 pages, a "region") keeps the
//! longest free run that starts at a page of the region, counted to its
//! end wherever that is, capped at [`SHORT_RUN_CAP`]: a search for `n <=
//! 255` pages crosses every region whose byte is below `n` without reading
//! it, eight regions a word.
//!
//! A byte is never below the truth, so a search never skips a run it
//! should find. Every reservation or free through
//! [`Bitmap::set_range`] or [`Bitmap::clear_range`] makes the bytes it can
//! change exact: it recomputes the regions whose runs it reaches (its two
//! end regions, and the one before when a run starting there within 255
//! pages can reach it) and sets the regions it covers whole. A block the
//! search has just placed ([`Bitmap::reserve_placed`]) leaves them as they
//! are: reserving only shortens runs, so they stay upper bounds, and W2's
//! placements would pay about a tenth of their time to lower them.

use super::bits::{self, WORD};
use super::layout::Set;
use super::{Bitmap, REGION_PAGES};

/// The largest run length a region's byte tells apart: a byte of 255 means
/// "255 or more".
pub(crate) const SHORT_RUN_CAP: u64 = 255;

/// Each byte of a word, repeated.
const BYTES: u64 = 0x0101_0101_0101_0101;

impl<Storage: AsRef<[u64]> + AsMut<[u64]>> Bitmap<Storage> {
    /// The stored longest free run starting in region `region`.
    #[cfg(test)]
    pub(crate) fn short_run(&self, region: u64) -> u64 {
        let words = &self.storage.as_ref()[self.layout.short_runs()];
        words[(region / 8) as usize] >> (region % 8 * 8) & 0xff
    }

    fn store_short_run(&mut self, region: u64, length: u64) {
        let range = self.layout.short_runs();
        let word = &mut self.storage.as_mut()[range][(region / 8) as usize];
        let shift = region % 8 * 8;
        *word = *word & !(0xff << shift) | length << shift;
    }

    /// Stores `length` for regions `[from, to)`: the bytes at either end
    /// one by one, the words between whole.
    fn fill_short_runs(&mut self, from: u64, to: u64, length: u64) {
        let (whole_from, whole_to) = (from.div_ceil(8), to / 8);
        if whole_from > whole_to {
            for region in from..to {
                self.store_short_run(region, length);
            }
            return;
        }
        for region in (from..whole_from * 8).chain(whole_to * 8..to) {
            self.store_short_run(region, length);
        }
        let range = self.layout.short_runs();
        self.storage.as_mut()[range][whole_from as usize..whole_to as usize].fill(BYTES * length);
    }

    /// Free pages from the start of leaf word `index` on, counting at most
    /// `limit` (`limit <= 255`): the words after it are read only while
    /// wholly free.
    fn free_from_word(&self, mut index: u64, limit: u64) -> u64 {
        let mut free = 0;
        while free < limit && index < self.layout.leaf {
            let run = u64::from(self.word(index).trailing_zeros());
            free += run;
            if run < WORD {
                break;
            }
            index += 1;
        }
        free.min(limit)
    }

    /// The longest free run starting in region `region`, capped at
    /// [`SHORT_RUN_CAP`], from the summary and the partly free leaf words;
    /// four entirely free words in a row settle it at once.
    fn compute_short_run(&self, region: u64) -> u64 {
        let all = self.summary(Set::AllFree)[region as usize];
        if all & all >> 1 & all >> 2 & all >> 3 != 0 {
            return SHORT_RUN_CAP;
        }
        let mut with_free = self.summary(Set::AnyFree)[region as usize];
        let mut longest = 0;
        while with_free != 0 && longest < SHORT_RUN_CAP {
            let index = region * WORD + u64::from(with_free.trailing_zeros());
            with_free &= with_free - 1;
            let free = !self.word(index);
            // Runs inside the word, and the one at its top (at most 64,
            // below the cap), which goes on into the words after.
            let top = u64::from(free.leading_ones());
            let beyond = if top > 0 {
                self.free_from_word(index + 1, SHORT_RUN_CAP - top)
            } else {
                0
            };
            longest = longest.max(bits::longest_run(free)).max(top + beyond);
        }
        longest.min(SHORT_RUN_CAP)
    }

    /// Brings the regions' bytes up to date after pages `[from, to)`
    /// became reserved (`reserve`) or free: the regions strictly between
    /// its two end regions are set at once (to 0, or to the cap: a free
    /// region holds a run of 4 096 pages), and the end regions are
    /// recomputed, with the region before when `from` lies within 255
    /// pages of its region's start (a run starting there may reach the
    /// range). Runs starting further before are longer than the cap before
    /// and after, and runs starting after `to` do not change.
    pub(crate) fn refresh_short_runs(&mut self, from: u64, to: u64, reserve: bool) {
        let (first, last) = (from / REGION_PAGES, (to - 1) / REGION_PAGES);
        if last > first + 1 {
            let length = if reserve { 0 } else { SHORT_RUN_CAP };
            self.fill_short_runs(first + 1, last, length);
        }
        self.recompute_short_run(first);
        let reach = from.saturating_sub(SHORT_RUN_CAP) / REGION_PAGES;
        if reach != first {
            self.recompute_short_run(reach);
        }
        if last != first {
            self.recompute_short_run(last);
        }
    }

    fn recompute_short_run(&mut self, region: u64) {
        let length = self.compute_short_run(region);
        self.store_short_run(region, length);
    }

    /// The first page at or after `from`, and before `to`, where a run of
    /// `pages` free pages (`pages <= 255`) may start by the regions' bytes:
    /// `from` itself when its region's byte allows one, else the first
    /// page of the first region after it whose byte does; `to` when none
    /// before it does. Eight bytes are compared a word at a time.
    pub(crate) fn next_short_run_region(&self, from: u64, pages: u64, to: u64) -> u64 {
        debug_assert!(pages <= SHORT_RUN_CAP);
        if from >= to {
            return to;
        }
        let words = &self.storage.as_ref()[self.layout.short_runs()];
        let region = from / REGION_PAGES;
        let last = (to - 1) / REGION_PAGES;
        let high = BYTES << 7;
        // The top bit of each byte at least `pages`. Each byte's low seven
        // bits, with the top bit set, minus at most 128 cannot borrow from
        // the next byte.
        let at_least = |word: u64| -> u64 {
            let low = word & !high | high;
            if pages <= 128 {
                (word | low.wrapping_sub(BYTES * pages)) & high
            } else {
                word & low.wrapping_sub(BYTES * (pages - 128)) & high
            }
        };
        let mut index = region / 8;
        let mut word = at_least(words[index as usize]) & (u64::MAX << (region % 8 * 8));
        loop {
            if word != 0 {
                let found = index * 8 + u64::from(word.trailing_zeros()) / 8;
                if found > last {
                    return to;
                }
                return if found == region {
                    from
                } else {
                    found * REGION_PAGES
                };
            }
            index += 1;
            if index * 8 > last {
                return to;
            }
            word = at_least(words[index as usize]);
        }
    }
}
