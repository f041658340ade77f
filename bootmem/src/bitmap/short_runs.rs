//! Per summary word, the longest free run starting under it, so a request shorter than a region skips fragmented stretches.
//!
//! A request of at most 126 pages needs no whole free leaf word, so the
//! summary's free-word searches cannot skip for it; and a request a
//! little longer than every free run of a node needs no more whole free
//! words than those runs hold, so every run is a candidate. Either way, on
//! a node cut into short runs the search would visit each run, many times
//! the cost of reading the bitmap once. So one 16-bit value per level-1
//! summary word (4 096 pages, a "region") keeps the longest free run that
//! starts at a page of the region, counted to its end wherever that is,
//! capped at [`SHORT_RUN_CAP`] (4 095): a search for `n <= 4095` pages
//! crosses every region whose value is below `n` without reading it, four
//! regions a word. (An earlier version kept a byte capped at 255; a
//! request of 300 pages on a 64 GiB node cut into runs of at most 299
//! then took 3 to 5 ms to refuse, 30 to 50 times reading the bitmap once.)
//!
//! A value is never below the truth, so a search never skips a run it
//! should find. Every reservation or free through
//! [`Bitmap::set_range`] or [`Bitmap::clear_range`] makes the values it can
//! change exact: it recomputes the regions whose runs it reaches (its two
//! end regions, and the one before when the page before the range is
//! free) and sets the regions it covers whole. The cap is below a region's
//! size, so runs starting two regions before the range or earlier count
//! as the cap before and after. A block the search has just placed
//! ([`Bitmap::reserve_placed`]) leaves them as they are: reserving only
//! shortens runs, so they stay upper bounds, and W2's placements would pay
//! about a tenth of their time to lower them.

use super::bits::{self, WORD};
use super::layout::Set;
use super::{Bitmap, REGION_PAGES};

/// The largest run length a region's value tells apart: a value of 4 095
/// means "4 095 or more". Below a region's size, so a run starting in a
/// region can change what it counts only as far as the region after.
pub(crate) const SHORT_RUN_CAP: u64 = REGION_PAGES - 1;

/// Regions a storage word holds: a 16-bit value each.
const PER_WORD: u64 = 4;

/// Bits of one region's value.
const LANE: u64 = 16;

/// Each lane of a word, holding one.
const LANES: u64 = 0x0001_0001_0001_0001;

impl<Storage: AsRef<[u64]> + AsMut<[u64]>> Bitmap<Storage> {
    /// The stored longest free run starting in region `region`.
    #[cfg(test)]
    pub(crate) fn short_run(&self, region: u64) -> u64 {
        let words = &self.storage.as_ref()[self.layout.short_runs()];
        words[(region / PER_WORD) as usize] >> (region % PER_WORD * LANE) & 0xffff
    }

    fn store_short_run(&mut self, region: u64, length: u64) {
        let range = self.layout.short_runs();
        let word = &mut self.storage.as_mut()[range][(region / PER_WORD) as usize];
        let shift = region % PER_WORD * LANE;
        *word = *word & !(0xffff << shift) | length << shift;
    }

    /// Stores `length` for regions `[from, to)`: the values at either end
    /// one by one, the words between whole.
    fn fill_short_runs(&mut self, from: u64, to: u64, length: u64) {
        let (whole_from, whole_to) = (from.div_ceil(PER_WORD), to / PER_WORD);
        if whole_from > whole_to {
            for region in from..to {
                self.store_short_run(region, length);
            }
            return;
        }
        for region in (from..whole_from * PER_WORD).chain(whole_to * PER_WORD..to) {
            self.store_short_run(region, length);
        }
        let range = self.layout.short_runs();
        self.storage.as_mut()[range][whole_from as usize..whole_to as usize].fill(LANES * length);
    }

    /// Free pages from the first page of region `region` on, counting at
    /// most `limit`: entirely free words are counted through the summary,
    /// and only the first word that is not is read, for its free pages at
    /// the bottom. Past the last region nothing is free.
    fn free_from_region(&self, mut region: u64, limit: u64) -> u64 {
        let all_free = self.summary(Set::AllFree);
        let mut free = 0;
        while free < limit && region < self.layout.level1 {
            let whole = u64::from(all_free[region as usize].trailing_ones());
            free += whole * WORD;
            if whole < WORD {
                // The first word not entirely free (pad words read reserved).
                let index = region * WORD + whole;
                if index < self.layout.leaf {
                    free += u64::from(self.word(index).trailing_zeros());
                }
                break;
            }
            region += 1;
        }
        free.min(limit)
    }

