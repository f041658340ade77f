//! The registry's streaks, a few at once: requests of different goals and limits that take turns each keep their own.
//!
//! A boot's allocations come in kinds: most with `alloc_bootmem`'s goal
//! and no limit, some below the DMA limit (`_low`), some preferring a
//! node. Each kind is a streak of its own ([`Streak`]), and the kinds
//! interleave. With one streak at a time, every change of kind went back
//! to the node walk and a search, and the kind after it again. The table
//! keeps [`STREAK_SLOTS`] streaks; a new one takes a free slot, or the slot
//! after the one used last.
//!
//! A node keeps the proofs of two streaks (each named by its [`StreakId`],
//! [`crate::proofs`]), so two kinds taking turns on one node each keep
//! theirs; a third streak asking that node works its own out again, which
//! reads a word or two, where the walk and the search read many.

use crate::search::SearchRequest;
use crate::sequential::{Streak, StreakId, StreakOrigin};

/// A streak as its node is asked: which streak, and the registry position
/// of its node (two words, where the whole [`Streak`] is six).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StreakNode {
    /// The streak.
    pub(crate) id: StreakId,
    /// Registry position of its node.
    pub(crate) position: usize,
}

impl StreakNode {
    fn of(streak: &Streak) -> Self {
        Self {
            id: streak.id,
            position: streak.position,
        }
    }
}

/// Streaks the registry keeps at once.
pub(crate) const STREAK_SLOTS: usize = 4;

/// The streaks of one registry: up to [`STREAK_SLOTS`], no two with the
/// same goal and limit on the same node. The one used last is kept apart
/// and looked at first, so that a run of one kind costs one comparison;
/// there is a current one whenever there is any, so that a registry with
/// none (the reference search starts none) answers at once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Streaks {
    /// The streak used last.
    current: Option<Streak>,
    /// The others.
    others: [Option<Streak>; STREAK_SLOTS - 1],
    /// The slot of `others` the current streak goes to when a new one
    /// starts and no slot is free (each in turn).
    next_victim: usize,
    /// The identity the next streak gets.
    next_id: StreakId,
}

impl Streaks {
    /// No streak.
    pub(crate) const fn new() -> Self {
        Self {
            current: None,
            others: [None; STREAK_SLOTS - 1],
            next_victim: 0,
            next_id: StreakId::FIRST,
        }
    }

    /// The streak the node walk would continue for `request`: one whose
    /// node the walk tries first for the request's goal and limit.
    #[inline(always)]
    pub(crate) fn for_walk(&mut self, request: &SearchRequest) -> Option<StreakNode> {
        self.find(|streak| streak.origin == StreakOrigin::Walk && streak.matches(request))
    }

    /// The streak on the node at `position` for `request`'s goal and limit,
    /// whatever made it: either way, that node's proof for them.
    #[inline(always)]
    pub(crate) fn on_node(
        &mut self,
        position: usize,
        request: &SearchRequest,
    ) -> Option<StreakNode> {
        self.find(|streak| streak.position == position && streak.matches(request))
    }

    /// The first streak that passes `test`, the current one looked at
    /// first; it becomes the current one.
    #[inline(always)]
    fn find(&mut self, test: impl Fn(&Streak) -> bool) -> Option<StreakNode> {
        match &self.current {
            Some(streak) if test(streak) => Some(StreakNode::of(streak)),
            Some(_) => self.find_other(test),
            None => None,
        }
    }

    /// [`find`](Self::find) among the others: one that passes trades
    /// places with the current streak.
    #[inline(never)]
    fn find_other(&mut self, test: impl Fn(&Streak) -> bool) -> Option<StreakNode> {
        let slot = self
            .others
            .iter()
            .position(|streak| streak.as_ref().is_some_and(&test))?;
        core::mem::swap(&mut self.others[slot], &mut self.current);
        self.current.as_ref().map(StreakNode::of)
    }

    /// Starts a streak for `request` on the node at `position` (`origin`
    /// says why the request met it first); it becomes the current one,
    /// and the one it replaces goes to a free slot, or else to each slot
    /// in turn. A streak on that node with the same goal and limit is
    /// kept, with its proofs; one the walk made serves the requests
    /// preferring the node as well, so a walk's streak takes over a
    /// preferring one.
    pub(crate) fn start(&mut self, position: usize, origin: StreakOrigin, request: &SearchRequest) {
        if self.on_node(position, request).is_some() {
            // `on_node` made it the current one.
            if let Some(same) = &mut self.current {
                if origin == StreakOrigin::Walk {
                    same.origin = origin;
                }
            }
            return;
        }
        let slot = self
            .others
            .iter()
            .position(Option::is_none)
            .unwrap_or_else(|| {
                let victim = self.next_victim;
                self.next_victim = (victim + 1) % self.others.len();
                victim
            });
        self.others[slot] = self.current;
        self.current = Some(Streak::new(self.next_id, position, origin, request));
        self.next_id = self.next_id.next();
    }

    /// Ends the streak with identity `id` (its node had no room). When it
    /// was the current one, another (if any) takes its place.
    pub(crate) fn end(&mut self, id: StreakId) {
        for slot in core::iter::once(&mut self.current).chain(&mut self.others) {
            if slot.is_some_and(|streak| streak.id == id) {
                *slot = None;
            }
        }
        if self.current.is_none() {
            if let Some(other) = self.others.iter_mut().find(|slot| slot.is_some()) {
                self.current = other.take();
            }
        }
    }

