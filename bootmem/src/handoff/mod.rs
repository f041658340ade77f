//! Teardown: every free page handed out as maximal aligned `(frame, order)` blocks, then the bitmaps.
//!
//! This is Linux's `free_all_bootmem`: a page allocator takes over every
//! page bootmem left free. [`HandOff`] owns what is left of the allocator,
//! so nothing can allocate after it; it yields the free pages node by node
//! in address order as maximal naturally aligned blocks (up to order 10 by
//! default, as memblock hands memory over), then every bitmap page that
//! lives in physical memory (their contents are read up to the last free
//! block, so they come last).
//!
//! The free runs come from one pass over each node's summary
//! ([`FreeRuns`]), and [`cut`] turns each run into
//! blocks through a buffer. Taking blocks one by one (`next`) and folding
//! over them (`fold`, `release_with`) give the same blocks in the same
//! order; the fold is the fast one.

mod cut;

use crate::address::PageFrameNumber;
use crate::bitmap::FreeRuns;
use crate::node::NodeAllocator;
use crate::node_id::NodeId;
use crate::trace;

/// The largest block order handed out by default: memblock's (`MAX_ORDER - 1`).
const DEFAULT_MAX_ORDER: u32 = 10;

/// What a handed-out block held during boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// Pages that were free.
    Free,
    /// A page of a node's bitmap.
    Bitmap,
}

/// A naturally aligned run of `2^order` pages handed to the page allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreeBlock {
    /// The node whose allocator released it.
    pub node: NodeId,
    /// Its first page frame, a multiple of `2^order`.
    pub start: PageFrameNumber,
    /// log2 of its page count, at most the hand-off's maximum order.
    pub order: u32,
    /// Free memory or bitmap.
    pub kind: BlockKind,
}

impl FreeBlock {
    /// Pages in the block.
    pub const fn pages(&self) -> u64 {
        1 << self.order
    }
}

/// The free run of one node being cut into blocks: absolute frames `[start, end)`.
#[derive(Clone, Copy, Debug)]
struct FreeRun {
    node: NodeId,
    start: u64,
    end: u64,
}

/// The teardown iterator returned by
/// [`BootAllocator::free_all`](crate::BootAllocator::free_all).
///
/// Each node's free pages come out in ascending address order as maximal
/// naturally aligned blocks of at most `2^max_order` pages (order 10 by
/// default, as memblock's hand-off; see [`with_max_order`](Self::with_max_order)).
/// The scan finds each free run in one pass over the bitmap's summary, so
/// entirely free and entirely reserved stretches cost one summary bit per
/// 4096 pages and a leaf word is read only where a run starts or ends.
/// [`release_with`](Self::release_with) (or any `fold`) is the fast way
/// to take every block.
/// Every bitmap page then follows as an order-0 [`BlockKind::Bitmap`] block.
///
/// ```
/// use bootmem::{BlockKind, BootAllocator, Configuration, FrameRange, NodeId, PageFrameNumber, PhysicalAddress};
/// use bootmem::memory::NoZeroing;
/// let mut allocator: BootAllocator<Vec<u64>, NoZeroing, 1> = BootAllocator::new(Configuration::X86_64, NoZeroing);
/// let storage = vec![0; bootmem::node_storage_words(200) as usize];
/// allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(200), storage, FrameRange::new(PageFrameNumber::new(0), PageFrameNumber::new(1))).unwrap();
/// allocator.free(PhysicalAddress::new(0), 200 * 4096).unwrap();
/// let blocks: Vec<_> = allocator.free_all().collect();
/// // Frame 0 holds the bitmap; frames 1..200 go as blocks of 1, 2, 4, ... 64, 64, 8 pages.
/// let orders: Vec<u32> = blocks.iter().map(|block| block.order).collect();
/// assert_eq!(orders, [0, 1, 2, 3, 4, 5, 6, 6, 3, 0]);
/// assert_eq!(blocks.iter().map(|block| block.pages()).sum::<u64>(), 200);
/// assert_eq!(blocks.last().unwrap().kind, BlockKind::Bitmap);
/// ```
#[derive(Debug)]
pub struct HandOff<Storage, const MAX_NODES: usize> {
    nodes: [Option<NodeAllocator<Storage>>; MAX_NODES],
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

impl<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize> HandOff<Storage, MAX_NODES> {
    /// The largest block order handed out unless [`with_max_order`](Self::with_max_order) says otherwise.
    pub const DEFAULT_MAX_ORDER: u32 = DEFAULT_MAX_ORDER;

