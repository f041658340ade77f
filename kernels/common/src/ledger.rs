//! The kernel's own account of which pages must never reach the page allocator: reservations and live allocations.
//!
//! The hand-off check compares what bootmem hands over with this ledger,
//! which is kept independently of bootmem's bitmap: every reservation and
//! every allocation the kernel makes is written here too, rounded to the
//! pages it touches.

use crate::exit::fail;

/// Entries the ledger holds: a few hundred burst allocations plus the rest.
const CAPACITY: usize = 1024;

/// Pages `[start, end)` claimed for `label`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// What holds the pages.
    pub label: &'static str,
    /// First page frame.
    pub start: u64,
    /// Frame past the end.
    pub end: u64,
}

/// The claims, and (once [`seal`](Ledger::seal)ed) their union in address order.
pub struct Ledger {
    page_shift: u32,
    claims: [Claim; CAPACITY],
    count: usize,
    merged: [(u64, u64); CAPACITY],
    merged_count: usize,
}

impl Ledger {
    /// An empty ledger for pages of `1 << page_shift` bytes.
    pub const fn new(page_shift: u32) -> Self {
        Self {
            page_shift,
            claims: [Claim {
                label: "",
                start: 0,
                end: 0,
            }; CAPACITY],
            count: 0,
            merged: [(0, 0); CAPACITY],
            merged_count: 0,
        }
    }

    /// Claims every page the bytes `[start, end)` touch.
    pub fn claim_bytes(&mut self, label: &'static str, start: u64, end: u64) {
        if end <= start {
            return;
        }
        let page = 1u64 << self.page_shift;
        let first = start >> self.page_shift;
        let past = end.div_ceil(page);
        self.claim_frames(label, first, past);
    }

    /// Claims the frames `[start, end)`.
    pub fn claim_frames(&mut self, label: &'static str, start: u64, end: u64) {
        let Some(slot) = self.claims.get_mut(self.count) else {
            fail(format_args!("the ledger is full ({CAPACITY} claims)"));
        };
        *slot = Claim { label, start, end };
        self.count += 1;
        self.merged_count = 0;
    }

    /// Drops the claim of exactly the bytes `[start, end)` (a freed allocation).
    pub fn release_bytes(&mut self, start: u64, end: u64) {
        let page = 1u64 << self.page_shift;
        let (first, past) = (start >> self.page_shift, end.div_ceil(page));
        let claims = &mut self.claims[..self.count];
        let Some(index) = claims
            .iter()
            .position(|claim| claim.start == first && claim.end == past)
        else {
            fail(format_args!(
                "the ledger has no claim of {start:#x}-{end:#x} to release"
            ));
        };
        claims.copy_within(index + 1.., index);
        self.count -= 1;
        self.merged_count = 0;
    }

    /// Every claim, in the order made.
    pub fn claims(&self) -> &[Claim] {
        &self.claims[..self.count]
    }

    /// Computes the union of the claims, for [`claimed`](Self::claimed) and
    /// [`claimed_frames_in`](Self::claimed_frames_in).
    pub fn seal(&mut self) {
        let mut sorted = self.claims;
        let sorted = &mut sorted[..self.count];
        sorted.sort_unstable_by_key(|claim| claim.start);
        let mut merged = 0;
        for claim in sorted.iter().filter(|claim| claim.end > claim.start) {
            if merged > 0 && claim.start <= self.merged[merged - 1].1 {
                let last = &mut self.merged[merged - 1];
                last.1 = last.1.max(claim.end);
            } else {
                self.merged[merged] = (claim.start, claim.end);
                merged += 1;
            }
        }
        self.merged_count = merged;
    }

    fn union(&self) -> &[(u64, u64)] {
        &self.merged[..self.merged_count]
    }

    /// The first claim (of the sealed union) overlapping frames `[start, end)`.
    pub fn claimed(&self, start: u64, end: u64) -> Option<(u64, u64)> {
        let union = self.union();
        // The first merged range ending after `start`.
        let index = union.partition_point(|&(_, claim_end)| claim_end <= start);
        union
            .get(index)
            .copied()
            .filter(|&(claim_start, _)| claim_start < end)
    }

    /// How many frames of `[start, end)` the sealed union covers.
    pub fn claimed_frames_in(&self, start: u64, end: u64) -> u64 {
        self.union()
            .iter()
            .map(|&(claim_start, claim_end)| {
                claim_end.min(end).saturating_sub(claim_start.max(start))
            })
            .sum()
    }
}