    /// The longest free run starting in region `region` (counted from the
    /// region's first page for a run that began before it, and to its end
    /// wherever that is), capped at [`SHORT_RUN_CAP`]. The region's 64
    /// leaf words are taken from the summary a stretch at a time: entirely
    /// free and entirely reserved stretches at once, and only the partly
    /// free words read.
    fn compute_short_run(&self, region: u64) -> u64 {
        let any = self.summary(Set::AnyFree)[region as usize];
        let all = self.summary(Set::AllFree)[region as usize];
        if any == 0 {
            return 0;
        }
        // The run reaching the page after the words seen so far.
        let mut current = 0;
        let mut longest = 0;
        let mut bit = 0;
        while bit < WORD {
            // Shifted right, so the counts stop at the region's last word
            // (past it, `bit` reaches 64 either way).
            let free_words = (all >> bit).trailing_ones();
            if free_words > 0 {
                current += u64::from(free_words) * WORD;
                if current >= SHORT_RUN_CAP {
                    return SHORT_RUN_CAP;
                }
                bit += u64::from(free_words);
                continue;
            }
            let reserved_words = (any >> bit).trailing_zeros();
            if reserved_words > 0 {
                longest = longest.max(current);
                current = 0;
                bit += u64::from(reserved_words);
                continue;
            }
            let free = !self.storage.as_ref()[(region * WORD + bit) as usize];
            longest = longest
                .max(current + u64::from(free.trailing_ones()))
                .max(bits::longest_run(free));
            current = u64::from(free.leading_ones());
            bit += 1;
        }
        if current > 0 && current < SHORT_RUN_CAP {
            current += self.free_from_region(region + 1, SHORT_RUN_CAP - current);
        }
        longest.max(current).min(SHORT_RUN_CAP)
    }

    /// Brings the regions' values up to date after pages `[from, to)`
    /// became reserved (`reserve`) or free: the regions strictly between
    /// its two end regions are set at once (to 0, or to the cap: a free
    /// region holds a run of 4 096 pages), and the end regions are
    /// recomputed, with the region before when the page before `from` is
    /// free and lies within the cap of `from` (a run starting there may
    /// reach the range). Runs starting further before are longer than the
    /// cap before and after, and runs starting after `to` do not change.
    pub(crate) fn refresh_short_runs(&mut self, from: u64, to: u64, reserve: bool) {
        let (first, last) = (from / REGION_PAGES, (to - 1) / REGION_PAGES);
        if last > first + 1 {
            let length = if reserve { 0 } else { SHORT_RUN_CAP };
            self.fill_short_runs(first + 1, last, length);
        }
        self.recompute_short_run(first);
        let reach = from.saturating_sub(SHORT_RUN_CAP) / REGION_PAGES;
        if reach != first && !self.is_set(from - 1) {
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
    /// `pages` free pages (`pages <= 4095`) may start by the regions'
    /// values: `from` itself when its region's value allows one, else the
    /// first page of the first region after it whose value does; `to` when
    /// none before it does. Four values are compared a word at a time.
    pub(crate) fn next_short_run_region(&self, from: u64, pages: u64, to: u64) -> u64 {
        debug_assert!(pages <= SHORT_RUN_CAP);
        if from >= to {
            return to;
        }
        let words = &self.storage.as_ref()[self.layout.short_runs()];
        let region = from / REGION_PAGES;
        let last = (to - 1) / REGION_PAGES;
        let high = LANES << (LANE - 1);
        // The top bit of each lane: its value is at least `pages`. Values
        // and `pages` are below 2^15, so no lane borrows from the next.
        let at_least = |word: u64| (word | high).wrapping_sub(LANES * pages) & high;
        let mut index = region / PER_WORD;
        let mut word = at_least(words[index as usize]) & (u64::MAX << (region % PER_WORD * LANE));
        loop {
            if word != 0 {
                let found = index * PER_WORD + u64::from(word.trailing_zeros()) / LANE;
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
            if index * PER_WORD > last {
                return to;
            }
            word = at_least(words[index as usize]);
        }
    }
}