    pub(crate) fn new(nodes: [Option<NodeAllocator<Storage>>; MAX_NODES]) -> Self {
        Self {
            nodes,
            max_order: Self::DEFAULT_MAX_ORDER,
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

    /// Hands out free blocks of at most `2^order` pages (capped at 63).
    /// Call it before taking the first block.
    ///
    /// ```
    /// use bootmem::{BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress};
    /// use bootmem::memory::NoZeroing;
    /// let mut allocator: BootAllocator<Vec<u64>, NoZeroing, 1> = BootAllocator::new(Configuration::X86_64, NoZeroing);
    /// let storage = vec![0; bootmem::node_storage_words(4096) as usize];
    /// allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(4096), storage, None).unwrap();
    /// allocator.free(PhysicalAddress::new(0), 4096 * 4096).unwrap();
    /// let blocks: Vec<_> = allocator.free_all().with_max_order(6).collect();
    /// assert_eq!(blocks.len(), 64);
    /// assert!(blocks.iter().all(|block| block.order == 6));
    /// ```
    pub fn with_max_order(mut self, order: u32) -> Self {
        self.max_order = order.min(63);
        self
    }

    /// Hands every block to `release` and returns the number of pages
    /// released (Linux's return value of `free_all_bootmem`).
    pub fn release_with(self, mut release: impl FnMut(FreeBlock)) -> u64 {
        self.fold(0, |count, block| {
            release(block);
            count + block.pages()
        })
    }

    /// The number of pages released, discarding the blocks.
    pub fn count_pages(self) -> u64 {
        self.release_with(|_| {})
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

    fn next_free_block(&mut self) -> Option<FreeBlock> {
        loop {
            if let Some(block) = self.cut_block() {
                return Some(block);
            }
            if !self.advance_run() {
                return None;
            }
        }
    }

    /// Finds the next free run of the scan and makes it the current one;
    /// `false` once every node has been scanned.
    fn advance_run(&mut self) -> bool {
        loop {
            let Some(node) = self.nodes.get(self.position).and_then(Option::as_ref) else {
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

    fn next_bitmap_page(&mut self) -> Option<FreeBlock> {
        loop {
            let node = self.nodes.get(self.position)?.as_ref()?;
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
/// at most `max_order`.
#[inline(always)]
fn block_order(max_order: u32, start: u64, end: u64) -> u32 {
    let room = 63 - (end - start).leading_zeros();
    max_order.min(start.trailing_zeros()).min(room)
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize> Iterator
    for HandOff<Storage, MAX_NODES>
{
    type Item = FreeBlock;

    /// Cuts each free run into blocks in a tight loop (the hand-off of a
    /// TiB is a quarter of a million blocks or more), through a buffer
    /// so that no block costs a branch of its own.
    fn fold<Accumulator, Function>(
        mut self,
        init: Accumulator,
        mut function: Function,
    ) -> Accumulator
    where
        Function: FnMut(Accumulator, FreeBlock) -> Accumulator,
    {
        let mut accumulator = init;
        let mut buffer = cut::BlockBuffer::new();
        let max_order = self.max_order;
        // What is left of a run `next` had started cutting.
        let FreeRun { node, start, end } = self.run;
        accumulator = buffer.cut(accumulator, node, start, end, max_order, &mut function);
        self.run.start = end;
        if !self.releasing_bitmaps {
            // Each node's runs in a loop of their own, the scan's state in
            // registers.
            while let Some(node) = self.nodes.get(self.position).and_then(Option::as_ref) {
                let mut scan = self.scan.take().unwrap_or_else(|| start_scan(node));
                let base = node.start_frame();
                while let Some((start, end)) = scan.next_run(&node.bitmap) {
                    accumulator = buffer.cut(
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
        accumulator = buffer.hand_on(accumulator, &mut function);
        for block in self {
            accumulator = function(accumulator, block);
        }
        accumulator
    }

    fn next(&mut self) -> Option<FreeBlock> {
        if !self.releasing_bitmaps {
            if let Some(block) = self.next_free_block() {
                return Some(block);
            }
            self.releasing_bitmaps = true;
            self.position = 0;
        }
        self.next_bitmap_page()
    }
}
