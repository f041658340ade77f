//! A `lock_api` mutex around the allocator, so several CPUs can share it during SMP bring-up.
//!
//! [`LockedBootAllocator`] is generic over any [`lock_api::RawMutex`]: a
//! spin lock (`spin::Mutex<()>` with `spin`'s `lock_api` feature) before
//! the scheduler exists, or a kernel's own lock. Its constructor is `const`,
//! so the allocator can live in a `static` and be set up by the boot CPU
//! while the others wait for the lock.
//!
//! Teardown ([`free_all`](LockedBootAllocator::free_all)) takes the
//! allocator out of the lock, or ([`free_all_in_place`](LockedBootAllocator::free_all_in_place))
//! hands its pages out where it lies, under the lock; every later call
//! sees [`TornDown`].

use core::fmt;

use lock_api::{MappedMutexGuard, Mutex, MutexGuard, RawMutex};

use crate::allocator::BootAllocator;
use crate::config::Configuration;
use crate::handoff::{HandOff, HandOffInPlace};
use crate::memory::PhysicalMemory;

/// The error of a call made after [`LockedBootAllocator::free_all`]: the
/// pages now belong to the page allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TornDown;

impl fmt::Display for TornDown {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("the boot allocator was already torn down by free_all")
    }
}

impl core::error::Error for TornDown {}

/// A [`BootAllocator`] behind a `lock_api` mutex `R`.
///
/// The generic parameters are those of [`BootAllocator`], plus the raw lock.
///
/// ```
/// use bootmem::adapters::lock::LockedBootAllocator;
/// use bootmem::memory::NoZeroing;
/// use bootmem::{AllocationRequest, Configuration, NodeId, PageFrameNumber, PhysicalAddress};
///
/// // One allocator for every CPU, in a static: the constructor is `const`.
/// static BOOTMEM: LockedBootAllocator<spin::Mutex<()>, &'static mut [u64], NoZeroing, 4> =
///     LockedBootAllocator::new(Configuration::X86_64, NoZeroing);
///
/// // The boot CPU registers 64 MiB of RAM (bitmap storage from a static array here).
/// let storage: &'static mut [u64] = Box::leak(Box::new([0u64; bootmem::node_storage_words(0x4000) as usize]));
/// BOOTMEM.with(|allocator| -> Result<(), Box<dyn std::error::Error>> {
///     allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(0x4000), storage, None)?;
///     allocator.free(PhysicalAddress::new(0), 64 << 20)?;
///     Ok(())
/// })??;
///
/// // Any CPU, in parallel: each call takes the lock.
/// let handles: Vec<_> = (0..4)
///     .map(|_| std::thread::spawn(|| BOOTMEM.with(|allocator| allocator.allocate(&AllocationRequest::new(4096).aligned(4096)))))
///     .collect();
/// let mut addresses: Vec<_> = handles.into_iter().map(|handle| handle.join().unwrap().unwrap().unwrap()).collect();
/// addresses.sort();
/// addresses.dedup();
/// assert_eq!(addresses.len(), 4); // four distinct pages
///
/// let released = BOOTMEM.free_all().unwrap().count_pages();
/// assert_eq!(released, 0x4000 - 4);
/// assert!(BOOTMEM.with(|allocator| allocator.free_pages()).is_err()); // torn down
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LockedBootAllocator<R, Storage, Memory, const MAX_NODES: usize> {
    inner: Mutex<R, Option<BootAllocator<Storage, Memory, MAX_NODES>>>,
}

