//! Cutting free runs into maximal aligned blocks a buffer at a time, with no branch per block.
//!
//! A free run `[start, end)` splits at one point, `boundary`: the first
//! multiple of `2^max_order` in `(start, end]` if there is one, else the
//! most aligned frame in `(start, end]`. Below it the block sizes are the
//! set bits of `boundary - start` in ascending order; above it come whole
//! blocks of the largest order, then the set bits of what is left in
//! descending order. Each of those two bit sets is written out by a loop
//! that writes a slot at every step and keeps it only where the bit is
//! set: at the default order a loop of `max_order` steps, unrolled, so the
//! processor never guesses how many blocks a run holds; at any other, up
//! to the set's highest bit, so a large maximum order costs a run no more
//! steps than its blocks need. The buffer is then handed on in one loop.

use super::{BlockKind, FreeBlock, DEFAULT_MAX_ORDER};
use crate::address::PageFrameNumber;
use crate::node_id::NodeId;

/// Blocks the buffer holds.
const CAPACITY: usize = 512;

/// The buffer is handed on once it holds this many blocks. Below it there
/// is room for a run's head and tail (`2 * 63` blocks at most) and
/// [`DIRECT`] blocks of the largest order.
const HAND_ON_AT: usize = 256;

/// A run with at least this many blocks of the largest order has them
/// handed on straight from a loop, not through the buffer.
const DIRECT: u64 = 32;

/// Where a slot keeps a block's order: above every page frame number (a
/// 64-bit address space has 2^52 frames of 4 KiB).
const ORDER_SHIFT: u32 = 58;

/// A slot's page frame bits.
const START_MASK: u64 = (1 << ORDER_SHIFT) - 1;

/// How one free run splits: see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Split {
    /// The split point.
    boundary: u64,
    /// Pages below `boundary`: their set bits are the head's blocks.
    head: u64,
    /// Blocks of the largest order from `boundary` on.
    whole: u64,
    /// Pages after those whole blocks: their set bits are the tail's blocks.
    tail: u64,
}

impl Split {
    /// The split of `[start, end)` (`start < end`) for blocks of at most
    /// `2^max_order` pages.
    fn of(start: u64, end: u64, max_order: u32) -> Self {
        let largest = 1u64 << max_order;
        // Both candidates are computed and one picked, without a branch
        // on a run's length. `start` is below `2^ORDER_SHIFT`, so rounding
        // it up cannot overflow.
        let aligned = (start + (largest - 1)) & !(largest - 1);
        // No multiple of `2^max_order` in `(start, end]`: split at the
        // frame of `(start, end]` with the most trailing zeros, `end` with
        // every bit below the highest bit where it differs from `start`
        // cleared. Head and tail are then shorter than `2^max_order` too.
        let most_aligned = end & (u64::MAX << (63 - (start ^ end).leading_zeros()));
        let boundary = if aligned <= end {
            aligned
        } else {
            most_aligned
        };
        let whole = (end - boundary) >> max_order;
        Self {
            boundary,
            head: boundary - start,
            whole,
            tail: end - boundary - (whole << max_order),
        }
    }
}

/// Blocks cut from free runs of one node, waiting to be handed on.
pub(super) struct BlockBuffer {
    node: NodeId,
    /// Each block as `start | order << ORDER_SHIFT`.
    slots: [u64; CAPACITY],
    len: usize,
}

impl BlockBuffer {
    pub(super) const fn new() -> Self {
        Self {
            node: NodeId::new(0),
            slots: [0; CAPACITY],
            len: 0,
        }
    }

