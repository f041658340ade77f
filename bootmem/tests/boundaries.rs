//! Calls that meet a boundary exactly: a limit equal to goal + size, and the other edges mutation testing found untested.
//!
//! Each case states the outcome the contract demands at the edge and one
//! step past it, so that moving the edge by one (a `>` for a `>=`, say)
//! fails a test.

use bootmem::memory::NoZeroing;
use bootmem::{
    AllocationError, AllocationRequest, BootAllocator, Configuration, NodeId, NodePreference,
    PageFrameNumber, PhysicalAddress, ReserveMode,
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

/// A node preferred with a limit that `goal + size` meets exactly keeps
/// the limit: with the goal's page taken, the block goes below the limit
/// (from the node's start), not above it.
#[test]
fn a_preferred_node_keeps_a_limit_that_goal_plus_size_meets_exactly() {
    let mut allocator = one_free_node(0x100);
    allocator
        .reserve(address(0x10_000), PAGE, ReserveMode::Shared)
        .unwrap();
    let request = AllocationRequest::new(PAGE)
        .aligned(PAGE)
        .goal(address(0x10_000))
        .limit(address(0x11_000))
        .on_node(NodeId::new(0));
    assert_eq!(allocator.allocate(&request), Ok(address(0)));
    // One byte more and the limit is dropped, as Linux does: the block
    // lands above the goal.
    let past = request.limit(address(0x10_fff));
    assert_eq!(allocator.allocate(&past), Ok(address(0x11_000)));
}

/// A machine whose 32-bit DMA memory ends at 1 MiB (frame 0x100): a node
/// reaches "high memory" when it ends more than 128 MiB (0x8000 frames)
/// past that, at frame 0x8100.
const SMALL_DMA32: Configuration = Configuration {
    dma32_end: PageFrameNumber::new(0x100),
    ..Configuration::X86_64
};
const DMA32_END: u64 = 0x10_0000;
const HIGH_MEMORY_THRESHOLD: u64 = 0x8100;

fn one_free_node_with(configuration: Configuration, pages: u64) -> Allocator {
    let mut allocator = Allocator::new(configuration, NoZeroing);
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

fn above_dma32(size: u64) -> AllocationRequest {
    AllocationRequest::new(size)
        .aligned(PAGE)
        .preference(NodePreference::PreferAboveDma32(NodeId::new(0)))
}

#[test]
fn a_node_reaching_past_the_margin_serves_high_requests_from_the_end_of_dma32() {
    let mut allocator = one_free_node_with(SMALL_DMA32, HIGH_MEMORY_THRESHOLD + 1);
    assert_eq!(
        allocator.allocate(&above_dma32(PAGE)),
        Ok(address(DMA32_END))
    );
    // Any limit is ignored, in the high attempt too.
    let limited = above_dma32(PAGE).limit(address(0x2000));
    assert_eq!(allocator.allocate(&limited), Ok(address(DMA32_END + PAGE)));
}

#[test]
fn a_node_ending_exactly_at_the_margin_serves_high_requests_from_the_goal() {
    let mut allocator = one_free_node_with(SMALL_DMA32, HIGH_MEMORY_THRESHOLD);
    assert_eq!(allocator.allocate(&above_dma32(PAGE)), Ok(address(0)));
}

#[test]
fn a_high_request_ignores_its_limit_on_a_node_below_the_margin() {
    let mut allocator = one_free_node_with(SMALL_DMA32, 0x100);
    allocator
        .reserve(address(0), 4 * PAGE, ReserveMode::Shared)
        .unwrap();
    let limited = above_dma32(PAGE).limit(address(4 * PAGE));
    assert_eq!(allocator.allocate(&limited), Ok(address(4 * PAGE)));
}

/// Requests with one goal, limit and alignment, each of at most a page,
/// after one another on any node: the second is merged into the first's
/// partly used page, and the rest follow it there (the streak shortcut)
/// until the page is full.
fn packed(allocator: &mut Allocator, size: u64, count: usize) -> Vec<u64> {
    let request = AllocationRequest::new(size).aligned(size);
    (0..count)
        .map(|_| allocator.allocate(&request).unwrap().as_u64())
        .collect()
}

#[test]
fn small_blocks_pack_one_after_another_on_a_node_at_frame_zero() {
    let mut allocator = one_free_node(0x100);
    assert_eq!(
        packed(&mut allocator, 0x40, 5),
        [0x0, 0x40, 0x80, 0xc0, 0x100]
    );
    assert_eq!(allocator.free_pages(), 0x100 - 1);
}

#[test]
fn a_block_after_one_that_filled_its_page_starts_the_next_page() {
    let mut allocator = one_free_node(0x100);
    // The second block ends exactly at the end of page 0.
    assert_eq!(
        packed(&mut allocator, 0x800, 4),
        [0x0, 0x800, 0x1000, 0x1800]
    );
    assert_eq!(allocator.free_pages(), 0x100 - 2);
}

#[test]
fn a_streak_that_takes_the_hint_page_stops_where_the_next_page_is_reserved() {
    let mut allocator = one_free_node(0x100);
    allocator
        .reserve(address(2 * PAGE), PAGE, ReserveMode::Shared)
        .unwrap();
    // The third block crosses into page 1, the hint page, and moves the
    // hint to page 2, which is reserved. v4.19 then finds no room at the
    // hint, scans on to page 3, and does not merge (the partly used page
    // 1 is not the one just before page 3): the fourth block starts page
    // 3, and the fifth merges after it.
    assert_eq!(
        packed_at(&mut allocator, 0x600, 0x40, 5),
        [0x0, 0x600, 0xc00, 0x3000, 0x3600]
    );
    // Without the reserved page the streak runs on through page 1.
    let mut allocator = one_free_node(0x100);
    assert_eq!(
        packed_at(&mut allocator, 0x600, 0x40, 5),
        [0x0, 0x600, 0xc00, 0x1200, 0x1800]
    );
}

/// `count` requests of `size` bytes aligned to `alignment`, one after another.
fn packed_at(allocator: &mut Allocator, size: u64, alignment: u64, count: usize) -> Vec<u64> {
    let request = AllocationRequest::new(size).aligned(alignment);
    (0..count)
        .map(|_| allocator.allocate(&request).unwrap().as_u64())
        .collect()
}

#[test]
fn small_blocks_pack_on_a_node_in_the_top_half_of_the_address_space() {
    let mut allocator = Allocator::new(Configuration::X86_64, NoZeroing);
    let start = 1 << 51; // address 2^63
    let storage = vec![0; bootmem::node_storage_words(0x100) as usize];
    allocator
        .register_node(
            NodeId::new(0),
            PageFrameNumber::new(start)..PageFrameNumber::new(start + 0x100),
            storage,
            None,
        )
        .unwrap();
    allocator.free(address(1 << 63), 0x100 * PAGE).unwrap();
    let base = 1 << 63;
    assert_eq!(
        packed(&mut allocator, 0x40, 4),
        [base, base + 0x40, base + 0x80, base + 0xc0]
    );
}

/// Deviation 7: a node's bitmap pages stay reserved in whichever node they
/// lie, also one registered (and freed) before it.
#[test]
fn a_bitmap_placed_in_an_earlier_node_is_reserved_there() {
    let mut allocator = one_free_node(0x100);
    let bitmap = bootmem::FrameRange::new(PageFrameNumber::new(0x10), PageFrameNumber::new(0x11));
    let storage = vec![0; bootmem::node_storage_words(0x100) as usize];
    allocator
        .register_node(
            NodeId::new(1),
            PageFrameNumber::new(0x100)..PageFrameNumber::new(0x200),
            storage,
            bitmap,
        )
        .unwrap();
    assert_eq!(
        allocator.is_reserved(PageFrameNumber::new(0x10)),
        Some(true)
    );
    assert_eq!(
        allocator.is_reserved(PageFrameNumber::new(0x11)),
        Some(false)
    );
    assert_eq!(allocator.free_pages(), 0x100 - 1);
    // Freeing over it leaves it reserved.
    assert_eq!(allocator.free(address(0x10_000), PAGE), Ok(()));
    assert_eq!(
        allocator.is_reserved(PageFrameNumber::new(0x10)),
        Some(true)
    );
}