impl<R, Storage, Memory, const MAX_NODES: usize> LockedBootAllocator<R, Storage, Memory, MAX_NODES>
where
    R: RawMutex,
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    /// A locked allocator with no nodes; usable in a `static` initialiser.
    pub const fn new(configuration: Configuration, memory: Memory) -> Self {
        Self::from_allocator(BootAllocator::new(configuration, memory))
    }

    /// Puts an allocator already set up (for example by
    /// `bootmem::setup::set_up`) behind the lock.
    pub const fn from_allocator(allocator: BootAllocator<Storage, Memory, MAX_NODES>) -> Self {
        Self {
            inner: Mutex::const_new(R::INIT, Some(allocator)),
        }
    }

    /// Waits for the lock and returns the allocator, or [`TornDown`].
    ///
    /// ```
    /// use bootmem::adapters::lock::LockedBootAllocator;
    /// use bootmem::{memory::NoZeroing, Configuration, NodeId, PageFrameNumber};
    /// let locked: LockedBootAllocator<spin::Mutex<()>, Vec<u64>, NoZeroing, 1> =
    ///     LockedBootAllocator::new(Configuration::X86_64, NoZeroing);
    /// let mut allocator = locked.lock()?;
    /// allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(64), vec![0; bootmem::node_storage_words(64) as usize], None)?;
    /// assert_eq!(allocator.free_pages(), 0); // every page starts reserved
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TornDown`] after [`free_all`](Self::free_all).
    pub fn lock(
        &self,
    ) -> Result<MappedMutexGuard<'_, R, BootAllocator<Storage, Memory, MAX_NODES>>, TornDown> {
        MutexGuard::try_map(self.inner.lock(), Option::as_mut).map_err(|_| TornDown)
    }

    /// Runs `call` on the allocator under the lock and returns its result.
    ///
    /// # Errors
    ///
    /// [`TornDown`] after [`free_all`](Self::free_all); `call` is not run.
    pub fn with<T>(
        &self,
        call: impl FnOnce(&mut BootAllocator<Storage, Memory, MAX_NODES>) -> T,
    ) -> Result<T, TornDown> {
        let mut allocator = self.lock()?;
        Ok(call(&mut allocator))
    }

    /// Takes the allocator out and tears it down
    /// ([`BootAllocator::free_all`]); `None` when that already happened.
    ///
    /// ```
    /// use bootmem::adapters::lock::{LockedBootAllocator, TornDown};
    /// use bootmem::{memory::NoZeroing, Configuration, NodeId, PageFrameNumber, PhysicalAddress};
    /// let locked: LockedBootAllocator<spin::Mutex<()>, Vec<u64>, NoZeroing, 1> =
    ///     LockedBootAllocator::new(Configuration::X86_64, NoZeroing);
    /// locked.with(|allocator| {
    ///     allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(64), vec![0; bootmem::node_storage_words(64) as usize], None).unwrap();
    ///     allocator.free(PhysicalAddress::new(0), 64 * 4096).unwrap();
    /// })?;
    /// let blocks: Vec<_> = locked.free_all().unwrap().collect();
    /// assert_eq!(blocks.iter().map(|block| block.pages()).sum::<u64>(), 64);
    /// assert!(locked.free_all().is_none());
    /// assert_eq!(locked.with(|allocator| allocator.free_pages()), Err(TornDown));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn free_all(&self) -> Option<HandOff<Storage, MAX_NODES>> {
        let allocator = self.inner.lock().take()?;
        Some(allocator.free_all())
    }

    /// Tears the allocator down where it lies, under the lock: `hand_off`
    /// gets the blocks of [`free_all`](Self::free_all) from
    /// [`BootAllocator::free_all_in_place`], and the allocator is dropped
    /// in place after it returns. Nothing is moved, where `free_all` moves
    /// the whole allocator out of the lock and onto the caller's stack
    /// (with 1 024 nodes about 300 KB, more than many kernels' boot
    /// stacks hold). `None`, and `hand_off` is not run, when the
    /// allocator was already torn down.
    ///
    /// The lock is held while `hand_off` runs: it must not call this
    /// allocator (the call would wait for the lock forever).
    ///
    /// ```
    /// use bootmem::adapters::lock::{LockedBootAllocator, TornDown};
    /// use bootmem::{memory::NoZeroing, Configuration, NodeId, PageFrameNumber, PhysicalAddress};
    /// static LOCKED: LockedBootAllocator<spin::Mutex<()>, &'static mut [u64], NoZeroing, 1024> =
    ///     LockedBootAllocator::new(Configuration::X86_64, NoZeroing);
    /// let storage = vec![0; bootmem::node_storage_words(64) as usize].leak();
    /// LOCKED.with(|allocator| {
    ///     allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(64), storage, None).unwrap();
    ///     allocator.free(PhysicalAddress::new(0), 64 * 4096).unwrap();
    /// })?;
    /// let mut blocks = Vec::new();
    /// let released = LOCKED.free_all_in_place(|hand_off| hand_off.release_with(|block| blocks.push(block)));
    /// assert_eq!(released, Some(64));
    /// assert_eq!(blocks.len(), 1);
    /// assert!(LOCKED.free_all_in_place(|hand_off| hand_off.count_pages()).is_none());
    /// assert_eq!(LOCKED.with(|allocator| allocator.free_pages()), Err(TornDown));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn free_all_in_place<T>(
        &self,
        hand_off: impl FnOnce(HandOffInPlace<'_, Storage>) -> T,
    ) -> Option<T> {
        let mut guard = self.inner.lock();
        let result = hand_off(guard.as_mut()?.free_all_in_place());
        *guard = None;
        Some(result)
    }

    /// Whether [`free_all`](Self::free_all) has run.
    pub fn is_torn_down(&self) -> bool {
        self.inner.lock().is_none()
    }

    /// The allocator, unless torn down, without the lock.
    pub fn into_inner(self) -> Option<BootAllocator<Storage, Memory, MAX_NODES>> {
        self.inner.into_inner()
    }
}

