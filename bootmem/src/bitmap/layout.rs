//! Where the leaf bitmap and the summary bit sets lie in a node's storage words.

use super::bits::words_for;

/// The word ranges of one node's storage: the leaf words, then two bit sets
/// over leaf words, then four bit sets over words of the second of those,
/// then three bytes per word of the last of those (three byte arrays:
/// [`Layout::full_run_lengths`], [`Layout::full_run_prefixes`],
/// [`Layout::full_run_suffixes`]), then one 16-bit and one 32-bit value
/// per word of the level-1 sets ([`Layout::short_runs`],
/// [`Layout::long_runs`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Leaf words (`bitmap_words(pages)`).
    pub(crate) leaf: u64,
    /// Words of each bit set over leaf words.
    pub(crate) level1: u64,
    /// Words of each bit set over level-1 words.
    pub(crate) level2: u64,
    /// Words of each of the three byte arrays kept per level-2 word
    /// ([`Layout::full_run_lengths`] and the two after it).
    pub(crate) run_lengths: u64,
    /// Words of the 16-bit values kept per level-1 word ([`Layout::short_runs`]).
    pub(crate) short_runs: u64,
    /// Words of the 32-bit values kept per level-1 word ([`Layout::long_runs`]).
    pub(crate) long_runs: u64,
}

/// One of the summary bit sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Set {
    /// Per leaf word: it has a free page.
    AnyFree,
    /// Per leaf word: every page of it is free.
    AllFree,
    /// Per word of `AnyFree`: it is not zero.
    AnyFreeNonzero,
    /// Per word of `AllFree`: it is not zero.
    AllFreeNonzero,
    /// Per word of `AllFree`: every bit of it is set.
    AllFreeFull,
    /// Per word of `AnyFree` (a region of 4096 pages): the first page of
    /// the region is free, where a request aligned to a multiple of 4096
    /// pages starts.
    RegionStartFree,
}

impl Layout {
    /// The layout for a node of `pages` pages.
    pub(crate) const fn for_pages(pages: u64) -> Self {
        let leaf = words_for(pages);
        let level1 = words_for(leaf);
        let level2 = words_for(level1);
        Self {
            leaf,
            level1,
            level2,
            run_lengths: level2.div_ceil(8),
            short_runs: level1.div_ceil(4),
            long_runs: level1.div_ceil(2),
        }
    }

    /// Words the whole storage takes.
    pub(crate) const fn total_words(&self) -> u64 {
        self.leaf
            + 2 * self.level1
            + 4 * self.level2
            + 3 * self.run_lengths
            + self.short_runs
            + self.long_runs
    }

    /// The word range of the short-run lengths, after the full-run
    /// suffixes: bits `16 * (j % 4)` up of word `j / 4` hold the longest
    /// free run starting under level-1 word `j`, capped at 32 767
    /// ([`super::short_runs`]).
    pub(crate) const fn short_runs(&self) -> core::ops::Range<usize> {
        let start = self.full_run_suffixes().end;
        start..start + self.short_runs as usize
    }

    /// The word range of the long-run lengths, after the short ones: bits
    /// `32 * (j % 2)` up of word `j / 2` hold the same length capped at
    /// 1 048 575 ([`super::short_runs`]).
    pub(crate) const fn long_runs(&self) -> core::ops::Range<usize> {
        let start = self.short_runs().end;
        start..start + self.long_runs as usize
    }

    /// The word range of the full-run lengths: for each word of
    /// [`Set::AllFreeFull`], byte `j % 8` of word `j / 8` is the longest
    /// run of set bits in word `j` (0 to 64).
    pub(crate) const fn full_run_lengths(&self) -> core::ops::Range<usize> {
        let start = self.leaf + 2 * self.level1 + 4 * self.level2;
        start as usize..(start + self.run_lengths) as usize
    }

    /// The word range of the full-run prefixes, after the lengths: byte
    /// `j % 8` of word `j / 8` is the number of full level-1 words at the
    /// start of level-2 word `j` (its trailing ones, 0 to 64).
    pub(crate) const fn full_run_prefixes(&self) -> core::ops::Range<usize> {
        let start = self.full_run_lengths().end;
        start..start + self.run_lengths as usize
    }

    /// The word range of the full-run suffixes, after the prefixes: byte
    /// `j % 8` of word `j / 8` is the number of full level-1 words at the
    /// end of level-2 word `j` (its leading ones, 0 to 64).
    pub(crate) const fn full_run_suffixes(&self) -> core::ops::Range<usize> {
        let start = self.full_run_prefixes().end;
        start..start + self.run_lengths as usize
    }

    /// The first storage word of `set`.
    #[inline]
    pub(crate) const fn start(&self, set: Set) -> usize {
        self.range(set).start
    }

    /// The word range of `set` in the storage.
    pub(crate) const fn range(&self, set: Set) -> core::ops::Range<usize> {
        let (start, length) = match set {
            Set::AnyFree => (self.leaf, self.level1),
            Set::AllFree => (self.leaf + self.level1, self.level1),
            Set::AnyFreeNonzero => (self.leaf + 2 * self.level1, self.level2),
            Set::AllFreeNonzero => (self.leaf + 2 * self.level1 + self.level2, self.level2),
            Set::AllFreeFull => (self.leaf + 2 * self.level1 + 2 * self.level2, self.level2),
            Set::RegionStartFree => (self.leaf + 2 * self.level1 + 3 * self.level2, self.level2),
        };
        start as usize..(start + length) as usize
    }
}
