//! The allocator: registered nodes, allocation requests, frees and reservations.
//!
//! [`BootAllocator`] is the idiomatic front of the crate. Every method checks
//! its arguments and the whole affected range before it changes anything, so
//! a call that returns an error leaves the allocator exactly as it was.

use core::ops::Range;

use crate::address::{FrameRange, PageFrameNumber, PhysicalAddress, PhysicalRange};
use crate::bitmap::{bitmap_bytes, bitmap_words, node_storage_words};
use crate::config::Configuration;
use crate::error::{AllocationError, RangeError, RegistrationError};
use crate::handoff::{HandOff, HandOffInPlace};
use crate::memory::PhysicalMemory;
use crate::node::NodeAllocator;
use crate::node_id::NodeId;
use crate::node_walk;
use crate::registry::NodeRegistry;
use crate::search::SearchRequest;
use crate::trace;

/// Which nodes an allocation may use, in what order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodePreference {
    /// Every node in address order (Linux's `__alloc_bootmem` family). A
    /// limit is kept for the whole call; `goal + size` past it is an error.
    AnyNode,
    /// This node first, then every node, first at the goal and then from 0
    /// (Linux's `__alloc_bootmem_node` family). A limit that `goal + size`
    /// passes is dropped, as Linux does.
    Prefer(NodeId),
    /// Like [`Prefer`](Self::Prefer), but first this node alone above 32-bit
    /// DMA memory when the node reaches 128 MiB past it (Linux's
    /// `__alloc_bootmem_node_high`). Any limit is ignored.
    PreferAboveDma32(NodeId),
}

/// One allocation request: size, alignment, goal, limit and node preference.
///
/// ```
/// use bootmem::{AllocationRequest, NodeId, NodePreference, PhysicalAddress};
/// let request = AllocationRequest::new(4096)
///     .aligned(4096)
///     .goal(PhysicalAddress::new(0x100_0000))
///     .limit(PhysicalAddress::new(0x1_0000_0000))
///     .on_node(NodeId::new(1));
/// assert_eq!(request.preference, NodePreference::Prefer(NodeId::new(1)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocationRequest {
    /// Bytes; must not be zero.
    pub size: u64,
    /// A power of two; the returned address is a multiple of it.
    pub alignment: u64,
    /// Where the search starts (truncated to its page); zero means the
    /// lowest address. When nothing fits above the goal, the search is
    /// repeated from zero.
    pub goal: PhysicalAddress,
    /// An exclusive upper bound, truncated to its page: the page holding an
    /// unaligned limit is not used. As in v4.19, a limit inside the first
    /// page stops the walk over all nodes but does not bound the search
    /// within the preferred node.
    pub limit: Option<PhysicalAddress>,
    /// Which nodes may serve the request.
    pub preference: NodePreference,
}

impl AllocationRequest {
    /// `size` bytes, aligned to 1, no goal, no limit, any node.
    pub const fn new(size: u64) -> Self {
        Self {
            size,
            alignment: 1,
            goal: PhysicalAddress::ZERO,
            limit: None,
            preference: NodePreference::AnyNode,
        }
    }

    /// Sets the alignment.
    pub const fn aligned(mut self, alignment: u64) -> Self {
        self.alignment = alignment;
        self
    }

    /// Sets the goal.
    pub const fn goal(mut self, goal: PhysicalAddress) -> Self {
        self.goal = goal;
        self
    }

    /// Sets the limit.
    pub const fn limit(mut self, limit: PhysicalAddress) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Prefers `node` ([`NodePreference::Prefer`]).
    pub const fn on_node(mut self, node: NodeId) -> Self {
        self.preference = NodePreference::Prefer(node);
        self
    }

    /// Sets the node preference.
    pub const fn preference(mut self, preference: NodePreference) -> Self {
        self.preference = preference;
        self
    }
}

/// Whether a reservation may overlap pages already reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReserveMode {
    /// Pages already reserved stay reserved (Linux's `BOOTMEM_DEFAULT`).
    Shared,
    /// Any page already reserved fails the call with
    /// [`RangeError::Busy`], changing nothing (Linux's `BOOTMEM_EXCLUSIVE`).
    Exclusive,
}

/// A node as registered: its number and page frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeSummary {
    /// The node's number.
    pub node: NodeId,
    /// Its first page frame.
    pub start: PageFrameNumber,
    /// Its exclusive end frame.
    pub end: PageFrameNumber,
    /// Its free pages now.
    pub free_pages: u64,
}

impl NodeSummary {
    /// Its frames, `[start, end)`.
    pub const fn frames(&self) -> FrameRange {
        match FrameRange::new(self.start, self.end) {
            Some(frames) => frames,
            None => FrameRange::empty_at(self.start),
        }
    }
}

/// Linux's boot-time allocator over up to `MAX_NODES` NUMA nodes.
///
/// - `Storage` holds one node's bitmap words (`&'static mut [u64]` in a
///   kernel, `Vec<u64>` on a host); see [`node_storage_words`].
/// - `Memory` zeroes handed-out blocks ([`PhysicalMemory`]).
/// - `MAX_NODES` is the registry's capacity; nothing is allocated on a heap.
///
/// Placement follows Linux v4.19 exactly, with the fixes listed in the
/// crate documentation.
///
/// ```
/// use bootmem::{AllocationRequest, BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress, ReserveMode};
/// use bootmem::memory::NoZeroing;
///
/// // One node of 64 MiB; its bitmap lives outside the managed memory.
/// let mut storage = vec![0u64; bootmem::node_storage_words(0x4000) as usize];
/// let mut allocator: BootAllocator<&mut [u64], NoZeroing, 4> =
///     BootAllocator::new(Configuration::X86_64, NoZeroing);
/// allocator
///     .register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(0x4000), &mut storage[..], None)
///     .unwrap();
/// // Every page starts reserved: free the RAM, then reserve the kernel image.
/// allocator.free(PhysicalAddress::new(0), 64 << 20).unwrap();
/// allocator.reserve(PhysicalAddress::new(0x100_0000), 0x20_0000, ReserveMode::Exclusive).unwrap();
///
/// let table = allocator
///     .allocate(&AllocationRequest::new(100).aligned(64).goal(PhysicalAddress::new(0x100_0000)))
///     .unwrap();
/// assert_eq!(table, PhysicalAddress::new(0x120_0000));
///
/// let released = allocator.free_all().count_pages();
/// assert_eq!(released, 0x4000 - 0x200 - 1);
/// ```
#[derive(Debug)]
pub struct BootAllocator<Storage, Memory, const MAX_NODES: usize> {
    configuration: Configuration,
    memory: Memory,
    registry: NodeRegistry<Storage, MAX_NODES>,
    bit_by_bit: bool,
}

