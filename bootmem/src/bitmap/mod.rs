//! One node's page bitmap over borrowed storage, with a summary that skips long stretches.
//!
//! The leaf level is Linux's: one bit per page, 1 = reserved, bit `i` being
//! bit `i % 64` of 64-bit word `i / 64`. Above it, in the same storage, a
//! summary keeps per leaf word a "has a free page" bit and an "entirely
//! free" bit, and per summary word (a region of 4 096 pages) four bits
//! (has a word with a free page, has an entirely free word, is all
//! entirely free words, its first page is free). Every change keeps both
//! levels exact, so a scan crosses 4096 reserved or free pages with one
//! summary bit and 262 144 with one bit of the level above, and a request
//! aligned to whole regions finds the regions it may start in at level 2.
//!
//! Three bytes per level-2 word hold its runs of level-1 words whose leaf
//! words are all entirely free (the longest, the one at its start, the one
//! at its end), eight words' bytes to a storage word, so a search for a
//! long run crosses 2 097 152 pages with a few instructions where none of
//! eight level-2 words can hold it. Two values per level-1 word hold the
//! longest free run starting under it, in 16 bits up to 32 767 pages and
//! in 32 bits up to 1 048 575 ([`short_runs`]), so a search crosses 4 096
//! pages a value where every run is too short.
//!
//! Only a partly free leaf word is read from, or written to, the leaf
//! level: one whose "has a free page" bit is clear reads as entirely
//! reserved, one whose "entirely free" bit is set as entirely free,
//! whatever its storage holds. Registering a node writes only the summary,
//! and reserving or freeing whole words writes no leaf word at all; a word
//! that becomes partly free is stored whole.

mod bits;
mod layout;
mod refusals;
mod runs;
mod short_runs;

pub(crate) use bits::{run_starts, shortest_run_holding, stride_mask, whole_words_within};
pub(crate) use short_runs::LONG_RUN_CAP;

use bits::WORD;
use layout::{Layout, Set};
use refusals::Refusals;
pub(crate) use runs::FreeRuns;

/// Bits per bitmap word (Linux's `BITS_PER_LONG` on 64-bit machines).
pub const BITS_PER_WORD: u64 = 64;

/// Bytes of bitmap Linux allocates for a node of `pages` pages
/// (`bootmap_bytes`): one bit per page, rounded up to whole words.
///
/// ```
/// assert_eq!(bootmem::bitmap_bytes(0x8000), 4096);
/// assert_eq!(bootmem::bitmap_bytes(100), 16);
/// assert_eq!(bootmem::bitmap_bytes(0), 0);
/// ```
pub const fn bitmap_bytes(pages: u64) -> u64 {
    bitmap_words(pages) * 8
}

/// 64-bit words of bitmap storage a node of `pages` pages needs.
///
/// ```
/// assert_eq!(bootmem::bitmap_words(64), 1);
/// assert_eq!(bootmem::bitmap_words(65), 2);
/// ```
pub const fn bitmap_words(pages: u64) -> u64 {
    pages / BITS_PER_WORD + (pages % BITS_PER_WORD != 0) as u64
}

/// 64-bit words of storage a node of `pages` pages needs: its leaf bitmap
/// and the summary above it (about 1.044 bits per page). Give [`BootAllocator::register_node`](crate::BootAllocator::register_node)
/// at least this many words.
///
/// ```
/// assert_eq!(bootmem::node_storage_words(0x8000), 512 + 16 + 4 + 3 + 2 + 4);
/// assert_eq!(bootmem::node_storage_words(0), 0);
/// ```
pub const fn node_storage_words(pages: u64) -> u64 {
    Layout::for_pages(pages).total_words()
}

/// Bytes of storage a node of `pages` pages needs ([`node_storage_words`] × 8).
///
/// ```
/// assert_eq!(bootmem::node_storage_bytes(64), 8 * bootmem::node_storage_words(64));
/// ```
pub const fn node_storage_bytes(pages: u64) -> u64 {
    node_storage_words(pages) * 8
}

/// Step boundaries [`Bitmap::next_boundary_word`] tests at once when they
/// lie in different level-1 words.
const GATHER: u64 = 8;

/// Pages a level-1 summary word covers: one region.
pub(crate) const REGION_PAGES: u64 = WORD * WORD;

/// What a region must offer a run starting at its first page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RegionTest {
    /// Its first page free.
    StartsFree,
    /// Every page free (the run covers the whole region).
    EntirelyFree,
}

/// What a step boundary's first leaf word must offer a run starting there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WordTest {
    /// A free page (the run is shorter than a word).
    HasFree,
    /// Every page free (the run covers the whole word).
    EntirelyFree,
}

