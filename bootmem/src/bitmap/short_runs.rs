//! Per summary word, the longest free run starting under it, so a request longer than every free run is refused without visiting them.
//!
//! A request of at most 126 pages needs no whole free leaf word, so the
//! summary's free-word searches cannot skip for it; and a request a
//! little longer than every free run of a node needs no more whole free
//! words than those runs hold, so every run is a candidate. Either way, on
//! a node cut into short runs the search would visit each run, many times
//! the cost of reading the bitmap once. So each level-1 summary word
//! (4 096 pages, a "region") keeps the longest free run that starts at a
//! page of the region, counted to its end wherever that is, twice: in 16
//! bits capped at [`SHORT_RUN_CAP`] (32 767), which a search for at most
//! that many pages reads, four regions a word; and in 32 bits capped at
//! [`LONG_RUN_CAP`] (1 048 575, 4 GiB of 4 KiB pages), which a longer
//! search reads, two regions a word. A search crosses every region whose
//! value is below its length without reading the region. Above the
//! larger cap each run is visited, but a node holds few such runs (256 on
//! a TiB). (Earlier versions kept a byte capped at 255, then 16 bits
//! capped at 4 095; a request of 4 101 pages on a 64 GiB node cut into
//! runs of 4 100 then took 0.17 ms to refuse, three times reading the
//! bitmap once, and on a TiB cut into runs of 32 768 a request one page
//! longer took 0.40 ms.)
//!
//! A value is never below the truth, so a search never skips a run it
//! should find. Every reservation or free through
//! [`Bitmap::set_range`] or [`Bitmap::clear_range`] makes the values it can
//! change exact. Only runs that reach the range change: those starting
//! in it or in its two end regions, and the one run that ends at the
//! page before it, which may start up to the cap before it. The regions
//! that run covers from their first page hold its length from there (up
//! to the cap), set without reading the region; the region where it
//! starts and the range's two end regions are recomputed. A block the
//! search has just placed ([`Bitmap::reserve_placed`]) leaves the values
//! as they are: reserving only shortens runs, so they stay upper bounds,
//! and W2's placements would pay about a tenth of their time to lower
//! them.

use super::bits::{self, WORD};
use super::layout::{Layout, Set};
use super::{Bitmap, REGION_PAGES};

/// The largest run length the 16-bit values tell apart: 32 767 means
/// "32 767 or more". The largest a 16-bit lane holds with its top bit
/// clear, which the four-at-a-time comparison borrows.
pub(crate) const SHORT_RUN_CAP: u64 = (1 << 15) - 1;

/// The largest run length the 32-bit values tell apart, and so the
/// longest run a change can shorten or lengthen in any region's eyes:
/// 1 048 575 pages (4 GiB of 4 KiB pages). A change reaches the values of
/// the 256 regions before it at most, a few instructions each; a run
/// longer than the cap is one of at most `pages / 2^20` on its node.
pub(crate) const LONG_RUN_CAP: u64 = (1 << 20) - 1;

/// One of the two arrays holding the regions' values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Values {
    /// 16 bits a region, capped at [`SHORT_RUN_CAP`]: the one a search of
    /// at most that many pages reads, half the size of the other and so
    /// more often in cache.
    Short,
    /// 32 bits a region, capped at [`LONG_RUN_CAP`].
    Long,
}

impl Values {
    /// The array a search for `pages` pages reads.
    const fn for_pages(pages: u64) -> Self {
        if pages <= SHORT_RUN_CAP {
            Self::Short
        } else {
            Self::Long
        }
    }

    /// Bits of one region's value.
    const fn lane(self) -> u64 {
        match self {
            Self::Short => 16,
            Self::Long => 32,
        }
    }

    /// Regions a storage word holds.
    const fn per_word(self) -> u64 {
        WORD / self.lane()
    }

    /// The bits of one lane.
    const fn lane_mask(self) -> u64 {
        u64::MAX >> (WORD - self.lane())
    }

    /// The lowest bit of each lane.
    const fn lanes(self) -> u64 {
        u64::MAX / self.lane_mask()
    }

    const fn cap(self) -> u64 {
        match self {
            Self::Short => SHORT_RUN_CAP,
            Self::Long => LONG_RUN_CAP,
        }
    }

