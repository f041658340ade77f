//! The kernel's own account of which memory must never be handed out again: reservations and live allocations, checked at every allocation and at the hand-off.
//!
//! The ledger is kept independently of bootmem's bitmap: every reservation
//! and every allocation the kernel makes is written here too. A new
//! allocation must touch no page of a reservation (bootmem reserves whole
//! pages) and no byte of a live allocation (sub-page allocations share
//! pages); the hand-off must give no page the ledger claims.

use crate::exit::fail;

/// Entries the ledger holds: a few hundred burst allocations plus the rest.
const CAPACITY: usize = 1024;

/// What a claim is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimKind {
    /// Memory reserved before the first allocation: every page it touches.
    Reservation,
    /// A live allocation: exactly its bytes.
    Allocation,
}

/// Bytes `[start, end)` claimed for `label`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// What holds the memory.
    pub label: &'static str,
    /// Reservation or allocation.
    pub kind: ClaimKind,
    /// First byte.
    pub start: u64,
    /// Byte past the end.
    pub end: u64,
}

/// The claims, and (once [`seal`](Ledger::seal)ed) the frames they touch,
/// merged, in address order.
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
                kind: ClaimKind::Reservation,
                start: 0,
                end: 0,
            }; CAPACITY],
            count: 0,
            merged: [(0, 0); CAPACITY],
            merged_count: 0,
        }
    }

    /// The frames `[first, past)` the bytes `[start, end)` touch.
    fn frames(&self, start: u64, end: u64) -> (u64, u64) {
        let page = 1u64 << self.page_shift;
        (start >> self.page_shift, end.div_ceil(page))
    }

    /// Claims the reservation `[start, end)`: every page it touches.
    pub fn reserve(&mut self, label: &'static str, start: u64, end: u64) {
        self.push(Claim {
            label,
            kind: ClaimKind::Reservation,
            start,
            end,
        });
    }

    /// Claims the allocation `[start, end)` after checking that it touches
    /// no reserved page and no byte of a live allocation; fails the boot
    /// (naming both) if it does.
    pub fn allocate(&mut self, label: &'static str, start: u64, end: u64) {
        if let Some(other) = self.overlapping(start, end) {
            fail(format_args!(
                "allocation {label} {start:#x}-{end:#x} lands on {} {} {:#x}-{:#x}",
                match other.kind {
                    ClaimKind::Reservation => "the reservation",
                    ClaimKind::Allocation => "the live allocation",
                },
                other.label,
                other.start,
                other.end
            ));
        }
        self.push(Claim {
            label,
            kind: ClaimKind::Allocation,
            start,
            end,
        });
    }

    /// The first claim the new allocation `[start, end)` would collide with.
    fn overlapping(&self, start: u64, end: u64) -> Option<Claim> {
        let (first, past) = self.frames(start, end);
        self.claims()
            .iter()
            .copied()
            .find(|claim| match claim.kind {
                ClaimKind::Allocation => claim.start < end && start < claim.end,
                ClaimKind::Reservation => {
                    let (claim_first, claim_past) = self.frames(claim.start, claim.end);
                    claim.start < claim.end && claim_first < past && first < claim_past
                }
            })
    }

    fn push(&mut self, claim: Claim) {
        let Some(slot) = self.claims.get_mut(self.count) else {
            fail(format_args!("the ledger is full ({CAPACITY} claims)"));
        };
        *slot = claim;
        self.count += 1;
        self.merged_count = 0;
    }

    /// Drops the allocation of exactly the bytes `[start, end)` (freed).
    pub fn release(&mut self, start: u64, end: u64) {
        let claims = &mut self.claims[..self.count];
        let Some(index) = claims.iter().position(|claim| {
            claim.kind == ClaimKind::Allocation && claim.start == start && claim.end == end
        }) else {
            fail(format_args!(
                "the ledger has no allocation {start:#x}-{end:#x} to release"
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

    /// Computes the union of the frames the claims touch, for
    /// [`claimed`](Self::claimed) and [`claimed_frames_in`](Self::claimed_frames_in).
    pub fn seal(&mut self) {
        let mut frames = [(0u64, 0u64); CAPACITY];
        let frames = &mut frames[..self.count];
        for (slot, claim) in frames.iter_mut().zip(&self.claims[..self.count]) {
            *slot = if claim.end > claim.start {
                self.frames(claim.start, claim.end)
            } else {
                (0, 0)
            };
        }
        frames.sort_unstable();
        let mut merged = 0;
        for &(start, end) in frames.iter().filter(|(start, end)| end > start) {
            if merged > 0 && start <= self.merged[merged - 1].1 {
                let last = &mut self.merged[merged - 1];
                last.1 = last.1.max(end);
            } else {
                self.merged[merged] = (start, end);
                merged += 1;
            }
        }
        self.merged_count = merged;
    }

    fn union(&self) -> &[(u64, u64)] {
        &self.merged[..self.merged_count]
    }

    /// The first claimed run (of the sealed union) overlapping frames `[start, end)`.
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
