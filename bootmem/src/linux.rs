//! The Linux-named layer: `alloc_bootmem*`, `free_bootmem*`, `reserve_bootmem*` and the rest.
//!
//! Every name of v4.19's `include/linux/bootmem.h` that allocates, frees,
//! reserves or tears down lives here, and only here, as a method of
//! [`Bootmem`], which wraps a [`BootAllocator`]. Each call builds the request
//! the Linux function would make (default alignment, default goal, limit)
//! and hands it to the idiomatic API underneath.
//!
//! Failures come in Linux's three flavours:
//!
//! - the panicking calls panic with `bootmem alloc of N bytes failed!` when
//!   memory runs out, as Linux panics;
//! - the `_nopanic` calls return `Ok(None)`, Linux's `NULL`;
//! - a call Linux would `BUG()` on (zero size, bad alignment, a range
//!   outside the nodes, a double free...) returns `Err` and changes nothing.
//!
//! Calls that exist in Linux only as panicking functions also get a
//! `_nopanic` twin here (`__alloc_bootmem_node_high_nopanic`,
//! `__alloc_bootmem_low_node_nopanic`, `alloc_bootmem_low_nopanic`).
//!
//! ```
//! use bootmem::linux::{Bootmem, BOOTMEM_EXCLUSIVE, EBUSY};
//! use bootmem::{memory::NoZeroing, Configuration};
//!
//! let mut bootmem: Bootmem<Vec<u64>, NoZeroing, 4> = Bootmem::new(Configuration::X86_64, NoZeroing);
//! // 256 MiB on node 0, bitmap at frame 0x100 (1 MiB).
//! let pages = 0x10000;
//! let storage = vec![0; bootmem::node_storage_words(pages) as usize];
//! assert_eq!(bootmem.init_bootmem_node(0, 0x100, 0, pages, storage), Ok(8192));
//! bootmem.free_bootmem(0, 256 << 20).unwrap();
//! assert_eq!(bootmem.reserve_bootmem(0, 4096, 0), Ok(0));
//!
//! let table = bootmem.alloc_bootmem(100).unwrap();
//! assert_eq!(table.as_u64(), 0x100_0000); // the default goal, 16 MiB
//! // Goal 0 is not "lowest address": the search starts at the node's hint,
//! // just past the last allocation, as in Linux.
//! let low = bootmem.alloc_bootmem_low_pages(4096).unwrap();
//! assert_eq!(low.as_u64(), 0x100_1000);
//! assert_eq!(bootmem.reserve_bootmem(0x100_0000, 1, BOOTMEM_EXCLUSIVE), Ok(EBUSY));
//! assert_eq!(bootmem.alloc_bootmem_nopanic(1 << 30), Ok(None));
//! assert!(bootmem.alloc_bootmem(0).is_err()); // Linux would BUG()
//!
//! let released = bootmem.free_all_bootmem(|_block| {});
//! // Everything but page 0 and the two allocations; the bitmap's two pages
//! // are released once, as bitmap pages.
//! assert_eq!(released, pages - 3);
//! ```

use crate::address::{FrameRange, PageFrameNumber, PageSize, PhysicalAddress, PhysicalRange};
use crate::allocator::{AllocationRequest, BootAllocator, NodePreference, ReserveMode};
use crate::config::Configuration;
use crate::error::{AllocationError, RangeError, RegistrationError};
use crate::handoff::FreeBlock;
use crate::memory::PhysicalMemory;
use crate::node_id::NodeId;

/// `BOOTMEM_DEFAULT`: a reservation may overlap reserved pages.
pub const BOOTMEM_DEFAULT: u32 = 0;
/// `BOOTMEM_EXCLUSIVE`: a reservation fails with [`EBUSY`] on a reserved page.
pub const BOOTMEM_EXCLUSIVE: u32 = 1;
/// `-EBUSY`, the value an exclusive reservation returns on conflict.
pub const EBUSY: i32 = -16;

/// The result of a `_nopanic` allocation: `Ok(None)` is Linux's `NULL`.
pub type NoPanicResult = Result<Option<PhysicalAddress>, AllocationError>;

/// Linux's bootmem interface over a [`BootAllocator`].
#[derive(Debug)]
pub struct Bootmem<Storage, Memory, const MAX_NODES: usize> {
    allocator: BootAllocator<Storage, Memory, MAX_NODES>,
}