    /// Cuts the free run `[start, end)` of `node` into blocks of at most
    /// `2^max_order` pages (`max_order <= 63`), handing blocks on to
    /// `function` whenever the buffer fills and before those of another
    /// node. Blocks come out in ascending order, as [`FreeBlock`]s. Page
    /// frame numbers stay below `2^ORDER_SHIFT`, as those of a 64-bit
    /// address space do.
    #[inline(always)]
    pub(super) fn cut<Accumulator>(
        &mut self,
        mut accumulator: Accumulator,
        node: NodeId,
        start: u64,
        end: u64,
        max_order: u32,
        function: &mut impl FnMut(Accumulator, FreeBlock) -> Accumulator,
    ) -> Accumulator {
        if start >= end {
            return accumulator;
        }
        debug_assert!(
            end <= START_MASK + 1,
            "page frames of a 64-bit address space"
        );
        if node != self.node {
            accumulator = self.hand_on(accumulator, function);
            self.node = node;
        }
        // At the default order the head and tail loops have a constant
        // length, which the compiler unrolls into straight-line code. At
        // any other they stop at the head's and the tail's highest bit,
        // so a large maximum order costs no more steps than a run needs.
        accumulator = if max_order == DEFAULT_MAX_ORDER {
            self.push_run(accumulator, node, start, end, DEFAULT_MAX_ORDER, function)
        } else {
            self.push_run(accumulator, node, start, end, max_order, function)
        };
        if self.len >= HAND_ON_AT {
            accumulator = self.hand_on(accumulator, function);
        }
        accumulator
    }

    /// The blocks of `[start, end)` of `node` in order: the head's into
    /// the buffer, the whole blocks into it or (when there are many)
    /// straight to `function` once the buffer is handed on, the tail's into
    /// the buffer.
    #[inline(always)]
    fn push_run<Accumulator>(
        &mut self,
        mut accumulator: Accumulator,
        node: NodeId,
        start: u64,
        end: u64,
        max_order: u32,
        function: &mut impl FnMut(Accumulator, FreeBlock) -> Accumulator,
    ) -> Accumulator {
        let split = Split::of(start, end, max_order);
        // Orders the head's and the tail's loops go through: at the default
        // order (a constant here once inlined) all below the largest, at
        // any other up to their highest set bit.
        let (head_orders, tail_orders) = if max_order == DEFAULT_MAX_ORDER {
            (max_order, max_order)
        } else {
            (bit_length(split.head), bit_length(split.tail))
        };
        self.push_head(split, head_orders);
        if split.whole >= DIRECT {
            accumulator = self.hand_on(accumulator, function);
            // At most 63 (the cap of `Teardown::set_max_order`): a byte.
            let order = max_order as u8;
            for index in 0..split.whole {
                let block = block(node, split.boundary + (index << max_order), order);
                accumulator = function(accumulator, block);
            }
        } else {
            self.push_whole(split, max_order);
        }
        self.push_tail(split, end, tail_orders);
        accumulator
    }

    /// Writes a block into slot `len`, keeping it only if `keep`; returns
    /// the new length. The slot index is masked, not checked: the callers
    /// keep `len` below [`CAPACITY`] (a power of two), and a local length
    /// keeps the loops free of a store and reload per slot.
    #[inline(always)]
    fn push(&mut self, len: usize, start: u64, order: u32, keep: bool) -> usize {
        let slot = len & (CAPACITY - 1);
        self.slots[slot] = start | u64::from(order) << ORDER_SHIFT;
        len + usize::from(keep)
    }

    /// The head's blocks, smallest first: the block of order `k` (bit `k`
    /// of `head`, for each `k` below `orders`) starts where the head's bits
    /// from `k` up end.
    #[inline(always)]
    fn push_head(&mut self, split: Split, orders: u32) {
        let mut len = self.len;
        for order in 0..orders {
            let start = split.boundary - (split.head & (u64::MAX << order));
            len = self.push(len, start, order, split.head >> order & 1 != 0);
        }
        self.len = len;
    }

    /// Blocks of the largest order from the split point on.
    #[inline(always)]
    fn push_whole(&mut self, split: Split, max_order: u32) {
        let mut len = self.len;
        for index in 0..split.whole {
            len = self.push(len, split.boundary + (index << max_order), max_order, true);
        }
        self.len = len;
    }

    /// The tail's blocks, largest first: the block of order `k` (bit `k`
    /// of `tail`, for each `k` below `orders`) starts where the tail's bits
    /// up to `k` begin, before `end`.
    #[inline(always)]
    fn push_tail(&mut self, split: Split, end: u64, orders: u32) {
        let mut len = self.len;
        for order in (0..orders).rev() {
            let below = (2u64 << order).wrapping_sub(1);
            len = self.push(
                len,
                end - (split.tail & below),
                order,
                split.tail >> order & 1 != 0,
            );
        }
        self.len = len;
    }

