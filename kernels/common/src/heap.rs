//! The kernel heap: a block carved out of bootmem before the hand-off, managed by `buddy_system_allocator`'s heap.
//!
//! The page allocator chosen for the hand-off is `buddy_system_allocator`'s
//! `FrameAllocator`, a real buddy system; it keeps its free lists in
//! `BTreeSet`s and so needs `alloc`. Rather than a static array, the heap
//! is what a kernel would use: memory allocated with bootmem itself
//! (`alloc_bootmem_pages`), so it stays reserved across the hand-off and is
//! accounted for like every other allocation.

use buddy_system_allocator::LockedHeap;

/// Free-list orders of the heap: blocks up to 2^31 bytes.
const HEAP_ORDER: usize = 32;

#[global_allocator]
static HEAP: LockedHeap<HEAP_ORDER> = LockedHeap::empty();

/// Hands `[start, start + size)` to the global allocator.
///
/// # Safety
///
/// The range must be identity-mapped RAM allocated for this purpose (with
/// bootmem), never freed, and used by nothing else; call this once.
pub unsafe fn init(start: u64, size: u64) {
    // SAFETY: forwarded from the caller.
    unsafe { HEAP.lock().init(start as usize, size as usize) };
}

/// Bytes handed out by the heap right now.
pub fn used() -> usize {
    HEAP.lock().stats_alloc_actual()
}
