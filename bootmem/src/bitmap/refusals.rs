//! Proven refusals: per alignment, the shortest run a whole-node search found nowhere.
//!
//! When a search over a whole node finds no free run of `pages` pages at
//! some alignment, no longer run and no coarser alignment can fit either,
//! and reserving more pages keeps it so. Only freeing a page can make room,
//! so every free forgets what was learnt. A repeated large request on a
//! fragmented node is then refused without a scan.

use core::cell::Cell;

/// The alignment classes, as log2 of a step in pages: a refusal found at
/// step `2^k` is kept in the first class at or above `k` (so it is only
/// ever applied to steps at least as coarse as the one it was found at).
/// Few classes keep a node small: registries hold up to thousands of nodes.
const CLASSES: [u32; 4] = [0, 6, 12, 18];

/// Per alignment class, the shortest run known to fit nowhere.
pub(crate) struct Refusals {
    shortest: [Cell<u64>; CLASSES.len()],
    /// Whether any class holds a refusal (so that frees stay cheap).
    any: Cell<bool>,
}

impl Refusals {
    /// Knows nothing.
    pub(crate) const fn new() -> Self {
        Self {
            shortest: [const { Cell::new(u64::MAX) }; CLASSES.len()],
            any: Cell::new(false),
        }
    }

    /// Whether `pages` free pages on a `step` boundary (a power of two)
    /// are known to exist nowhere.
    #[inline]
    pub(crate) fn refused(&self, pages: u64, step: u64) -> bool {
        if !self.any.get() {
            return false;
        }
        let class = step.trailing_zeros();
        CLASSES
            .iter()
            .zip(&self.shortest)
            .any(|(&threshold, shortest)| threshold <= class && shortest.get() <= pages)
    }

    /// Records that `pages` free pages on a `step` boundary exist nowhere.
    pub(crate) fn record(&self, pages: u64, step: u64) {
        let class = step.trailing_zeros();
        if let Some(position) = CLASSES.iter().position(|&threshold| threshold >= class) {
            let shortest = &self.shortest[position];
            shortest.set(shortest.get().min(pages));
            self.any.set(true);
        }
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
        refusals.record(100, 64);
        assert!(refusals.refused(100, 64) && refusals.refused(101, 1 << 30));
        assert!(!refusals.refused(99, 64) && !refusals.refused(100, 32));
        // Found at step 4, kept for steps from 64 on only.
        refusals.record(50, 4);
        assert!(!refusals.refused(60, 4) && refusals.refused(60, 64));
        // Steps beyond the last class are not recorded.
        refusals.record(1, 1 << 40);
        assert!(!refusals.refused(40, 1 << 41));
        refusals.forget();
        assert!(!refusals.refused(100, 4));
    }
}