impl<R, Storage, Memory, const MAX_NODES: usize> fmt::Debug
    for LockedBootAllocator<R, Storage, Memory, MAX_NODES>
where
    R: RawMutex,
    Storage: fmt::Debug,
    Memory: fmt::Debug,
{
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("LockedBootAllocator")
            .field("inner", &self.inner)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::NoZeroing;
    use crate::{AllocationRequest, NodeId, PageFrameNumber, PhysicalAddress};
    use std::vec;
    use std::vec::Vec;

    type Locked = LockedBootAllocator<spin::Mutex<()>, Vec<u64>, NoZeroing, 2>;

    fn one_node() -> Locked {
        let locked = Locked::new(Configuration::X86_64, NoZeroing);
        locked
            .with(|allocator| {
                let frames = PageFrameNumber::new(0x1000)..PageFrameNumber::new(0x2000);
                allocator
                    .register_node(
                        NodeId::new(0),
                        frames,
                        vec![0; crate::node_storage_words(0x1000) as usize],
                        None,
                    )
                    .unwrap();
                allocator
                    .free(PhysicalAddress::new(0x100_0000), 0x100_0000)
                    .unwrap();
            })
            .unwrap();
        locked
    }

    #[test]
    fn calls_through_the_lock_reach_the_allocator() {
        let locked = one_node();
        let address = locked
            .with(|allocator| allocator.allocate(&AllocationRequest::new(8192).aligned(4096)))
            .unwrap()
            .unwrap();
        assert_eq!(address, PhysicalAddress::new(0x100_0000));
        assert_eq!(locked.lock().unwrap().free_pages(), 0x1000 - 2);
    }

    #[test]
    fn teardown_happens_once_and_later_calls_see_it() {
        let locked = one_node();
        assert!(!locked.is_torn_down());
        assert_eq!(locked.free_all().map(HandOff::count_pages), Some(0x1000));
        assert!(locked.is_torn_down());
        assert!(locked.free_all().is_none());
        assert_eq!(
            locked.with(|allocator| allocator.free_pages()),
            Err(TornDown)
        );
        assert!(locked.into_inner().is_none());
    }

    #[test]
    fn teardown_in_place_gives_the_same_blocks_once_and_later_calls_see_it() {
        let owned: std::vec::Vec<_> = one_node().free_all().unwrap().collect();
        let locked = one_node();
        let mut blocks = std::vec::Vec::new();
        let pages = locked.free_all_in_place(|hand_off| {
            hand_off
                .with_max_order(10)
                .release_with(|block| blocks.push(block))
        });
        assert_eq!(pages, Some(0x1000));
        assert_eq!(blocks, owned);
        assert!(locked.is_torn_down());
        let mut ran = false;
        assert!(locked.free_all_in_place(|_| ran = true).is_none());
        assert!(!ran, "not run once torn down");
        assert!(locked.free_all().is_none());
        assert_eq!(
            locked.with(|allocator| allocator.free_pages()),
            Err(TornDown)
        );
    }

    #[test]
    fn the_allocator_comes_back_out_of_the_lock_before_teardown() {
        let allocator = one_node().into_inner().unwrap();
        assert_eq!(allocator.free_pages(), 0x1000);
        assert_eq!(allocator.nodes().count(), 1);
    }

    #[test]
    fn the_torn_down_error_says_that_free_all_took_the_allocator() {
        assert_eq!(
            std::format!("{TornDown}"),
            "the boot allocator was already torn down by free_all"
        );
    }

    #[test]
    fn the_debug_form_shows_the_allocator_inside_the_lock_until_teardown() {
        let locked = one_node();
        let before = std::format!("{locked:?}");
        assert!(
            before.starts_with("LockedBootAllocator { inner: Mutex { data: Some(BootAllocator {"),
            "{before}"
        );
        locked.free_all();
        assert_eq!(
            std::format!("{locked:?}"),
            "LockedBootAllocator { inner: Mutex { data: None } }"
        );
    }
}
