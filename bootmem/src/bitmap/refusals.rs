//! Proven refusals: per alignment, the shortest run a whole-node search found nowhere.
//!
//! When a search over a whole node finds no free run of `pages` pages at
//! some alignment, no longer run and no coarser alignment can fit either,
//! and reserving more pages keeps it so. Only freeing a page can make room,
//! so every free forgets what was learnt. A repeated large request on a
//! fragmented node is then refused without a scan.

use core::cell::Cell;

/// Alignment classes: one per power of two of a `u64` step.
const CLASSES: usize = 64;

/// Per alignment `2^k` pages, the shortest run known to fit nowhere.
pub(crate) struct Refusals {
    shortest: [Cell<u64>; CLASSES],
    /// Whether any class holds a refusal (so that frees stay cheap).
    any: Cell<bool>,
}

impl Refusals {
    /// Knows nothing.
    pub(crate) const fn new() -> Self {
        Self {
            shortest: [const { Cell::new(u64::MAX) }; CLASSES],
            any: Cell::new(false),
        }
    }

    /// Whether `pages` free pages on a `step` boundary (a power of two)
    /// are known to exist nowhere.
    pub(crate) fn refused(&self, pages: u64, step: u64) -> bool {
        self.shortest[step.trailing_zeros() as usize].get() <= pages
    }

    /// Records that `pages` free pages on a `step` boundary exist nowhere.
    pub(crate) fn record(&self, pages: u64, step: u64) {
        for class in &self.shortest[step.trailing_zeros() as usize..] {
            class.set(class.get().min(pages));
        }
        self.any.set(true);
    }

    /// Forgets every refusal (a page became free).
    pub(crate) fn forget(&self) {
        if self.any.replace(false) {
            for class in &self.shortest {
                class.set(u64::MAX);
            }
        }
    }
}

impl core::fmt::Debug for Refusals {
    /// A cache, not state: two bitmaps with the same bits print alike.
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str("Refusals")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_cover_longer_runs_and_coarser_alignments_until_forgotten() {
        let refusals = Refusals::new();
        assert!(!refusals.refused(1 << 40, 1 << 20));
        refusals.record(100, 4);
        assert!(refusals.refused(100, 4) && refusals.refused(101, 1 << 30));
        assert!(!refusals.refused(99, 4) && !refusals.refused(100, 2));
        refusals.forget();
        assert!(!refusals.refused(100, 4));
    }
}