impl<Storage, Memory, const MAX_NODES: usize> BootAllocator<Storage, Memory, MAX_NODES>
where
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    /// An allocator with no nodes.
    pub const fn new(configuration: Configuration, memory: Memory) -> Self {
        Self {
            configuration,
            memory,
            registry: NodeRegistry::new(),
            bit_by_bit: false,
        }
    }

    /// The machine constants in use.
    pub const fn configuration(&self) -> &Configuration {
        &self.configuration
    }

    /// How the allocator reaches physical memory (what zeroes its blocks).
    pub const fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Registers node `node` over `frames` (Linux's `init_bootmem_node`),
    /// with every page reserved, and returns the bitmap's size in bytes.
    ///
    /// `bitmap` must hold at least
    /// [`node_storage_words`]`(pages)` words. When
    /// the storage lives in physical memory, `bitmap_location` is the frames
    /// it occupies: they then stay reserved for as long as the allocator
    /// lives, in whichever node they lie (deviation 7), and the hand-off
    /// releases them last, as [`BlockKind::Bitmap`](crate::BlockKind::Bitmap)
    /// blocks. The allocator reserves them itself: callers need not (and
    /// [`setup::set_up`](crate::setup::set_up) does not) reserve them again.
    /// The value returned is Linux's bitmap size, [`bitmap_bytes`]`(pages)`.
    ///
    /// # Errors
    ///
    /// An empty range, an end address past 2^64, an overlap with a
    /// registered node, a number already registered, a full registry, or too
    /// small a storage.
    pub fn register_node(
        &mut self,
        node: NodeId,
        frames: Range<PageFrameNumber>,
        bitmap: Storage,
        bitmap_location: Option<FrameRange>,
    ) -> Result<u64, RegistrationError> {
        let Some(frames) =
            FrameRange::new(frames.start, frames.end).filter(|frames| !frames.is_empty())
        else {
            return Err(RegistrationError::EmptyRange {
                start: frames.start,
                end: frames.end,
            });
        };
        if frames.to_physical(self.configuration.page_size).is_none() {
            return Err(RegistrationError::AddressOverflow { end: frames.end() });
        }
        self.registry.check_new(node, frames)?;
        let pages = frames.len();
        let needed_words = node_storage_words(pages);
        let given_words = bitmap.as_ref().len() as u64;
        if given_words < needed_words {
            return Err(RegistrationError::BitmapTooSmall {
                needed_words,
                given_words,
            });
        }
        let mut allocator = NodeAllocator::new(node, frames, bitmap, bitmap_location);
        allocator.bit_by_bit = self.bit_by_bit;
        self.registry.insert(allocator);
        if let Some(location) = bitmap_location {
            self.registry.pin_bitmap(location);
        }
        let bytes = bitmap_bytes(pages);
        trace::registered(node, frames, bitmap_location, bytes);
        Ok(bytes)
    }

    /// Pages of bitmap a node of `pages` pages needs (Linux's
    /// `bootmem_bootmap_pages`).
    ///
    /// ```
    /// use bootmem::{BootAllocator, Configuration, memory::NoZeroing};
    /// let allocator: BootAllocator<Vec<u64>, NoZeroing, 1> = BootAllocator::new(Configuration::X86_64, NoZeroing);
    /// assert_eq!(allocator.bitmap_pages(0x8000), 1);
    /// assert_eq!(allocator.bitmap_pages(0x8001), 2);
    /// ```
    pub fn bitmap_pages(&self, pages: u64) -> u64 {
        self.configuration
            .page_size
            .pages_for(bitmap_words(pages) * 8)
    }

    /// Allocates a block (Linux's `___alloc_bootmem_nopanic` and
    /// `___alloc_bootmem_node_nopanic` families, by
    /// [`NodePreference`]). The block is zeroed for exactly `size` bytes
    /// through `Memory`.
    ///
    /// # Errors
    ///
    /// A misuse ([`AllocationError::is_misuse`]): an unregistered preferred
    /// node, a zero size, an alignment that is not a power of two, `goal +
    /// size` past 2^64, or, for [`NodePreference::AnyNode`] with a limit,
    /// `goal + size` past the limit. Otherwise
    /// [`AllocationError::OutOfMemory`] or
    /// [`AllocationError::NoMemoryBelowLimit`] when nothing fits.
    pub fn allocate(
        &mut self,
        request: &AllocationRequest,
    ) -> Result<PhysicalAddress, AllocationError> {
        let position = match request.preference {
            NodePreference::AnyNode => None,
            NodePreference::Prefer(node) | NodePreference::PreferAboveDma32(node) => Some(
                self.registry
                    .position_of(node)
                    .ok_or(AllocationError::NodeNotRegistered(node))?,
            ),
        };
        let size = request.size;
        if size == 0 {
            return Err(AllocationError::ZeroSize);
        }
        if !request.alignment.is_power_of_two() {
            return Err(AllocationError::AlignmentNotPowerOfTwo {
                alignment: request.alignment,
            });
        }
        let goal_end = request
            .goal
            .end_of_range(size)
            .ok_or(AllocationError::AddressOverflow {
                goal: request.goal,
                size,
            })?;
        if let (NodePreference::AnyNode, Some(limit)) = (request.preference, request.limit) {
            if goal_end > limit {
                return Err(AllocationError::GoalPastLimit {
                    goal: request.goal,
                    size,
                    limit,
                });
            }
        }
        let search = SearchRequest {
            size,
            align: request.alignment,
            goal: request.goal,
            limit: request.limit,
        };
        let page = self.configuration.page_size;
        let found = match (request.preference, position) {
            (NodePreference::Prefer(_), Some(position)) => {
                node_walk::preferred_node(&mut self.registry, position, page, &search)
            }
            (NodePreference::PreferAboveDma32(_), Some(position)) => {
                node_walk::preferred_node_above_dma32(
                    &mut self.registry,
                    position,
                    &self.configuration,
                    &search,
                )
            }
            _ => node_walk::any_node(&mut self.registry, page, &search),
        };
        match found {
            Some(address) => {
                self.memory.zero(address, size);
                Ok(address)
            }
            None => Err(match (request.preference, request.limit) {
                (NodePreference::PreferAboveDma32(_), _) | (_, None) => {
                    AllocationError::OutOfMemory { size }
                }
                (_, Some(limit)) => AllocationError::NoMemoryBelowLimit { size, limit },
            }),
        }
    }

    /// The bytes `[start, start + size)`, checked.
    fn physical_range(start: PhysicalAddress, size: u64) -> Result<PhysicalRange, RangeError> {
        PhysicalRange::from_start_and_size(start, size)
            .ok_or(RangeError::AddressOverflow { start, size })
    }

    /// The registry position of the node a `_node` free or reserve names.
    fn range_node(&self, node: NodeId) -> Result<usize, RangeError> {
        self.registry
            .position_of(node)
            .ok_or(RangeError::NodeNotRegistered(node))
    }

    /// Frees every page wholly inside `[start, start + size)` (Linux's
    /// `free_bootmem`). The range may span adjacent nodes. Partly covered
    /// pages and pages that hold a bitmap stay reserved. Each node's hint
    /// moves down to the start of its piece, so the next search looks there.
    ///
    /// # Errors
    ///
    /// An end past 2^64, a range whose first page lies in no node or that
    /// leaves the nodes or crosses a hole between them (even when no whole
    /// page lies inside it), or a page in it that is already free.
    pub fn free(&mut self, start: PhysicalAddress, size: u64) -> Result<(), RangeError> {
        let range = Self::physical_range(start, size)?;
        let frames = range.frames_inside(self.configuration.page_size);
        let pieces = self.registry.pieces(frames)?;
        self.free_pieces(pieces.positions(), frames)
    }

    /// Frees every page wholly inside `[start, start + size)` on one node
    /// (Linux's `free_bootmem_node`).
    ///
    /// # Errors
    ///
    /// As [`free`](Self::free), and a node that is not registered or that
    /// the rounded range leaves.
    pub fn free_on_node(
        &mut self,
        node: NodeId,
        start: PhysicalAddress,
        size: u64,
    ) -> Result<(), RangeError> {
        let position = self.range_node(node)?;
        let page = self.configuration.page_size;
        let range = Self::physical_range(start, size)?;
        let frames = range.frames_inside(page);
        // v4.19 checks the end as rounded, before an inverted range is
        // emptied: `PFN_DOWN(end)` may lie one below `PFN_UP(start)`.
        self.check_inside_node(position, frames.start(), page.frame_containing(range.end()))?;
        self.free_pieces(position..=position, frames)
    }

    /// Linux's `mark_bootmem_node` bounds on a rounded range: only `start <
    /// node start` and `end > node end` are refused, so a range inverted by
    /// rounding inside the node is allowed.
    fn check_inside_node(
        &self,
        position: usize,
        start: PageFrameNumber,
        end: PageFrameNumber,
    ) -> Result<(), RangeError> {
        let node = self.registry.get(position);
        if start < node.frames.start() || end > node.frames.end() {
            return Err(RangeError::OutsideNode {
                node: node.id,
                start,
                end,
            });
        }
        Ok(())
    }

    /// Frees `frames` over the nodes at `positions`, after checking that no
    /// page of it is already free.
    fn free_pieces(
        &mut self,
        positions: core::ops::RangeInclusive<usize>,
        frames: FrameRange,
    ) -> Result<(), RangeError> {
        for position in positions.clone() {
            let piece = self.registry.piece(position, frames);
            if let Some(frame) = self.registry.get(position).first_free(piece) {
                return Err(RangeError::PageAlreadyFree { frame });
            }
        }
        for position in positions {
            let piece = self.registry.piece(position, frames);
            let node = self.registry.get_mut(position);
            trace::marked(node.id, piece, false, 0);
            node.free_frames(piece);
            self.registry.protect_bitmaps(position, piece);
        }
        Ok(())
    }

    /// Reserves every page touched by `[start, start + size)` (Linux's
    /// `reserve_bootmem`). The range may span adjacent nodes.
    ///
    /// # Errors
    ///
    /// An end past 2^64, a range that lies in no node, leaves the nodes or
    /// crosses a hole, and with [`ReserveMode::Exclusive`] a page already
    /// reserved ([`RangeError::Busy`]). Nothing changes on error.
    pub fn reserve(
        &mut self,
        start: PhysicalAddress,
        size: u64,
        mode: ReserveMode,
    ) -> Result<(), RangeError> {
        let range = Self::physical_range(start, size)?;
        let frames = range.frames_touched(self.configuration.page_size);
        let pieces = self.registry.pieces(frames)?;
        self.reserve_pieces(pieces.positions(), frames, mode)
    }

    /// Reserves every page touched by `[start, start + size)` on one node
    /// (Linux's `reserve_bootmem_node`).
    ///
    /// # Errors
    ///
    /// As [`reserve`](Self::reserve), and a node that is not registered or
    /// that the rounded range leaves.
    pub fn reserve_on_node(
        &mut self,
        node: NodeId,
        start: PhysicalAddress,
        size: u64,
        mode: ReserveMode,
    ) -> Result<(), RangeError> {
        let position = self.range_node(node)?;
        let range = Self::physical_range(start, size)?;
        let frames = range.frames_touched(self.configuration.page_size);
        self.check_inside_node(position, frames.start(), frames.end())?;
        self.reserve_pieces(position..=position, frames, mode)
    }

    /// Reserves `frames` over the nodes at `positions`; an exclusive
    /// reservation first checks that no page of it is reserved.
    fn reserve_pieces(
        &mut self,
        positions: core::ops::RangeInclusive<usize>,
        frames: FrameRange,
        mode: ReserveMode,
    ) -> Result<(), RangeError> {
        if mode == ReserveMode::Exclusive {
            for position in positions.clone() {
                let piece = self.registry.piece(position, frames);
                if let Some(frame) = self.registry.get(position).first_reserved(piece) {
                    return Err(RangeError::Busy { frame });
                }
            }
        }
        for position in positions {
            let piece = self.registry.piece(position, frames);
            let node = self.registry.get_mut(position);
            let flags = u32::from(mode == ReserveMode::Exclusive);
            trace::marked(node.id, piece, true, flags);
            node.reserve_frames(piece);
        }
        Ok(())
    }

    /// Whether `frame` is reserved, or `None` when no node covers it.
    pub fn is_reserved(&self, frame: PageFrameNumber) -> Option<bool> {
        self.registry
            .iter()
            .find(|node| node.contains(frame))
            .map(|node| node.is_reserved(frame))
    }

    /// Free pages over all nodes.
    pub fn free_pages(&self) -> u64 {
        self.registry.iter().map(NodeAllocator::free_pages).sum()
    }

    /// The registered nodes in address order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeSummary> + '_ {
        self.registry.iter().map(|node| NodeSummary {
            node: node.id,
            start: node.frames.start(),
            end: node.frames.end(),
            free_pages: node.free_pages(),
        })
    }

    /// The reserved pages of every node as ascending half-open frame runs,
    /// adjacent runs merged, also across nodes.
    pub fn reserved_runs(&self) -> impl Iterator<Item = Range<PageFrameNumber>> + '_ {
        let mut runs = self.registry.iter().flat_map(node_reserved_runs).peekable();
        core::iter::from_fn(move || {
            let mut run = runs.next()?;
            while let Some(next) = runs.next_if(|next| next.start() == run.end()) {
                run = FrameRange::new(run.start(), next.end()).unwrap_or(run);
            }
            Some(run.into())
        })
    }

    /// Tears the allocator down (Linux's `free_all_bootmem`): an iterator of
    /// every free page as blocks, then every bitmap page. Consuming the
    /// allocator means no call can follow the teardown.
    ///
    /// The blocks are maximal naturally aligned runs of free pages, up to
    /// order 10 unless [`HandOff::with_max_order`] says otherwise; v4.19
    /// cut them into 64-page groups and single pages, which changes the
    /// blocks but not the pages released. Every free page is released, also
    /// at the tail of a node that does not start on a multiple of 64
    /// (deviation 3).
    pub fn free_all(self) -> HandOff<Storage, MAX_NODES> {
        HandOff::new(self.registry.into_nodes())
    }

    /// Tears the allocator down where it lies: the blocks of
    /// [`free_all`](Self::free_all), in the same order, without moving the
    /// allocator. `free_all` takes the allocator by value, which copies its
    /// node registry (`MAX_NODES` slots of a few hundred bytes: about 300
    /// KB for x86-64's 1 024 nodes, tens of microseconds, and a large
    /// frame on a kernel's boot stack); this borrows it.
    ///
    /// The allocator has no node from the moment this is called: once the
    /// hand-off is dropped, every call finds no node (allocations fail,
    /// frees and reservations name the range as outside every node), and
    /// nodes may be registered afresh. See [`HandOffInPlace`].
    ///
    /// ```
    /// use bootmem::{BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress};
    /// use bootmem::memory::NoZeroing;
    /// let mut allocator: BootAllocator<Vec<u64>, NoZeroing, 4> = BootAllocator::new(Configuration::X86_64, NoZeroing);
    /// let storage = vec![0; bootmem::node_storage_words(200) as usize];
    /// allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(200), storage, None).unwrap();
    /// allocator.free(PhysicalAddress::new(0), 200 * 4096).unwrap();
    /// let mut pages = 0;
    /// let released = allocator.free_all_in_place().release_with(|block| pages += block.pages());
    /// assert_eq!((released, pages), (200, 200));
    /// assert!(allocator.free(PhysicalAddress::new(0), 4096).is_err());
    /// ```
    pub fn free_all_in_place(&mut self) -> HandOffInPlace<'_, Storage> {
        HandOffInPlace::new(self.registry.detach_nodes())
    }

    /// Makes the per-node search test one bit at a time, as Linux's does,
    /// instead of a word at a time. Placement is identical; only speed
    /// differs. For benchmarks and differential tests.
    ///
    /// Asking for the search already in use changes nothing, so that a
    /// benchmark may name its search before every group of calls it times
    /// without ending the word search's streaks between the groups. A
    /// switch ends them: a streak's node is asked without the node walk.
    #[cfg(feature = "reference")]
    pub fn use_bit_by_bit_search(&mut self, enabled: bool) {
        if self.bit_by_bit == enabled {
            return;
        }
        self.bit_by_bit = enabled;
        for node in self.registry.iter_mut() {
            node.bit_by_bit = enabled;
        }
    }
}