/// Turns a memory shortage into `Ok(None)`, keeping misuse as `Err`.
fn null_on_shortage(result: Result<PhysicalAddress, AllocationError>) -> NoPanicResult {
    match result {
        Ok(address) => Ok(Some(address)),
        Err(error) if error.is_misuse() => Err(error),
        Err(_) => Ok(None),
    }
}

/// Linux's `___alloc_bootmem` failure path: the alert line, then the panic.
fn panic_on_null(size: u64, result: NoPanicResult) -> Result<PhysicalAddress, AllocationError> {
    match result? {
        Some(address) => Ok(address),
        None => panic!("bootmem alloc of {size} bytes failed!"),
    }
}

/// The page frames `free_bootmem_late(address, size)` releases: those wholly
/// inside the range, `[PFN_UP(address), PFN_DOWN(address + size))`, empty
/// when the range holds no whole page.
///
/// # Errors
///
/// [`RangeError::AddressOverflow`] when `address + size` does not fit in 64 bits.
///
/// ```
/// use bootmem::{linux::late_free_frames, PageSize};
/// let frames = late_free_frames(PageSize::SIZE_4KIB, 0x1800, 0x3000).unwrap();
/// assert_eq!((frames.start.as_u64(), frames.end.as_u64()), (2, 4));
/// assert!(late_free_frames(PageSize::SIZE_4KIB, 0x1800, 0x100).unwrap().is_empty());
/// ```
pub fn late_free_frames(
    page_size: PageSize,
    address: u64,
    size: u64,
) -> Result<core::ops::Range<PageFrameNumber>, RangeError> {
    let start = PhysicalAddress::new(address);
    let range = PhysicalRange::from_start_and_size(start, size)
        .ok_or(RangeError::AddressOverflow { start, size })?;
    Ok(range.frames_inside(page_size).into())
}

/// `free_bootmem_late`: after teardown, hands each whole page of
/// `[address, address + size)` to `release` and returns how many there were.
///
/// # Errors
///
/// [`RangeError::AddressOverflow`] when `address + size` does not fit in 64 bits.
///
/// ```
/// use bootmem::{linux::free_bootmem_late, PageSize};
/// let mut pages = Vec::new();
/// assert_eq!(free_bootmem_late(PageSize::SIZE_4KIB, 0x1800, 0x3000, |frame| pages.push(frame.as_u64())), Ok(2));
/// assert_eq!(pages, [2, 3]);
/// ```
pub fn free_bootmem_late(
    page_size: PageSize,
    address: u64,
    size: u64,
    mut release: impl FnMut(PageFrameNumber),
) -> Result<u64, RangeError> {
    let start = PhysicalAddress::new(address);
    let frames = PhysicalRange::from_start_and_size(start, size)
        .ok_or(RangeError::AddressOverflow { start, size })?
        .frames_inside(page_size);
    frames.iter().for_each(&mut release);
    Ok(frames.len())
}

impl<Storage, Memory, const MAX_NODES: usize> From<BootAllocator<Storage, Memory, MAX_NODES>>
    for Bootmem<Storage, Memory, MAX_NODES>
where
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    fn from(allocator: BootAllocator<Storage, Memory, MAX_NODES>) -> Self {
        Self::from_allocator(allocator)
    }
}

