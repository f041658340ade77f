//! The hand-off that borrows the allocator's nodes where they lie, instead of taking them by value.

use super::teardown::Teardown;
use super::{release_each, FreeBlock, DEFAULT_MAX_ORDER};
use crate::node::NodeAllocator;

/// The teardown iterator returned by
/// [`BootAllocator::free_all_in_place`](crate::BootAllocator::free_all_in_place):
/// the blocks of [`HandOff`](super::HandOff), in the same order, read from the nodes where
/// the allocator holds them.
///
/// The allocator has no node from the moment this is made: a call made
/// after it (once the borrow ends) finds no node, as after Linux's
/// `free_all_bootmem`, and new nodes may be registered. Each node (its
/// storage included) is dropped when this is: a hand-off dropped before
/// its last block leaves the rest of the pages unreleased, as dropping a
/// [`HandOff`](super::HandOff) does.
///
/// ```
/// use bootmem::{BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress};
/// use bootmem::memory::NoZeroing;
/// // A registry of 1 024 nodes: `free_all` would move all of it.
/// let mut allocator: Box<BootAllocator<Vec<u64>, NoZeroing, 1024>> =
///     Box::new(BootAllocator::new(Configuration::X86_64, NoZeroing));
/// let storage = vec![0; bootmem::node_storage_words(4096) as usize];
/// allocator.register_node(NodeId::new(0), PageFrameNumber::new(0)..PageFrameNumber::new(4096), storage, None).unwrap();
/// allocator.free(PhysicalAddress::new(0), 4096 * 4096).unwrap();
/// assert_eq!(allocator.free_all_in_place().count_pages(), 4096);
/// assert_eq!(allocator.nodes().count(), 0);
/// assert!(allocator.allocate(&bootmem::AllocationRequest::new(4096)).is_err());
/// ```
#[derive(Debug)]
pub struct HandOffInPlace<'allocator, Storage: AsRef<[u64]> + AsMut<[u64]>> {
    /// The nodes the allocator held, detached from its registry.
    nodes: &'allocator mut [Option<NodeAllocator<Storage>>],
    teardown: Teardown,
}

impl<'allocator, Storage: AsRef<[u64]> + AsMut<[u64]>> HandOffInPlace<'allocator, Storage> {
    pub(crate) fn new(nodes: &'allocator mut [Option<NodeAllocator<Storage>>]) -> Self {
        Self {
            nodes,
            teardown: Teardown::new(DEFAULT_MAX_ORDER),
        }
    }

    /// Hands out free blocks of at most `2^order` pages (capped at 63), as
    /// [`HandOff::with_max_order`](super::HandOff::with_max_order). Call it before taking the first block.
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

impl<Storage: AsRef<[u64]> + AsMut<[u64]>> Iterator for HandOffInPlace<'_, Storage> {
    type Item = FreeBlock;

    /// As [`HandOff`](super::HandOff)'s `fold`: each free run cut into blocks in a tight loop.
    fn fold<Accumulator, Function>(mut self, init: Accumulator, function: Function) -> Accumulator
    where
        Function: FnMut(Accumulator, FreeBlock) -> Accumulator,
    {
        let teardown = core::mem::replace(&mut self.teardown, Teardown::new(DEFAULT_MAX_ORDER));
        // `self` drops the nodes after the fold has read them.
        teardown.fold(self.nodes, init, function)
    }

    fn next(&mut self) -> Option<FreeBlock> {
        self.teardown.next(self.nodes)
    }
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>> Drop for HandOffInPlace<'_, Storage> {
    /// Drops every node the hand-off took (their storage with them), so
    /// that the allocator's slots are empty again.
    fn drop(&mut self) {
        for slot in self.nodes.iter_mut() {
            *slot = None;
        }
    }
}