/// The reserved runs of one node, in address order.
fn node_reserved_runs<Storage: AsRef<[u64]> + AsMut<[u64]>>(
    node: &NodeAllocator<Storage>,
) -> impl Iterator<Item = FrameRange> + '_ {
    let mut cursor = node.frames.start();
    core::iter::from_fn(move || {
        let rest = FrameRange::new(cursor, node.frames.end())?;
        let run_start = node.first_reserved(rest)?;
        let after = FrameRange::new(run_start, node.frames.end())?;
        let run_end = node.first_free(after).unwrap_or(node.frames.end());
        cursor = run_end;
        FrameRange::new(run_start, run_end)
    })
}

/// Switching the search needs the `reference` feature.
#[cfg(test)]
#[cfg(feature = "reference")]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::memory::NoZeroing;

    fn register(allocator: &mut BootAllocator<Vec<u64>, NoZeroing, 4>, node: u32, start: u64) {
        let frames = PageFrameNumber::new(start)..PageFrameNumber::new(start + 0x100);
        let storage = vec![0; node_storage_words(0x100) as usize];
        allocator
            .register_node(NodeId::new(node), frames, storage, None)
            .unwrap();
    }

    /// The differential tests compare the two searches only if the switch
    /// reaches every node: those registered before it and after it.
    #[test]
    fn the_bit_by_bit_switch_reaches_every_node_registered_before_and_after_it() {
        let mut allocator = BootAllocator::new(Configuration::X86_64, NoZeroing);
        register(&mut allocator, 0, 0);
        assert!(!allocator.registry.iter().any(|node| node.bit_by_bit));

        allocator.use_bit_by_bit_search(true);
        register(&mut allocator, 1, 0x100);
        assert!(allocator.registry.iter().all(|node| node.bit_by_bit));

        allocator.use_bit_by_bit_search(false);
        register(&mut allocator, 2, 0x200);
        assert!(!allocator.registry.iter().any(|node| node.bit_by_bit));
    }

    /// Searches and streak proofs on this thread, so far.
    fn searches_and_proofs() -> (u64, u64) {
        (
            crate::search::tests::SEARCHES.with(core::cell::Cell::get),
            crate::sequential::tests::PROOFS.with(core::cell::Cell::get),
        )
    }

    /// Runs `work`; returns what it returned and the searches and streak
    /// proofs it made.
    fn counting<T>(work: impl FnOnce() -> T) -> (T, (u64, u64)) {
        let before = searches_and_proofs();
        let result = work();
        let after = searches_and_proofs();
        (result, (after.0 - before.0, after.1 - before.1))
    }

    /// Allocates `count` blocks of `size` bytes, cache-line aligned, from
    /// the lowest address; returns the searches and proofs they made.
    fn allocate_blocks(
        allocator: &mut BootAllocator<Vec<u64>, NoZeroing, 4>,
        count: u64,
        size: u64,
    ) -> (u64, u64) {
        let request = AllocationRequest::new(size).aligned(64);
        let ((), counts) = counting(|| {
            for _ in 0..count {
                allocator.allocate(&request).unwrap();
            }
        });
        counts
    }

    fn free_machine(bit_by_bit: bool) -> BootAllocator<Vec<u64>, NoZeroing, 4> {
        let mut allocator = BootAllocator::new(Configuration::X86_64, NoZeroing);
        allocator.use_bit_by_bit_search(bit_by_bit);
        register(&mut allocator, 0, 0);
        register(&mut allocator, 1, 0x100);
        allocator.free(PhysicalAddress::ZERO, 0x200 * 4096).unwrap();
        allocator
    }

    #[test]
    fn a_streak_places_blocks_inside_the_partly_used_page_without_a_search() {
        let mut allocator = free_machine(false);
        // The first block is searched for and the proof worked out once,
        // when the second asks; the 63 after it fill the page without a
        // search, merged (not even the first-word step), the last one to
        // its very end.
        let merges = || crate::sequential::tests::MERGES.with(core::cell::Cell::get);
        let before = merges();
        assert_eq!(allocate_blocks(&mut allocator, 64, 64), (1, 1));
        assert_eq!(merges() - before, 63);
        // Whole pages: each at the hint, its page free in the hint's word,
        // without a search; the proof is carried from page to page.
        assert_eq!(allocate_blocks(&mut allocator, 3, 4096), (0, 0));
        // A small block starts a page again, at the hint, and the ones
        // after it stay in it: still no search, no new proof.
        assert_eq!(allocate_blocks(&mut allocator, 1, 64), (0, 0));
        assert_eq!(allocate_blocks(&mut allocator, 62, 64), (0, 0));
        // Blocks of more pages than a leaf word holds: each searched for,
        // on the streak's node; no proof is worked out for them.
        assert_eq!(allocate_blocks(&mut allocator, 2, 65 * 4096), (2, 0));
    }

    #[test]
    fn naming_the_search_in_use_keeps_the_streak_and_a_switch_ends_it() {
        let mut allocator = free_machine(false);
        let steps = || crate::sequential::tests::STRETCH_STEPS.with(core::cell::Cell::get);
        let page = AllocationRequest::new(4096).aligned(64);
        allocator.allocate(&page).unwrap();
        allocator.allocate(&page).unwrap();
        // The streak goes on past a call that names the word search again:
        // the next page steps through the free stretch, without a search.
        allocator.use_bit_by_bit_search(false);
        let before = steps();
        let ((), counts) = counting(|| {
            allocator.allocate(&page).unwrap();
        });
        assert_eq!((counts, steps() - before), ((0, 0), 1));
        // A switch and back ends it: the next page goes through the walk
        // and a search.
        allocator.use_bit_by_bit_search(true);
        allocator.use_bit_by_bit_search(false);
        let before = steps();
        let ((), counts) = counting(|| {
            allocator.allocate(&page).unwrap();
        });
        assert_eq!((counts, steps() - before), ((1, 0), 0));
    }

    #[test]
    fn a_streak_of_pages_steps_through_the_free_stretch_reading_each_word_once() {
        let mut fast = free_machine(false);
        let mut reference = free_machine(true);
        let steps = || crate::sequential::tests::STRETCH_STEPS.with(core::cell::Cell::get);
        let before = steps();
        let request = AllocationRequest::new(4096).aligned(64);
        let ((), counts) = counting(|| {
            for _ in 0..128 {
                assert_eq!(fast.allocate(&request), reference.allocate(&request));
            }
        });
        // The first page through the walk and a search. The proof worked
        // out for the second reads word 0 (pages 1 to 63 free), and those
        // 63 pages step through that stretch. Page 64 is found in word 1
        // by the first-word step, which reads it, and the 63 pages after
        // it step through its stretch.
        assert_eq!(counts, (1, 1));
        assert_eq!(steps() - before, 126);
        // A small block starts word 2 (the first-word step reads it); the
        // two after it spill from their partly used page into the next,
        // merged there, each a step of the stretch.
        let (small, spilling) = (
            AllocationRequest::new(64).aligned(64),
            AllocationRequest::new(4096).aligned(64),
        );
        let before = steps();
        for request in [small, spilling, spilling] {
            assert_eq!(fast.allocate(&request), reference.allocate(&request));
        }
        assert_eq!(fast.allocate(&small).unwrap().as_u64(), 130 * 4096 + 64);
        assert_eq!(steps() - before, 2);
    }

    #[test]
    fn streaks_of_two_goals_and_limits_taking_turns_each_keep_theirs() {
        let mut fast = free_machine(false);
        let mut reference = free_machine(true);
        let usual = AllocationRequest::new(64)
            .aligned(64)
            .goal(PhysicalAddress::new(0x20 * 4096));
        let low = AllocationRequest::new(64)
            .aligned(64)
            .limit(PhysicalAddress::new(0x180 * 4096));
        let ((), counts) = counting(|| {
            for turn in 0..40 {
                let request = if turn % 2 == 0 { &usual } else { &low };
                assert_eq!(fast.allocate(request), reference.allocate(request));
            }
        });
        // Each kind's first through the walk and a search; then each
        // request continues its kind's streak without the walk. The node
        // keeps both kinds' proofs: each is worked out once, when its
        // kind's second request asks, and holds while the other kind's
        // blocks move the hint forward.
        assert_eq!(counts, (2, 2));
    }

    #[test]
    fn a_kept_proof_lets_nothing_through_once_another_streak_passed_its_free_pages() {
        // Pages 3 and 9 reserved. Streak A (goal page 1) and streak B
        // (goal 0, a limit) each start with a search (pages 1 and 2). A's
        // proof, worked out at the reserved page 3, finds page 4; B's, at
        // page 5, reads pages 5 to 8 free. A then takes 6, 7, 8 and (page
        // 9 stepped over) 10 without a search, and B's kept proof still
        // names pages up to 8, all taken now: B's next page must be the
        // first free one past A's, as Linux places it.
        let run = |bit_by_bit| {
            let mut allocator = free_machine(bit_by_bit);
            for page in [3, 9] {
                allocator
                    .reserve(PhysicalAddress::new(page * 4096), 4096, ReserveMode::Shared)
                    .unwrap();
            }
            let a = AllocationRequest::new(4096)
                .aligned(64)
                .goal(PhysicalAddress::new(4096));
            let b = AllocationRequest::new(4096)
                .aligned(64)
                .limit(PhysicalAddress::new(0x180 * 4096));
            counting(|| {
                [a, b, a, b, a, a, a, a, b, b]
                    .iter()
                    .map(|request| allocator.allocate(request).unwrap().as_u64() / 4096)
                    .collect::<Vec<_>>()
            })
        };
        let (pages, counts) = run(false);
        assert_eq!(pages, run(true).0);
        assert_eq!(pages, [1, 2, 4, 5, 6, 7, 8, 10, 11, 12]);
        // Two searches (each streak's first), one proof each: B's is kept
        // while A's blocks move the hint past its free pages.
        assert_eq!(counts, (2, 2));
    }

    #[test]
    fn a_streak_whose_node_is_full_goes_on_to_the_next_node_asking_it_once() {
        let mut allocator = free_machine(false);
        // Node 0's 256 pages, one a request: the first through the walk
        // and a search, the others at the hint on the streak, with one
        // proof carried from page to page.
        assert_eq!(allocate_blocks(&mut allocator, 0x100, 4096), (1, 1));
        // The next: node 0 is asked once (no room), then node 1, as the
        // walk does; not node 0 again.
        let before = searches_and_proofs();
        let address = allocator
            .allocate(&AllocationRequest::new(4096).aligned(64))
            .unwrap();
        assert_eq!(address.as_u64(), 0x100 * 4096);
        assert_eq!(searches_and_proofs().0 - before.0, 2);
        // Node 1 was not the walk's first node: no streak, each request
        // asks node 0, then node 1.
        assert_eq!(allocate_blocks(&mut allocator, 3, 4096), (6, 0));
    }

    #[test]
    fn a_streak_places_blocks_of_pages_at_the_hint_while_they_fit_its_word() {
        let mut allocator = free_machine(false);
        let mut reference = free_machine(true);
        let mut placed = Vec::new();
        let mut counts = Vec::new();
        for allocator in [&mut allocator, &mut reference] {
            // 5 pages, then blocks of two pages and a bit (three pages
            // each from the hint, merged into the last one's page), then
            // small blocks: from page 5 to 64, then the word's end.
            let sizes = [4096; 5]
                .into_iter()
                .chain([2 * 4096 + 64; 30])
                .chain([64; 2]);
            let (addresses, made) = counting(|| {
                sizes
                    .map(|size| {
                        let request = AllocationRequest::new(size).aligned(64);
                        allocator.allocate(&request).unwrap().as_u64()
                    })
                    .collect::<Vec<_>>()
            });
            counts.push(made);
            placed.push(addresses);
        }
        assert_eq!(placed[0], placed[1]);
        // The first block is searched for; the proof is worked out when
        // the second asks and carried after, also past the one search: the
        // run of the block that would leave the first leaf word (pages 63
        // to 65).
        assert_eq!(counts[0], (2, 1));
        // The bit-by-bit reference walks the nodes and searches every
        // time, as Linux does: no streak, so no proof.
        assert_eq!(counts[1].1, 0);
    }

    /// Allocates 64-byte blocks aligned 64, 128 and 256 in turn; returns
    /// their addresses and the searches and proofs they made.
    fn allocate_cycling_alignments(
        allocator: &mut BootAllocator<Vec<u64>, NoZeroing, 4>,
        count: u64,
    ) -> (Vec<u64>, (u64, u64)) {
        counting(|| {
            (0..count as usize)
                .map(|index| {
                    let request = AllocationRequest::new(64).aligned([64, 128, 256][index % 3]);
                    allocator.allocate(&request).unwrap().as_u64()
                })
                .collect()
        })
    }

    #[test]
    fn a_streak_keeps_its_proof_over_alignments_of_a_page_or_less() {
        let mut allocator = free_machine(false);
        let mut reference = free_machine(true);
        // One search for the first block, one proof when the second asks:
        // every alignment here has a step of one page.
        let (addresses, counts) = allocate_cycling_alignments(&mut allocator, 30);
        assert_eq!(counts, (1, 1));
        assert_eq!(addresses, allocate_cycling_alignments(&mut reference, 30).0);
        // A block aligned to two pages: another step, so its own proof;
        // the first pass starts from the hint and finds the next boundary
        // in the hint's word, so no search. The small blocks after it stay
        // on the streak, and their step's proof still holds (the node
        // keeps one per step): no proof more.
        let page = AllocationRequest::new(64).aligned(8192);
        let (placed, counts) = counting(|| allocator.allocate(&page));
        assert_eq!(placed, reference.allocate(&page));
        assert_eq!(counts, (0, 1));
        let (addresses, counts) = allocate_cycling_alignments(&mut allocator, 30);
        assert_eq!(counts, (0, 0));
        assert_eq!(addresses, allocate_cycling_alignments(&mut reference, 30).0);
    }

    /// Runs `requests` on a fresh machine; returns each result and the
    /// searches and proofs they made.
    fn run_requests(
        bit_by_bit: bool,
        requests: &[AllocationRequest],
    ) -> (Vec<Result<PhysicalAddress, AllocationError>>, (u64, u64)) {
        let mut allocator = free_machine(bit_by_bit);
        counting(|| {
            requests
                .iter()
                .map(|request| allocator.allocate(request))
                .collect()
        })
    }

    #[test]
    fn a_streak_that_reaches_its_limit_merges_no_more_as_linux() {
        // A limit inside page 3: the window ends there. Pages 0 and 1,
        // then a small block in page 2; the hint is then page 3, past the
        // window, and Linux's first pass finds nothing: it does not merge
        // into page 2, and with no free page below the limit it fails.
        let limit = PhysicalAddress::new(3 * 4096 + 0x800);
        let at = |size| AllocationRequest::new(size).aligned(64).limit(limit);
        let requests = [at(4096), at(4096), at(64), at(64)];
        let (results, counts) = run_requests(false, &requests);
        assert_eq!(results, run_requests(true, &requests).0);
        assert!(results[3].is_err());
        // The walk searches for the first; the second and third go at the
        // hint; the fourth is searched for.
        assert_eq!(counts, (2, 1));
    }

    #[test]
    fn a_streak_over_reserved_pages_finds_its_pages_in_the_hints_word() {
        // Every other page reserved: each page goes to the next free one,
        // found in the hint's word without a search, while the word holds one.
        let mut requests = Vec::new();
        let mut fast = free_machine(false);
        let mut reference = free_machine(true);
        for allocator in [&mut fast, &mut reference] {
            for page in (1..0x40).step_by(2) {
                allocator
                    .reserve(PhysicalAddress::new(page * 4096), 4096, ReserveMode::Shared)
                    .unwrap();
            }
        }
        requests.resize(40, AllocationRequest::new(4096).aligned(4096));
        let ((), counts) = counting(|| {
            for request in &requests {
                assert_eq!(fast.allocate(request), reference.allocate(request));
            }
        });
        // 32 free pages in the first word: the first through the walk, 31
        // from the hint, with one proof; the 33rd is not in the hint's word
        // (a search, after which the proof is carried); the rest follow
        // from the hint again.
        assert_eq!(counts, (2, 1));
    }

    #[test]
    fn after_a_search_a_streak_carries_its_proof() {
        let goal = PhysicalAddress::new(16 * 4096);
        let mut placed = Vec::new();
        let mut counts = Vec::new();
        for bit_by_bit in [false, true] {
            let mut allocator = free_machine(bit_by_bit);
            let mut allocate = |allocator: &mut BootAllocator<Vec<u64>, NoZeroing, 4>, count| {
                let request = AllocationRequest::new(64).aligned(64).goal(goal);
                let ((), counts) = counting(|| {
                    for _ in 0..count {
                        placed.push(allocator.allocate(&request).unwrap().as_u64());
                    }
                });
                counts
            };
            allocate(&mut allocator, 3);
            // 64 bytes below the goal freed: no page, but the hint drops to
            // page 1, and the first pass starts at the goal, not the hint.
            allocator.free(PhysicalAddress::new(0x40), 64).unwrap();
            // The proof, worked out again, fails; one search places the
            // block (merged, at the goal's page), and the proof is carried
            // past it: the next ones merge without a search.
            counts.push(allocate(&mut allocator, 5));
        }
        assert_eq!(placed[..8], placed[8..]);
        assert_eq!(counts[0], (1, 1));
    }

    #[test]
    fn a_run_longer_than_the_rest_of_the_hints_word_works_out_no_proof() {
        let mut allocator = free_machine(false);
        // One page through the walk: a streak, hint 1, no proof yet.
        assert_eq!(allocate_blocks(&mut allocator, 1, 4096), (1, 0));
        // 64 pages from page 1 would leave the first word: searched for,
        // and no proof worked out.
        assert_eq!(allocate_blocks(&mut allocator, 1, 64 * 4096), (1, 0));
        // 63 pages from page 65 fill the second word to its end: the proof
        // is worked out, and they go at the hint without a search.
        assert_eq!(allocate_blocks(&mut allocator, 1, 63 * 4096), (0, 1));
    }

    #[test]
    fn requests_preferring_a_node_make_a_streak_on_it() {
        let on = |node: u32, size| {
            AllocationRequest::new(size)
                .aligned(64)
                .preference(NodePreference::Prefer(NodeId::new(node)))
        };
        let requests: Vec<AllocationRequest> = (0..40)
            .map(|index| on(1, [64, 100, 4096][index % 3]))
            .chain((0..3).map(|_| on(0, 64)))
            .chain((0..3).map(|_| AllocationRequest::new(64).aligned(64)))
            .collect();
        let (results, counts) = run_requests(false, &requests);
        assert_eq!(results, run_requests(true, &requests).0);
        assert!(results[..40]
            .iter()
            .all(|address| address.unwrap().as_u64() >= 0x100 * 4096));
        // Node 1's requests: the first searched for, the rest from the
        // proof (worked out once, then carried). Node 0's: a streak of
        // their own, the same. The walk's first node for goal 0 is node
        // 0, but a streak made by preference is no walk's: the first
        // any-node request walks (one search), and the next two ride the
        // walk's streak, with its own proof.
        assert_eq!(counts, (3, 3));
    }

    #[test]
    fn a_preferred_streak_whose_node_is_full_goes_on_to_all_nodes_asking_it_once() {
        // Node 1's 256 pages, one a request preferring it, then one more:
        // node 1 is asked once (no room), then the walk over all nodes
        // places it on node 0, as Linux's `___alloc_bootmem_node_nopanic`.
        let on_node_1 = AllocationRequest::new(4096)
            .aligned(64)
            .preference(NodePreference::Prefer(NodeId::new(1)));
        let requests = [on_node_1; 0x101];
        let (results, counts) = run_requests(false, &requests);
        assert_eq!(results, run_requests(true, &requests).0);
        assert_eq!(results[0x100].unwrap().as_u64(), 0);
        // The first request searched node 1 and started the streak; the
        // last searched node 1 on the streak (no room), then node 0 once.
        assert_eq!(counts, (3, 1));
    }

    #[test]
    fn a_node_call_past_its_limit_drops_the_limit_before_any_streak() {
        // Requests preferring node 1, at its first page, below a limit 16
        // pages on: small ones make a streak for that goal and limit. One
        // of 32 pages passes the limit, which the `_node` calls drop
        // first: it is not put to that streak (the limit would refuse
        // it), but searched for once on node 1 without the limit.
        let goal = PhysicalAddress::new(0x100 * 4096);
        let limit = PhysicalAddress::new(0x110 * 4096);
        let on_node_1 = |size| {
            AllocationRequest::new(size)
                .aligned(64)
                .goal(goal)
                .limit(limit)
                .preference(NodePreference::Prefer(NodeId::new(1)))
        };
        let requests = [
            on_node_1(64),
            on_node_1(64),
            on_node_1(64),
            on_node_1(32 * 4096),
        ];
        let (results, counts) = run_requests(false, &requests);
        assert_eq!(results, run_requests(true, &requests).0);
        assert_eq!(results[3].unwrap().as_u64(), 0x100 * 4096 + 3 * 64);
        // The first small one searched for, the two after it on the
        // streak (one proof); the large one searched for once.
        assert_eq!(counts, (2, 1));
    }

    #[test]
    fn a_streak_does_not_carry_another_streaks_proof_past_its_search() {
        // Two streaks on node 0: goal page 0x80 (A) and goal 0 (B); pages
        // 0x90 on reserved. A's small blocks fill page 0x80, B's first
        // merges there too. Then A works out its proof, and B asks for 64
        // pages (more than the rest of the hint's word: searched for,
        // with no proof of B's own). They do not fit past the hint and go
        // at page 0, below A's goal: A's proof no longer holds (its first
        // pass starts at its goal, not at the new hint), and A's next
        // block goes past its goal, as Linux places it.
        let a = AllocationRequest::new(64)
            .aligned(64)
            .goal(PhysicalAddress::new(0x80 * 4096));
        let b = |size| AllocationRequest::new(size).aligned(64);
        let requests = [a, a, b(64), a, b(64 * 4096), a];
        let run = |bit_by_bit| {
            let mut allocator = free_machine(bit_by_bit);
            allocator
                .reserve(
                    PhysicalAddress::new(0x90 * 4096),
                    0x70 * 4096,
                    ReserveMode::Shared,
                )
                .unwrap();
            requests
                .iter()
                .map(|request| allocator.allocate(request).unwrap().as_u64())
                .collect::<Vec<_>>()
        };
        let placed = run(false);
        assert_eq!(placed, run(true));
        assert_eq!(placed[4], 0);
        assert_eq!(placed[5], 0x81 * 4096);
    }

    /// A page, small blocks in the next page (hint 2), then frees of 64
    /// bytes that free no page, each followed by small blocks; returns the
    /// addresses placed and the searches and proofs of each step.
    fn frees_of_no_page(
        allocator: &mut BootAllocator<Vec<u64>, NoZeroing, 4>,
    ) -> (Vec<u64>, Vec<(u64, u64)>) {
        let mut counts = vec![allocate_blocks(allocator, 1, 4096)];
        counts.push(allocate_blocks(allocator, 3, 64));
        // Above the hint: the hint stays (Linux's `__free` lowers it only
        // to a lower start). Inside the partly used page: the empty range
        // lies at the hint itself, which stays. Inside the first page: the
        // hint drops to page 1, the partly used one.
        for freed in [0x80 * 4096 + 0x40, 4096 + 0x800, 0x40] {
            allocator.free(PhysicalAddress::new(freed), 64).unwrap();
            counts.push(allocate_blocks(allocator, 3, 64));
        }
        let request = AllocationRequest::new(64).aligned(64);
        let last = allocator.allocate(&request).unwrap().as_u64();
        let (last_end, hint) = allocator
            .registry
            .iter()
            .map(|node| (node.last_end_offset, node.hint_index))
            .next()
            .unwrap();
        (vec![last, last_end, hint], counts)
    }

    #[test]
    fn a_free_that_changes_nothing_keeps_the_streak_and_its_proof() {
        let (placed, counts) = frees_of_no_page(&mut free_machine(false));
        // The small blocks after the page: the first at the hint (the
        // proof worked out), the others merged into its page. The free
        // above the hint and the one at it change nothing: no search, no
        // proof.
        // The one below drops the hint to the partly used page: the proof
        // is worked out again, and the search's first pass starts there,
        // at a reserved page; its first word holds the answer, page 2,
        // where the block merges as Linux's does. No search.
        assert_eq!(counts, [(1, 0), (0, 1), (0, 0), (0, 0), (0, 1)]);
        assert_eq!(placed, frees_of_no_page(&mut free_machine(true)).0);
    }

    #[test]
    fn after_a_free_lowers_the_hint_a_streak_places_where_linux_does() {
        for free_at in [0u64, 0x40, 4096, 2 * 4096] {
            let mut fast = free_machine(false);
            let mut reference = free_machine(true);
            let mut placed = Vec::new();
            for allocator in [&mut fast, &mut reference] {
                let mut addresses = Vec::new();
                // Two whole pages, then blocks inside the third.
                for size in [4096, 4096, 64, 64] {
                    let request = AllocationRequest::new(size).aligned(64);
                    addresses.push(allocator.allocate(&request).unwrap().as_u64());
                }
                // Frees the first page (or nothing, a part of it), which
                // lowers the hint below the partly used page.
                allocator
                    .free(PhysicalAddress::new(free_at), 4096 - free_at % 4096)
                    .unwrap();
                for _ in 0..3 {
                    let request = AllocationRequest::new(64).aligned(64);
                    addresses.push(allocator.allocate(&request).unwrap().as_u64());
                }
                placed.push(addresses);
            }
            assert_eq!(placed[0], placed[1], "freed from {free_at:#x}");
        }
    }
}