    /// Ends every streak: the list of nodes changed, or every node may have.
    pub(crate) fn end_all(&mut self) {
        self.current = None;
        self.others = [None; STREAK_SLOTS - 1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::PhysicalAddress;
    use std::vec::Vec;

    fn request(goal: u64, limit: Option<u64>) -> SearchRequest {
        SearchRequest {
            size: 64,
            align: 64,
            goal: PhysicalAddress::new(goal),
            limit: limit.map(PhysicalAddress::new),
        }
    }

    #[test]
    fn streaks_of_other_goals_and_limits_stay_side_by_side() {
        let mut streaks = Streaks::new();
        let (usual, low) = (request(16 << 20, None), request(0, Some(1 << 32)));
        streaks.start(0, StreakOrigin::Walk, &usual);
        streaks.start(0, StreakOrigin::Walk, &low);
        let first = streaks.for_walk(&usual).unwrap();
        let second = streaks.for_walk(&low).unwrap();
        assert_ne!(first.id, second.id);
        assert!(streaks.for_walk(&request(0, None)).is_none());
        // Ending one leaves the other, whichever was the current one.
        streaks.end(first.id);
        assert!(streaks.for_walk(&usual).is_none());
        assert_eq!(streaks.for_walk(&low).unwrap().id, second.id);
        streaks.start(0, StreakOrigin::Walk, &usual);
        let third = streaks.for_walk(&usual).unwrap();
        streaks.end(third.id);
        assert_eq!(streaks.for_walk(&low).unwrap().id, second.id);
        streaks.end_all();
        assert!(streaks.for_walk(&low).is_none());
    }

    #[test]
    fn a_new_streak_keeps_the_one_used_last_and_replaces_the_others_in_turn() {
        let mut streaks = Streaks::new();
        let requests: Vec<_> = (0..STREAK_SLOTS as u64 + 3)
            .map(|goal| request(goal << 12, None))
            .collect();
        let kept = |streaks: &mut Streaks| -> Vec<bool> {
            let mut copy = *streaks;
            requests
                .iter()
                .map(|request| copy.for_walk(request).is_some())
                .collect()
        };
        for request in &requests[..STREAK_SLOTS] {
            streaks.start(1, StreakOrigin::Walk, request);
        }
        assert_eq!(
            kept(&mut streaks),
            [true, true, true, true, false, false, false]
        );
        // The first is used again (the fourth takes its slot); a new
        // streak keeps it and replaces the first slot's, the fourth; the
        // next replaces the second slot's, the second.
        streaks.for_walk(&requests[0]).unwrap();
        streaks.start(1, StreakOrigin::Walk, &requests[4]);
        assert_eq!(
            kept(&mut streaks),
            [true, true, true, false, true, false, false]
        );
        streaks.start(1, StreakOrigin::Walk, &requests[5]);
        assert_eq!(
            kept(&mut streaks),
            [true, false, true, false, true, true, false]
        );
        // The one used last always stays.
        streaks.for_walk(&requests[2]).unwrap();
        for request in &requests[..STREAK_SLOTS] {
            streaks.start(1, StreakOrigin::Walk, request);
            assert!(streaks.for_walk(&requests[2]).is_some());
        }
    }

    #[test]
    fn every_held_streak_is_found_whatever_keys_came_and_went() {
        // Streaks of many goals, limits and nodes, started and ended in
        // turn, slots replaced: each streak the table holds is found by
        // its key on its node; a key none holds is not.
        let mut streaks = Streaks::new();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut started: Vec<(SearchRequest, usize)> = Vec::new();
        for round in 0..2_000 {
            let value = next();
            let limit = (value & 1 == 0).then_some(((value >> 8) % 64) << 20);
            let key = request(((value >> 1) % 256) << 12, limit);
            let position = (value >> 40) as usize % 3;
            streaks.start(position, StreakOrigin::Walk, &key);
            started.push((key, position));
            if round % 7 == 0 {
                if let Some(found) = streaks.for_walk(&started[started.len() / 2].0) {
                    streaks.end(found.id);
                }
            }
            let held: Vec<Streak> = core::iter::once(streaks.current)
                .chain(streaks.others)
                .flatten()
                .collect();
            for streak in &held {
                let (key, position) = started
                    .iter()
                    .rev()
                    .find(|(key, position)| streak.matches(key) && *position == streak.position)
                    .unwrap();
                let mut copy = streaks;
                assert_eq!(
                    copy.on_node(*position, key).map(|found| found.id),
                    Some(streak.id)
                );
            }
            let unheld = request(1 << 40, None);
            assert!(streaks.for_walk(&unheld).is_none());
        }
    }

    #[test]
    fn one_streak_for_a_goal_and_limit_on_a_node_which_the_walk_takes_over() {
        let mut streaks = Streaks::new();
        let usual = request(16 << 20, None);
        streaks.start(2, StreakOrigin::Preferred, &usual);
        let preferring = streaks.on_node(2, &usual).unwrap();
        // Only requests preferring node 2 continue it.
        assert!(streaks.for_walk(&usual).is_none());
        // The walk's streak on the same node keeps its identity (and so
        // the node's proof), and now serves both kinds of request.
        streaks.start(2, StreakOrigin::Walk, &usual);
        let walk = streaks.for_walk(&usual).unwrap();
        assert_eq!(walk.id, preferring.id);
        assert_eq!(streaks.on_node(2, &usual).unwrap().id, preferring.id);
        // A preferring request's start changes nothing after that.
        streaks.start(2, StreakOrigin::Preferred, &usual);
        assert_eq!(streaks.for_walk(&usual).unwrap().id, preferring.id);
        // Another node, the same goal and limit: a streak of its own.
        streaks.start(3, StreakOrigin::Preferred, &usual);
        assert_ne!(streaks.on_node(3, &usual).unwrap().id, preferring.id);
    }
}
