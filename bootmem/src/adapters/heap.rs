//! An early heap: `GlobalAlloc` (and `allocator_api2`'s `Allocator`) over bootmem's sub-page allocations.
//!
//! Before a kernel's real heap exists, [`LockedBootAllocator`] can serve
//! `alloc::vec::Vec`, `Box` and the rest as its `#[global_allocator]`. Each
//! request becomes one bootmem allocation of exactly `layout.size()` bytes
//! at `layout.align()`, with the goal of Linux's `alloc_bootmem` (the end of
//! ISA DMA memory, dropped when nothing fits above it). Small requests share
//! pages: bootmem places a block right after the previous one when it fits
//! in the same partly used page, as Linux does.
//!
//! **Freeing returns only whole pages**, exactly as `free_bootmem` does: the
//! pages lying wholly inside the freed block go back to the allocator; the
//! partly used pages at its two ends stay reserved, so many small
//! deallocations leak their bytes until the hand-off. This is a heap for
//! the few, mostly permanent, allocations of early boot, not a general one:
//! replace it once the page allocator runs.
//!
//! Pointers come from physical addresses through a [`DirectMap`]:
//! [`OffsetMapped`] (identity or a fixed offset) implements it.
//!
//! A failed or impossible request (no memory, a torn-down allocator, a zero
//! size) returns a null pointer ([`GlobalAlloc`]) or [`AllocError`]
//! (`allocator_api2`), never a panic. Do not let a `log` logger that
//! allocates run inside the allocator (the `log` feature logs under the
//! lock): a spin lock would wait for itself.
//!
//! ```
//! use std::alloc::{GlobalAlloc, Layout};
//! use bootmem::adapters::lock::LockedBootAllocator;
//! use bootmem::memory::OffsetMapped;
//! use bootmem::{Configuration, NodeId, PageFrameNumber, PhysicalAddress};
//!
//! // 1 MiB of simulated RAM at physical 16 MiB, backed by a page-aligned host buffer.
//! #[repr(C, align(4096))]
//! struct Ram([u8; 1 << 20]);
//! let ram: &'static mut Ram = Box::leak(Box::new(Ram([0xaa; 1 << 20])));
//! let offset = (ram as *mut Ram as u64).wrapping_sub(0x100_0000);
//! // SAFETY: physical [16 MiB, 17 MiB) is `ram`, leaked, used by nothing else.
//! let memory = unsafe { OffsetMapped::with_offset(offset) };
//!
//! let heap: LockedBootAllocator<spin::Mutex<()>, Vec<u64>, OffsetMapped, 1> =
//!     LockedBootAllocator::new(Configuration::X86_64, memory);
//! heap.with(|allocator| -> Result<(), Box<dyn std::error::Error>> {
//!     let frames = PageFrameNumber::new(0x1000)..PageFrameNumber::new(0x1100);
//!     allocator.register_node(NodeId::new(0), frames, vec![0; 4], None)?;
//!     allocator.free(PhysicalAddress::new(0x100_0000), 1 << 20)?;
//!     Ok(())
//! })??;
//!
//! let layout = Layout::from_size_align(24, 8)?;
//! // SAFETY: the layout's size is not zero.
//! let first = unsafe { heap.alloc(layout) };
//! let second = unsafe { heap.alloc(layout) };
//! assert_eq!(first as u64, offset.wrapping_add(0x100_0000));
//! assert_eq!(second as u64, first as u64 + 24); // packed into the same page
//! // SAFETY: zeroed by the allocator, 24 bytes long.
//! assert_eq!(unsafe { *first }, 0);
//! // SAFETY: both came from `heap.alloc(layout)`.
//! unsafe { heap.dealloc(first, layout); heap.dealloc(second, layout) };
//! // No whole page lay inside either block: their page stays reserved.
//! assert_eq!(heap.with(|allocator| allocator.free_pages())?, 0x100 - 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

use lock_api::RawMutex;

use super::lock::LockedBootAllocator;
use crate::address::PhysicalAddress;
use crate::allocator::AllocationRequest;
use crate::memory::{OffsetMapped, PhysicalMemory};

#[cfg(feature = "allocator-api2")]
pub use allocator_api2::alloc::AllocError;

/// Physical memory the processor reaches through a mapping the allocator
/// can compute in both directions: what turns a block's physical address
/// into the pointer a heap hands out, and back.
///
/// # Safety
///
/// For every physical address `p` of the allocator's nodes,
/// [`pointer_to`](Self::pointer_to)`(p)` must be valid for reads and writes
/// for as long as the allocator and the blocks it hands out live, distinct
/// physical addresses must give distinct pointers, and
/// [`physical_address_of`](Self::physical_address_of) must invert it.
pub unsafe trait DirectMap: PhysicalMemory {
    /// The pointer at which `physical` is reachable.
    fn pointer_to(&self, physical: PhysicalAddress) -> *mut u8;
    /// The physical address a pointer from [`pointer_to`](Self::pointer_to) came from.
    fn physical_address_of(&self, pointer: *mut u8) -> PhysicalAddress;
}

