//! Teardown: every free page handed out as maximal aligned `(frame, order)` blocks, then the bitmaps.
//!
//! This is Linux's `free_all_bootmem`: a page allocator takes over every
//! page bootmem left free. [`HandOff`] owns what is left of the allocator,
//! so nothing can allocate after it; [`HandOffInPlace`] borrows the
//! allocator's nodes where they lie (no copy of its node registry) and
//! leaves it without nodes. Both yield the free pages node by node
//! in address order as maximal naturally aligned blocks (up to order 10 by
//! default, as memblock hands memory over), then every bitmap page that
//! lives in physical memory (their contents are read up to the last free
//! block, so they come last).
//!
//! The free runs come from one pass over each node's summary
//! ([`FreeRuns`](crate::bitmap::FreeRuns)), and [`cut`] turns each run into
//! blocks, a step per block; [`teardown`] keeps the hand-off's place, and
//! [`in_place`] holds the hand-off that borrows the nodes. Taking blocks one by one (`next`) and folding
//! over them (`fold`, `release_with`) give the same blocks in the same
//! order; the fold is the fast one.

mod cut;
mod in_place;
mod teardown;

use crate::address::PageFrameNumber;
use crate::node::NodeAllocator;
use crate::node_id::NodeId;
pub use in_place::HandOffInPlace;
use teardown::Teardown;

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
    /// log2 of its page count, at most the hand-off's maximum order (63
    /// at most). A byte, so that a block is 16 bytes: a consumer that
    /// keeps it in memory (a list of blocks, or the bench's opaque sink)
    /// writes it in three stores, not four, and a TiB's hand-off is about
    /// 260 000 blocks.
    pub order: u8,
    /// Free memory or bitmap.
    pub kind: BlockKind,
}

// Sixteen bytes, as the field `order` promises.
const _: () = assert!(core::mem::size_of::<FreeBlock>() == 16);

impl FreeBlock {
    /// Pages in the block.
    pub const fn pages(&self) -> u64 {
        1 << self.order
    }
}

/// Hands every block of `blocks` to `release` through their `fold` (the
/// fast way, see [`HandOff`]) and returns the number of pages released.
fn release_each(
    blocks: impl Iterator<Item = FreeBlock>,
    mut release: impl FnMut(FreeBlock),
) -> u64 {
    blocks.fold(0, |count, block| {
        release(block);
        count + block.pages()
    })
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
/// It holds the allocator's nodes by value: taking it moves the node
/// registry (`MAX_NODES` slots of a few hundred bytes each).
/// [`BootAllocator::free_all_in_place`](crate::BootAllocator::free_all_in_place)
/// gives the same blocks without that copy.
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
/// let orders: Vec<u8> = blocks.iter().map(|block| block.order).collect();
/// assert_eq!(orders, [0, 1, 2, 3, 4, 5, 6, 6, 3, 0]);
/// assert_eq!(blocks.iter().map(|block| block.pages()).sum::<u64>(), 200);
/// assert_eq!(blocks.last().unwrap().kind, BlockKind::Bitmap);
/// ```
#[derive(Debug)]
pub struct HandOff<Storage, const MAX_NODES: usize> {
    nodes: [Option<NodeAllocator<Storage>>; MAX_NODES],
    teardown: Teardown,
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize> HandOff<Storage, MAX_NODES> {
    /// The largest block order handed out unless [`with_max_order`](Self::with_max_order) says otherwise.
    pub const DEFAULT_MAX_ORDER: u32 = DEFAULT_MAX_ORDER;

    pub(crate) fn new(nodes: [Option<NodeAllocator<Storage>>; MAX_NODES]) -> Self {
        Self {
            nodes,
            teardown: Teardown::new(DEFAULT_MAX_ORDER),
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
        self.teardown.set_max_order(order);
        self
    }

    /// Hands every block to `release` and returns the number of pages
    /// released (Linux's return value of `free_all_bootmem`).
    pub fn release_with(self, release: impl FnMut(FreeBlock)) -> u64 {
        release_each(self, release)
    }

    /// The number of pages released, discarding the blocks.
    pub fn count_pages(self) -> u64 {
        self.release_with(|_| {})
    }
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize> Iterator
    for HandOff<Storage, MAX_NODES>
{
    type Item = FreeBlock;

    /// Cuts each free run into blocks in a tight loop, each block straight
    /// to `function`.
    fn fold<Accumulator, Function>(self, init: Accumulator, function: Function) -> Accumulator
    where
        Function: FnMut(Accumulator, FreeBlock) -> Accumulator,
    {
        let Self { nodes, teardown } = self;
        teardown.fold(&nodes, init, function)
    }

    fn next(&mut self) -> Option<FreeBlock> {
        self.teardown.next(&self.nodes)
    }
}