#[allow(clippy::used_underscore_items)]
impl<Storage, Memory, const MAX_NODES: usize> Bootmem<Storage, Memory, MAX_NODES>
where
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    /// An interface with no nodes registered.
    pub const fn new(configuration: Configuration, memory: Memory) -> Self {
        Self {
            allocator: BootAllocator::new(configuration, memory),
        }
    }

    /// Wraps an allocator already set up (for example by
    /// [`setup::set_up`](crate::setup::set_up)) in the Linux names.
    ///
    /// ```
    /// use bootmem::linux::Bootmem;
    /// use bootmem::{memory::NoZeroing, BootAllocator, Configuration};
    /// let allocator: BootAllocator<Vec<u64>, NoZeroing, 1> = BootAllocator::new(Configuration::X86_64, NoZeroing);
    /// let bootmem = Bootmem::from_allocator(allocator);
    /// assert_eq!(bootmem.allocator().free_pages(), 0);
    /// let again: Bootmem<_, _, 1> = bootmem.into_allocator().into();
    /// assert_eq!(again.allocator().nodes().count(), 0);
    /// ```
    pub const fn from_allocator(allocator: BootAllocator<Storage, Memory, MAX_NODES>) -> Self {
        Self { allocator }
    }

    /// The idiomatic allocator underneath.
    pub const fn allocator(&self) -> &BootAllocator<Storage, Memory, MAX_NODES> {
        &self.allocator
    }

    /// The idiomatic allocator underneath, mutably.
    pub fn allocator_mut(&mut self) -> &mut BootAllocator<Storage, Memory, MAX_NODES> {
        &mut self.allocator
    }

    /// Gives the idiomatic allocator back.
    pub fn into_allocator(self) -> BootAllocator<Storage, Memory, MAX_NODES> {
        self.allocator
    }

    fn configuration(&self) -> Configuration {
        *self.allocator.configuration()
    }

    // --- Set-up -----------------------------------------------------------

    /// `init_bootmem_node(NODE_DATA(nid), mapstart, start, end)`: registers
    /// node `nid` over frames `[start, end)` with its bitmap at frame
    /// `mapstart`, stored in `storage`, every page reserved. Returns the
    /// bitmap's size in bytes.
    ///
    /// The bitmap occupies Linux's count of pages from `mapstart`,
    /// [`bootmem_bootmap_pages`](Self::bootmem_bootmap_pages)`(end - start)`:
    /// those pages stay reserved (deviation 7). `storage` must still hold
    /// [`node_storage_words`](crate::node_storage_words)`(end - start)` words.
    ///
    /// # Errors
    ///
    /// See [`BootAllocator::register_node`].
    pub fn init_bootmem_node(
        &mut self,
        nid: u32,
        mapstart: u64,
        start: u64,
        end: u64,
        storage: Storage,
    ) -> Result<u64, RegistrationError> {
        let map_pages = self.bootmem_bootmap_pages(end.saturating_sub(start));
        let map_start = PageFrameNumber::new(mapstart);
        let map_end = PageFrameNumber::new(mapstart.saturating_add(map_pages));
        self.allocator.register_node(
            NodeId::new(nid),
            PageFrameNumber::new(start)..PageFrameNumber::new(end),
            storage,
            Some(FrameRange::new(map_start, map_end).unwrap_or(FrameRange::empty_at(map_start))),
        )
    }

    /// `init_bootmem(start, pages)`: node 0 over frames `[0, pages)`, with
    /// its bitmap at frame `start`.
    ///
    /// # Errors
    ///
    /// See [`BootAllocator::register_node`].
    pub fn init_bootmem(
        &mut self,
        start: u64,
        pages: u64,
        storage: Storage,
    ) -> Result<u64, RegistrationError> {
        self.init_bootmem_node(0, start, 0, pages, storage)
    }

    /// `bootmem_bootmap_pages(pages)`: pages of bitmap for a node of `pages` pages.
    pub fn bootmem_bootmap_pages(&self, pages: u64) -> u64 {
        self.allocator.bitmap_pages(pages)
    }

    // --- Free and reserve ----------------------------------------------------

    /// `free_bootmem(addr, size)`: frees the whole pages inside the range.
    ///
    /// # Errors
    ///
    /// Where Linux would `BUG()`; see [`BootAllocator::free`].
    pub fn free_bootmem(&mut self, addr: u64, size: u64) -> Result<(), RangeError> {
        self.allocator.free(PhysicalAddress::new(addr), size)
    }

    /// `free_bootmem_node(pgdat, addr, size)`.
    ///
    /// # Errors
    ///
    /// Where Linux would `BUG()`; see [`BootAllocator::free_on_node`].
    pub fn free_bootmem_node(&mut self, nid: u32, addr: u64, size: u64) -> Result<(), RangeError> {
        self.allocator
            .free_on_node(NodeId::new(nid), PhysicalAddress::new(addr), size)
    }

    fn reserve_result(result: Result<(), RangeError>) -> Result<i32, RangeError> {
        match result {
            Ok(()) => Ok(0),
            Err(RangeError::Busy { .. }) => Ok(EBUSY),
            Err(error) => Err(error),
        }
    }

    fn reserve_mode(flags: u32) -> ReserveMode {
        if flags & BOOTMEM_EXCLUSIVE != 0 {
            ReserveMode::Exclusive
        } else {
            ReserveMode::Shared
        }
    }

    /// `reserve_bootmem(addr, size, flags)`: reserves every page the range
    /// touches; returns 0, or [`EBUSY`] with [`BOOTMEM_EXCLUSIVE`] when a
    /// page was already reserved (and then nothing changed).
    ///
    /// # Errors
    ///
    /// Where Linux would `BUG()`; see [`BootAllocator::reserve`].
    pub fn reserve_bootmem(&mut self, addr: u64, size: u64, flags: u32) -> Result<i32, RangeError> {
        Self::reserve_result(self.allocator.reserve(
            PhysicalAddress::new(addr),
            size,
            Self::reserve_mode(flags),
        ))
    }

    /// `reserve_bootmem_node(pgdat, addr, size, flags)`.
    ///
    /// # Errors
    ///
    /// Where Linux would `BUG()`; see [`BootAllocator::reserve_on_node`].
    pub fn reserve_bootmem_node(
        &mut self,
        nid: u32,
        addr: u64,
        size: u64,
        flags: u32,
    ) -> Result<i32, RangeError> {
        Self::reserve_result(self.allocator.reserve_on_node(
            NodeId::new(nid),
            PhysicalAddress::new(addr),
            size,
            Self::reserve_mode(flags),
        ))
    }

    /// `free_all_bootmem()`: hands every free page, then every bitmap page,
    /// to `release` and returns the number of pages released. Consumes the
    /// interface: nothing can be allocated afterwards. Taking `self` moves
    /// the node registry; with a large `MAX_NODES`,
    /// `allocator_mut().free_all_in_place().release_with(release)` hands
    /// out the same blocks where the allocator lies
    /// ([`BootAllocator::free_all_in_place`]).
    pub fn free_all_bootmem(self, release: impl FnMut(FreeBlock)) -> u64 {
        self.allocator.free_all().release_with(release)
    }

    // --- The core allocation functions -------------------------------------

    fn request(
        size: u64,
        align: u64,
        goal: u64,
        limit: u64,
        preference: NodePreference,
    ) -> AllocationRequest {
        let request = AllocationRequest::new(size)
            .aligned(align)
            .goal(PhysicalAddress::new(goal))
            .preference(preference);
        if limit == 0 {
            request
        } else {
            request.limit(PhysicalAddress::new(limit))
        }
    }

    /// `___alloc_bootmem_nopanic(size, align, goal, limit)`: every node at
    /// the goal, then every node from 0, below `limit` (0: none).
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    pub fn ___alloc_bootmem_nopanic(
        &mut self,
        size: u64,
        align: u64,
        goal: u64,
        limit: u64,
    ) -> NoPanicResult {
        null_on_shortage(self.allocator.allocate(&Self::request(
            size,
            align,
            goal,
            limit,
            NodePreference::AnyNode,
        )))
    }

    /// `___alloc_bootmem(size, align, goal, limit)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// With `bootmem alloc of SIZE bytes failed!` when no node has room.
    pub fn ___alloc_bootmem(
        &mut self,
        size: u64,
        align: u64,
        goal: u64,
        limit: u64,
    ) -> Result<PhysicalAddress, AllocationError> {
        panic_on_null(
            size,
            self.___alloc_bootmem_nopanic(size, align, goal, limit),
        )
    }

    /// `__alloc_bootmem_nopanic(size, align, goal)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    pub fn __alloc_bootmem_nopanic(&mut self, size: u64, align: u64, goal: u64) -> NoPanicResult {
        self.___alloc_bootmem_nopanic(size, align, goal, 0)
    }

    /// `__alloc_bootmem(size, align, goal)`: the function every
    /// `alloc_bootmem*` macro without `_node` expands to.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// With `bootmem alloc of SIZE bytes failed!` when no node has room.
    pub fn __alloc_bootmem(
        &mut self,
        size: u64,
        align: u64,
        goal: u64,
    ) -> Result<PhysicalAddress, AllocationError> {
        self.___alloc_bootmem(size, align, goal, 0)
    }

    /// `__alloc_bootmem_low_nopanic(size, align, goal)`: below the low address limit.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    pub fn __alloc_bootmem_low_nopanic(
        &mut self,
        size: u64,
        align: u64,
        goal: u64,
    ) -> NoPanicResult {
        let limit = self.configuration().low_address_limit.as_u64();
        self.___alloc_bootmem_nopanic(size, align, goal, limit)
    }

    /// `__alloc_bootmem_low(size, align, goal)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// With `bootmem alloc of SIZE bytes failed!` when no node has room.
    pub fn __alloc_bootmem_low(
        &mut self,
        size: u64,
        align: u64,
        goal: u64,
    ) -> Result<PhysicalAddress, AllocationError> {
        panic_on_null(size, self.__alloc_bootmem_low_nopanic(size, align, goal))
    }

    /// `___alloc_bootmem_node_nopanic(pgdat, size, align, goal, limit)`: node
    /// `nid` then every node at the goal, then both from 0; a limit that
    /// `goal + size` passes is dropped.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    pub fn ___alloc_bootmem_node_nopanic(
        &mut self,
        nid: u32,
        size: u64,
        align: u64,
        goal: u64,
        limit: u64,
    ) -> NoPanicResult {
        let preference = NodePreference::Prefer(NodeId::new(nid));
        null_on_shortage(
            self.allocator
                .allocate(&Self::request(size, align, goal, limit, preference)),
        )
    }

    /// `___alloc_bootmem_node(pgdat, size, align, goal, limit)`. Unlike
    /// v4.19, which passes 0, the limit is honoured (deviation 4).
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// With `bootmem alloc of SIZE bytes failed!` when no node has room.
    pub fn ___alloc_bootmem_node(
        &mut self,
        nid: u32,
        size: u64,
        align: u64,
        goal: u64,
        limit: u64,
    ) -> Result<PhysicalAddress, AllocationError> {
        panic_on_null(
            size,
            self.___alloc_bootmem_node_nopanic(nid, size, align, goal, limit),
        )
    }

    /// `__alloc_bootmem_node_nopanic(pgdat, size, align, goal)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    pub fn __alloc_bootmem_node_nopanic(
        &mut self,
        nid: u32,
        size: u64,
        align: u64,
        goal: u64,
    ) -> NoPanicResult {
        self.___alloc_bootmem_node_nopanic(nid, size, align, goal, 0)
    }

    /// `__alloc_bootmem_node(pgdat, size, align, goal)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// With `bootmem alloc of SIZE bytes failed!` when no node has room.
    pub fn __alloc_bootmem_node(
        &mut self,
        nid: u32,
        size: u64,
        align: u64,
        goal: u64,
    ) -> Result<PhysicalAddress, AllocationError> {
        self.___alloc_bootmem_node(nid, size, align, goal, 0)
    }

    /// A `_nopanic` twin of [`__alloc_bootmem_low_node`](Self::__alloc_bootmem_low_node).
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    pub fn __alloc_bootmem_low_node_nopanic(
        &mut self,
        nid: u32,
        size: u64,
        align: u64,
        goal: u64,
    ) -> NoPanicResult {
        let limit = self.configuration().low_address_limit.as_u64();
        self.___alloc_bootmem_node_nopanic(nid, size, align, goal, limit)
    }

    /// `__alloc_bootmem_low_node(pgdat, size, align, goal)`: node first,
    /// below the low address limit, which v4.19 ignores (deviation 4).
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// With `bootmem alloc of SIZE bytes failed!` when no node has room.
    pub fn __alloc_bootmem_low_node(
        &mut self,
        nid: u32,
        size: u64,
        align: u64,
        goal: u64,
    ) -> Result<PhysicalAddress, AllocationError> {
        panic_on_null(
            size,
            self.__alloc_bootmem_low_node_nopanic(nid, size, align, goal),
        )
    }

    /// A `_nopanic` twin of [`__alloc_bootmem_node_high`](Self::__alloc_bootmem_node_high).
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    pub fn __alloc_bootmem_node_high_nopanic(
        &mut self,
        nid: u32,
        size: u64,
        align: u64,
        goal: u64,
    ) -> NoPanicResult {
        let request = Self::request(
            size,
            align,
            goal,
            0,
            NodePreference::PreferAboveDma32(NodeId::new(nid)),
        );
        null_on_shortage(self.allocator.allocate(&request))
    }

    /// `__alloc_bootmem_node_high(pgdat, size, align, goal)`: node `nid`
    /// above 4 GiB first when it reaches 128 MiB past it (deviation 5), then
    /// as [`__alloc_bootmem_node`](Self::__alloc_bootmem_node).
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// With `bootmem alloc of SIZE bytes failed!` when no node has room.
    pub fn __alloc_bootmem_node_high(
        &mut self,
        nid: u32,
        size: u64,
        align: u64,
        goal: u64,
    ) -> Result<PhysicalAddress, AllocationError> {
        panic_on_null(
            size,
            self.__alloc_bootmem_node_high_nopanic(nid, size, align, goal),
        )
    }

    // --- The macros ------------------------------------------------------------

    fn cache_line(&self) -> u64 {
        self.configuration().cache_line_bytes
    }

    fn page_bytes(&self) -> u64 {
        self.configuration().page_size.bytes()
    }

    fn default_goal(&self) -> u64 {
        self.configuration().dma_limit.as_u64()
    }
}

