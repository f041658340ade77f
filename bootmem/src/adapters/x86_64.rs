//! The `x86_64` crate's frame allocator traits over bootmem, and conversions to its address types.
//!
//! With the `x86_64` feature, a [`BootAllocator`] is a
//! [`FrameAllocator`] of 4 KiB, 2 MiB and 1 GiB frames, so the crate's
//! `Mapper`s (`OffsetPageTable`, `RecursivePageTable`...) take their page
//! table frames and their huge pages from bootmem. Each frame is one
//! bootmem allocation of the frame's size at the frame's alignment, which
//! gives its natural alignment; the goal is the allocator's
//! [`dma_limit`](crate::Configuration::dma_limit) (as for Linux's
//! `alloc_bootmem_pages`, so ISA DMA memory is used last) and the limit
//! 2^52, the end of what a [`PhysAddr`] can hold. [`FrameSource`] chooses
//! another goal, limit or node. Frames are zeroed through the allocator's
//! [`PhysicalMemory`], as every block is.
//!
//! ```
//! use bootmem::{BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress};
//! use bootmem::memory::NoZeroing;
//! use x86_64::structures::paging::{FrameAllocator, PhysFrame, Size1GiB, Size2MiB, Size4KiB};
//!
//! // 4 GiB of RAM on one node.
//! let mut allocator: BootAllocator<Vec<u64>, NoZeroing, 1> = BootAllocator::new(Configuration::X86_64, NoZeroing);
//! let frames = PageFrameNumber::new(0)..PageFrameNumber::new(0x10_0000);
//! allocator.register_node(NodeId::new(0), frames, vec![0; bootmem::node_storage_words(0x10_0000) as usize], None)?;
//! allocator.free(PhysicalAddress::new(0), 4 << 30)?;
//!
//! let table: PhysFrame<Size4KiB> = allocator.allocate_frame().unwrap();
//! let huge: PhysFrame<Size2MiB> = allocator.allocate_frame().unwrap();
//! let giant: PhysFrame<Size1GiB> = allocator.allocate_frame().unwrap();
//! assert_eq!(table.start_address().as_u64(), 0x100_0000); // at the goal, 16 MiB
//! assert_eq!(huge.start_address().as_u64(), 0x120_0000); // the next 2 MiB boundary
//! assert_eq!(giant.start_address().as_u64(), 1 << 30);
//! assert_eq!(PageFrameNumber::from(table), PageFrameNumber::new(0x1000));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use x86_64::addr::PhysAddrNotValid;
use x86_64::structures::paging::frame::PhysFrameRange;
use x86_64::structures::paging::{
    FrameAllocator, FrameDeallocator, PageSize as X86PageSize, PhysFrame, Size4KiB,
};
use x86_64::PhysAddr;

use crate::address::{FrameRange, PageFrameNumber, PhysicalAddress};
use crate::allocator::{AllocationRequest, BootAllocator, NodePreference};
use crate::memory::PhysicalMemory;
use crate::node_id::NodeId;

/// The exclusive end of the addresses a [`PhysAddr`] can hold: 2^52.
pub const PHYSICAL_ADDRESS_END: PhysicalAddress = PhysicalAddress::new(1 << 52);

/// A 4 KiB page frame's number, as bootmem counts frames with
/// [`Configuration::X86_64`](crate::Configuration::X86_64).
const SMALL_FRAME_SHIFT: u32 = 12;

impl From<PhysAddr> for PhysicalAddress {
    fn from(address: PhysAddr) -> Self {
        PhysicalAddress::new(address.as_u64())
    }
}

/// Fails for addresses at or above 2^52.
impl TryFrom<PhysicalAddress> for PhysAddr {
    type Error = PhysAddrNotValid;

    fn try_from(address: PhysicalAddress) -> Result<Self, Self::Error> {
        PhysAddr::try_new(address.as_u64())
    }
}

/// The frame's number in 4 KiB pages.
impl From<PhysFrame<Size4KiB>> for PageFrameNumber {
    fn from(frame: PhysFrame<Size4KiB>) -> Self {
        PageFrameNumber::new(frame.start_address().as_u64() >> SMALL_FRAME_SHIFT)
    }
}

/// The 4 KiB frame numbered `frame`; fails past 2^52.
impl TryFrom<PageFrameNumber> for PhysFrame<Size4KiB> {
    type Error = PhysAddrNotValid;

