//! Proven refusals: where a node's searches found no room, as a small frontier.
//!
//! When a search of a node from index `from` to its end finds no free run
//! of `pages` pages starting on a `2^k`-page boundary, no longer run and no
//! coarser boundary can start there either, nor can any run starting
//! further on; reserving more pages keeps it so. Only freeing a page can
//! make room, so every free forgets what was learnt. A repeated large
//! request on a fragmented node is then refused without a scan, and a
//! search that starts before a known refusal stops where the refusal
//! begins: the scan from Linux's hint to the node's end, then from the
//! requested start (spec §3.1 steps 8–10), reads each page once.
//!
//! What is known is a frontier of `(k, pages, from)` triples, none implied
//! by another: no run of `pages` or more pages starts on a `2^k`-page
//! boundary (or a coarser one) at an index at or after `from`. The
//! frontier holds a few triples (a node stays small: registries hold up to
//! thousands of nodes); when it is full, a new triple takes the place of
//! an old one, which only forgets, and forgetting is always safe.

use core::cell::Cell;

/// Triples kept per node.
const CAPACITY: usize = 4;

/// Alignment exponents the whole-node table keeps apart (steps up to
/// 2^19 pages, 2 GiB of 4 KiB pages); a coarser step is looked up as the
/// coarsest of them, and recorded in a slot.
const EXPONENTS: usize = 20;

/// A whole-node table entry that knows nothing.
const UNKNOWN: u16 = u16::MAX;

/// Mantissa bits of a table entry: an entry is `mantissa << shift`, a
/// length rounded up to 11 significant bits (rounding up only refuses
/// less), so that a node's table stays 40 bytes.
const MANTISSA_BITS: u32 = 11;

/// A table entry for `pages` rounded up, or `None` past the largest,
/// `2047 << 30` pages (8 PiB of 4 KiB pages; no node is that large).
fn entry_for(pages: u64) -> Option<u16> {
    let shift = (u64::BITS - pages.leading_zeros()).saturating_sub(MANTISSA_BITS);
    let mantissa = pages.div_ceil(1 << shift);
    let (mantissa, shift) = if mantissa == 1 << MANTISSA_BITS {
        (mantissa / 2, shift + 1)
    } else {
        (mantissa, shift)
    };
    // Shifts up to 30 keep every entry below `UNKNOWN`.
    (shift <= 30).then_some((shift << MANTISSA_BITS) as u16 | mantissa as u16)
}

/// The length a table entry stands for. Entries compare as their lengths.
fn entry_pages(entry: u16) -> u64 {
    u64::from(entry & ((1 << MANTISSA_BITS) - 1)) << (entry >> MANTISSA_BITS)
}

/// An empty slot's key.
const EMPTY: u64 = u64::MAX;

/// Bits of a key that hold the run length; the exponent is above them.
const PAGES_BITS: u32 = 56;

/// The refusals of one node.
pub(crate) struct Refusals {
    /// Triples from index 0, by exponent: entry `e` is the fewest pages
    /// refused over the whole node at an exponent at most `e`, rounded up
    /// ([`entry_for`]), or [`UNKNOWN`]; a lookup reads one entry.
    whole_node: [Cell<u16>; EXPONENTS],
    /// The other triples. The `(k, pages)` of each triple, packed as `k << 56 | pages`, or
    /// [`EMPTY`].
    keys: [Cell<u64>; CAPACITY],
    /// The `from` of each triple.
    starts: [Cell<u64>; CAPACITY],
    /// Whether any triple is held (so that frees and lookups stay cheap).
    any: Cell<bool>,
    /// The fewest pages among the slots' triples (`u64::MAX`: none), so
    /// that a shorter request skips the slots.
    fewest_slot_pages: Cell<u64>,
    /// The slot a new triple takes when none is free.
    next_victim: Cell<u8>,
}

/// The exponent and length of a packed key.
fn unpack(key: u64) -> (u32, u64) {
    ((key >> PAGES_BITS) as u32, key & ((1 << PAGES_BITS) - 1))
}

impl Refusals {
    /// Knows nothing.
    pub(crate) const fn new() -> Self {
        Self {
            whole_node: [const { Cell::new(UNKNOWN) }; EXPONENTS],
            keys: [const { Cell::new(EMPTY) }; CAPACITY],
            starts: [const { Cell::new(u64::MAX) }; CAPACITY],
            any: Cell::new(false),
            fewest_slot_pages: Cell::new(u64::MAX),
            next_victim: Cell::new(0),
        }
    }

