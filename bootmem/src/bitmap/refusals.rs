//! Proven refusals: the requests a whole-node search found no room for, as a small frontier.
//!
//! When a search over a whole node finds no free run of `pages` pages on a
//! `2^k`-page boundary, no longer run and no coarser boundary can fit
//! either, and reserving more pages keeps it so. Only freeing a page can
//! make room, so every free forgets what was learnt. A repeated large
//! request on a fragmented node is then refused without a scan.
//!
//! What is known is a frontier of `(k, pages)` pairs, none implied by
//! another: a request is refused when some pair has `k` at most the
//! request's alignment exponent and `pages` at most its length. The
//! frontier holds a few pairs (a node stays small: registries hold up to
//! thousands of nodes); when it is full, a new pair takes the place of an
//! old one, which only forgets, and forgetting is always safe.

use core::cell::Cell;

/// Pairs kept per node.
const CAPACITY: usize = 8;

/// An empty slot.
const EMPTY: u64 = u64::MAX;

/// Bits of a pair that hold the run length; the exponent is above them.
const PAGES_BITS: u32 = 56;

/// The refusals of one node.
pub(crate) struct Refusals {
    /// Pairs packed as `k << 56 | pages`, or [`EMPTY`].
    pairs: [Cell<u64>; CAPACITY],
    /// Whether any pair is held (so that frees stay cheap).
    any: Cell<bool>,
    /// The slot a new pair takes when none is free.
    next_victim: Cell<u8>,
}

/// The exponent and length of a packed pair.
fn unpack(pair: u64) -> (u32, u64) {
    ((pair >> PAGES_BITS) as u32, pair & ((1 << PAGES_BITS) - 1))
}

impl Refusals {
    /// Knows nothing.
    pub(crate) const fn new() -> Self {
        Self {
            pairs: [const { Cell::new(EMPTY) }; CAPACITY],
            any: Cell::new(false),
            next_victim: Cell::new(0),
        }
    }

    /// Whether `pages` free pages on a `step` boundary (a power of two)
    /// are known to exist nowhere.
    #[inline]
    pub(crate) fn refused(&self, pages: u64, step: u64) -> bool {
        if !self.any.get() {
            return false;
        }
        let exponent = step.trailing_zeros();
        self.pairs.iter().any(|pair| {
            let pair = pair.get();
            let (known_exponent, known_pages) = unpack(pair);
            pair != EMPTY && known_exponent <= exponent && known_pages <= pages
        })
    }

    /// Records that `pages` free pages on a `step` boundary exist nowhere.
    /// A length too large to pack is not recorded (no request that long
    /// can be placed anyway, and the search for it is refused by size).
    pub(crate) fn record(&self, pages: u64, step: u64) {
        if pages >= 1 << PAGES_BITS || self.refused(pages, step) {
            return;
        }
        let exponent = step.trailing_zeros();
        let mut free_slot = None;
        for (slot, pair) in self.pairs.iter().enumerate() {
            let (known_exponent, known_pages) = unpack(pair.get());
            if pair.get() == EMPTY || (known_exponent >= exponent && known_pages >= pages) {
                // Empty, or implied by the new pair.
                pair.set(EMPTY);
                free_slot.get_or_insert(slot);
            }
        }
        let slot = free_slot.unwrap_or_else(|| {
            let victim = self.next_victim.get();
            self.next_victim.set((victim + 1) % CAPACITY as u8);
            usize::from(victim)
        });
        self.pairs[slot].set(u64::from(exponent) << PAGES_BITS | pages);
        self.any.set(true);
    }

    /// Forgets every refusal (a page became free).
    pub(crate) fn forget(&self) {
        if self.any.replace(false) {
            for pair in &self.pairs {
                pair.set(EMPTY);
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
        // Found at step 4: applies from step 4 on.
        refusals.record(50, 4);
        assert!(refusals.refused(60, 4) && refusals.refused(60, 64));
        assert!(!refusals.refused(49, 4) && !refusals.refused(60, 2));
        // Every exponent is its own class, up to the largest steps.
        refusals.record(1, 1 << 40);
        assert!(refusals.refused(1, 1 << 41) && !refusals.refused(1, 1 << 39));
        refusals.forget();
        assert!(!refusals.refused(100, 4) && !refusals.refused(1, 1 << 41));
    }

    #[test]
    fn a_full_frontier_forgets_but_never_claims_too_much() {
        let refusals = Refusals::new();
        // Pairs that do not imply one another: longer runs at finer steps.
        for exponent in 0..20u32 {
            refusals.record(1000 - u64::from(exponent) * 10, 1 << exponent);
        }
        for exponent in 0..20u32 {
            let pages = 1000 - u64::from(exponent) * 10;
            // Never refused below what was recorded.
            assert!(!refusals.refused(pages - 1, 1 << exponent));
        }
        // The last pair recorded is always kept.
        assert!(refusals.refused(810, 1 << 19));
        // A pair implied by a held one changes nothing; one that implies
        // held pairs replaces them.
        refusals.record(5, 1);
        assert!(refusals.refused(5, 1) && refusals.refused(5, 1 << 19));
        assert!(!refusals.refused(4, 1 << 30));
    }

    #[test]
    fn refusals_print_alike_whatever_they_hold() {
        let refusals = Refusals::new();
        refusals.record(3, 8);
        assert_eq!(std::format!("{refusals:?}"), "Refusals");
        assert_eq!(std::format!("{:?}", Refusals::new()), "Refusals");
    }

    #[test]
    fn pairs_that_do_not_imply_one_another_are_both_kept() {
        for order in [[(100, 64), (1000, 1)], [(1000, 1), (100, 64)]] {
            let refusals = Refusals::new();
            for (pages, step) in order {
                refusals.record(pages, step);
            }
            assert!(refusals.refused(100, 64) && refusals.refused(1000, 1));
            assert!(!refusals.refused(999, 32) && !refusals.refused(99, 1 << 20));
        }
    }

    #[test]
    fn a_pair_implied_by_a_new_one_gives_up_its_slot() {
        let refusals = Refusals::new();
        // Seven pairs, none implying another, take seven of the eight slots.
        let others = [
            (50, 1 << 30),
            (60, 1 << 29),
            (70, 1 << 28),
            (80, 1 << 27),
            (90, 1 << 26),
            (95, 1 << 25),
            (99, 1 << 24),
        ];
        for (pages, step) in others {
            refusals.record(pages, step);
        }
        // Each of these implies the one before it: they share the last
        // slot, and none of the seven is evicted.
        for exponent in (0..20u32).rev() {
            refusals.record(100, 1 << exponent);
        }
        assert!(refusals.refused(100, 1));
        for (pages, step) in others {
            assert!(
                refusals.refused(pages, step),
                "{pages} pages at step {step}"
            );
        }
    }

    #[test]
    fn a_full_frontier_evicts_its_oldest_pairs_first() {
        let refusals = Refusals::new();
        // Ten pairs, none implying another: longer runs at finer steps.
        let pairs: [(u64, u64); 10] =
            core::array::from_fn(|index| (1000 - 10 * index as u64, 1 << index));
        for (pages, step) in pairs {
            refusals.record(pages, step);
        }
        let held: [bool; 10] =
            core::array::from_fn(|index| refusals.refused(pairs[index].0, pairs[index].1));
        assert_eq!(
            held,
            [false, false, true, true, true, true, true, true, true, true]
        );
    }

    #[test]
    fn lengths_too_large_to_pack_are_not_recorded() {
        let refusals = Refusals::new();
        refusals.record(1 << 60, 1);
        assert!(!refusals.refused(u64::MAX, 1 << 63));
    }
}