    fn try_from(frame: PageFrameNumber) -> Result<Self, Self::Error> {
        let address = frame
            .as_u64()
            .checked_mul(Size4KiB::SIZE)
            .ok_or(PhysAddrNotValid(u64::MAX))?;
        Ok(PhysFrame::containing_address(PhysAddr::try_new(address)?))
    }
}

/// The 4 KiB frames of an `x86_64` frame range (empty when it is inverted).
///
/// ```
/// use bootmem::{FrameRange, PageFrameNumber};
/// use x86_64::structures::paging::{PhysFrame, Size4KiB};
/// use x86_64::PhysAddr;
/// let start = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(0x1000));
/// let end = PhysFrame::containing_address(PhysAddr::new(0x5000));
/// let frames = FrameRange::from(PhysFrame::range(start, end));
/// assert_eq!((frames.start(), frames.end()), (PageFrameNumber::new(1), PageFrameNumber::new(5)));
/// ```
impl From<PhysFrameRange<Size4KiB>> for FrameRange {
    fn from(range: PhysFrameRange<Size4KiB>) -> Self {
        let start = PageFrameNumber::from(range.start);
        FrameRange::new(start, PageFrameNumber::from(range.end))
            .unwrap_or(FrameRange::empty_at(start))
    }
}

/// The `x86_64` range of the same 4 KiB frames; fails when an end lies at
/// or past 2^52.
impl TryFrom<FrameRange> for PhysFrameRange<Size4KiB> {
    type Error = PhysAddrNotValid;

    fn try_from(frames: FrameRange) -> Result<Self, Self::Error> {
        let start = PhysFrame::try_from(frames.start())?;
        let end = PhysFrame::try_from(frames.end())?;
        Ok(PhysFrame::range(start, end))
    }
}

/// The request for one frame of size `S` at its natural alignment, keeping
/// the goal, limit and node preference of `template`; the limit is capped
/// at [`PHYSICAL_ADDRESS_END`].
fn frame_request<S: X86PageSize>(template: &AllocationRequest) -> AllocationRequest {
    let limit = template.limit.map_or(PHYSICAL_ADDRESS_END, |limit| {
        limit.min(PHYSICAL_ADDRESS_END)
    });
    AllocationRequest {
        size: S::SIZE,
        alignment: S::SIZE,
        limit: Some(limit),
        ..*template
    }
}

/// Allocates one frame of size `S` for `template`.
fn allocate_frame_for<S, Storage, Memory, const MAX_NODES: usize>(
    allocator: &mut BootAllocator<Storage, Memory, MAX_NODES>,
    template: &AllocationRequest,
) -> Option<PhysFrame<S>>
where
    S: X86PageSize,
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    let address = allocator.allocate(&frame_request::<S>(template)).ok()?;
    // Below 2^52 and aligned to `S::SIZE` by the request: both checks hold.
    let start = PhysAddr::try_new(address.as_u64()).ok()?;
    PhysFrame::from_start_address(start).ok()
}

/// The request [`BootAllocator`]'s own [`FrameAllocator`] uses: any node,
/// goal at the end of ISA DMA memory.
fn default_template<Storage, Memory, const MAX_NODES: usize>(
    allocator: &BootAllocator<Storage, Memory, MAX_NODES>,
) -> AllocationRequest
where
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    AllocationRequest::new(1).goal(allocator.configuration().dma_limit)
}

// SAFETY: bootmem reserves a block's pages before returning it and never
// returns a reserved page again until it is freed, so each frame is unused.
unsafe impl<S, Storage, Memory, const MAX_NODES: usize> FrameAllocator<S>
    for BootAllocator<Storage, Memory, MAX_NODES>
where
    S: X86PageSize,
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    fn allocate_frame(&mut self) -> Option<PhysFrame<S>> {
        let template = default_template(self);
        allocate_frame_for(self, &template)
    }
}

impl<S, Storage, Memory, const MAX_NODES: usize> FrameDeallocator<S>
    for BootAllocator<Storage, Memory, MAX_NODES>
where
    S: X86PageSize,
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    /// Frees the frame's pages ([`BootAllocator::free`]). A frame that lies
    /// outside the nodes or holds a free page is left alone.
    unsafe fn deallocate_frame(&mut self, frame: PhysFrame<S>) {
        let _ = self.free(frame.start_address().into(), S::SIZE);
    }
}