/// Defines the `alloc_bootmem*` macros of `bootmem.h` as methods: each is
/// one of the functions above with a default alignment and goal.
macro_rules! linux_macros {
    ($(
        $(#[$attribute:meta])*
        $name:ident ( $($node:ident)? ; $($parameter:ident),* ) => $function:ident ( $align:ident, $goal:ident ) -> $result:ty;
    )*) => {
        #[allow(clippy::used_underscore_items)]
        impl<Storage, Memory, const MAX_NODES: usize> Bootmem<Storage, Memory, MAX_NODES>
        where
            Storage: AsRef<[u64]> + AsMut<[u64]>,
            Memory: PhysicalMemory,
        {
            $(
                $(#[$attribute])*
                pub fn $name(&mut self, $($node: u32,)? size: u64 $(, $parameter: u64)*) -> $result {
                    let align = linux_macros!(@align self, $align);
                    let goal = linux_macros!(@goal self, $goal);
                    self.$function($($node,)? size, align, goal)
                }
            )*
        }
    };
    (@align $self:ident, cache_line) => { $self.cache_line() };
    (@align $self:ident, page) => { $self.page_bytes() };
    (@align $self:ident, $parameter:ident) => { $parameter };
    (@goal $self:ident, dma_limit) => { $self.default_goal() };
    (@goal $self:ident, zero) => { 0 };
}

type Panicking = Result<PhysicalAddress, AllocationError>;

linux_macros! {
    /// `alloc_bootmem(x)`: cache-line aligned, above DMA memory.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// When no node has room.
    alloc_bootmem(; ) => __alloc_bootmem(cache_line, dma_limit) -> Panicking;
    /// `alloc_bootmem_align(x, align)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// When no node has room.
    alloc_bootmem_align(; align) => __alloc_bootmem(align, dma_limit) -> Panicking;
    /// `alloc_bootmem_nopanic(x)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    alloc_bootmem_nopanic(; ) => __alloc_bootmem_nopanic(cache_line, dma_limit) -> NoPanicResult;
    /// `alloc_bootmem_pages(x)`: page aligned, above DMA memory.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// When no node has room.
    alloc_bootmem_pages(; ) => __alloc_bootmem(page, dma_limit) -> Panicking;
    /// `alloc_bootmem_pages_nopanic(x)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    alloc_bootmem_pages_nopanic(; ) => __alloc_bootmem_nopanic(page, dma_limit) -> NoPanicResult;
    /// `alloc_bootmem_node(pgdat, x)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// When no node has room.
    alloc_bootmem_node(nid; ) => __alloc_bootmem_node(cache_line, dma_limit) -> Panicking;
    /// `alloc_bootmem_node_nopanic(pgdat, x)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    alloc_bootmem_node_nopanic(nid; ) => __alloc_bootmem_node_nopanic(cache_line, dma_limit) -> NoPanicResult;
    /// `alloc_bootmem_pages_node(pgdat, x)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// When no node has room.
    alloc_bootmem_pages_node(nid; ) => __alloc_bootmem_node(page, dma_limit) -> Panicking;
    /// `alloc_bootmem_pages_node_nopanic(pgdat, x)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    alloc_bootmem_pages_node_nopanic(nid; ) => __alloc_bootmem_node_nopanic(page, dma_limit) -> NoPanicResult;
    /// `alloc_bootmem_low(x)`: cache-line aligned, from 0, below the low limit.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// When no node has room.
    alloc_bootmem_low(; ) => __alloc_bootmem_low(cache_line, zero) -> Panicking;
    /// `__alloc_bootmem_low_nopanic(x, SMP_CACHE_BYTES, 0)` (no such macro in
    /// Linux; added for symmetry).
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    alloc_bootmem_low_nopanic(; ) => __alloc_bootmem_low_nopanic(cache_line, zero) -> NoPanicResult;
    /// `alloc_bootmem_low_pages(x)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// When no node has room.
    alloc_bootmem_low_pages(; ) => __alloc_bootmem_low(page, zero) -> Panicking;
    /// `alloc_bootmem_low_pages_nopanic(x)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    alloc_bootmem_low_pages_nopanic(; ) => __alloc_bootmem_low_nopanic(page, zero) -> NoPanicResult;
    /// `alloc_bootmem_low_pages_node(pgdat, x)`.
    ///
    /// # Errors
    ///
    /// Misuse only (Linux would `BUG()`).
    ///
    /// # Panics
    ///
    /// When no node has room.
    alloc_bootmem_low_pages_node(nid; ) => __alloc_bootmem_low_node(page, zero) -> Panicking;
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::memory::NoZeroing;

    type Linux = Bootmem<Vec<u64>, NoZeroing, 2>;

    const PAGE: PageSize = PageSize::SIZE_4KIB;

    #[test]
    fn a_late_free_releases_each_whole_page_inside_the_range_once() {
        let mut pages = Vec::new();
        let released = free_bootmem_late(PAGE, 0x1800, 0x3000, |frame| {
            pages.push(frame.as_u64());
        });
        assert_eq!(released, Ok(2));
        assert_eq!(pages, [2, 3]);

        let mut none = Vec::new();
        let within_a_page = free_bootmem_late(PAGE, 0x1800, 0x100, |frame| none.push(frame));
        assert_eq!(within_a_page, Ok(0));
        assert!(none.is_empty());

        let aligned = free_bootmem_late(PAGE, 0x10_0000, 0x10_0000, |_| {});
        assert_eq!(aligned, Ok(0x100));
    }

    #[test]
    fn a_late_free_past_two_to_the_64_is_refused() {
        let overflow = RangeError::AddressOverflow {
            start: PhysicalAddress::new(u64::MAX - 0xfff),
            size: 0x1000,
        };
        assert_eq!(
            free_bootmem_late(PAGE, u64::MAX - 0xfff, 0x1000, |_| {}),
            Err(overflow)
        );
        assert_eq!(
            late_free_frames(PAGE, u64::MAX - 0xfff, 0x1000),
            Err(overflow)
        );
        let frames = late_free_frames(PAGE, 0x1800, 0x3000).unwrap();
        assert_eq!(frames, PageFrameNumber::new(2)..PageFrameNumber::new(4));
    }

    #[test]
    fn init_bootmem_registers_node_zero_from_frame_zero_with_its_bitmap_at_start() {
        let mut linux = Linux::new(Configuration::X86_64, NoZeroing);
        let storage = vec![0; crate::node_storage_words(0x100) as usize];
        assert_eq!(linux.init_bootmem(0x10, 0x100, storage), Ok(0x20));
        let node = linux.allocator().nodes().next().unwrap();
        assert_eq!(
            (node.node, node.start, node.end),
            (
                NodeId::new(0),
                PageFrameNumber::new(0),
                PageFrameNumber::new(0x100)
            )
        );
        linux.free_bootmem(0, 0x10_0000).unwrap();
        let allocator = linux.allocator();
        assert_eq!(
            allocator.is_reserved(PageFrameNumber::new(0x10)),
            Some(true)
        );
        assert_eq!(
            allocator.is_reserved(PageFrameNumber::new(0x11)),
            Some(false)
        );
        assert_eq!(allocator.free_pages(), 0xff);
    }

    #[test]
    fn the_allocator_goes_in_and_comes_back_unchanged() {
        let mut linux = Linux::new(Configuration::X86_64, NoZeroing);
        let storage = vec![0; crate::node_storage_words(0x100) as usize];
        linux
            .allocator_mut()
            .register_node(
                NodeId::new(1),
                PageFrameNumber::new(0x100)..PageFrameNumber::new(0x200),
                storage,
                None,
            )
            .unwrap();
        let allocator = linux.into_allocator();
        assert_eq!(allocator.nodes().next().unwrap().node, NodeId::new(1));
        let linux = Linux::from(allocator);
        assert_eq!(linux.allocator().nodes().count(), 1);
    }
}