// SAFETY: `OffsetMapped`'s unsafe constructors require every node address
// `p` mapped writable at `p + offset` for the allocator's life; the map is a
// translation, so it is one-to-one and subtracting the offset inverts it.
unsafe impl DirectMap for OffsetMapped {
    fn pointer_to(&self, physical: PhysicalAddress) -> *mut u8 {
        self.virtual_address(physical) as *mut u8
    }

    fn physical_address_of(&self, pointer: *mut u8) -> PhysicalAddress {
        let offset = self.virtual_address(PhysicalAddress::ZERO) as u64;
        PhysicalAddress::new((pointer as usize as u64).wrapping_sub(offset))
    }
}

impl<R, Storage, Memory, const MAX_NODES: usize> LockedBootAllocator<R, Storage, Memory, MAX_NODES>
where
    R: RawMutex,
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: DirectMap,
{
    /// Allocates a block for `layout` and returns its pointer, or `None`
    /// (no memory, a zero size, or a torn-down allocator).
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use bootmem::adapters::lock::LockedBootAllocator;
    /// use bootmem::memory::OffsetMapped;
    /// use bootmem::{Configuration, NodeId, PageFrameNumber, PhysicalAddress};
    ///
    /// #[repr(C, align(4096))]
    /// struct Ram([u8; 8 * 4096]);
    /// let ram: &'static mut Ram = Box::leak(Box::new(Ram([0xff; 8 * 4096])));
    /// // SAFETY: physical [0, 32 KiB) is the leaked `ram`, used by nothing else.
    /// let memory = unsafe { OffsetMapped::with_offset(ram as *mut Ram as u64) };
    /// let heap: LockedBootAllocator<spin::Mutex<()>, Vec<u64>, OffsetMapped, 1> =
    ///     LockedBootAllocator::new(Configuration::X86_64, memory);
    /// heap.with(|allocator| {
    ///     allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(8), vec![0; 1], None).unwrap();
    ///     allocator.free(PhysicalAddress::new(0), 8 * 4096).unwrap();
    /// })?;
    /// let block = heap.allocate_layout(Layout::new::<[u64; 4]>()).unwrap();
    /// // SAFETY: 32 bytes, aligned for u64, zeroed by the allocator.
    /// assert_eq!(unsafe { block.cast::<[u64; 4]>().read() }, [0; 4]);
    /// assert!(heap.allocate_layout(Layout::from_size_align(9 * 4096, 8)?).is_none()); // no room
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allocate_layout(&self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() == 0 {
            return None;
        }
        let mut allocator = self.lock().ok()?;
        let request = AllocationRequest::new(layout.size() as u64)
            .aligned(layout.align() as u64)
            .goal(allocator.configuration().dma_limit);
        let address = allocator.allocate(&request).ok()?;
        NonNull::new(allocator.memory().pointer_to(address))
    }

    /// Frees the whole pages inside the block at `pointer` (as
    /// `free_bootmem` does); the partly used pages at its ends stay
    /// reserved.
    ///
    /// # Safety
    ///
    /// `pointer` must come from [`allocate_layout`](Self::allocate_layout)
    /// (or this allocator's `GlobalAlloc`/`Allocator`) with the same
    /// `layout`, and must not be used afterwards.
    pub unsafe fn deallocate_layout(&self, pointer: NonNull<u8>, layout: Layout) {
        if let Ok(mut allocator) = self.lock() {
            let address = allocator.memory().physical_address_of(pointer.as_ptr());
            // The block was allocated here, so its whole pages are reserved
            // and the free cannot fail; if a caller broke the contract, the
            // error leaves the allocator unchanged.
            let _ = allocator.free(address, layout.size() as u64);
        }
    }
}

// SAFETY: every block is a bootmem allocation of `layout.size()` bytes at a
// multiple of `layout.align()`, whose pages stay reserved (never handed out
// again) until it is deallocated; `DirectMap` makes its pointer valid and
// unique. Allocation failure returns null, never unwinds.
unsafe impl<R, Storage, Memory, const MAX_NODES: usize> GlobalAlloc
    for LockedBootAllocator<R, Storage, Memory, MAX_NODES>
where
    R: RawMutex,
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: DirectMap,
{
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocate_layout(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        if let Some(pointer) = NonNull::new(pointer) {
            // SAFETY: the caller passes a pointer `alloc` returned for `layout`.
            unsafe { self.deallocate_layout(pointer, layout) };
        }
    }
}

// SAFETY: as for `GlobalAlloc`; zero-sized requests get a dangling pointer
// aligned to the layout, which is never dereferenced nor freed.
#[cfg(feature = "allocator-api2")]
unsafe impl<R, Storage, Memory, const MAX_NODES: usize> allocator_api2::alloc::Allocator
    for LockedBootAllocator<R, Storage, Memory, MAX_NODES>
where
    R: RawMutex,
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: DirectMap,
{
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let pointer = if layout.size() == 0 {
            dangling(layout)
        } else {
            self.allocate_layout(layout).ok_or(AllocError)?
        };
        Ok(NonNull::slice_from_raw_parts(pointer, layout.size()))
    }

    unsafe fn deallocate(&self, pointer: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: the caller passes a block `allocate` returned for `layout`.
            unsafe { self.deallocate_layout(pointer, layout) };
        }
    }
}

