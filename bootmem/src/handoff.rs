//! Teardown: every free page handed out as `(frame, order)` blocks, then the bitmaps.
//!
//! This is Linux's `free_all_bootmem`: a page allocator takes over every
//! page bootmem left free. [`HandOff`] owns what is left of the allocator,
//! so nothing can allocate after it; it yields the free pages node by node
//! in address order, then every bitmap page that lives in physical memory
//! (their contents are read up to the last free block, so they come last).

use crate::address::PageFrameNumber;
use crate::bitmap::BITS_PER_WORD;
use crate::node::NodeAllocator;
use crate::node_id::NodeId;
use crate::trace;

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
    /// Its first page frame.
    pub start: PageFrameNumber,
    /// log2 of its page count: 0 or 6 (64 pages), as in Linux.
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

/// Single free pages still to hand out from one 64-page group.
#[derive(Clone, Copy, Debug)]
struct PendingPages {
    first: u64,
    flags: u64,
}

/// The teardown iterator returned by
/// [`BootAllocator::free_all`](crate::BootAllocator::free_all).
///
/// ```
/// use bootmem::{BlockKind, BootAllocator, Configuration, FrameRange, NodeId, PageFrameNumber, PhysicalAddress};
/// use bootmem::memory::NoZeroing;
/// let mut allocator: BootAllocator<Vec<u64>, NoZeroing, 1> = BootAllocator::new(Configuration::X86_64, NoZeroing);
/// allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(200), vec![0; 4], FrameRange::new(PageFrameNumber::new(0), PageFrameNumber::new(1))).unwrap();
/// allocator.free(PhysicalAddress::new(0), 200 * 4096).unwrap();
/// let blocks: Vec<_> = allocator.free_all().collect();
/// // Frame 0 holds the bitmap; frames 1..64 go one by one, 64..192 as two blocks of 64.
/// assert_eq!(blocks.iter().filter(|block| block.order == 6).count(), 2);
/// assert_eq!(blocks.iter().map(|block| block.pages()).sum::<u64>(), 200);
/// assert_eq!(blocks.last().unwrap().kind, BlockKind::Bitmap);
/// ```
#[derive(Debug)]
pub struct HandOff<Storage, const MAX_NODES: usize> {
    nodes: [Option<NodeAllocator<Storage>>; MAX_NODES],
    /// Position of the node being scanned, or of the node whose bitmap pages
    /// are being released.
    position: usize,
    /// Next absolute frame to look at in the scan.
    frame: Option<u64>,
    pending: Option<PendingPages>,
    /// Whether the scan is over and bitmap pages are being released.
    releasing_bitmaps: bool,
    /// Next bitmap frame to release of the node at `position`.
    bitmap_frame: Option<u64>,
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize> HandOff<Storage, MAX_NODES> {
    pub(crate) fn new(nodes: [Option<NodeAllocator<Storage>>; MAX_NODES]) -> Self {
        Self {
            nodes,
            position: 0,
            frame: None,
            pending: None,
            releasing_bitmaps: false,
            bitmap_frame: None,
        }
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

    fn next_free_block(&mut self) -> Option<FreeBlock> {
        loop {
            let node = self.nodes.get(self.position)?.as_ref()?;
            if let Some(pending) = self.pending.as_mut() {
                if pending.flags != 0 {
                    let offset = u64::from(pending.flags.trailing_zeros());
                    pending.flags &= pending.flags - 1;
                    return Some(FreeBlock {
                        node: node.id,
                        start: PageFrameNumber::new(pending.first + offset),
                        order: 0,
                        kind: BlockKind::Free,
                    });
                }
                self.pending = None;
            }
            let frame = *self.frame.get_or_insert_with(|| {
                trace::released(node.id, node.start_frame(), node.end_frame());
                node.start_frame()
            });
            if frame >= node.end_frame() {
                self.position += 1;
                self.frame = None;
                continue;
            }
            let flags = node.bitmap.free_flags_at(frame - node.start_frame());
            if frame % BITS_PER_WORD == 0 && flags == u64::MAX {
                self.frame = Some(frame + BITS_PER_WORD);
                return Some(FreeBlock {
                    node: node.id,
                    start: PageFrameNumber::new(frame),
                    order: BITS_PER_WORD.trailing_zeros(),
                    kind: BlockKind::Free,
                });
            }
            // Single pages up to the next multiple of 64.
            let group_end = (frame / BITS_PER_WORD + 1).saturating_mul(BITS_PER_WORD);
            let span = group_end - frame;
            let mask = if span >= BITS_PER_WORD {
                u64::MAX
            } else {
                (1 << span) - 1
            };
            self.pending = Some(PendingPages {
                first: frame,
                flags: flags & mask,
            });
            self.frame = Some(group_end);
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

impl<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize> Iterator
    for HandOff<Storage, MAX_NODES>
{
    type Item = FreeBlock;

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
