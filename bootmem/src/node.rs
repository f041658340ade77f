//! One node's allocator (Linux's `bootmem_data`): its frames, bitmap, hint and last end.

use crate::address::{PageFrameNumber, PageSize, PhysicalAddress};
use crate::bitmap::{node_storage_words, Bitmap};
use crate::node_id::NodeId;
use crate::search::{self, NodeWindow, Placement, SearchRequest};
use crate::trace;

/// The pages that hold a node's bitmap, when the bitmap lives in the
/// physical memory the allocator manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BitmapFrames {
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// One registered node.
#[derive(Debug)]
pub(crate) struct NodeAllocator<Storage> {
    pub(crate) id: NodeId,
    /// First frame (`node_min_pfn`).
    pub(crate) start_frame: u64,
    /// Exclusive end frame (`node_low_pfn`).
    pub(crate) end_frame: u64,
    pub(crate) bitmap: Bitmap<Storage>,
    /// Where the bitmap lies in physical memory (`mapstart`), if it does.
    pub(crate) bitmap_frames: Option<BitmapFrames>,
    /// Node-relative byte offset of the end of the last allocation.
    pub(crate) last_end_offset: u64,
    /// Node-relative page index where the next search starts.
    pub(crate) hint_index: u64,
    /// Whether the search scans bit by bit, as Linux does (benchmarks and
    /// differential tests only).
    pub(crate) bit_by_bit: bool,
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>> NodeAllocator<Storage> {
    /// A node over `[start_frame, end_frame)` with every page reserved. The
    /// caller has validated the range and the storage size.
    pub(crate) fn new(
        id: NodeId,
        start_frame: u64,
        end_frame: u64,
        storage: Storage,
        bitmap_frames: Option<BitmapFrames>,
    ) -> Self {
        let pages = end_frame - start_frame;
        debug_assert!(storage.as_ref().len() as u64 >= node_storage_words(pages));
        Self {
            id,
            start_frame,
            end_frame,
            bitmap: Bitmap::new_all_set(storage, pages),
            bitmap_frames,
            last_end_offset: 0,
            hint_index: 0,
            bit_by_bit: false,
        }
    }

    /// Pages the node covers.
    pub(crate) fn pages(&self) -> u64 {
        self.end_frame - self.start_frame
    }

    /// Whether `frame` lies in the node.
    pub(crate) fn contains(&self, frame: u64) -> bool {
        self.start_frame <= frame && frame < self.end_frame
    }

    fn window(&self) -> NodeWindow {
        NodeWindow {
            start_frame: self.start_frame,
            end_frame: self.end_frame,
            last_end_offset: self.last_end_offset,
            hint_index: self.hint_index,
        }
    }

    /// Where `request` would land on this node, without changing anything.
    pub(crate) fn find(&self, page: PageSize, request: &SearchRequest) -> Option<Placement> {
        trace::allocation_attempt(self.id, page, request);
        let window = self.window();
        if self.bit_by_bit {
            crate::reference::find_placement(&self.bitmap, &window, page, request)
        } else {
            search::find_placement(&self.bitmap, &window, page, request)
        }
    }

    /// Applies a placement found by [`find`](Self::find): reserves its pages
    /// and moves the hint and last end. Returns the block's address.
    pub(crate) fn commit(&mut self, page: PageSize, placement: &Placement) -> PhysicalAddress {
        self.last_end_offset = placement.end_offset;
        self.hint_index = page.pages_for(placement.end_offset);
        self.bitmap
            .set_range(placement.reserve_from, placement.reserve_to);
        // Within the node, whose end address fits in 64 bits.
        PhysicalAddress::new((self.start_frame << page.shift()) + placement.start_offset)
    }

    /// Node-relative index of an absolute frame of the node (or its end).
    pub(crate) fn index_of(&self, frame: u64) -> u64 {
        frame - self.start_frame
    }

    /// The first absolute frame in `[from, to)` that is free, if any.
    pub(crate) fn first_free(&self, from: u64, to: u64) -> Option<u64> {
        let (from, to) = (self.index_of(from), self.index_of(to));
        let found = self.bitmap.next_clear(from, to);
        (found < to).then(|| found + self.start_frame)
    }

    /// The first absolute frame in `[from, to)` that is reserved, if any.
    pub(crate) fn first_reserved(&self, from: u64, to: u64) -> Option<u64> {
        let (from, to) = (self.index_of(from), self.index_of(to));
        let found = self.bitmap.next_set(from, to);
        (found < to).then(|| found + self.start_frame)
    }

    /// Marks absolute frames `[from, to)` reserved (an empty or inverted range does nothing).
    pub(crate) fn reserve_frames(&mut self, from: u64, to: u64) {
        if from < to {
            let (from, to) = (self.index_of(from), self.index_of(to));
            self.bitmap.set_range(from, to);
        }
    }

    /// Linux's `__free` on absolute frames `[from, to)`: lowers the hint to
    /// the start of the range, even an empty or inverted one, and clears the
    /// bits. The caller re-reserves bitmap pages afterwards.
    pub(crate) fn free_frames(&mut self, from: u64, to: u64) {
        let from_index = from - self.start_frame;
        self.hint_index = self.hint_index.min(from_index);
        if from < to {
            self.bitmap.clear_range(from_index, self.index_of(to));
        }
    }

    /// Free pages in the node.
    pub(crate) fn free_pages(&self) -> u64 {
        self.bitmap.count_clear()
    }

    /// Whether absolute `frame` of the node is reserved.
    pub(crate) fn is_reserved(&self, frame: u64) -> bool {
        self.bitmap.is_set(self.index_of(frame))
    }

    /// The node's first frame as a typed value.
    pub(crate) fn start(&self) -> PageFrameNumber {
        PageFrameNumber::new(self.start_frame)
    }

    /// The node's exclusive end frame as a typed value.
    pub(crate) fn end(&self) -> PageFrameNumber {
        PageFrameNumber::new(self.end_frame)
    }
}