/// A non-null pointer aligned to `layout`, for zero-sized blocks.
#[cfg(feature = "allocator-api2")]
fn dangling(layout: Layout) -> NonNull<u8> {
    // The alignment is a non-zero power of two, so the pointer is non-null;
    // it carries no provenance and is never dereferenced.
    NonNull::new(layout.align() as *mut u8).unwrap_or(NonNull::dangling())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Configuration, NodeId, PageFrameNumber};
    use std::boxed::Box;
    use std::vec;
    use std::vec::Vec;

    /// Simulated RAM: 64 pages at physical 16 MiB.
    #[repr(C, align(4096))]
    struct Ram([u8; 64 * 4096]);

    type Heap = LockedBootAllocator<spin::Mutex<()>, Vec<u64>, OffsetMapped, 1>;

    /// Owns the simulated RAM through a raw pointer (a `Box` would be
    /// retagged when moved, invalidating the pointers the heap hands out).
    struct RamOwner(*mut Ram);

    impl Drop for RamOwner {
        fn drop(&mut self) {
            // SAFETY: the pointer came from `Box::into_raw` and is dropped once.
            drop(unsafe { Box::from_raw(self.0) });
        }
    }

    /// The heap, the offset of its simulated RAM, and the RAM (kept alive
    /// by the caller for as long as the heap is used).
    fn heap() -> (Heap, u64, RamOwner) {
        let ram = RamOwner(Box::into_raw(Box::new(Ram([0x55; 64 * 4096]))));
        let offset = (ram.0 as u64).wrapping_sub(0x100_0000);
        // SAFETY: physical [16 MiB, 16 MiB + 256 KiB) is `ram`, which the
        // caller keeps alive while it uses the heap, and nothing else uses.
        let memory = unsafe { OffsetMapped::with_offset(offset) };
        let heap = Heap::new(Configuration::X86_64, memory);
        heap.with(|allocator| {
            let frames = PageFrameNumber::new(0x1000)..PageFrameNumber::new(0x1040);
            allocator
                .register_node(NodeId::new(0), frames, vec![0; 1], None)
                .unwrap();
            allocator
                .free(PhysicalAddress::new(0x100_0000), 64 * 4096)
                .unwrap();
        })
        .unwrap();
        (heap, offset, ram)
    }

    fn free_pages(heap: &Heap) -> u64 {
        heap.with(|allocator| allocator.free_pages()).unwrap()
    }

    #[test]
    fn blocks_are_zeroed_aligned_and_only_whole_pages_come_back() {
        let (heap, offset, _ram) = heap();
        let small = Layout::from_size_align(10, 1).unwrap();
        let large = Layout::from_size_align(3 * 4096, 256).unwrap();
        let first = heap.allocate_layout(small).unwrap();
        let second = heap.allocate_layout(large).unwrap();
        assert_eq!((first.as_ptr() as u64).wrapping_sub(offset), 0x100_0000);
        // Aligned to 256 right after the 10 bytes, in the same page.
        assert_eq!((second.as_ptr() as u64).wrapping_sub(offset), 0x100_0100);
        // SAFETY: `second` is 3 pages long and allocated.
        let bytes = unsafe { core::slice::from_raw_parts(second.as_ptr(), 3 * 4096) };
        assert!(bytes.iter().all(|byte| *byte == 0));
        assert_eq!(free_pages(&heap), 64 - 4);
        // SAFETY: allocated above with this layout, not used again.
        unsafe { heap.deallocate_layout(second, large) };
        // Pages 1 and 2 lay wholly inside; pages 0 and 3 are partly used.
        assert_eq!(free_pages(&heap), 64 - 2);
    }

    #[test]
    fn zero_sizes_exhaustion_and_teardown_give_null() {
        let (heap, _, _ram) = heap();
        assert!(heap.allocate_layout(Layout::new::<()>()).is_none());
        let too_big = Layout::from_size_align(65 * 4096, 8).unwrap();
        // SAFETY: the layout's size is not zero.
        assert!(unsafe { heap.alloc(too_big) }.is_null());
        assert_eq!(free_pages(&heap), 64);
        assert!(heap.free_all().is_some());
        // SAFETY: as above.
        assert!(unsafe { heap.alloc(Layout::new::<u64>()) }.is_null());
    }

    #[cfg(feature = "allocator-api2")]
    #[test]
    fn allocator_api2_vectors_live_in_the_simulated_ram() {
        use allocator_api2::alloc::Allocator;
        let (heap, offset, _ram) = heap();
        let mut numbers = allocator_api2::vec::Vec::new_in(&heap);
        numbers.extend(0..1000u32);
        let start = (numbers.as_ptr() as u64).wrapping_sub(offset);
        assert!((0x100_0000..0x104_0000).contains(&start));
        assert_eq!(numbers.iter().sum::<u32>(), 999 * 1000 / 2);
        let empty = heap.allocate(Layout::new::<()>()).unwrap();
        assert_eq!(empty.len(), 0);
    }
}
