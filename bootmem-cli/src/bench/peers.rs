//! The peers measured beside bootmem: `bitmap-allocator` and `buddy_system_allocator`.

use std::alloc::Layout;

use bitmap_allocator::{BitAlloc, BitAlloc256M};
use buddy_system_allocator::FrameAllocator;

/// `bitmap-allocator`'s largest bitmap: 2^28 pages (1 TiB of 4 KiB pages).
pub struct BitmapPeer {
    bitmap: Box<BitAlloc256M>,
}

impl BitmapPeer {
    /// Pages it can manage.
    pub const CAPACITY: u64 = BitAlloc256M::CAP as u64;

    /// An empty bitmap (every page unavailable).
    pub fn new() -> Self {
        let layout = Layout::new::<BitAlloc256M>();
        // SAFETY: `BitAlloc256M` is nested arrays of `u16` bit sets: every
        // bit pattern is valid, and all zeroes is its `DEFAULT` (nothing
        // available). The layout is the type's own and not zero-sized; a
        // null result (out of memory) is refused before the box is made.
        let bitmap = unsafe {
            let pointer = std::alloc::alloc_zeroed(layout).cast::<BitAlloc256M>();
            assert!(!pointer.is_null(), "out of memory for bitmap-allocator");
            Box::from_raw(pointer)
        };
        Self { bitmap }
    }

    /// Makes frames `[start, end)` available.
    pub fn insert(&mut self, start: u64, end: u64) {
        self.bitmap.insert(start as usize..end as usize);
    }

    /// `alloc_contiguous` of `pages` pages aligned to `2^align_log2` pages.
    pub fn allocate(&mut self, pages: u64, align_log2: u32) -> Option<u64> {
        self.bitmap
            .alloc_contiguous(None, pages as usize, align_log2 as usize)
            .map(|frame| frame as u64)
    }
}

/// `buddy_system_allocator`'s frame allocator (orders up to 2^32 units).
pub struct BuddyPeer {
    frames: FrameAllocator<33>,
}

impl BuddyPeer {
    /// An empty allocator.
    pub fn new() -> Self {
        Self {
            frames: FrameAllocator::new(),
        }
    }

    /// Adds units `[start, end)`.
    pub fn insert(&mut self, start: u64, end: u64) {
        self.frames.add_frame(start as usize, end as usize);
    }

    /// `units` units aligned to `align` units (a power of two).
    pub fn allocate(&mut self, units: u64, align: u64) -> Option<u64> {
        let layout = Layout::from_size_align(units as usize, align as usize).ok()?;
        self.frames.alloc_aligned(layout).map(|unit| unit as u64)
    }
}