/// A [`FrameAllocator`] over a borrowed [`BootAllocator`] with a goal,
/// limit and node preference of your choosing.
///
/// ```
/// use bootmem::adapters::x86_64::FrameSource;
/// use bootmem::{BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress};
/// use bootmem::memory::NoZeroing;
/// use x86_64::structures::paging::{FrameAllocator, PhysFrame, Size2MiB};
///
/// let mut allocator: BootAllocator<Vec<u64>, NoZeroing, 2> = BootAllocator::new(Configuration::X86_64, NoZeroing);
/// for (node, start, end) in [(0, 0, 0x8000), (1, 0x8000, 0x10000)] {
///     let storage = vec![0; bootmem::node_storage_words(end - start) as usize];
///     allocator.register_node(NodeId::new(node), PageFrameNumber::new(start)..PageFrameNumber::new(end), storage, None)?;
/// }
/// allocator.free(PhysicalAddress::new(0), 256 << 20)?;
///
/// // 2 MiB pages for node 1's own data.
/// let mut node_1 = FrameSource::new(&mut allocator).on_node(NodeId::new(1));
/// let frame: PhysFrame<Size2MiB> = node_1.allocate_frame().unwrap();
/// assert_eq!(frame.start_address().as_u64(), 0x800_0000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FrameSource<'a, Storage, Memory, const MAX_NODES: usize> {
    allocator: &'a mut BootAllocator<Storage, Memory, MAX_NODES>,
    template: AllocationRequest,
}

impl<'a, Storage, Memory, const MAX_NODES: usize> FrameSource<'a, Storage, Memory, MAX_NODES>
where
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    /// Frames from `allocator` with its default goal (the end of ISA DMA
    /// memory), no limit but 2^52, any node.
    pub fn new(allocator: &'a mut BootAllocator<Storage, Memory, MAX_NODES>) -> Self {
        let template = default_template(allocator);
        Self {
            allocator,
            template,
        }
    }

    /// Starts each search at `goal`.
    pub fn goal(mut self, goal: PhysicalAddress) -> Self {
        self.template.goal = goal;
        self
    }

    /// Keeps every frame below `limit` (exclusive, truncated to its page).
    pub fn limit(mut self, limit: PhysicalAddress) -> Self {
        self.template.limit = Some(limit);
        self
    }

    /// Tries `node` first ([`NodePreference::Prefer`]).
    pub fn on_node(mut self, node: NodeId) -> Self {
        self.template.preference = NodePreference::Prefer(node);
        self
    }

    /// The allocator underneath.
    pub fn allocator(&mut self) -> &mut BootAllocator<Storage, Memory, MAX_NODES> {
        self.allocator
    }
}

// SAFETY: as for `BootAllocator`'s own implementation.
unsafe impl<S, Storage, Memory, const MAX_NODES: usize> FrameAllocator<S>
    for FrameSource<'_, Storage, Memory, MAX_NODES>
where
    S: X86PageSize,
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    fn allocate_frame(&mut self) -> Option<PhysFrame<S>> {
        allocate_frame_for(self.allocator, &self.template)
    }
}

impl<S, Storage, Memory, const MAX_NODES: usize> FrameDeallocator<S>
    for FrameSource<'_, Storage, Memory, MAX_NODES>
where
    S: X86PageSize,
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    /// Frees the frame's pages, as [`BootAllocator`]'s implementation does.
    unsafe fn deallocate_frame(&mut self, frame: PhysFrame<S>) {
        let _ = self.allocator.free(frame.start_address().into(), S::SIZE);
    }
}

/// With the `lock_api` feature, a shared reference to a
/// [`LockedBootAllocator`](crate::adapters::lock::LockedBootAllocator) is a
/// frame allocator too: each frame takes the lock once, so every CPU can map
/// pages from one `static` (`mapper.map_to(page, frame, flags, &mut &BOOTMEM)`).
/// A torn-down allocator gives no frames.
///
/// ```
/// use bootmem::adapters::lock::LockedBootAllocator;
/// use bootmem::{memory::NoZeroing, Configuration, NodeId, PageFrameNumber, PhysicalAddress};
/// use x86_64::structures::paging::{FrameAllocator, PhysFrame, Size4KiB};
///
/// static BOOTMEM: LockedBootAllocator<spin::Mutex<()>, &'static mut [u64], NoZeroing, 1> =
///     LockedBootAllocator::new(Configuration::X86_64, NoZeroing);
/// let words = bootmem::node_storage_words(0x4000) as usize;
/// let storage: &'static mut [u64] = Box::leak(vec![0u64; words].into_boxed_slice());
/// BOOTMEM.with(|allocator| {
///     allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(0x4000), storage, None).unwrap();
///     allocator.free(PhysicalAddress::new(0), 64 << 20).unwrap();
/// })?;
/// let frame: PhysFrame<Size4KiB> = (&BOOTMEM).allocate_frame().unwrap();
/// assert_eq!(frame.start_address().as_u64(), 0x100_0000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// SAFETY: as for `BootAllocator`'s own implementation; the lock makes each
// allocation exclusive.
#[cfg(feature = "lock_api")]
unsafe impl<S, R, Storage, Memory, const MAX_NODES: usize> FrameAllocator<S>
    for &crate::adapters::lock::LockedBootAllocator<R, Storage, Memory, MAX_NODES>