/// A bitmap over caller-provided words, with its summary after the leaf words.
///
/// Indices at or beyond `len` (the node's page count) are pad bits; they
/// read as set, as Linux keeps them, and no method changes them.
#[derive(Debug)]
pub(crate) struct Bitmap<Storage> {
    storage: Storage,
    len: u64,
    layout: Layout,
    refusals: Refusals,
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>> Bitmap<Storage> {
    /// Takes `storage` for `len` bits and makes every bit read as set, pad
    /// bits included, by clearing the summary (the leaf words are not
    /// written). The caller has checked that `storage` holds at least
    /// `node_storage_words(len)` words.
    pub(crate) fn new_all_set(mut storage: Storage, len: u64) -> Self {
        let layout = Layout::for_pages(len);
        storage.as_mut()[layout.leaf as usize..layout.total_words() as usize].fill(0);
        Self {
            storage,
            len,
            layout,
            refusals: Refusals::new(),
        }
    }

    /// The words of one summary bit set.
    #[inline(always)]
    fn summary(&self, set: Set) -> &[u64] {
        &self.storage.as_ref()[self.layout.range(set)]
    }

    #[inline(always)]
    fn summary_mut(&mut self, set: Set) -> &mut [u64] {
        let range = self.layout.range(set);
        &mut self.storage.as_mut()[range]
    }

    /// Leaf word `index` as the bitmap reads it: entirely reserved unless
    /// its "has a free page" bit is set, entirely free if its "entirely
    /// free" bit is. Only a partly free word is read from the leaf level,
    /// which is 32 times the summary's size and far less often in cache.
    #[inline]
    pub(crate) fn word(&self, index: u64) -> u64 {
        let (any_free, all_free, bit) = self.level1_positions(index);
        let storage = self.storage.as_ref();
        // "Entirely free" first: the searches for free words have just
        // read that set, so it is in cache where the other may not be.
        if storage[all_free] & bit != 0 {
            0
        } else if storage[any_free] & bit == 0 {
            u64::MAX
        } else {
            storage[index as usize]
        }
    }

    /// Where leaf word `index`'s two level-1 bits lie: the storage words
    /// of "has a free page" and "entirely free", and the bit's mask in
    /// each. The two sets lie one after the other, so both are found from
    /// one offset.
    #[inline(always)]
    fn level1_positions(&self, index: u64) -> (usize, usize, u64) {
        let any_free = self.layout.start(Set::AnyFree) + (index / WORD) as usize;
        (
            any_free,
            any_free + self.layout.level1 as usize,
            1 << (index % WORD),
        )
    }

    /// Whether leaf word `index` is partly free: it has a free page, and
    /// is not entirely free.
    #[inline(always)]
    fn is_partly_free(&self, index: u64) -> bool {
        let (any_free, all_free, bit) = self.level1_positions(index);
        let storage = self.storage.as_ref();
        storage[all_free] & bit == 0 && storage[any_free] & bit != 0
    }

    /// The first page of the free pages that end leaf word `index` (its
    /// last page and the free pages just before it), or the next word's
    /// first page when its last page is reserved: where a run that starts
    /// in the word and goes on past it must start.
    #[inline]
    pub(crate) fn last_free_stretch(&self, index: u64) -> u64 {
        (index + 1) * WORD - u64::from((!self.word(index)).leading_ones())
    }

    /// The first step boundary at or after leaf word `first` whose leaf
    /// word passes `test` by the summary alone, or `to` when none below
    /// `to` does. Boundaries are the leaf words `first + k * stride`
    /// (`stride` a power of two): a request aligned to `64 * stride` pages
    /// can only start on them.
    ///
    /// The boundaries are looked for many at a time: while `stride` is at
    /// most 64, one level-1 summary word holds a bit for each of its
    /// boundaries and a mask picks them out, and level-1 words without
    /// such a bit are skipped through level 2. Beyond that, each boundary
    /// lies in a level-1 word of its own, which a random search seldom
    /// finds in cache: their bits are read eight at a time, independent
    /// reads the processor overlaps (one after another, each would wait
    /// for memory), and tested at once.
    pub(crate) fn next_boundary_word(
        &self,
        test: WordTest,
        first: u64,
        stride: u64,
        to: u64,
    ) -> u64 {
        let (level, skip) = match test {
            WordTest::HasFree => (Set::AnyFree, Set::AnyFreeNonzero),
            WordTest::EntirelyFree => (Set::AllFree, Set::AllFreeNonzero),
        };
        let level_bits = self.summary(level);
        let skip_bits = self.summary(skip);
        let level_words = to.div_ceil(WORD).min(level_bits.len() as u64);
        let found = if stride <= WORD {
            let mask = bits::stride_mask(stride, first % stride);
            let mut index = first / WORD;
            let mut word = level_bits.get(index as usize).copied().unwrap_or(0)
                & mask
                & (u64::MAX << (first % WORD));
            loop {
                if word != 0 {
                    break index * WORD + u64::from(word.trailing_zeros());
                }
                index = bits::next(skip_bits, index + 1, level_words, true);
                if index >= level_words {
                    break to;
                }
                word = level_bits[index as usize] & mask;
            }
        } else {
            // One boundary every `per_level1` level-1 words, all at bit
            // `bit`, gathered `GATHER` at a time.
            let per_level1 = stride / WORD;
            let bit = first % WORD;
            let mut level1 = first / WORD;
            loop {
                if level1 >= level_words {
                    break to;
                }
                let count = (level_words - level1).div_ceil(per_level1).min(GATHER);
                let mut passing = 0;
                for k in 0..count {
                    let word = level_bits[(level1 + k * per_level1) as usize];
                    passing |= (word >> bit & 1) << k;
                }
                if passing != 0 {
                    let level1 = level1 + u64::from(passing.trailing_zeros()) * per_level1;
                    break level1 * WORD + bit;
                }
                level1 += count * per_level1;
            }
        };
        found.min(to)
    }

    /// The first step boundary at or after level-1 word `first` whose
    /// region of 4096 pages passes `test`, or `to` when none below `to`
    /// does. Boundaries are the level-1 words `first + k * stride`
    /// (`stride` a power of two): a request aligned to `4096 * stride`
    /// pages can only start on them, at the region's first page. Only
    /// level 2 is read: while `stride` is at most 64, a mask picks a
    /// level-2 word's boundaries out at once; beyond that, one bit is read
    /// every `stride / 64` level-2 words.
    pub(crate) fn next_region_boundary(
        &self,
        test: RegionTest,
        first: u64,
        stride: u64,
        to: u64,
    ) -> u64 {
        let passing = self.summary(match test {
            RegionTest::EntirelyFree => Set::AllFreeFull,
            RegionTest::StartsFree => Set::RegionStartFree,
        });
        let words = to.div_ceil(WORD).min(passing.len() as u64);
        let mut index = first / WORD;
        let found = if stride <= WORD {
            let mask = bits::stride_mask(stride, first % stride);
            let mut word = passing.get(index as usize).copied().unwrap_or(0)
                & mask
                & (u64::MAX << (first % WORD));
            loop {
                if word != 0 {
                    break index * WORD + u64::from(word.trailing_zeros());
                }
                index += 1;
                if index >= words {
                    break to;
                }
                word = passing[index as usize] & mask;
            }
        } else {
            let bit = first % WORD;
            loop {
                if index >= words {
                    break to;
                }
                if passing[index as usize] >> bit & 1 != 0 {
                    break index * WORD + bit;
                }
                index += stride / WORD;
            }
        };
        found.min(to)
    }

    /// The two level-1 sets ("has a free page", "entirely free"), which
    /// lie one after the other.
    fn level1_sets_mut(&mut self) -> (&mut [u64], &mut [u64]) {
        let start = self.layout.start(Set::AnyFree);
        let words = self.layout.level1 as usize;
        self.storage.as_mut()[start..start + 2 * words].split_at_mut(words)
    }

    /// The two level-2 sets over the level-1 sets ("not zero"), which lie
    /// one after the other.
    fn nonzero_sets_mut(&mut self) -> (&mut [u64], &mut [u64]) {
        let start = self.layout.start(Set::AnyFreeNonzero);
        let words = self.layout.level2 as usize;
        self.storage.as_mut()[start..start + 2 * words].split_at_mut(words)
    }

    /// Stores leaf word `index` and brings its level-1 bits up to date; the
    /// caller brings level 2 up to date ([`refresh_level2`](Self::refresh_level2)).
    fn store_word(&mut self, index: u64, value: u64) {
        self.storage.as_mut()[index as usize] = value;
        bits::put(self.summary_mut(Set::AnyFree), index, value != u64::MAX);
        bits::put(self.summary_mut(Set::AllFree), index, value == 0);
    }

    /// Recomputes the level-2 bits of level-1 word `index`; returns
    /// whether its full bit changed, and with it the run bytes of its
    /// level-2 word, which the caller recomputes.
    fn refresh_level2(&mut self, index: u64) -> bool {
        let layout = self.layout;
        let storage = self.storage.as_mut();
        let any = storage[layout.start(Set::AnyFree) + index as usize];
        let all = storage[layout.start(Set::AllFree) + index as usize];
        // The three level-2 sets lie one after another, each `level2`
        // words long: the same word of each holds the bit.
        let word = layout.start(Set::AnyFreeNonzero) + (index / WORD) as usize;
        let next_set = layout.level2 as usize;
        let bit = index % WORD;
        let mut put = |at: usize, value: bool| bits::put(&mut storage[at..=at], bit, value);
        put(word, any != 0);
        put(word + next_set, all != 0);
        put(word + 2 * next_set, all == u64::MAX)
    }

    /// The full-run lengths ([`full_run_length`]).
    fn full_run_lengths(&self) -> &[u64] {
        &self.storage.as_ref()[self.layout.full_run_lengths()]
    }

    /// Recomputes the three run bytes of level-2 word `index`: its longest
    /// run of full level-1 words ([`full_run_length`]), and the runs at its
    /// start and end.
    fn refresh_full_run_length(&mut self, index: u64) {
        let layout = self.layout;
        let storage = self.storage.as_mut();
        let full = storage[layout.start(Set::AllFreeFull) + index as usize];
        let shift = index % 8 * 8;
        // The three byte arrays lie one after another, `run_lengths`
        // words each.
        let word = layout.full_run_lengths().start + (index / 8) as usize;
        let next_array = layout.run_lengths as usize;
        let mut put = |at: usize, value: u64| {
            storage[at] = storage[at] & !(0xff << shift) | value << shift;
        };
        put(word, bits::longest_run(full));
        put(word + next_array, u64::from(full.trailing_ones()));
        put(word + 2 * next_array, u64::from(full.leading_ones()));
    }

    /// Recomputes the level-2 bits of level-1 words `[from, to)`: the two
    /// end words one by one, the ones between (whose 64 leaf words were
    /// all just set alike) as a whole from the first of them. Each level-2
    /// word whose full bits changed has its run bytes recomputed once,
    /// after its last change (the words are visited in ascending order).
    fn refresh_level2_range(&mut self, from: u64, to: u64) {
        let mut pending = PendingRunBytes::default();
        if self.refresh_level2(from) {
            pending.note(self, from / WORD);
        }
        if to - from > 2 {
            let (inner_from, inner_to) = (from + 1, to - 1);
            let all = self.summary(Set::AllFree)[inner_from as usize];
            let any = self.summary(Set::AnyFree)[inner_from as usize];
            let (any_nonzero, all_nonzero) = self.nonzero_sets_mut();
            bits::fill_both(
                any_nonzero,
                all_nonzero,
                inner_from,
                inner_to,
                (any != 0, all != 0),
            );
            let full_start = self.layout.start(Set::AllFreeFull);
            for index in inner_from / WORD..=(inner_to - 1) / WORD {
                let base = index * WORD;
                let mask = bits::span_mask(
                    inner_from.max(base) - base,
                    inner_to.min(base + WORD) - base,
                );
                let word = &mut self.storage.as_mut()[full_start + index as usize];
                let old = *word;
                *word = bits::with_mask(old, mask, all == u64::MAX);
                if *word != old {
                    pending.note(self, index);
                }
            }
        }
        if to - from > 1 && self.refresh_level2(to - 1) {
            pending.note(self, (to - 1) / WORD);
        }
        pending.flush(self);
    }

    /// Whether bit `index` is set. Bits past `len` read as set.
    #[inline]
    pub(crate) fn is_set(&self, index: u64) -> bool {
        if index >= self.len {
            return true;
        }
        self.word(index / WORD) & (1 << (index % WORD)) != 0
    }

    /// Sets every bit of `[from, to)`; the short-run bytes are recomputed.
    pub(crate) fn set_range(&mut self, from: u64, to: u64) {
        if self.change_range(from, to, true) {
            self.refresh_short_runs(from, to, true);
        }
    }

    /// Sets every bit of `[from, to)`, a block the search just placed. The
    /// short-run bytes are left as they are: reserving only shortens runs,
    /// so they stay true upper bounds, and a search still skips nothing it
    /// should visit. Recomputing them would cost a tenth of W2's time, for
    /// nothing most placements change; an explicit reservation or free
    /// makes the bytes it reaches exact again.
    pub(crate) fn reserve_placed(&mut self, from: u64, to: u64) {
        self.change_range(from, to, true);
    }

    /// Clears every bit of `[from, to)`; the short-run bytes are recomputed.
    pub(crate) fn clear_range(&mut self, from: u64, to: u64) {
        if self.change_range(from, to, false) {
            self.refresh_short_runs(from, to, false);
        }
    }

    /// Sets (`reserve`) or clears `[from, to)`: the partly covered words at
    /// either end one by one, the whole words between through the summary
    /// alone, then level 2 over every level-1 word the range touched.
    /// Returns whether the range held a page.
    ///
    /// The common change, inside one partly free word that stays so
    /// ([`change_inside_partly_free_word`](Self::change_inside_partly_free_word)),
    /// is inlined where it is asked for; every other goes through
    /// [`change_through_summary`](Self::change_through_summary).
    #[inline(always)]
    fn change_range(&mut self, from: u64, to: u64, reserve: bool) -> bool {
        debug_assert!(to <= self.len);
        if from >= to {
            return false;
        }
        if !reserve {
            self.refusals.forget();
        }
        if !self.change_inside_partly_free_word(from, to, reserve) {
            self.change_through_summary(from, to, reserve);
        }
        true
    }

    /// [`change_range`](Self::change_range) for a non-empty range that
    /// changes a summary bit or spans words.
    #[inline(never)]
    fn change_through_summary(&mut self, from: u64, to: u64, reserve: bool) {
        // The far end's words are read last: ask for them first.
        self.prefetch_page(to - 1);
        let (whole_from, whole_to) = (from.div_ceil(WORD), to / WORD);
        if whole_from > whole_to {
            self.change_part(from, to, reserve);
        } else {
            self.change_part(from, whole_from * WORD, reserve);
            self.change_part(whole_to * WORD, to, reserve);
            // The whole words: entirely free, or entirely reserved.
            let (any_free, all_free) = self.level1_sets_mut();
            bits::fill_both(
                any_free,
                all_free,
                whole_from,
                whole_to,
                (!reserve, !reserve),
            );
        }
        self.refresh_level2_range(from / WORD / WORD, (to - 1) / WORD / WORD + 1);
        bits::fill(
            self.summary_mut(Set::RegionStartFree),
            from.div_ceil(REGION_PAGES),
            to.div_ceil(REGION_PAGES),
            !reserve,
        );
    }

    /// The change of [`change_range`](Self::change_range) when it touches
    /// only the leaf word: `[from, to)` lies inside one partly free word
    /// that stays partly free, and holds no region's first page. Its
    /// summary bits, and so level 2 and the region-start bits, stay as
    /// they are; only the leaf word is written (the page a boot's small
    /// allocations move into, about 40 instructions instead of 275).
    /// Returns `false`, having changed nothing, in every other case.
    #[inline(always)]
    fn change_inside_partly_free_word(&mut self, from: u64, to: u64, reserve: bool) -> bool {
        let index = from / WORD;
        // Inside one word, the only page that can start a region is the
        // word's first, and only if the range starts there.
        let one_word = (to - 1) / WORD == index;
        let no_region_start = from % REGION_PAGES != 0;
        if !one_word || !no_region_start || !self.is_partly_free(index) {
            return false;
        }
        let mask = bits::span_mask(from % WORD, to - index * WORD);
        let leaf = &mut self.storage.as_mut()[index as usize];
        let new = bits::with_mask(*leaf, mask, reserve);
        if new == 0 || new == u64::MAX {
            return false;
        }
        *leaf = new;
        true
    }

    /// Sets or clears `[from, to)`, which lies inside one word (possibly empty).
    fn change_part(&mut self, from: u64, to: u64, reserve: bool) {
        if from >= to {
            return;
        }
        let index = from / WORD;
        let mask = bits::span_mask(from % WORD, to - index * WORD);
        let old = self.word(index);
        let new = bits::with_mask(old, mask, reserve);
        if new != old {
            self.store_word(index, new);
        }
    }

    /// The next index in level-1 set `level` at or after `from` (below `to`)
    /// whose bit is `set`, skipping through `skip`, the level-2 set whose
    /// bit is `set` for a word that holds such a bit. Returns `to` if none.
    fn next_in_level(&self, level: Set, skip: Set, from: u64, to: u64, set: bool) -> u64 {
        if from >= to {
            return to;
        }
        let level_bits = self.summary(level);
        let flip = if set { 0 } else { u64::MAX };
        let word_index = from / WORD;
        let word = (level_bits[word_index as usize] ^ flip) & (u64::MAX << (from % WORD));
        if word != 0 {
            return (word_index * WORD + u64::from(word.trailing_zeros())).min(to);
        }
        let next_word = bits::next(self.summary(skip), word_index + 1, to.div_ceil(WORD), set);
        if next_word * WORD >= to {
            return to;
        }
        let word = level_bits[next_word as usize] ^ flip;
        (next_word * WORD + u64::from(word.trailing_zeros())).min(to)
    }

    /// The first clear bit in `[from, to)`, or `to` (Linux's
    /// `find_next_zero_bit`). `to` must not exceed `len`.
    pub(crate) fn next_clear(&self, from: u64, to: u64) -> u64 {
        debug_assert!(to <= self.len);
        if from >= to {
            return to;
        }
        let index = from / WORD;
        let word = !self.word(index) & (u64::MAX << (from % WORD));
        if word != 0 {
            return (index * WORD + u64::from(word.trailing_zeros())).min(to);
        }
        let end = to.div_ceil(WORD);
        let next = self.next_in_level(Set::AnyFree, Set::AnyFreeNonzero, index + 1, end, true);
        if next >= end {
            return to;
        }
        let word = !self.word(next);
        (next * WORD + u64::from(word.trailing_zeros())).min(to)
    }

    /// The first set bit in `[from, to)`, or `to`. `to` must not exceed `len`.
    pub(crate) fn next_set(&self, from: u64, to: u64) -> u64 {
        debug_assert!(to <= self.len);
        if from >= to {
            return to;
        }
        let index = from / WORD;
        let word = self.word(index) & (u64::MAX << (from % WORD));
        if word != 0 {
            return (index * WORD + u64::from(word.trailing_zeros())).min(to);
        }
        let end = to.div_ceil(WORD);
        let next = self.next_in_level(Set::AllFree, Set::AllFreeFull, index + 1, end, false);
        if next >= end {
            return to;
        }
        (next * WORD + u64::from(self.word(next).trailing_zeros())).min(to)
    }

    /// The first leaf word `w >= from` such that words `w .. w + count` are
    /// all entirely free and end at or before `to` (`count >= 1`).
    ///
    /// A run of `count` words covers at least `whole` level-1 words whole
    /// (all 64 of their leaf words entirely free; [`bits::whole_words_within`]). When `whole` is at least
    /// one, the run is looked for through the level-2 bits alone: each
    /// stretch of at least `whole` such level-1 words, with the entirely
    /// free words just before and after it (read from the two level-1 words
    /// around it), is one maximal run of free words, taken if long enough.
    /// A fragmented stretch is so refused 262 144 pages a summary word.
    pub(crate) fn free_words_run(&self, from: u64, to: u64, count: u64) -> Option<u64> {
        let whole = bits::whole_words_within(count);
        if whole == 0 {
            return bits::find_run(
                self.summary(Set::AllFree),
                Some(self.summary(Set::AllFreeNonzero)),
                from,
                to,
                count,
            );
        }
        let all_free = self.summary(Set::AllFree);
        let full = self.summary(Set::AllFreeFull);
        let level1_end = to / WORD;
        let mut cursor = from.div_ceil(WORD);
        loop {
            // Level-1 words `first .. last` are full; `last` is not.
            let first = self.full_words_run(cursor, level1_end, whole)?;
            let last = bits::next(full, first, self.layout.level1, false);
            let before = match first.checked_sub(1) {
                Some(index) => u64::from(all_free[index as usize].leading_ones()),
                None => 0,
            };
            let after = match all_free.get(last as usize) {
                Some(word) => u64::from(word.trailing_ones()),
                None => 0,
            };
            let start = (first * WORD - before).max(from);
            let end = (last * WORD + after).min(to);
            if end >= start + count {
                return Some(start);
            }
            cursor = last + 1;
        }
    }

    /// The first level-1 word of the first `length` consecutive full
    /// level-1 words in `[from, to)` (all 64 of their leaf words entirely
    /// free), or `None`. A level-2 word whose longest run of full words
    /// is shorter than `length` is crossed by its ends alone.
    fn full_words_run(&self, from: u64, to: u64, length: u64) -> Option<u64> {
        let full = self.summary(Set::AllFreeFull);
        if length > WORD {
            return bits::find_run(full, None, from, to, length);
        }
        if from >= to || to - from < length {
            return None;
        }
        let (first, last) = (from / WORD, (to - 1) / WORD);
        let last_mask = bits::span_mask(0, to - last * WORD);
        let head = full[first as usize] & (u64::MAX << (from % WORD));
        if first == last {
            let starts = bits::run_starts(head & last_mask, length);
            return (starts != 0).then(|| first * WORD + u64::from(starts.trailing_zeros()));
        }
        // The head's runs are at most its word's longest.
        if full_run_length(self.full_run_lengths(), first) >= length {
            let starts = bits::run_starts(head, length);
            if starts != 0 {
                return Some(first * WORD + u64::from(starts.trailing_zeros()));
            }
        }
        // Between `first` and `last`, eight level-2 words at a time from
        // their run bytes: a word holds the run when its longest run, or
        // the full words ending the word before plus those starting it,
        // reach `length`. Only such a word is read.
        let storage = self.storage.as_ref();
        let lengths = &storage[self.layout.full_run_lengths()];
        let prefixes = &storage[self.layout.full_run_prefixes()];
        let suffixes = &storage[self.layout.full_run_suffixes()];
        // The full words ending the word before `index`: the head's own
        // count for the word after it (the head may be cut by `from`).
        let ending_before = |index: u64| {
            if index == first + 1 {
                u64::from(head.leading_ones())
            } else {
                u64::from(full[index as usize - 1].leading_ones())
            }
        };
        let mut index = first + 1;
        while index < last {
            let group = index / 8;
            let (low, high) = (index % 8, (last - group * 8).min(8));
            // Byte `j`: the full words ending the word before word
            // `8 * group + j`. For the word after the head this counts
            // the head's word whole, at least the head's own count: the
            // candidates are then a few more, never fewer, and each is
            // checked with the head's count below.
            let mut carries = suffixes[group as usize] << 8;
            if low == 0 {
                carries |= suffixes[group as usize - 1] >> 56;
            }
            let candidates = (bits::bytes_at_least(lengths[group as usize], length)
                | bits::bytes_at_least(carries + prefixes[group as usize], length))
                & bits::byte_span_mask(low, high);
            if candidates == 0 {
                index = group * 8 + high;
                continue;
            }
            let at = group * 8 + u64::from(candidates.trailing_zeros()) / 8;
            let word = full[at as usize];
            let carry = ending_before(at);
            if carry + u64::from(word.trailing_ones()) >= length {
                return Some(at * WORD - carry);
            }
            let starts = bits::run_starts(word, length);
            if starts != 0 {
                return Some(at * WORD + u64::from(starts.trailing_zeros()));
            }
            index = at + 1;
        }
        let carry = ending_before(last);
        let tail = full[last as usize] & last_mask;
        if carry + u64::from(tail.trailing_ones()) >= length {
            return Some(last * WORD - carry);
        }
        let starts = bits::run_starts(tail, length);
        (starts != 0).then(|| last * WORD + u64::from(starts.trailing_zeros()))
    }

    /// The partly free leaf words under level-1 summary word `index`,
    /// one bit each (bit `k` for leaf word `64 * index + k`).
    #[inline(always)]
    pub(crate) fn partial_words(&self, index: u64) -> u64 {
        self.summary(Set::AnyFree)[index as usize] & !self.summary(Set::AllFree)[index as usize]
    }

    /// Asks the processor for everything a look at page `index` reads: its
    /// leaf word and both of its level-1 summary words, at once rather
    /// than one after the other. Only a hint, as [`prefetch_partial_words`](Self::prefetch_partial_words).
    #[inline]
    pub(crate) fn prefetch_page(&self, index: u64) {
        let storage = self.storage.as_ref();
        let word = index / WORD;
        for at in [
            word as usize,
            self.layout.start(Set::AnyFree) + (word / WORD) as usize,
            self.layout.start(Set::AllFree) + (word / WORD) as usize,
        ] {
            if let Some(value) = storage.get(at) {
                prefetch(value);
            }
        }
    }

    /// Asks the processor for every partly free leaf word under the
    /// level-1 summary words `[from, to)`: the only leaf words a hand-off
    /// reads. Only a hint: nothing any read returns changes, and on
    /// targets without a prefetch instruction it does nothing.
    pub(crate) fn prefetch_partial_words(&self, from: u64, to: u64) {
        let leaf = &self.storage.as_ref()[..self.layout.leaf as usize];
        for index in from..to.min(self.layout.level1) {
            let mut partial = self.partial_words(index);
            while partial != 0 {
                let word = index * WORD + u64::from(partial.trailing_zeros());
                partial &= partial - 1;
                if let Some(value) = leaf.get(word as usize) {
                    prefetch(value);
                }
            }
        }
    }

    /// Pages the bitmap covers.
    #[inline]
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The first index from which a search proved that no `pages` free
    /// pages start on a `step` boundary (a power of two), with no page
    /// freed since; `u64::MAX` when none did.
    #[inline(always)]
    pub(crate) fn refused_from(&self, pages: u64, step: u64) -> u64 {
        self.refusals.refused_from(pages, step)
    }

    /// Records that a search found no `pages` free pages starting on a
    /// `step` boundary at or after index `from`, up to the node's end.
    pub(crate) fn record_refusal(&self, pages: u64, step: u64, from: u64) {
        self.refusals.record(pages, step, from);
    }

    /// Number of clear bits in the whole bitmap.
    pub(crate) fn count_clear(&self) -> u64 {
        let any = self.summary(Set::AnyFree);
        let all = self.summary(Set::AllFree);
        let leaf = self.storage.as_ref();
        let mut count = 0;
        for (word_index, (&any_word, &all_word)) in any.iter().zip(all).enumerate() {
            count += u64::from(all_word.count_ones()) * WORD;
            let mut partial = any_word & !all_word;
            while partial != 0 {
                let index = word_index * WORD as usize + partial.trailing_zeros() as usize;
                count += u64::from((!leaf[index]).count_ones());
                partial &= partial - 1;
            }
        }
        count
    }
}

/// The level-2 word whose run bytes wait to be recomputed, while a range's
/// level-2 bits change in ascending order.
#[derive(Default)]
struct PendingRunBytes(Option<u64>);

impl PendingRunBytes {
    /// Level-2 word `index` changed: a different word waiting before it
    /// has seen its last change and is recomputed now.
    fn note<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &mut self,
        bitmap: &mut Bitmap<Storage>,
        index: u64,
    ) {
        if self.0 != Some(index) {
            self.flush(bitmap);
            self.0 = Some(index);
        }
    }

