//! A node's streak proofs: one per streak and step that asked it since it last changed, two at most.
//!
//! Kinds of request take turns on one node: `alloc_bootmem` and
//! `alloc_bootmem_low` have other goals and limits, so each is a streak of
//! its own, and both place their blocks from the node's one hint. A node
//! that kept one proof worked each kind's out again at every change of
//! kind (about 175 instructions, where a streak's block takes about 200).
//!
//! A proof stays true while the node's hint only moves forward by another
//! streak's search-free step: its first pass still starts from the hint
//! (the hint stays past each requested start), and the pages it read free
//! from the hint on (`free_until`) are still free past the new hint, since
//! such a step reserves pages below the new hint only. A stretch that ends
//! below the new hint lets no block through. Any other change to the node
//! (a search, a reservation, a free that lowers the hint or changes a bit)
//! drops every proof ([`Proofs::forget_all`]).

use crate::address::PageSize;
use crate::search::SearchRequest;
use crate::sequential::{Proof, StreakId};

/// Proofs a node keeps at once: two kinds of request taking turns on one
/// node each keep theirs (sixty-four bytes a node).
pub(crate) const PROOF_SLOTS: usize = 2;

/// A node's proofs ([`Proof`]), each for one streak at one step, the one
/// used last first: a run of one kind finds its proof in the first slot,
/// as it did when a node kept one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Proofs {
    /// In the order they were last used, the most recent first.
    slots: [Option<Proof>; PROOF_SLOTS],
}

impl Proofs {
    /// No proof.
    pub(crate) const NONE: Self = Self {
        slots: [None; PROOF_SLOTS],
    };

    /// The proof used last, if any: a run of one kind's requests finds
    /// its proof here.
    #[inline(always)]
    pub(crate) fn front(&self) -> Option<&Proof> {
        self.slots[0].as_ref()
    }

    /// A proof after the front one that serves `request` of streak
    /// `streak` ([`Proof::serves`]), if the node keeps one; it moves to the
    /// front.
    pub(crate) fn serving_later(
        &mut self,
        streak: StreakId,
        page: PageSize,
        request: &SearchRequest,
    ) -> Option<Proof> {
        self.find_later(|proof| proof.serves(streak, page, request))
    }

    /// A proof of streak `streak`, at whatever step, if the node keeps one.
    #[inline(always)]
    pub(crate) fn of_streak(&mut self, streak: StreakId) -> Option<Proof> {
        match self.slots[0] {
            Some(proof) if proof.belongs_to(streak) => Some(proof),
            _ => self.find_later(|proof| proof.belongs_to(streak)),
        }
    }

    /// A proof after the first that passes `test`; it trades places with
    /// the first.
    #[inline(always)]
    fn find_later(&mut self, test: impl Fn(&Proof) -> bool) -> Option<Proof> {
        let slot = self
            .slots
            .iter()
            .skip(1)
            .position(|proof| proof.as_ref().is_some_and(&test))?
            + 1;
        self.slots.swap(0, slot);
        self.slots[0]
    }

    /// Keeps `proof` in front: in place of the proof of its streak and
    /// step, else of the last one (with two slots, the one used least
    /// recently), the first moving there.
    #[inline(always)]
    pub(crate) fn store(&mut self, proof: Proof) {
        let same =
            |kept: &Option<Proof>| kept.is_some_and(|kept| kept.same_streak_and_step(&proof));
        if !same(&self.slots[0]) {
            let slot = self.slots.iter().position(same).unwrap_or(PROOF_SLOTS - 1);
            self.slots[slot] = self.slots[0];
        }
        self.slots[0] = Some(proof);
    }

    /// Drops every proof: the node changed otherwise than by a streak's
    /// search-free step.
    #[inline(always)]
    pub(crate) fn forget_all(&mut self) {
        self.slots = [None; PROOF_SLOTS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::PhysicalAddress;
    use crate::bitmap::{node_storage_words, Bitmap};
    use crate::search::NodeWindow;
    use crate::sequential::hint_is_next;
    use std::vec;

    fn request(align: u64, goal: u64) -> SearchRequest {
        SearchRequest {
            size: 64,
            align,
            goal: PhysicalAddress::new(goal),
            limit: None,
        }
    }

    /// A proof for `request` of `streak` on a free node of 64 pages, hint 0.
    fn proof(streak: StreakId, request: &SearchRequest) -> Proof {
        let bitmap = Bitmap::new_all_set(vec![0; node_storage_words(64) as usize], 64);
        let window = NodeWindow {
            start_frame: 0,
            end_frame: 64,
            last_end_offset: 0,
            hint_index: 0,
        };
        hint_is_next(&bitmap, &window, PageSize::SIZE_4KIB, request, streak)
    }

    /// The proof serving `request` of `streak`, looked for as a node does.
    fn serving(
        proofs: &mut Proofs,
        streak: StreakId,
        page: PageSize,
        request: &SearchRequest,
    ) -> Option<Proof> {
        match proofs.front() {
            Some(proof) if proof.serves(streak, page, request) => Some(*proof),
            _ => proofs.serving_later(streak, page, request),
        }
    }

    #[test]
    fn two_streaks_keep_their_proofs_side_by_side_and_a_third_takes_the_older_slot() {
        let page = PageSize::SIZE_4KIB;
        let (first, second, third) = (
            StreakId::FIRST,
            StreakId::FIRST.next(),
            StreakId::FIRST.next().next(),
        );
        let small = request(64, 0);
        let mut proofs = Proofs::NONE;
        assert!(serving(&mut proofs, first, page, &small).is_none());
        proofs.store(proof(first, &small));
        proofs.store(proof(second, &small));
        assert!(serving(&mut proofs, first, page, &small).is_some());
        assert!(serving(&mut proofs, second, page, &small).is_some());
        // The first was used last: the third takes the second's slot.
        assert!(serving(&mut proofs, first, page, &small).is_some());
        proofs.store(proof(third, &small));
        assert!(serving(&mut proofs, first, page, &small).is_some());
        assert!(serving(&mut proofs, second, page, &small).is_none());
        assert!(serving(&mut proofs, third, page, &small).is_some());
        proofs.forget_all();
        assert!(serving(&mut proofs, first, page, &small).is_none());
        assert!(proofs.of_streak(third).is_none());
    }

    #[test]
    fn a_streak_keeps_one_proof_per_step_and_a_new_one_replaces_its_own() {
        let page = PageSize::SIZE_4KIB;
        let streak = StreakId::FIRST;
        let (small, two_pages) = (request(64, 0), request(2 * 4096, 0));
        let mut proofs = Proofs::NONE;
        proofs.store(proof(streak, &small));
        proofs.store(proof(streak, &two_pages));
        assert!(serving(&mut proofs, streak, page, &small).is_some());
        assert!(serving(&mut proofs, streak, page, &two_pages).is_some());
        // The same streak and step again: its own slot, not the other's.
        proofs.store(proof(streak, &small));
        assert!(serving(&mut proofs, streak, page, &two_pages).is_some());
        assert!(proofs.of_streak(streak).is_some());
        assert!(proofs.of_streak(StreakId::FIRST.next()).is_none());
    }
}