where
    S: X86PageSize,
    R: lock_api::RawMutex,
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    fn allocate_frame(&mut self) -> Option<PhysFrame<S>> {
        let mut allocator = self.lock().ok()?;
        allocator.allocate_frame()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::NoZeroing;
    use crate::Configuration;
    use std::vec;
    use std::vec::Vec;
    use x86_64::structures::paging::{Size1GiB, Size2MiB};

    fn allocator(pages: u64) -> BootAllocator<Vec<u64>, NoZeroing, 2> {
        let mut allocator = BootAllocator::new(Configuration::X86_64, NoZeroing);
        let words = crate::node_storage_words(pages) as usize;
        let frames = PageFrameNumber::new(0)..PageFrameNumber::new(pages);
        allocator
            .register_node(NodeId::new(0), frames, vec![0; words], None)
            .unwrap();
        allocator
            .free(PhysicalAddress::new(0), pages << 12)
            .unwrap();
        allocator
    }

    #[test]
    fn every_size_comes_naturally_aligned_and_distinct() {
        let mut allocator = allocator(0x20_0000); // 8 GiB
        let small: PhysFrame<Size4KiB> = allocator.allocate_frame().unwrap();
        let huge: PhysFrame<Size2MiB> = allocator.allocate_frame().unwrap();
        let giant: PhysFrame<Size1GiB> = allocator.allocate_frame().unwrap();
        let second_giant: PhysFrame<Size1GiB> = allocator.allocate_frame().unwrap();
        assert_eq!(small.start_address().as_u64(), 0x100_0000);
        assert_eq!(huge.start_address().as_u64(), 0x120_0000);
        assert_eq!(giant.start_address().as_u64(), 1 << 30);
        assert_eq!(second_giant.start_address().as_u64(), 2 << 30);
        let used = 1 + 512 + 2 * 0x4_0000;
        assert_eq!(allocator.free_pages(), 0x20_0000 - used);
    }

    #[test]
    fn exhaustion_gives_none_and_changes_nothing() {
        let mut allocator = allocator(0x400); // 4 MiB: no 1 GiB frame
        let before = allocator.free_pages();
        assert_eq!(
            FrameAllocator::<Size1GiB>::allocate_frame(&mut allocator),
            None
        );
        assert_eq!(allocator.free_pages(), before);
    }

    #[test]
    fn deallocation_returns_the_frame() {
        let mut allocator = allocator(0x2000);
        let frame: PhysFrame<Size2MiB> = allocator.allocate_frame().unwrap();
        let before = allocator.free_pages();
        // SAFETY: the frame is not in use.
        unsafe { allocator.deallocate_frame(frame) };
        assert_eq!(allocator.free_pages(), before + 512);
        let again: PhysFrame<Size2MiB> = allocator.allocate_frame().unwrap();
        assert_eq!(again, frame);
    }

    #[test]
    fn a_limit_past_two_to_the_52_is_capped() {
        let template = AllocationRequest::new(1).limit(PhysicalAddress::new(u64::MAX));
        assert_eq!(
            frame_request::<Size4KiB>(&template).limit,
            Some(PHYSICAL_ADDRESS_END)
        );
        let below = AllocationRequest::new(1).limit(PhysicalAddress::new(0x1000_0000));
        let request = frame_request::<Size2MiB>(&below);
        assert_eq!(request.limit, Some(PhysicalAddress::new(0x1000_0000)));
        assert_eq!((request.size, request.alignment), (0x20_0000, 0x20_0000));
    }

    #[test]
    fn a_frame_source_keeps_its_goal_limit_and_node() {
        let mut allocator = allocator(0x2000); // 32 MiB
        let words = crate::node_storage_words(0x2000) as usize;
        let node_1 = PageFrameNumber::new(0x2000)..PageFrameNumber::new(0x4000);
        allocator
            .register_node(NodeId::new(1), node_1, vec![0; words], None)
            .unwrap();
        allocator
            .free(PhysicalAddress::new(0x200_0000), 0x200_0000)
            .unwrap();

        let mut source = FrameSource::new(&mut allocator);
        let at_dma_limit: PhysFrame<Size4KiB> = source.allocate_frame().unwrap();
        assert_eq!(at_dma_limit.start_address().as_u64(), 0x100_0000);
        let mut above = FrameSource::new(&mut allocator).goal(PhysicalAddress::new(0x180_0000));
        let at_goal: PhysFrame<Size4KiB> = above.allocate_frame().unwrap();
        assert_eq!(at_goal.start_address().as_u64(), 0x180_0000);
        let mut below = FrameSource::new(&mut allocator)
            .goal(PhysicalAddress::ZERO)
            .limit(PhysicalAddress::new(0x1000));
        let under_limit: PhysFrame<Size4KiB> = below.allocate_frame().unwrap();
        assert_eq!(under_limit.start_address().as_u64(), 0);
        assert_eq!(FrameAllocator::<Size4KiB>::allocate_frame(&mut below), None);
        let mut on_node_1 = FrameSource::new(&mut allocator).on_node(NodeId::new(1));
        let on_node: PhysFrame<Size2MiB> = on_node_1.allocate_frame().unwrap();
        assert_eq!(on_node.start_address().as_u64(), 0x200_0000);
        assert_eq!(on_node_1.allocator().free_pages(), 0x4000 - 3 - 512);

        let mut source = FrameSource::new(&mut allocator);
        // SAFETY: the frame is not in use.
        unsafe { source.deallocate_frame(on_node) };
        assert_eq!(allocator.free_pages(), 0x4000 - 3);
    }

    #[cfg(feature = "lock_api")]
    #[test]
    fn a_locked_allocator_gives_frames_until_torn_down() {
        use crate::adapters::lock::LockedBootAllocator;
        let locked: LockedBootAllocator<spin::Mutex<()>, _, _, 2> =
            LockedBootAllocator::from_allocator(allocator(0x2000));
        let first: PhysFrame<Size2MiB> = (&locked).allocate_frame().unwrap();
        let second: PhysFrame<Size2MiB> = (&locked).allocate_frame().unwrap();
        assert_eq!(second.start_address() - first.start_address(), 0x20_0000);
        assert!(locked.free_all().is_some());
        assert_eq!(
            FrameAllocator::<Size4KiB>::allocate_frame(&mut &locked),
            None
        );
    }

    #[test]
    fn conversions_round_trip_and_refuse_wide_addresses() {
        let address = PhysAddr::new(0x1234_5000);
        assert_eq!(
            PhysicalAddress::from(address),
            PhysicalAddress::new(0x1234_5000)
        );
        assert_eq!(
            PhysAddr::try_from(PhysicalAddress::new(0x1234_5000)).ok(),
            Some(address)
        );
        assert!(PhysAddr::try_from(PHYSICAL_ADDRESS_END).is_err());
        let frame = PhysFrame::<Size4KiB>::try_from(PageFrameNumber::new(0x12345)).unwrap();
        assert_eq!(frame.start_address(), address);
        assert_eq!(PageFrameNumber::from(frame), PageFrameNumber::new(0x12345));
        assert!(PhysFrame::<Size4KiB>::try_from(PageFrameNumber::new(1 << 40)).is_err());
        assert!(PhysFrame::<Size4KiB>::try_from(PageFrameNumber::new(u64::MAX)).is_err());
        let frames =
            FrameRange::new(PageFrameNumber::new(0x10), PageFrameNumber::new(0x20)).unwrap();
        let range = PhysFrameRange::<Size4KiB>::try_from(frames).unwrap();
        assert_eq!(range.start.start_address().as_u64(), 0x1_0000);
        assert_eq!(range.end.start_address().as_u64(), 0x2_0000);
        assert_eq!(FrameRange::from(range), frames);
        let inverted = PhysFrameRange {
            start: range.end,
            end: range.start,
        };
        assert!(FrameRange::from(inverted).is_empty());
        let wide = FrameRange::new(PageFrameNumber::new(0), PageFrameNumber::new(1 << 40)).unwrap();
        assert!(PhysFrameRange::<Size4KiB>::try_from(wide).is_err());
    }
}