    /// Stores `length` (capped) as region `region`'s value in `words`,
    /// this array's storage words.
    fn store(self, words: &mut [u64], region: u64, length: u64) {
        let word = &mut words[(region / self.per_word()) as usize];
        let shift = region % self.per_word() * self.lane();
        *word = *word & !(self.lane_mask() << shift) | length.min(self.cap()) << shift;
    }

    const fn words(self, layout: &Layout) -> core::ops::Range<usize> {
        match self {
            Self::Short => layout.short_runs(),
            Self::Long => layout.long_runs(),
        }
    }
}

// The word-at-a-time comparison borrows each lane's top bit.
const _: () = assert!(SHORT_RUN_CAP < 1 << (Values::Short.lane() - 1));
const _: () = assert!(LONG_RUN_CAP < 1 << (Values::Long.lane() - 1));

impl<Storage: AsRef<[u64]> + AsMut<[u64]>> Bitmap<Storage> {
    /// The stored longest free run starting in region `region`, as the
    /// 16-bit values (`long == false`) or the 32-bit ones hold it.
    #[cfg(test)]
    pub(crate) fn short_run(&self, region: u64, long: bool) -> u64 {
        let values = if long { Values::Long } else { Values::Short };
        let words = &self.storage.as_ref()[values.words(&self.layout)];
        let per_word = values.per_word();
        words[(region / per_word) as usize] >> (region % per_word * values.lane())
            & values.lane_mask()
    }

    /// Stores `length` as region `region`'s value, in both arrays.
    fn store_short_run(&mut self, region: u64, length: u64) {
        for values in [Values::Short, Values::Long] {
            let range = values.words(&self.layout);
            values.store(&mut self.storage.as_mut()[range], region, length);
        }
    }

    /// Stores `length` for regions `[from, to)`, in both arrays: the values
    /// at either end of each one by one, the words between whole.
    fn fill_short_runs(&mut self, from: u64, to: u64, length: u64) {
        for values in [Values::Short, Values::Long] {
            let per_word = values.per_word();
            let (whole_from, whole_to) = (from.div_ceil(per_word), to / per_word);
            let range = values.words(&self.layout);
            let words = &mut self.storage.as_mut()[range];
            if whole_from > whole_to {
                (from..to).for_each(|region| values.store(words, region, length));
                continue;
            }
            (from..whole_from * per_word)
                .chain(whole_to * per_word..to)
                .for_each(|region| values.store(words, region, length));
            words[whole_from as usize..whole_to as usize]
                .fill(values.lanes() * length.min(values.cap()));
        }
    }

    /// Free pages from page `page` on, counting at most `limit`: the
    /// partly covered word at `page` is read, then entirely free words are
    /// counted through the summary (whole free regions through level 2),
    /// and only the first word after them that is not is read, for its
    /// free pages at the bottom. Past the last page nothing is free.
    fn free_from(&self, page: u64, limit: u64) -> u64 {
        let offset = page % WORD;
        let mut index = page / WORD;
        let mut free = 0;
        if offset != 0 && index < self.layout.leaf {
            // The pages of the word from `page` on, at the bottom.
            let run = u64::from((self.word(index) >> offset).trailing_zeros());
            if run < WORD - offset {
                return run.min(limit);
            }
            free = WORD - offset;
            index += 1;
        }
        let all_free = self.summary(Set::AllFree);
        let full = self.summary(Set::AllFreeFull);
        while free < limit && index < self.layout.leaf {
            #[cfg(test)]
            tests::COUNT_TURNS.with(|turns| turns.set(turns.get() + 1));
            let bit = index % WORD;
            if bit == 0 {
                // At a region's first word: whole free regions through
                // level 2, up to 64 at once (4 GiB of runs in a few steps).
                let region = index / WORD;
                let regions =
                    u64::from((full[(region / WORD) as usize] >> (region % WORD)).trailing_ones());
                if regions > 0 {
                    free += regions * REGION_PAGES;
                    index += regions * WORD;
                    continue;
                }
            }
            // Shifted right, so the count stops at the summary word's end.
            let whole = u64::from((all_free[(index / WORD) as usize] >> bit).trailing_ones());
            free += whole * WORD;
            index += whole;
            if bit + whole < WORD {
                // The first word not entirely free (pad words read reserved).
                if index < self.layout.leaf {
                    free += u64::from(self.word(index).trailing_zeros());
                }
                break;
            }
        }
        free.min(limit)
    }