    /// Hands every buffered block on to `function`, in order, and empties
    /// the buffer.
    pub(super) fn hand_on<Accumulator>(
        &mut self,
        mut accumulator: Accumulator,
        function: &mut impl FnMut(Accumulator, FreeBlock) -> Accumulator,
    ) -> Accumulator {
        for &slot in &self.slots[..self.len] {
            // The order takes the slot's top six bits: below 64, a byte.
            let (start, order) = (slot & START_MASK, (slot >> ORDER_SHIFT) as u8);
            accumulator = function(accumulator, block(self.node, start, order));
        }
        self.len = 0;
        accumulator
    }
}

/// The number of bits up to the highest set bit of `value` (0 for 0).
#[inline(always)]
fn bit_length(value: u64) -> u32 {
    u64::BITS - value.leading_zeros()
}

fn block(node: NodeId, start: u64, order: u8) -> FreeBlock {
    FreeBlock {
        node,
        start: PageFrameNumber::new(start),
        order,
        kind: BlockKind::Free,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// The blocks of `[start, end)` one at a time: the largest aligned
    /// block that starts at the cursor and fits.
    fn one_at_a_time(start: u64, end: u64, max_order: u32) -> Vec<(u64, u8)> {
        let mut blocks = Vec::new();
        let mut cursor = start;
        while cursor < end {
            let order = crate::handoff::teardown::block_order(max_order, cursor, end);
            blocks.push((cursor, order));
            cursor += 1 << order;
        }
        blocks
    }

    fn cut_runs(runs: &[(u32, u64, u64)], max_order: u32) -> Vec<(u32, u64, u8)> {
        let mut buffer = BlockBuffer::new();
        let mut collect = |mut blocks: Vec<(u32, u64, u8)>, block: FreeBlock| {
            blocks.push((block.node.as_u32(), block.start.as_u64(), block.order));
            blocks
        };
        let mut blocks = Vec::new();
        for &(node, start, end) in runs {
            blocks = buffer.cut(
                blocks,
                NodeId::new(node),
                start,
                end,
                max_order,
                &mut collect,
            );
        }
        buffer.hand_on(blocks, &mut collect)
    }

    #[test]
    fn cutting_agrees_with_the_largest_block_at_a_time() {
        let mut random = crate::test_random::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut next = move || random.next_u64();
        for max_order in [0, 1, 2, 5, 10, 11, 20, 40, 62, 63] {
            let mut runs = Vec::new();
            let mut expected = Vec::new();
            let mut cursor = 0u64;
            let (count, widest) = if cfg!(miri) { (30, 9) } else { (300, 16) };
            for index in 0..count {
                let length_bits = next() % if max_order > 30 { 50 } else { widest };
                let length = 1 + next() % (1u64 << length_bits);
                let start = cursor + next() % 100;
                let end = start + length;
                let node = index / 100;
                runs.push((node, start, end));
                expected.extend(
                    one_at_a_time(start, end, max_order)
                        .into_iter()
                        .map(|(s, o)| (node, s, o)),
                );
                cursor = end;
            }
            // Runs at the top of a 64-bit address space's page frames.
            for (start, end) in [((1 << 52) - 5, 1 << 52), ((1 << 51) - 3, (1 << 51) + 9)] {
                runs.push((9, start, end));
                expected.extend(
                    one_at_a_time(start, end, max_order)
                        .into_iter()
                        .map(|(s, o)| (9, s, o)),
                );
            }
            assert_eq!(
                cut_runs(&runs, max_order),
                expected,
                "max order {max_order}"
            );
        }
    }

    #[test]
    fn split_points() {
        // A boundary of the largest order inside the run.
        assert_eq!(
            Split::of(3, 2000, 10),
            Split {
                boundary: 1024,
                head: 1021,
                whole: 0,
                tail: 976
            }
        );
        assert_eq!(
            Split::of(1024, 4096, 10),
            Split {
                boundary: 1024,
                head: 0,
                whole: 3,
                tail: 0
            }
        );
        // None: the most aligned frame in (start, end].
        assert_eq!(
            Split::of(5, 12, 10),
            Split {
                boundary: 8,
                head: 3,
                whole: 0,
                tail: 4
            }
        );
        assert_eq!(
            Split::of(8, 9, 10),
            Split {
                boundary: 9,
                head: 1,
                whole: 0,
                tail: 0
            }
        );
    }
}
