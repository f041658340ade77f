//! Calls that meet a boundary exactly: a limit equal to goal + size, and the other edges mutation testing found untested.
//!
//! Each case states the outcome the contract demands at the edge and one
//! step past it, so that moving the edge by one (a `>` for a `>=`, say)
//! fails a test.

use bootmem::memory::NoZeroing;
use bootmem::{
    AllocationError, AllocationRequest, BootAllocator, Configuration, NodeId, PageFrameNumber,
    PhysicalAddress,
};

const PAGE: u64 = 4096;

type Allocator = BootAllocator<Vec<u64>, NoZeroing, 4>;

fn address(value: u64) -> PhysicalAddress {
    PhysicalAddress::new(value)
}

/// One node over frames `[0, pages)`, every page free, the bitmap outside.
fn one_free_node(pages: u64) -> Allocator {
    let mut allocator = Allocator::new(Configuration::X86_64, NoZeroing);
    let storage = vec![0; bootmem::node_storage_words(pages) as usize];
    allocator
        .register_node(
            NodeId::new(0),
            PageFrameNumber::new(0)..PageFrameNumber::new(pages),
            storage,
            None,
        )
        .unwrap();
    allocator.free(address(0), pages * PAGE).unwrap();
    allocator
}

#[test]
fn a_block_ending_exactly_at_the_limit_is_allowed_for_any_node() {
    let mut allocator = one_free_node(0x100);
    let request = AllocationRequest::new(PAGE)
        .aligned(PAGE)
        .goal(address(0x10_000))
        .limit(address(0x11_000));
    assert_eq!(allocator.allocate(&request), Ok(address(0x10_000)));

    let one_byte_short = request.limit(address(0x10_fff));
    assert_eq!(
        allocator.allocate(&one_byte_short),
        Err(AllocationError::GoalPastLimit {
            goal: address(0x10_000),
            size: PAGE,
            limit: address(0x10_fff),
        })
    );
}