    /// Free pages just before page `page`, counted down from `page - 1`,
    /// at most `limit`: the mirror of [`free_from`](Self::free_from).
    fn free_before(&self, page: u64, limit: u64) -> u64 {
        let offset = page % WORD;
        let mut index = page / WORD;
        let mut free = 0;
        if offset != 0 {
            // The pages of the word below `page`, at the top.
            let run = u64::from((self.word(index) << (WORD - offset)).leading_zeros());
            if run < offset {
                return run.min(limit);
            }
            free = offset;
        }
        // Every word below `index` is whole.
        let all_free = self.summary(Set::AllFree);
        let full = self.summary(Set::AllFreeFull);
        while free < limit && index > 0 {
            #[cfg(test)]
            tests::COUNT_TURNS.with(|turns| turns.set(turns.get() + 1));
            let below = index - 1;
            let bit = below % WORD;
            if bit == WORD - 1 {
                // At a region's end: whole free regions below through
                // level 2, up to 64 at once.
                let region = below / WORD;
                let shifted = full[(region / WORD) as usize] << (WORD - 1 - region % WORD);
                let regions = u64::from(shifted.leading_ones());
                if regions > 0 {
                    free += regions * REGION_PAGES;
                    index -= regions * WORD;
                    continue;
                }
            }
            // Shifted left, so the count stops at the summary word's start.
            let shifted = all_free[(below / WORD) as usize] << (WORD - 1 - bit);
            let whole = u64::from(shifted.leading_ones());
            free += whole * WORD;
            index -= whole;
            if whole <= bit {
                // The first word below not entirely free.
                free += u64::from(self.word(index - 1).leading_zeros());
                break;
            }
        }
        free.min(limit)
    }

    /// The longest free run starting in region `region` (counted from the
    /// region's first page for a run that began before it, and to its end
    /// wherever that is), capped at [`LONG_RUN_CAP`]. The region's 64
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
                if current >= LONG_RUN_CAP {
                    return LONG_RUN_CAP;
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
        if current > 0 && current < LONG_RUN_CAP {
            current += self.free_from((region + 1) * REGION_PAGES, LONG_RUN_CAP - current);
        }
        longest.max(current).min(LONG_RUN_CAP)
    }

    /// Brings the regions' values up to date after pages `[from, to)`
    /// became reserved (`reserve`) or free. The runs whose length from a
    /// page changed are those starting in the range, in its two end
    /// regions, and the one run ending at `from - 1` (if that page is
    /// free), which may start up to the cap before `from`:
    ///
    /// - the end regions are recomputed;
    /// - the regions strictly between them hold no run (reserved) or the
    ///   free run through the range from their first page;
    /// - the regions the run ending at `from - 1` covers from their first
    ///   page hold its length from there, and the region where it starts
    ///   is recomputed (its earlier runs are unchanged).
    ///
    /// Runs starting after `to` do not change, nor do runs starting the
    /// cap or more before `from`: they are at the cap before and after.
    pub(crate) fn refresh_short_runs(&mut self, from: u64, to: u64, reserve: bool) {
        let (first, last) = (from / REGION_PAGES, (to - 1) / REGION_PAGES);
        // Where the free run through `from - 1` now ends (counted up to the
        // cap past `to`, all any value can tell).
        let run_end = if reserve {
            from
        } else {
            to + self.free_from(to, LONG_RUN_CAP)
        };
        if last > first + 1 {
            if reserve {
                self.fill_short_runs(first + 1, last, 0);
            } else {
                self.store_covered_runs(first + 1, last, run_end);
            }
        }
        self.recompute_short_run(first);
        if last != first {
            self.recompute_short_run(last);
        }
        // The run ending at `from - 1`, from the first region it may
        // change on.
        let reach = from.saturating_sub(LONG_RUN_CAP) / REGION_PAGES;
        if reach < first {
            let run_start = from - self.free_before(from, from - reach * REGION_PAGES);
            let covered = run_start.div_ceil(REGION_PAGES);
            self.store_covered_runs(covered, first, run_end);
            if run_start % REGION_PAGES != 0 && covered <= first {
                self.recompute_short_run(run_start / REGION_PAGES);
            }
        }
    }

