//! The hand-off's progress over a slice of nodes: free runs cut into blocks, then bitmap pages.
//!
//! [`Teardown`] holds where the hand-off is (which node, which run, which
//! bitmap page) and reads the nodes it is given each time, so the same
//! steps serve the hand-off that owns the nodes ([`HandOff`](super::HandOff))
//! and the one that borrows them where they lie
//! ([`HandOffInPlace`](super::HandOffInPlace)).

use super::cut;
use super::{BlockKind, FreeBlock};
use crate::address::PageFrameNumber;
use crate::bitmap::FreeRuns;
use crate::node::NodeAllocator;
use crate::node_id::NodeId;
use crate::trace;

/// The free run of one node being cut into blocks: absolute frames `[start, end)`.
#[derive(Clone, Copy, Debug)]
struct FreeRun {
    node: NodeId,
    start: u64,
    end: u64,
}

/// Where a hand-off stands. The nodes are passed to every call, in
/// address order; a `None` slot ends them.
#[derive(Debug)]
pub(super) struct Teardown {
    /// Largest block order handed out.
    max_order: u32,
    /// Position of the node being scanned, or of the node whose bitmap pages
    /// are being released.
    position: usize,
    /// The scan of the node's free runs, once it has started.
    scan: Option<FreeRuns>,
    /// What is left of the free run being cut into blocks.
    run: FreeRun,
    /// Whether the scan is over and bitmap pages are being released.
    releasing_bitmaps: bool,
    /// Next bitmap frame to release of the node at `position`.
    bitmap_frame: Option<u64>,
}

impl Teardown {
    pub(super) const fn new(max_order: u32) -> Self {
        Self {
            max_order,
            position: 0,
            scan: None,
            run: FreeRun {
                node: NodeId::new(0),
                start: 0,
                end: 0,
            },
            releasing_bitmaps: false,
            bitmap_frame: None,
        }
    }

    /// Hands out free blocks of at most `2^order` pages, capped at 63 (a
    /// block of `2^64` pages would not fit a 64-bit address space).
    pub(super) fn set_max_order(&mut self, order: u32) {
        self.max_order = order.min(63);
    }

    /// The next block: free pages first, node by node, then bitmap pages.
    pub(super) fn next<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &mut self,
        nodes: &[Option<NodeAllocator<Storage>>],
    ) -> Option<FreeBlock> {
        if !self.releasing_bitmaps {
            if let Some(block) = self.next_free_block(nodes) {
                return Some(block);
            }
            self.releasing_bitmaps = true;
            self.position = 0;
        }
        self.next_bitmap_page(nodes)
    }

    /// Every remaining block, folded: each free run is cut into blocks in
    /// a tight loop (the hand-off of a TiB is a quarter of a million
    /// blocks or more), each block straight to `function`.
    pub(super) fn fold<Storage, Accumulator, Function>(
        mut self,
        nodes: &[Option<NodeAllocator<Storage>>],
        init: Accumulator,
        mut function: Function,
    ) -> Accumulator
    where
        Storage: AsRef<[u64]> + AsMut<[u64]>,
        Function: FnMut(Accumulator, FreeBlock) -> Accumulator,
    {
        let mut accumulator = init;
        let max_order = self.max_order;
        // What is left of a run `next` had started cutting.
        let FreeRun { node, start, end } = self.run;
        accumulator = cut::free_run(accumulator, node, start, end, max_order, &mut function);
        self.run.start = end;
        if !self.releasing_bitmaps {
            // Each node's runs in a loop of their own, the scan's state in
            // registers.
            while let Some(node) = nodes.get(self.position).and_then(Option::as_ref) {
                let mut scan = self.scan.take().unwrap_or_else(|| start_scan(node));
                let base = node.start_frame();
                while let Some((start, end)) = scan.next_run(&node.bitmap) {
                    accumulator = cut::free_run(
                        accumulator,
                        node.id,
                        base + start,
                        base + end,
                        max_order,
                        &mut function,
                    );
                }
                self.position += 1;
            }
        }
        while let Some(block) = self.next(nodes) {
            accumulator = function(accumulator, block);
        }
        accumulator
    }

    /// The next block of the current free run, if any is left.
    fn cut_block(&mut self) -> Option<FreeBlock> {
        let FreeRun { node, start, end } = self.run;
        if start >= end {
            return None;
        }
        let order = block_order(self.max_order, start, end);
        self.run.start += 1 << order;
        Some(FreeBlock {
            node,
            start: PageFrameNumber::new(start),
            order,
            kind: BlockKind::Free,
        })
    }

    fn next_free_block<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &mut self,
        nodes: &[Option<NodeAllocator<Storage>>],
    ) -> Option<FreeBlock> {
        loop {
            if let Some(block) = self.cut_block() {
                return Some(block);
            }
            if !self.advance_run(nodes) {
                return None;
            }
        }
    }

    /// Finds the next free run of the scan and makes it the current one;
    /// `false` once every node has been scanned.
    fn advance_run<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &mut self,
        nodes: &[Option<NodeAllocator<Storage>>],
    ) -> bool {
        loop {
            let Some(node) = nodes.get(self.position).and_then(Option::as_ref) else {
                return false;
            };
            let scan = self.scan.get_or_insert_with(|| start_scan(node));
            let Some((start, end)) = scan.next_run(&node.bitmap) else {
                self.position += 1;
                self.scan = None;
                continue;
            };
            self.run = FreeRun {
                node: node.id,
                start: node.start_frame() + start,
                end: node.start_frame() + end,
            };
            return true;
        }
    }

    fn next_bitmap_page<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &mut self,
        nodes: &[Option<NodeAllocator<Storage>>],
    ) -> Option<FreeBlock> {
        loop {
            let node = nodes.get(self.position)?.as_ref()?;
            if let Some(frames) = node.bitmap_frames {
                let frame = *self.bitmap_frame.get_or_insert(frames.start().as_u64());
                if frame < frames.end().as_u64() {
                    self.bitmap_frame = Some(frame + 1);
                    return Some(FreeBlock {
                        node: node.id,
                        start: PageFrameNumber::new(frame),
                        order: 0,
                        kind: BlockKind::Bitmap,
                    });
                }
            }
            self.position += 1;
            self.bitmap_frame = None;
        }
    }
}

/// The scan of `node`'s free runs from its first page, traced as Linux
/// traces `free_all_bootmem_core`.
fn start_scan<Storage: AsRef<[u64]> + AsMut<[u64]>>(node: &NodeAllocator<Storage>) -> FreeRuns {
    trace::released(node.id, node.start_frame(), node.end_frame());
    FreeRuns::new()
}

/// The largest order of a block starting at `start` inside `[start, end)`,
/// at most `max_order`: below 64, so a byte.
#[inline(always)]
pub(super) fn block_order(max_order: u32, start: u64, end: u64) -> u8 {
    let room = 63 - (end - start).leading_zeros();
    max_order.min(start.trailing_zeros()).min(room) as u8
}