    /// Recomputes the waiting word's run bytes.
    fn flush<Storage: AsRef<[u64]> + AsMut<[u64]>>(&mut self, bitmap: &mut Bitmap<Storage>) {
        if let Some(index) = self.0.take() {
            bitmap.refresh_full_run_length(index);
        }
    }
}

/// The longest run of full level-1 words (all 64 of their leaf words
/// entirely free) among the 64 that level-2 word `index` covers, read
/// from the full-run lengths (one byte per level-2 word).
#[inline]
fn full_run_length(lengths: &[u64], index: u64) -> u64 {
    lengths[(index / 8) as usize] >> (index % 8 * 8) & 0xff
}

/// Asks the processor to bring `value`'s cache line in; does nothing on
/// targets without a prefetch instruction (there the loops that call it
/// have no effect left and compile away).
#[inline(always)]
fn prefetch(value: &u64) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    // SAFETY: the pointer comes from a reference, so it is valid; a
    // prefetch never faults and changes no memory.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            core::ptr::from_ref(value).cast(),
        );
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn bitmap(len: u64) -> Bitmap<Vec<u64>> {
        // Storage full of ones: the summary alone must make it read reserved.
        Bitmap::new_all_set(vec![u64::MAX; node_storage_words(len) as usize], len)
    }

    /// Checks every summary bit against the leaf words it describes.
    fn assert_summary_exact(map: &Bitmap<Vec<u64>>) {
        let layout = map.layout;
        for index in 0..layout.level1 * WORD {
            let word = if index < layout.leaf {
                map.word(index)
            } else {
                u64::MAX
            };
            assert_eq!(
                bits::get(map.summary(Set::AnyFree), index),
                word != u64::MAX
            );
            assert_eq!(bits::get(map.summary(Set::AllFree), index), word == 0);
        }
        for index in 0..layout.level1 {
            let any = map.summary(Set::AnyFree)[index as usize];
            let all = map.summary(Set::AllFree)[index as usize];
            assert_eq!(bits::get(map.summary(Set::AnyFreeNonzero), index), any != 0);
            assert_eq!(bits::get(map.summary(Set::AllFreeNonzero), index), all != 0);
            assert_eq!(
                bits::get(map.summary(Set::AllFreeFull), index),
                all == u64::MAX
            );
            assert_eq!(
                bits::get(map.summary(Set::RegionStartFree), index),
                !map.is_set(index * REGION_PAGES),
                "region {index}"
            );
        }
        assert_full_run_lengths_exact(map);
        assert_short_runs_exact(map);
    }

    /// Checks each region's stored longest free run (capped) against the
    /// maximal free runs found page by page.
    fn assert_short_runs_exact(map: &Bitmap<Vec<u64>>) {
        for (region, longest) in short_runs_by_page(map).into_iter().enumerate() {
            let short = longest.min(short_runs::SHORT_RUN_CAP);
            assert_eq!(
                map.short_run(region as u64, false),
                short,
                "region {region}"
            );
            assert_eq!(
                map.short_run(region as u64, true),
                longest,
                "region {region}"
            );
        }
    }

    /// The longest free run starting in each region, page by page, capped
    /// as the 32-bit values are.
    fn short_runs_by_page(map: &Bitmap<Vec<u64>>) -> Vec<u64> {
        let mut expected = vec![0u64; map.layout.level1 as usize];
        let mut page = 0;
        while page < map.len() {
            if map.is_set(page) {
                page += 1;
                continue;
            }
            let start = page;
            while page < map.len() && !map.is_set(page) {
                page += 1;
            }
            for region in start / REGION_PAGES..=(page - 1) / REGION_PAGES {
                let from = start.max(region * REGION_PAGES);
                let longest = &mut expected[region as usize];
                *longest = (*longest).max((page - from).min(LONG_RUN_CAP));
            }
        }
        expected
    }

    #[test]
    fn a_change_inside_a_partly_free_word_writes_only_the_leaf_and_keeps_the_summary_exact() {
        let len = REGION_PAGES * 2 + 70;
        let mut map = bitmap(len);
        map.clear_range(0, len);
        // Word 1 partly free: its first page reserved.
        map.set_range(WORD, WORD + 1);
        let before: Vec<u64> = map.storage[map.layout.leaf as usize..].to_vec();
        assert!(map.change_inside_partly_free_word(WORD + 5, WORD + 9, true));
        assert!(map.change_inside_partly_free_word(WORD + 6, WORD + 8, false));
        assert_eq!(map.word(1), 1 | 1 << 5 | 1 << 8);
        // A range that ends at the word's end.
        assert!(map.change_inside_partly_free_word(WORD + 60, 2 * WORD, true));
        assert!(map.change_inside_partly_free_word(WORD + 60, 2 * WORD, false));
        assert_eq!(map.word(1), 1 | 1 << 5 | 1 << 8);
        assert_eq!(map.storage[map.layout.leaf as usize..], before[..]);
        // Not taken: a word that would become full or empty, a range over
        // two words, a region's first page, an entirely free word.
        assert!(!map.change_inside_partly_free_word(WORD, 2 * WORD, true));
        assert!(!map.change_inside_partly_free_word(WORD, WORD + 9, false));
        assert!(!map.change_inside_partly_free_word(WORD + 60, 2 * WORD + 1, true));
        map.set_range(REGION_PAGES + 3, REGION_PAGES + 4);
        assert!(!map.change_inside_partly_free_word(REGION_PAGES, REGION_PAGES + 1, true));
        assert!(!map.change_inside_partly_free_word(3 * WORD, 3 * WORD + 1, true));
        assert_eq!(map.word(1), 1 | 1 << 5 | 1 << 8);
        assert_summary_exact(&map);
    }

    /// Reserves or frees (even odds) up to `longest` pages at a random
    /// page of `map`.
    fn change_at_random(
        map: &mut Bitmap<Vec<u64>>,
        random: &mut crate::test_random::XorShift,
        longest: u64,
    ) {
        let from = random.below(map.len());
        let to = (from + 1 + random.below(longest)).min(map.len());
        if random.below(2) == 0 {
            map.set_range(from, to);
        } else {
            map.clear_range(from, to);
        }
    }

    #[test]
    fn changes_of_a_few_pages_keep_every_summary_exact() {
        // Short reservations and frees at random over a few regions, the
        // fast path inside partly free words among them: after each, every
        // summary bit, run byte and short-run byte matches the leaf words.
        // Under Miri a smaller map, checked twice: each check walks
        // every page.
        let (len, changes, every) = if cfg!(miri) {
            (REGION_PAGES + 50, 30, 15)
        } else {
            (REGION_PAGES * 3 + 50, 3000, 50)
        };
        let mut random = crate::test_random::XorShift::new(0x5eed_f00d_5a11);
        let mut map = bitmap(len);
        map.clear_range(0, len);
        for change in 1..=changes {
            change_at_random(&mut map, &mut random, 70);
            if change % every == 0 {
                assert_summary_exact(&map);
            }
        }
    }

    #[test]
    fn short_runs_of_whole_and_partial_words_stay_exact() {
        // Words entirely free, entirely reserved or partly free at random,
        // so that regions hold few free words in a row and runs cross
        // word and region boundaries in every way.
        for seed in 1..if cfg!(miri) { 2 } else { 12 } {
            let len = REGION_PAGES * 4 + 100;
            let mut map = bitmap(len);
            let mut random = crate::test_random::XorShift::new(seed * 0x9e37_79b9);
            for word in 0..len.div_ceil(WORD) {
                let (start, end) = (word * WORD, ((word + 1) * WORD).min(len));
                match random.below(5) {
                    0 | 1 => map.clear_range(start, end),
                    2 => {
                        let from = start + random.below(end - start);
                        let to = from + 1 + random.below(end - from);
                        map.clear_range(from, to);
                    }
                    _ => {}
                }
            }
            assert_short_runs_exact(&map);
        }
    }

    #[test]
    fn a_change_reaches_the_run_ending_before_it_up_to_the_cap() {
        use short_runs::SHORT_RUN_CAP;
        // Region 0's longest run starts 100 pages before region 1 and runs
        // 150 pages; its other runs are a page long.
        let region = REGION_PAGES;
        let mut map = bitmap(region * 12);
        for page in (0..region - 200).step_by(2) {
            map.clear_range(page, page + 1);
        }
        map.clear_range(region - 100, region + 50);
        assert_eq!(map.short_run(0, false), 150);
        // Reserving a page 20 pages into region 1 cuts it to 120.
        map.set_range(region + 20, region + 21);
        assert_eq!(map.short_run(0, false), 120);
        // Freeing it again, and 230 pages after, lengthens it to 350.
        map.clear_range(region + 20, region + 250);
        assert_eq!(map.short_run(0, false), 350);
        assert_short_runs_exact(&map);
        // Freeing on to 50 pages into region 8: regions 1 to 7 are covered
        // from their first page, and every value counts to the run's end.
        map.clear_range(region + 250, 8 * region + 50);
        assert_eq!(map.short_run(0, false), 7 * region + 150);
        assert_eq!(map.short_run(1, false), 7 * region + 50);
        assert_eq!(map.short_run(7, false), region + 50);
        assert_short_runs_exact(&map);
        // A page reserved in region 8 reaches back to region 0.
        map.set_range(8 * region + 10, 8 * region + 11);
        assert_eq!(map.short_run(0, false), 7 * region + 110);
        assert_eq!(map.short_run(7, false), region + 10);
        assert_short_runs_exact(&map);
        // Freeing it and on to region 9 takes regions 0 and 1 past the
        // 16-bit values' cap; the 32-bit values still count.
        map.clear_range(8 * region + 10, 9 * region);
        assert_eq!(map.short_run(0, false), SHORT_RUN_CAP);
        assert_eq!(map.short_run(0, true), 8 * region + 100);
        assert_eq!(map.short_run(1, false), SHORT_RUN_CAP);
        assert_eq!(map.short_run(1, true), 8 * region);
        assert_eq!(map.short_run(2, false), 7 * region);
        assert_short_runs_exact(&map);
        // A page reserved just past the 16-bit cap from region 0's run
        // start shortens both regions' runs.
        let past_cap = region - 100 + SHORT_RUN_CAP + 10;
        map.set_range(past_cap, past_cap + 1);
        assert_eq!(map.short_run(0, true), SHORT_RUN_CAP + 10);
        assert_eq!(map.short_run(1, false), past_cap - region);
        assert_short_runs_exact(&map);
        // A region whose last page is reserved does not count the run the
        // next region starts with.
        map.set_range(region - 1, region);
        assert_eq!(map.short_run(0, true), 99);
        assert_short_runs_exact(&map);
    }

    #[test]
    fn a_change_reaches_back_as_far_as_the_32_bit_cap() {
        let region = REGION_PAGES;
        let len = 300 * region;
        let mut map = bitmap(len);
        map.clear_range(0, len);
        // Regions 44 and before start the cap or more before the end.
        assert_eq!(map.short_run(0, true), LONG_RUN_CAP);
        assert_eq!(map.short_run(44, true), LONG_RUN_CAP);
        assert_eq!(map.short_run(45, true), 255 * region);
        // A page reserved at region 280 reaches back to region 25.
        map.set_range(280 * region, 280 * region + 1);
        assert_eq!(map.short_run(24, true), LONG_RUN_CAP);
        assert_eq!(map.short_run(25, true), 255 * region);
        assert_eq!(map.short_run(279, true), region);
        assert_short_runs_exact(&map);
        map.clear_range(280 * region, 280 * region + 1);
        assert_eq!(map.short_run(25, true), LONG_RUN_CAP);
        assert_short_runs_exact(&map);
    }

    #[test]
    fn long_changes_over_long_runs_keep_the_short_runs_exact() {
        // Regions cut into random runs, changed by reservations and frees
        // of random lengths at random places: a change may reach the run
        // ending before it up to 256 regions back (the 32-bit values'
        // cap), cover regions whole or end inside one, in any word. A
        // large machine checked every 40 changes (runs up to 400 000
        // pages, changes up to 1.5 million), and a small one checked
        // after every change (runs up to 20 000, changes up to 60 000),
        // where a wrong value cannot be hidden by a later change.
        let machines: [(u64, u64, [u64; 2], &[u64]); 2] = [
            (
                300,
                40,
                [3_000, 400_000],
                &[3, 200, 5000, 50_000, 1_500_000],
            ),
            (12, 1, [300, 20_000], &[3, 70, 200, 5000, 60_000]),
        ];
        for (regions, every, runs, changes) in machines {
            let len = REGION_PAGES * regions + 77;
            for seed in 1..=3 {
                let mut map = random_runs(len, runs[(seed % 2) as usize], seed);
                let mut random = crate::test_random::XorShift::new(seed * 0x51f1_ab1e);
                for change in 1..=400 {
                    let longest = changes[random.below(changes.len() as u64) as usize];
                    change_at_random(&mut map, &mut random, longest);
                    if change % every == 0 {
                        assert_short_runs_exact(&map);
                    }
                }
            }
        }
    }

    #[test]
    fn placed_blocks_leave_the_short_runs_upper_bounds_until_an_explicit_change() {
        let len = if cfg!(miri) {
            REGION_PAGES * 2
        } else {
            REGION_PAGES * 30
        };
        let mut map = random_runs(len, 300, 31);
        let mut random = crate::test_random::XorShift::new(0x0dd_ba11);
        for _ in 0..if cfg!(miri) { 20 } else { 2000 } {
            let from = random.below(len);
            let to = (from + 1 + random.below(200)).min(len);
            map.reserve_placed(from, to);
        }
        // And one in the middle of region 0's longest run, which surely
        // shortens it.
        let longest = short_runs_by_page(&map)[0];
        if longest > 1 {
            let run_length = |page: u64| (page..len).take_while(|&page| !map.is_set(page)).count();
            let start = (0..REGION_PAGES)
                .find(|&page| (run_length(page) as u64).min(LONG_RUN_CAP) == longest)
                .expect("region 0's longest run starts in it");
            map.reserve_placed(start + longest / 2, start + longest / 2 + 1);
        }
        let by_page = short_runs_by_page(&map);
        let lowered = by_page
            .iter()
            .enumerate()
            .filter(|&(region, &longest)| {
                let stored = map.short_run(region as u64, true);
                assert!(stored >= longest, "region {region}: {stored} < {longest}");
                stored > longest
            })
            .count();
        assert!(lowered > 0, "placements shortened some region's runs");
        // An explicit reservation of a page in each region, then its
        // freeing, makes every byte exact again.
        for region in 0..len / REGION_PAGES {
            let page = region * REGION_PAGES + random.below(REGION_PAGES);
            let was_reserved = map.is_set(page);
            map.set_range(page, page + 1);
            if !was_reserved {
                map.clear_range(page, page + 1);
            }
        }
        assert_short_runs_exact(&map);
    }

    /// Checks each level-2 word's stored runs of full level-1 words: the
    /// longest, the one at its start and the one at its end.
    fn assert_full_run_lengths_exact(map: &Bitmap<Vec<u64>>) {
        let storage = &map.storage;
        for index in 0..map.layout.level2 {
            let full = map.summary(Set::AllFreeFull)[index as usize];
            assert_eq!(
                full_run_length(map.full_run_lengths(), index),
                bits::longest_run(full),
                "level-2 word {index}"
            );
            let byte = |range: core::ops::Range<usize>| full_run_length(&storage[range], index);
            assert_eq!(
                byte(map.layout.full_run_prefixes()),
                u64::from(full.trailing_ones()),
                "level-2 word {index}: the run at its start"
            );
            assert_eq!(
                byte(map.layout.full_run_suffixes()),
                u64::from(full.leading_ones()),
                "level-2 word {index}: the run at its end"
            );
        }
    }

    /// The first index `i` in `[from, to)` with `flags[i .. i + length]`
    /// all set and `i + length <= to`, tested one flag at a time.
    fn first_run_of_set(flags: &[bool], from: u64, to: u64, length: u64) -> Option<u64> {
        (from..to).find(|&index| {
            index + length <= to
                && flags[index as usize..(index + length) as usize]
                    .iter()
                    .all(|&set| set)
        })
    }

    /// A bitmap of `len` pages with pseudo-random free and reserved runs
    /// of up to `longest` pages (a fixed xorshift sequence from `seed`).
    fn random_runs(len: u64, longest: u64, seed: u64) -> Bitmap<Vec<u64>> {
        let mut map = bitmap(len);
        let mut random = crate::test_random::XorShift::new(seed | 1);
        let mut next = move |bound: u64| random.below(bound);
        let mut page = 0;
        while page < len {
            let free_end = (page + 1 + next(longest)).min(len);
            map.clear_range(page, free_end);
            page = (free_end + 1 + next(longest / 2)).min(len);
        }
        map
    }

    #[test]
    fn boundary_search_agrees_with_testing_each_boundary() {
        // Enough leaf words for several level-2 bits, strides past 64 words.
        let len = if cfg!(miri) {
            64 * 64 * 4
        } else {
            64 * 64 * 300
        };
        let words = len / WORD;
        // Sparse: a free page every 300 007 pages, then free pages at the
        // end, so that whole level-2 words see no free page.
        let mut sparse = bitmap(len);
        for page in (5..len).step_by(300_007) {
            sparse.clear_range(page, page + 1);
        }
        sparse.clear_range(len - 5000, len);
        let maps = [(1, 40), (2, 3000), (3, 200_000)]
            .map(|(seed, longest)| random_runs(len, longest, seed))
            .into_iter()
            .chain([sparse]);
        for map in maps {
            assert_summary_exact(&map);
            for test in [WordTest::HasFree, WordTest::EntirelyFree] {
                let passes = |word: u64| match test {
                    WordTest::HasFree => map.word(word) != u64::MAX,
                    WordTest::EntirelyFree => map.word(word) == 0,
                };
                for stride in (0..=13).map(|shift| 1u64 << shift) {
                    let firsts = [0, 1, stride, 3 * stride + 1, words / 3, words - 1];
                    for first in firsts.into_iter().filter(|&first| first < words) {
                        for to in [words, words / 2 + 7, first + 1] {
                            let expected = (first..to)
                                .step_by(stride as usize)
                                .find(|&word| passes(word))
                                .unwrap_or(to);
                            assert_eq!(
                                map.next_boundary_word(test, first, stride, to),
                                expected,
                                "{test:?} stride {stride} first {first} to {to}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn region_boundary_search_agrees_with_testing_each_boundary() {
        // 300 level-1 words (five level-2 words; 8 under Miri), so that
        // strides reach past a level-2 word.
        let level1 = if cfg!(miri) { 8 } else { 300 };
        let len = 64 * 64 * level1;
        // One map whose only full region is the last, one whose regions
        // start free every third region and are otherwise reserved.
        let mut last_only = bitmap(len);
        last_only.clear_range(len - REGION_PAGES, len);
        let mut starts = bitmap(len);
        for region in (0..level1).step_by(3) {
            starts.clear_range(
                region * REGION_PAGES,
                region * REGION_PAGES + 1 + region % 5,
            );
        }
        let maps = [(21, 9_000), (22, 90_000), (23, 900_000), (24, 3_000)]
            .map(|(seed, longest)| random_runs(len, longest, seed))
            .into_iter()
            .chain([last_only, starts, bitmap(len)]);
        for map in maps {
            assert_summary_exact(&map);
            for test in [RegionTest::EntirelyFree, RegionTest::StartsFree] {
                let passes = |region: u64| match test {
                    RegionTest::EntirelyFree => {
                        let end = (region + 1) * REGION_PAGES;
                        map.next_set(region * REGION_PAGES, end) == end
                    }
                    RegionTest::StartsFree => !map.is_set(region * REGION_PAGES),
                };
                for stride in (0..=8).map(|shift| 1u64 << shift) {
                    let firsts = [0, 1, stride, 3 * stride + 1, level1 / 3, level1 - 1];
                    for first in firsts.into_iter().filter(|&first| first < level1) {
                        for to in [level1, level1 / 2 + 7, first + 1, first] {
                            let expected = (first..to)
                                .step_by(stride as usize)
                                .find(|&region| passes(region))
                                .unwrap_or(to);
                            assert_eq!(
                                map.next_region_boundary(test, first, stride, to),
                                expected,
                                "{test:?} stride {stride} first {first} to {to}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn short_run_regions_agree_with_each_regions_runs() {
        // Free runs of up to 60 pages (most regions hold nothing longer),
        // up to 300, up to 5 000 (the cap is crossed), and a sparse map.
        let len = if cfg!(miri) {
            REGION_PAGES * 3
        } else {
            REGION_PAGES * 40 + 77
        };
        let mut sparse = bitmap(len);
        for page in (100..len).step_by(9_001) {
            sparse.clear_range(page, (page + 250).min(len));
        }
        let maps = [(21, 60), (22, 300), (23, 5000)]
            .map(|(seed, longest)| random_runs(len, longest, seed))
            .into_iter()
            .chain([sparse]);
        for map in maps {
            assert_short_runs_exact(&map);
            let regions = map.layout.level1;
            for pages in [
                1, 2, 40, 63, 64, 100, 127, 128, 129, 200, 254, 255, 256, 300, 1000, 4094, 4095,
            ] {
                // Region 9 of the sparse map, and the one after, hold no
                // run; region 11 does.
                let starts = [
                    0,
                    1,
                    REGION_PAGES - 1,
                    REGION_PAGES,
                    5 * REGION_PAGES + 17,
                    9 * REGION_PAGES + 5,
                    len / 2,
                    len - 1,
                ];
                for from in starts.into_iter().filter(|&from| from < len) {
                    let region_end = (from / REGION_PAGES + 2) * REGION_PAGES - 1;
                    let ends = [
                        len,
                        (from + 3 * REGION_PAGES).min(len),
                        from + 1,
                        region_end.min(len),
                    ];
                    for to in ends {
                        let allows = |region: u64| map.short_run(region, true) >= pages;
                        let region = from / REGION_PAGES;
                        let expected = if allows(region) {
                            from
                        } else {
                            (region + 1..regions)
                                .find(|&later| allows(later))
                                .map_or(to, |later| (later * REGION_PAGES).min(to))
                        };
                        assert_eq!(
                            map.next_short_run_region(from, pages, to),
                            expected,
                            "pages {pages} from {from} to {to}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn runs_of_full_level1_words_agree_with_testing_each_word() {
        // Twenty level-2 words (three under Miri), so that their lengths
        // take several storage words; one map with full level-1 words 3 to
        // 69 exactly (so windows that hold a run and nothing more), one
        // with twenty inside a far level-2 word, two at random.
        let level2_words = if cfg!(miri) { 3 } else { 20 };
        let len = 64 * 64 * 64 * level2_words;
        let mut exact = bitmap(len);
        exact.clear_range(64 * 64 * 3, 64 * 64 * 70);
        // Twenty full words alone, inside a level-2 word far from the
        // start: found only through that word's stored length.
        let mut inner = bitmap(len);
        let inner_start = 64 * (level2_words - 3) + 5;
        inner.clear_range(64 * 64 * inner_start, 64 * 64 * (inner_start + 20));
        // Twenty full words across the end of a group of eight level-2
        // words, whose run bytes are read together: found from the bytes
        // of the group before.
        let mut across = bitmap(len);
        let group_end = 64 * 8.min(level2_words - 1);
        across.clear_range(64 * 64 * (group_end - 10), 64 * 64 * (group_end + 10));
        // Full words 642 to 711, in the eleventh level-2 word (the second
        // group of eight) and past it: a window ending at 660 cuts them
        // short, and one from 512 reads their group's bytes.
        let mut cut = bitmap(len);
        cut.clear_range((64 * 64 * 642).min(len), (64 * 64 * 712).min(len));
        let maps = [(12, 60_000), (13, 600_000)]
            .map(|(seed, longest)| random_runs(len, longest, seed))
            .into_iter()
            .chain([exact, inner, across, cut]);
        for map in maps {
            let level1 = map.layout.level1;
            let full: Vec<bool> = (0..level1)
                .map(|index| bits::get(map.summary(Set::AllFreeFull), index))
                .collect();
            // Under Miri (a thousand times slower), a corner of the same space.
            let (ends, lengths): (&[u64], &[u64]) = if cfg!(miri) {
                (
                    &[0, 3, 64, 65, 70, 129, 150, 191, 192],
                    &[1, 3, 20, 30, 64, 65],
                )
            } else {
                (
                    &[
                        0, 1, 3, 4, 62, 63, 64, 65, 69, 70, 127, 128, 129, 190, 191, 192, 500, 501,
                        502, 511, 512, 513, 642, 660, 672, 712, 1000, 1279, 1280,
                    ],
                    &[1, 2, 3, 5, 13, 20, 30, 40, 61, 63, 64, 65, 66, 67, 100],
                )
            };
            let ends = ends.iter().copied().filter(|&end| end <= level1);
            for from in ends.clone() {
                for to in ends.clone() {
                    for &length in lengths {
                        let expected = first_run_of_set(&full, from, to, length);
                        assert_eq!(
                            map.full_words_run(from, to, length),
                            expected,
                            "from {from} to {to} length {length}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn full_run_lengths_stay_exact_past_their_first_word() {
        // Ten level-2 words: their lengths take two storage words.
        let len = 64 * 64 * 64 * 10;
        let mut map = random_runs(len, 200_000, 11);
        assert_full_run_lengths_exact(&map);
        // Long reservations and frees across level-2 words, then single pages.
        map.set_range(64 * 64 * 64 * 7 + 5, 64 * 64 * 64 * 9 + 3);
        assert_full_run_lengths_exact(&map);
        map.clear_range(64 * 64 * 64 * 2, 64 * 64 * 64 * 9);
        assert_full_run_lengths_exact(&map);
        map.set_range(
            64 * 64 * 64 * 8 + 64 * 64 * 3,
            64 * 64 * 64 * 8 + 64 * 64 * 3 + 1,
        );
        assert_full_run_lengths_exact(&map);
    }

    #[test]
    fn changes_at_level2_word_edges_keep_the_summary_exact() {
        // Three level-2 words (two under Miri). Ranges end near the edges
        // of level-2 words, so that a change's first, inner and last
        // level-1 words fall in different level-2 words, start exactly on
        // an edge or one region past it, and overlap pages already in the
        // state they are set to.
        let level2_words = if cfg!(miri) { 2 } else { 3 };
        let len = REGION_PAGES * 64 * level2_words;
        let mut ends = vec![0, len];
        for edge in (1..level2_words).map(|word| word * 64 * REGION_PAGES) {
            for offset in [
                -2 * REGION_PAGES as i64 - 1,
                -(REGION_PAGES as i64) - 1,
                -(REGION_PAGES as i64),
                -1,
                0,
                1,
                REGION_PAGES as i64 - 1,
                REGION_PAGES as i64,
                2 * REGION_PAGES as i64 + 1,
            ] {
                ends.push(edge.wrapping_add_signed(offset));
            }
        }
        let mut map = bitmap(len);
        let mut random = crate::test_random::XorShift::new(29);
        let steps = if cfg!(miri) { 6 } else { 300 };
        for _ in 0..steps {
            let a = ends[random.below(ends.len() as u64) as usize];
            let b = ends[random.below(ends.len() as u64) as usize];
            let (from, to) = (a.min(b), a.max(b));
            if random.below(2) == 0 {
                map.set_range(from, to);
            } else {
                map.clear_range(from, to);
            }
            assert_summary_exact(&map);
        }
    }

    #[test]
    fn next_clear_and_next_set_agree_with_testing_each_bit() {
        // Storage starts all ones: whole words freed since hold stale bits
        // that only the summary overrides.
        let len = if cfg!(miri) {
            64 * 64 * 2
        } else {
            64 * 64 * 40
        };
        for (seed, longest) in [(7, 30), (8, 700), (9, 20_000)] {
            let map = random_runs(len, longest, seed);
            let set: Vec<bool> = (0..len).map(|page| map.is_set(page)).collect();
            let naive = |from: u64, to: u64, value: bool| {
                (from..to)
                    .find(|&page| set[page as usize] == value)
                    .unwrap_or(to)
            };
            // Under Miri (a thousand times slower), a third of the starts.
            for from in (0..len).step_by(if cfg!(miri) { 2999 } else { 997 }) {
                for to in [len, (from + 5000).min(len)] {
                    assert_eq!(
                        map.next_clear(from, to),
                        naive(from, to, false),
                        "clear from {from} to {to}"
                    );
                    assert_eq!(
                        map.next_set(from, to),
                        naive(from, to, true),
                        "set from {from} to {to}"
                    );
                }
            }
            assert_eq!(
                map.count_clear(),
                set.iter().filter(|&&reserved| !reserved).count() as u64
            );
        }
    }

    #[test]
    fn runs_of_free_words_agree_with_testing_each_word() {
        let len = if cfg!(miri) {
            64 * 64 * 8
        } else {
            64 * 64 * 300
        };
        let words = len / WORD;
        for (seed, longest) in [(4, 3000), (5, 70_000), (6, 600_000)] {
            let map = random_runs(len, longest, seed);
            let free: Vec<bool> = (0..words).map(|word| map.word(word) == 0).collect();
            // Under Miri (a thousand times slower), the counts around one
            // and two words, and one past the map.
            let counts: &[u64] = if cfg!(miri) {
                &[1, 2, 64, 65, 128, 200, 4096]
            } else {
                &[1, 2, 63, 64, 65, 127, 128, 190, 200, 4095, 4096, 4200, 9000]
            };
            for &count in counts {
                for from in [0, 1, 64, 4097, words / 3, words - count.min(words)] {
                    for to in [words, words / 2 + 5] {
                        let expected = first_run_of_set(&free, from, to, count);
                        assert_eq!(
                            map.free_words_run(from, to, count),
                            expected,
                            "seed {seed} count {count} from {from} to {to}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_partly_free_words_of_each_summary_word() {
        let len = 64 * 64 * 4;
        let mut map = bitmap(len);
        // Summary word 0: partly free words 1 and 5; summary word 1:
        // entirely free words only; summary word 2: word 130 alone;
        // summary word 3: no free page.
        map.clear_range(64, 70);
        map.clear_range(5 * 64 + 3, 5 * 64 + 4);
        map.clear_range(64 * 64, 2 * 64 * 64);
        map.clear_range(130 * 64 + 60, 130 * 64 + 61);
        assert_eq!(map.partial_words(0), 1 << 1 | 1 << 5);
        assert_eq!(map.partial_words(1), 0);
        assert_eq!(map.partial_words(2), 1 << 2);
        assert_eq!(map.partial_words(3), 0);
        map.clear_range(191 * 64 + 1, 191 * 64 + 2);
        map.clear_range(128 * 64 + 1, 128 * 64 + 2);
        assert_eq!(map.partial_words(2), 1 << 0 | 1 << 2 | 1 << 63);
        // A partly free word that becomes entirely free leaves the set.
        map.clear_range(128 * 64, 129 * 64);
        assert_eq!(map.partial_words(2), 1 << 2 | 1 << 63);
        // Asking ahead past the end is harmless.
        map.prefetch_partial_words(0, 99);
    }

    #[test]
    fn sizes_match_linux_and_stay_under_1_05_bits_per_page() {
        assert_eq!(bitmap_bytes(0x8001), 4104);
        assert_eq!(bitmap_bytes(1), 8);
        let pages = 1u64 << 28;
        assert!(node_storage_words(pages) * 64 * 100 < pages * 105);
        // Leaf, two level-1 sets, four level-2 sets, three run-byte
        // arrays, the 16-bit and the 32-bit values.
        assert_eq!(node_storage_words(1), 1 + 2 + 4 + 3 + 1 + 1);
    }

    #[test]
    fn set_clear_and_find_across_words() {
        let mut map = bitmap(300);
        assert_eq!(map.next_clear(0, 300), 300);
        map.clear_range(60, 200);
        assert_summary_exact(&map);
        assert_eq!(map.next_clear(0, 300), 60);
        assert_eq!(map.next_set(60, 300), 200);
        assert_eq!(map.next_set(60, 150), 150);
        assert_eq!(map.count_clear(), 140);
        map.set_range(63, 65);
        assert_summary_exact(&map);
        assert!(map.is_set(63) && map.is_set(64) && !map.is_set(65) && !map.is_set(62));
        assert_eq!(map.next_set(61, 300), 63);
        assert_eq!(map.next_clear(63, 300), 65);
        assert!(map.is_set(300), "indices past the end read as reserved");
    }

    #[test]
    fn long_stretches_are_crossed_through_the_summary() {
        let len = 64 * 64 * 70;
        let mut map = bitmap(len);
        map.clear_range(5, len - 3);
        map.set_range(64 * 64 * 3, 64 * 64 * 3 + 64);
        map.set_range(len - 100, len - 99);
        assert_summary_exact(&map);
        assert_eq!(map.count_clear(), len - 8 - 64 - 1);
        assert_eq!(map.next_set(5, len), 64 * 64 * 3);
        assert_eq!(map.next_set(64 * 64 * 3 + 64, len), len - 100);
        assert_eq!(map.next_clear(64 * 64 * 3, len), 64 * 64 * 3 + 64);
        // Runs of entirely free words: 191 words after the reserved word
        // at 192 start at 193; the first run of 190 starts at word 1.
        assert_eq!(map.free_words_run(0, len / 64, 190), Some(1));
        assert_eq!(map.free_words_run(2, len / 64, 192), Some(193));
        assert_eq!(map.free_words_run(2, len / 64, 4285), Some(193));
        assert_eq!(map.free_words_run(2, len / 64, 4286), None);
        map.set_range(0, len);
        assert_summary_exact(&map);
        assert_eq!(map.next_clear(0, len), len);
        assert_eq!(map.free_words_run(0, len / 64, 1), None);
    }
}