    /// The first index from which no run of `pages` free pages is known to
    /// start on a `step` boundary (a power of two), or `u64::MAX` when
    /// nothing is known: a search need not look at candidates there or
    /// beyond.
    #[inline(always)]
    pub(crate) fn refused_from(&self, pages: u64, step: u64) -> u64 {
        if !self.any.get() {
            return u64::MAX;
        }
        self.refused_from_records(pages, step)
    }

    /// [`refused_from`](Self::refused_from) read from the records, when
    /// some triple is held.
    #[inline(never)]
    fn refused_from_records(&self, pages: u64, step: u64) -> u64 {
        let exponent = step.trailing_zeros();
        let whole_node = self.whole_node[(exponent as usize).min(EXPONENTS - 1)].get();
        if whole_node != UNKNOWN && pages >= entry_pages(whole_node) {
            return 0;
        }
        let mut first = u64::MAX;
        if pages < self.fewest_slot_pages.get() {
            return first;
        }
        for (key, start) in self.keys.iter().zip(&self.starts) {
            let (known_exponent, known_pages) = unpack(key.get());
            if key.get() != EMPTY && known_exponent <= exponent && known_pages <= pages {
                first = first.min(start.get());
            }
        }
        first
    }

    /// Records that no run of `pages` free pages starts on a `step`
    /// boundary at or after index `from`. A length too large to pack is
    /// not recorded (no request that long can be placed anyway, and the
    /// search for it is refused by size).
    pub(crate) fn record(&self, pages: u64, step: u64, from: u64) {
        if pages >= 1 << PAGES_BITS || self.refused_from(pages, step) <= from {
            return;
        }
        let exponent = step.trailing_zeros();
        self.any.set(true);
        if let (0, Some(new), true) = (from, entry_for(pages), (exponent as usize) < EXPONENTS) {
            for entry in &self.whole_node[exponent as usize..] {
                entry.set(entry.get().min(new));
            }
            return;
        }
        let mut free_slot = None;
        for (slot, (key, start)) in self.keys.iter().zip(&self.starts).enumerate() {
            let (known_exponent, known_pages) = unpack(key.get());
            let implied = known_exponent >= exponent && known_pages >= pages && start.get() >= from;
            if key.get() == EMPTY || implied {
                // Empty, or implied by the new triple.
                key.set(EMPTY);
                free_slot.get_or_insert(slot);
            }
        }
        let slot = free_slot.unwrap_or_else(|| {
            // The triple that starts latest covers the fewest searches.
            let latest = self.starts.iter().map(Cell::get).max().unwrap_or(0);
            if latest > from {
                return self
                    .starts
                    .iter()
                    .position(|start| start.get() == latest)
                    .unwrap_or(0);
            }
            let victim = self.next_victim.get();
            self.next_victim.set((victim + 1) % CAPACITY as u8);
            usize::from(victim)
        });
        self.keys[slot].set(u64::from(exponent) << PAGES_BITS | pages);
        self.starts[slot].set(from);
        let fewest = self.keys.iter().filter(|key| key.get() != EMPTY);
        let fewest = fewest.map(|key| unpack(key.get()).1).min();
        self.fewest_slot_pages.set(fewest.unwrap_or(u64::MAX));
        self.any.set(true);
    }