    /// Stores, for each region of `[from, to)`, the length of a free run
    /// covering it from its first page to `run_end` (capped): the cap for
    /// the regions starting at least the cap before `run_end`, at once,
    /// and the rest, at most 256, one by one.
    fn store_covered_runs(&mut self, from: u64, to: u64, run_end: u64) {
        if from >= to {
            return;
        }
        let capped_to = match run_end.checked_sub(LONG_RUN_CAP) {
            Some(last_capped) => (last_capped / REGION_PAGES + 1).clamp(from, to),
            None => from,
        };
        self.fill_short_runs(from, capped_to, LONG_RUN_CAP);
        for region in capped_to..to {
            self.store_short_run(region, (run_end - region * REGION_PAGES).min(LONG_RUN_CAP));
        }
    }

    fn recompute_short_run(&mut self, region: u64) {
        let length = self.compute_short_run(region);
        self.store_short_run(region, length);
    }

    /// The first page at or after `from`, and before `to`, where a run of
    /// `pages` free pages (`pages <=` [`LONG_RUN_CAP`]) may start by the
    /// regions' values: `from` itself when its region's value allows one,
    /// else the first page of the first region after it whose value does;
    /// `to` when none before it does. A request of at most
    /// [`SHORT_RUN_CAP`] pages reads the 16-bit values, four a word; a
    /// longer one the 32-bit values, two a word.
    pub(crate) fn next_short_run_region(&self, from: u64, pages: u64, to: u64) -> u64 {
        debug_assert!(pages <= LONG_RUN_CAP);
        // One call per array, so that each is compiled for its own lanes.
        match Values::for_pages(pages) {
            Values::Short => self.next_region_in(Values::Short, from, pages, to),
            Values::Long => self.next_region_in(Values::Long, from, pages, to),
        }
    }

    /// [`next_short_run_region`](Self::next_short_run_region) over one
    /// array, whose cap `pages` does not exceed.
    #[inline(always)]
    fn next_region_in(&self, values: Values, from: u64, pages: u64, to: u64) -> u64 {
        if from >= to {
            return to;
        }
        let words = &self.storage.as_ref()[values.words(&self.layout)];
        let (lane, per_word, lanes) = (values.lane(), values.per_word(), values.lanes());
        let region = from / REGION_PAGES;
        let last = (to - 1) / REGION_PAGES;
        let high = lanes << (lane - 1);
        // The top bit of each lane: its value is at least `pages`. Values
        // and `pages` are below the lane's top bit, so no lane borrows
        // from the next.
        let at_least = |word: u64| (word | high).wrapping_sub(lanes * pages) & high;
        let mut index = region / per_word;
        let mut word = at_least(words[index as usize]) & (u64::MAX << (region % per_word * lane));
        loop {
            if word != 0 {
                let found = index * per_word + u64::from(word.trailing_zeros()) / lane;
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
            if index * per_word > last {
                return to;
            }
            word = at_least(words[index as usize]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    std::thread_local! {
        /// Turns of [`Bitmap::free_from`]'s and [`Bitmap::free_before`]'s
        /// loops on this thread, counted where a timed test would be noise.
        pub(super) static COUNT_TURNS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
    }

    fn turns() -> u64 {
        COUNT_TURNS.with(core::cell::Cell::get)
    }

    #[test]
    fn whole_free_regions_are_counted_through_level_2() {
        // 300 free regions, but the page just past the first 30 pages and
        // the 30 pages before the last: both counts cross 299 regions.
        let len = 300 * REGION_PAGES;
        let words = super::super::node_storage_words(len) as usize;
        let mut map = Bitmap::new_all_set(vec![0u64; words], len);
        map.clear_range(0, len);
        for (page, limit) in [(30, len), (len - 30, len)] {
            let before = turns();
            let forward = map.free_from(page, limit);
            assert_eq!(forward, len - page);
            let backward = map.free_before(page, limit);
            assert_eq!(backward, page);
            // Five level-2 words' worth, a few turns each way: not one a
            // region (299) or a leaf word (19 000).
            let spent = turns() - before;
            assert!(spent <= 20, "page {page}: {spent} turns");
        }
        // Limits stop both counts.
        assert_eq!(map.free_from(30, 5000), 5000);
        assert_eq!(map.free_before(len - 30, 5000), 5000);
    }
}