    /// Forgets every refusal (a page became free).
    pub(crate) fn forget(&self) {
        if self.any.replace(false) {
            for entry in &self.whole_node {
                entry.set(UNKNOWN);
            }
            for key in &self.keys {
                key.set(EMPTY);
            }
            self.fewest_slot_pages.set(u64::MAX);
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

    /// Whether a request is refused over the whole node.
    fn refused(refusals: &Refusals, pages: u64, step: u64) -> bool {
        refusals.refused_from(pages, step) == 0
    }

    /// Whether a request is refused from index 1 on: the triples these
    /// tests record there are held in the slots, not the whole-node table.
    fn refused_past_the_start(refusals: &Refusals, pages: u64, step: u64) -> bool {
        refusals.refused_from(pages, step) <= 1
    }

    #[test]
    fn table_entries_round_up_and_compare_as_their_lengths() {
        let mut last = 0;
        for pages in (0..5000).chain((0..40).map(|shift| (1u64 << shift) * 3 + 1)) {
            let entry = entry_for(pages).unwrap();
            assert!(entry_pages(entry) >= pages, "{pages}");
            // At most one part in 1024 above.
            assert!(entry_pages(entry) - pages <= pages / 1024, "{pages}");
            if pages > last {
                assert!(entry >= entry_for(last).unwrap());
                last = pages;
            }
        }
        assert_eq!(entry_pages(entry_for(2047).unwrap()), 2047);
        assert_eq!(entry_pages(entry_for(2049).unwrap()), 2050);
        assert!(entry_for((2047 << 30) + 1).is_none() && entry_for(u64::MAX).is_none());
        assert!(entry_for(2047 << 30).is_some_and(|entry| entry < UNKNOWN));
    }

    #[test]
    fn whole_node_refusals_are_never_forgotten_for_lack_of_room() {
        let refusals = Refusals::new();
        // More exponents than slots, each with its own shortest refusal.
        for exponent in 0..20u32 {
            refusals.record(1000 - u64::from(exponent) * 10, 1 << exponent, 0);
        }
        for exponent in 0..20u32 {
            let pages = 1000 - u64::from(exponent) * 10;
            assert!(refused(&refusals, pages, 1 << exponent));
            assert!(!refused(&refusals, pages - 1, 1 << exponent));
        }
        // Coarser steps than the table keeps apart look up its last entry.
        assert!(refused(&refusals, 810, 1 << 50) && !refused(&refusals, 809, 1 << 50));
        // A length past 32 bits, or a step past the table, takes a slot.
        refusals.record(1 << 40, 1, 0);
        refusals.record(3, 1 << 45, 0);
        assert!(refused(&refusals, 3, 1 << 46) && !refused(&refusals, 3, 1 << 44));
        refusals.forget();
        assert!(!refused(&refusals, 1000, 1) && !refused(&refusals, 3, 1 << 46));
    }

    #[test]
    fn a_refusal_from_an_index_covers_later_starts_only() {
        let refusals = Refusals::new();
        refusals.record(100, 64, 5000);
        assert_eq!(refusals.refused_from(100, 64), 5000);
        assert_eq!(refusals.refused_from(200, 128), 5000);
        assert_eq!(refusals.refused_from(99, 64), u64::MAX);
        assert_eq!(refusals.refused_from(100, 32), u64::MAX);
        // A later start is implied and changes nothing; an earlier one
        // replaces it.
        refusals.record(100, 64, 6000);
        assert_eq!(refusals.refused_from(100, 64), 5000);
        refusals.record(100, 64, 3000);
        assert_eq!(refusals.refused_from(100, 64), 3000);
        // A finer, shorter refusal from further on is kept beside it: each
        // request takes the earliest start among those that cover it.
        refusals.record(50, 1, 4000);
        assert_eq!(refusals.refused_from(60, 1), 4000);
        assert_eq!(refusals.refused_from(100, 64), 3000);
        refusals.record(50, 1, 1000);
        assert_eq!(refusals.refused_from(100, 64), 1000);
        refusals.forget();
        assert_eq!(refusals.refused_from(100, 64), u64::MAX);
    }

    #[test]
    fn refusals_cover_longer_runs_and_coarser_alignments_until_forgotten() {
        let refusals = Refusals::new();
        assert!(!refused(&refusals, 1 << 40, 1 << 20));
        refusals.record(100, 64, 0);
        assert!(refused(&refusals, 100, 64) && refused(&refusals, 101, 1 << 30));
        assert!(!refused(&refusals, 99, 64) && !refused(&refusals, 100, 32));
        // Found at step 4: applies from step 4 on.
        refusals.record(50, 4, 0);
        assert!(refused(&refusals, 60, 4) && refused(&refusals, 60, 64));
        assert!(!refused(&refusals, 49, 4) && !refused(&refusals, 60, 2));
        // Every exponent is its own class, up to the largest steps.
        refusals.record(1, 1 << 40, 0);
        assert!(refused(&refusals, 1, 1 << 41) && !refused(&refusals, 1, 1 << 39));
        refusals.forget();
        assert!(!refused(&refusals, 100, 4) && !refused(&refusals, 1, 1 << 41));
    }

    #[test]
    fn a_full_frontier_forgets_but_never_claims_too_much() {
        let refusals = Refusals::new();
        // Pairs that do not imply one another: longer runs at finer steps.
        for exponent in 0..20u32 {
            refusals.record(1000 - u64::from(exponent) * 10, 1 << exponent, 1);
        }
        for exponent in 0..20u32 {
            let pages = 1000 - u64::from(exponent) * 10;
            // Never refused below what was recorded.
            assert!(!refused_past_the_start(&refusals, pages - 1, 1 << exponent));
        }
        // The last pair recorded is always kept.
        assert!(refused_past_the_start(&refusals, 810, 1 << 19));
        // A pair implied by a held one changes nothing; one that implies
        // held pairs replaces them.
        refusals.record(5, 1, 1);
        assert!(
            refused_past_the_start(&refusals, 5, 1)
                && refused_past_the_start(&refusals, 5, 1 << 19)
        );
        assert!(!refused_past_the_start(&refusals, 4, 1 << 30));
    }

    #[test]
    fn refusals_print_alike_whatever_they_hold() {
        let refusals = Refusals::new();
        refusals.record(3, 8, 0);
        assert_eq!(std::format!("{refusals:?}"), "Refusals");
        assert_eq!(std::format!("{:?}", Refusals::new()), "Refusals");
    }

    #[test]
    fn pairs_that_do_not_imply_one_another_are_both_kept() {
        for order in [[(100, 64), (1000, 1)], [(1000, 1), (100, 64)]] {
            let refusals = Refusals::new();
            for (pages, step) in order {
                refusals.record(pages, step, 1);
            }
            assert!(
                refused_past_the_start(&refusals, 100, 64)
                    && refused_past_the_start(&refusals, 1000, 1)
            );
            assert!(
                !refused_past_the_start(&refusals, 999, 32)
                    && !refused_past_the_start(&refusals, 99, 1 << 20)
            );
        }
    }

    #[test]
    fn a_pair_implied_by_a_new_one_gives_up_its_slot() {
        let refusals = Refusals::new();
        // Pairs that do not imply one another take all slots but one.
        let others = [
            (50, 1 << 30),
            (60, 1 << 29),
            (70, 1 << 28),
            (80, 1 << 27),
            (90, 1 << 26),
            (95, 1 << 25),
            (99, 1 << 24),
        ];
        let others = &others[..CAPACITY - 1];
        for &(pages, step) in others {
            refusals.record(pages, step, 1);
        }
        // Each of these implies the one before it: they share the last
        // slot, and none of the others is evicted.
        for exponent in (0..20u32).rev() {
            refusals.record(100, 1 << exponent, 1);
        }
        assert!(refused_past_the_start(&refusals, 100, 1));
        for &(pages, step) in others {
            assert!(
                refused_past_the_start(&refusals, pages, step),
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
            refusals.record(pages, step, 1);
        }
        let held: [bool; 10] = core::array::from_fn(|index| {
            refused_past_the_start(&refusals, pairs[index].0, pairs[index].1)
        });
        // The last `CAPACITY` recorded are held.
        let expected: [bool; 10] = core::array::from_fn(|index| index >= 10 - CAPACITY);
        assert_eq!(held, expected);
    }

    #[test]
    fn a_full_frontier_evicts_the_triple_that_starts_latest() {
        let refusals = Refusals::new();
        // Triples that do not imply one another fill the slots, starting
        // ever later: the last starts latest.
        let held: [(u64, u64, u64); CAPACITY] = core::array::from_fn(|index| {
            (
                1000 - 10 * index as u64,
                1 << index,
                10 * (index as u64 + 1),
            )
        });
        for (pages, step, from) in held {
            refusals.record(pages, step, from);
        }
        // A new one starting earlier than all takes the latest one's slot.
        refusals.record(5000, 1 << 30, 5);
        assert_eq!(refusals.refused_from(5000, 1 << 30), 5);
        for (index, (pages, step, from)) in held.into_iter().enumerate() {
            let expected = if index + 1 == CAPACITY {
                u64::MAX
            } else {
                from
            };
            assert_eq!(
                refusals.refused_from(pages, step),
                expected,
                "triple {index}"
            );
        }
    }

    #[test]
    fn lengths_too_large_to_pack_are_not_recorded() {
        let refusals = Refusals::new();
        refusals.record(1 << 60, 1, 0);
        assert!(!refused(&refusals, u64::MAX, 1 << 63));
    }
}
