//! Hostile inputs to the allocator: values near 2^64, nodes at the top of the address space, zero sizes, odd alignments, overlapping and full registries.
//!
//! Each case runs through the harness (the library against the
//! independent model, with every invariant checked after every call and
//! the hand-off compared at the end) and also states the outcome the
//! contract demands, so a wrong model cannot hide a wrong library.

mod oracle;

use bootmem::linux::Bootmem;
use bootmem::memory::NoZeroing;
use bootmem::{Configuration, PageFrameNumber};
use oracle::calls::{Arguments, Call, Function, Outcome};
use oracle::harness::Harness;
use oracle::{Allocation, Machine};

const PAGE: u64 = 4096;
const MAX: u64 = u64::MAX;
/// The last frame whose end address still fits in 64 bits.
const TOP_FRAME: u64 = (1 << 52) - 1;

fn machine() -> Machine {
    Machine {
        page: PAGE,
        cache_line: 64,
        dma_limit: 0x100_0000,
        low_limit: 0xffff_ffff,
        dma32_end_pfn: 0x10_0000,
    }
}

fn allocation(function: Function, nid: u32, size: u64, align: u64, goal: u64, limit: u64) -> Call {
    Call::Allocate {
        function,
        arguments: Arguments {
            nid,
            size,
            align,
            goal,
            limit,
        },
    }
}

const fn address(value: u64) -> Outcome {
    Outcome::Allocation(Allocation::Address(value))
}
const NULL: Outcome = Outcome::Allocation(Allocation::Null);
const PANIC: Outcome = Outcome::Allocation(Allocation::Panic);
const BUG_ALLOCATION: Outcome = Outcome::Allocation(Allocation::Bug);

/// Runs `steps` through the harness, checking each outcome, then tears down.
fn check(steps: &[(Call, Outcome)]) {
    oracle::calls::quiet_expected_panics();
    let mut harness = Harness::new(machine());
    for (index, (call, expected)) in steps.iter().enumerate() {
        let got = harness
            .run(call)
            .unwrap_or_else(|error| panic!("step {index}: {error}"));
        assert_eq!(got, *expected, "step {index}: {call:?}");
    }
    harness.finish().unwrap();
}

/// A node over frames `[start, end)` with its bitmap outside, all freed.
fn node(nid: u32, start: u64, end: u64, mapstart: u64) -> [(Call, Outcome); 2] {
    [
        (
            Call::Init {
                nid,
                mapstart,
                start,
                end,
            },
            Outcome::Bytes((end - start).div_ceil(64) * 8),
        ),
        (
            Call::Free {
                address: start * PAGE,
                size: (end - start) * PAGE,
            },
            Outcome::Done,
        ),
    ]
}

#[test]
fn sizes_goals_and_limits_near_two_to_the_64() {
    use Function as F;
    let mut steps = node(0, 0x1000, 0x1100, 0x10).to_vec();
    steps.extend([
        // goal + size past 2^64: BUG, not a panic nor a wrap (deviation 8).
        (
            allocation(F::alloc_bootmem, 0, MAX, 0, 0, 0),
            BUG_ALLOCATION,
        ),
        (
            allocation(F::alloc_bootmem_low, 0, MAX, 0, 0, 0),
            BUG_ALLOCATION,
        ),
        (
            allocation(F::__alloc_bootmem_nopanic, 0, 64, 64, MAX - 10, 0),
            BUG_ALLOCATION,
        ),
        (
            allocation(F::__alloc_bootmem_node_nopanic, 0, 64, 64, MAX - 63, 0),
            BUG_ALLOCATION,
        ),
        (
            allocation(F::__alloc_bootmem_node_high_nopanic, 0, 2, 1, MAX - 1, 0),
            BUG_ALLOCATION,
        ),
        // A goal whose end is exactly 2^64 - 1 is legal; nothing is up there.
        (
            allocation(F::__alloc_bootmem_nopanic, 0, 64, 64, MAX - 64, 0),
            address(0x100_0000),
        ),
        // A limit at 2^64 - 1 is no limit at all in practice.
        (
            allocation(F::___alloc_bootmem_nopanic, 0, 64, 64, 0, MAX),
            address(0x100_0040),
        ),
        // A _node call whose goal + size passes its limit drops the limit.
        (
            allocation(
                F::___alloc_bootmem_node_nopanic,
                0,
                PAGE,
                PAGE,
                MAX - PAGE,
                MAX - 1,
            ),
            address(0x100_1000),
        ),
        // The same on the any-node call is misuse.
        (
            allocation(
                F::___alloc_bootmem_nopanic,
                0,
                PAGE,
                PAGE,
                MAX - PAGE,
                MAX - 1,
            ),
            BUG_ALLOCATION,
        ),
        // Sizes that cannot fit: NULL and PANIC with the size in the message.
        (
            allocation(F::__alloc_bootmem_nopanic, 0, MAX / 2, PAGE, 0, 0),
            NULL,
        ),
        (
            allocation(F::alloc_bootmem_pages, 0, 1 << 62, 0, 0, 0),
            PANIC,
        ),
        // Frees and reserves whose end passes 2^64.
        (
            Call::Free {
                address: MAX - 10,
                size: 11,
            },
            Outcome::Bug,
        ),
        (
            Call::Free {
                address: 0x1000 * PAGE,
                size: MAX,
            },
            Outcome::Bug,
        ),
        (
            Call::Reserve {
                address: MAX,
                size: 1,
                flags: 1,
            },
            Outcome::Bug,
        ),
        (
            Call::ReserveNode {
                nid: 0,
                address: 0x1000 * PAGE,
                size: MAX,
                flags: 0,
            },
            Outcome::Bug,
        ),
        (
            Call::FreeNode {
                nid: 0,
                address: MAX,
                size: 1,
            },
            Outcome::Bug,
        ),
        // A range ending at exactly 2^64 - 1, far outside the node.
        (
            Call::Reserve {
                address: MAX - 1,
                size: 1,
                flags: 0,
            },
            Outcome::Bug,
        ),
    ]);
    check(&steps);
}

#[test]
fn a_node_at_the_very_top_of_the_address_space() {
    use Function as F;
    let top_start = TOP_FRAME - 0x40;
    let top = |frame: u64| frame * PAGE;
    let mut steps = vec![
        // END_PFN x PAGE_SIZE = 2^64 does not fit: BUG (deviation 8).
        (
            Call::Init {
                nid: 0,
                mapstart: 0,
                start: TOP_FRAME - 10,
                end: TOP_FRAME + 1,
            },
            Outcome::Bug,
        ),
        (
            Call::Init {
                nid: 0,
                mapstart: 0,
                start: 0,
                end: MAX,
            },
            Outcome::Bug,
        ),
    ];
    // One page below that is the highest node there can be.
    steps.extend(node(0, top_start, TOP_FRAME, 0));
    steps.extend([
        (
            allocation(F::__alloc_bootmem_nopanic, 0, PAGE, PAGE, 0, 0),
            address(top(top_start)),
        ),
        (
            allocation(
                F::__alloc_bootmem_nopanic,
                0,
                100,
                64,
                top(TOP_FRAME - 2),
                0,
            ),
            address(top(TOP_FRAME - 2)),
        ),
        // The merge into that page's tail, next to the last page there is.
        (
            allocation(F::__alloc_bootmem_nopanic, 0, 64, 64, top(TOP_FRAME - 1), 0),
            address(top(TOP_FRAME - 2) + 128),
        ),
        (
            allocation(F::__alloc_bootmem_nopanic, 0, 0x40 * PAGE, PAGE, 0, 0),
            NULL,
        ),
        // Alignment 2^63 from a node this high cannot be met.
        (
            allocation(F::__alloc_bootmem_nopanic, 0, 1, 1 << 63, 0, 0),
            NULL,
        ),
        // Ranges that end exactly at the node's end, and one byte past it.
        (
            Call::Reserve {
                address: top(TOP_FRAME - 2),
                size: 2 * PAGE,
                flags: 1,
            },
            Outcome::Reserve(-16),
        ),
        (
            Call::Reserve {
                address: top(TOP_FRAME - 1),
                size: PAGE,
                flags: 1,
            },
            Outcome::Reserve(0),
        ),
        (
            Call::Reserve {
                address: top(TOP_FRAME - 1),
                size: PAGE,
                flags: 1,
            },
            Outcome::Reserve(-16),
        ),
        (
            Call::Free {
                address: top(TOP_FRAME - 1),
                size: PAGE,
            },
            Outcome::Done,
        ),
        (
            Call::Reserve {
                address: top(TOP_FRAME - 1),
                size: PAGE + 1,
                flags: 0,
            },
            Outcome::Bug,
        ),
        (
            Call::FreeNode {
                nid: 0,
                address: top(TOP_FRAME - 1) + 1,
                size: PAGE,
            },
            Outcome::Done,
        ),
        (
            Call::Free {
                address: top(TOP_FRAME),
                size: PAGE - 1,
            },
            Outcome::Bug,
        ),
    ]);
    check(&steps);
}

#[test]
fn zero_sizes_and_odd_alignments() {
    use Function as F;
    let mut steps = node(0, 0, 0x100, 0x200).to_vec();
    steps.extend([
        (allocation(F::alloc_bootmem, 0, 0, 0, 0, 0), BUG_ALLOCATION),
        (
            allocation(F::__alloc_bootmem_node_nopanic, 0, 0, 64, 0, 0),
            BUG_ALLOCATION,
        ),
        (
            allocation(F::alloc_bootmem_align, 0, 64, 0, 0, 0),
            BUG_ALLOCATION,
        ),
        (
            allocation(F::alloc_bootmem_align, 0, 64, 3, 0, 0),
            BUG_ALLOCATION,
        ),
        (
            allocation(F::__alloc_bootmem_node_high_nopanic, 0, 64, 3, 0, 0),
            BUG_ALLOCATION,
        ),
        (
            allocation(
                F::__alloc_bootmem_low_node_nopanic,
                0,
                64,
                (1 << 63) + 1,
                0,
                0,
            ),
            BUG_ALLOCATION,
        ),
        // 2^63 is a power of two: only frame 0 is aligned, and it is free.
        (
            allocation(F::__alloc_bootmem_nopanic, 0, PAGE, 1 << 63, 0, 0),
            address(0),
        ),
        (
            allocation(F::__alloc_bootmem_nopanic, 0, PAGE, 1 << 63, 0, 0),
            NULL,
        ),
        // Zero-size frees free nothing; zero-size reserves touch the page of
        // an unaligned address only.
        (
            Call::Free {
                address: 0x10 * PAGE,
                size: 0,
            },
            Outcome::Done,
        ),
        (
            Call::Free {
                address: 0x10 * PAGE + 1,
                size: 0,
            },
            Outcome::Done,
        ),
        (
            Call::Reserve {
                address: 0x10 * PAGE,
                size: 0,
                flags: 1,
            },
            Outcome::Reserve(0),
        ),
        (
            Call::Reserve {
                address: 0x10 * PAGE + 1,
                size: 0,
                flags: 1,
            },
            Outcome::Reserve(0),
        ),
        (
            Call::Reserve {
                address: 0x10 * PAGE + 1,
                size: 0,
                flags: 1,
            },
            Outcome::Reserve(-16),
        ),
        // A zero-size free at the node's end still needs a node there.
        (
            Call::Free {
                address: 0x100 * PAGE,
                size: 0,
            },
            Outcome::Bug,
        ),
        (
            Call::FreeNode {
                nid: 0,
                address: 0x100 * PAGE,
                size: 0,
            },
            Outcome::Done,
        ),
        (
            Call::Reserve {
                address: 0x100 * PAGE,
                size: 0,
                flags: 0,
            },
            Outcome::Bug,
        ),
    ]);
    check(&steps);
}

#[test]
fn overlapping_duplicate_and_unknown_nodes() {
    use Function as F;
    let mut steps = node(3, 0x100, 0x200, 0x1000).to_vec();
    steps.extend([
        (
            Call::Init {
                nid: 3,
                mapstart: 0x1000,
                start: 0x300,
                end: 0x400,
            },
            Outcome::Bug,
        ),
        (
            Call::Init {
                nid: 4,
                mapstart: 0x1000,
                start: 0x100,
                end: 0x200,
            },
            Outcome::Bug,
        ),
        (
            Call::Init {
                nid: 4,
                mapstart: 0x1000,
                start: 0x1ff,
                end: 0x201,
            },
            Outcome::Bug,
        ),
        (
            Call::Init {
                nid: 4,
                mapstart: 0x1000,
                start: 0,
                end: 0x101,
            },
            Outcome::Bug,
        ),
        (
            Call::Init {
                nid: 4,
                mapstart: 0x1000,
                start: 0x50,
                end: 0x50,
            },
            Outcome::Bug,
        ),
        (
            Call::Init {
                nid: 4,
                mapstart: 0x1000,
                start: 0x60,
                end: 0x50,
            },
            Outcome::Bug,
        ),
        (
            Call::Init {
                nid: u32::MAX,
                mapstart: MAX,
                start: 0,
                end: 0x100,
            },
            Outcome::Bytes(32),
        ),
        (
            allocation(F::alloc_bootmem_node_nopanic, 7, 64, 0, 0, 0),
            BUG_ALLOCATION,
        ),
        (
            allocation(F::alloc_bootmem_node, 7, 0, 0, 0, 0),
            BUG_ALLOCATION,
        ),
        (
            Call::FreeNode {
                nid: 7,
                address: 0x100 * PAGE,
                size: PAGE,
            },
            Outcome::Bug,
        ),
        (
            Call::ReserveNode {
                nid: 7,
                address: 0x100 * PAGE,
                size: PAGE,
                flags: 0,
            },
            Outcome::Bug,
        ),
        // The node registered last, with every page reserved, lies below the
        // first: allocations fall back to it only when the other is full.
        (
            allocation(F::alloc_bootmem_node_nopanic, u32::MAX, PAGE, 0, 0, 0),
            address(0x100 * PAGE),
        ),
        (
            Call::Free {
                address: 0,
                size: 0x100 * PAGE,
            },
            Outcome::Done,
        ),
        (
            allocation(F::alloc_bootmem_node_nopanic, u32::MAX, PAGE, 0, 0, 0),
            address(0),
        ),
        // A free and a reserve crossing from one node into the other.
        (
            Call::Reserve {
                address: 0xff * PAGE,
                size: 2 * PAGE,
                flags: 1,
            },
            Outcome::Reserve(-16),
        ),
        (
            Call::Reserve {
                address: 0xff * PAGE,
                size: 2 * PAGE,
                flags: 0,
            },
            Outcome::Reserve(0),
        ),
        (
            Call::Free {
                address: 0xff * PAGE,
                size: 2 * PAGE,
            },
            Outcome::Done,
        ),
        (
            Call::Free {
                address: 0xff * PAGE,
                size: 2 * PAGE,
            },
            Outcome::Bug,
        ),
    ]);
    check(&steps);
}

#[test]
fn ranges_ending_exactly_at_node_boundaries() {
    let mut steps = node(0, 0x40, 0x80, 0x1000).to_vec();
    steps.extend(node(1, 0x80, 0xc0, 0x1001));
    steps.extend(node(2, 0xd0, 0x100, 0x1002));
    steps.extend([
        (
            Call::Reserve {
                address: 0x70 * PAGE,
                size: 0x10 * PAGE,
                flags: 1,
            },
            Outcome::Reserve(0),
        ),
        (
            Call::Reserve {
                address: 0x80 * PAGE,
                size: 0x10 * PAGE,
                flags: 1,
            },
            Outcome::Reserve(0),
        ),
        (
            Call::Reserve {
                address: 0x7f * PAGE,
                size: 2 * PAGE,
                flags: 1,
            },
            Outcome::Reserve(-16),
        ),
        (
            Call::FreeNode {
                nid: 0,
                address: 0x70 * PAGE,
                size: 0x10 * PAGE,
            },
            Outcome::Done,
        ),
        (
            Call::FreeNode {
                nid: 1,
                address: 0x70 * PAGE,
                size: 0x20 * PAGE,
            },
            Outcome::Bug,
        ),
        (
            Call::Free {
                address: 0x80 * PAGE,
                size: 0x10 * PAGE,
            },
            Outcome::Done,
        ),
        // Up to the hole's edge, and one page into it.
        (
            Call::Reserve {
                address: 0xb0 * PAGE,
                size: 0x10 * PAGE,
                flags: 0,
            },
            Outcome::Reserve(0),
        ),
        (
            Call::Reserve {
                address: 0xb0 * PAGE,
                size: 0x10 * PAGE + 1,
                flags: 0,
            },
            Outcome::Bug,
        ),
        (
            Call::Free {
                address: 0xbf * PAGE,
                size: 0x12 * PAGE,
            },
            Outcome::Bug,
        ),
        // Deviation 11: a free inside one page at a node's first page.
        (
            Call::Free {
                address: 0x40 * PAGE - 0x800,
                size: 0x400,
            },
            Outcome::Done,
        ),
        (
            Call::Free {
                address: 0xd0 * PAGE - 0x800,
                size: 0x400,
            },
            Outcome::Done,
        ),
        (
            Call::FreeNode {
                nid: 2,
                address: 0xd0 * PAGE - 0x800,
                size: 0x400,
            },
            Outcome::Done,
        ),
        // The same inside a page of the hole: its rounded start is in no node
        // (the _node call checks only the node's bounds, as v4.19).
        (
            Call::Free {
                address: 0xc1 * PAGE - 0x800,
                size: 0x400,
            },
            Outcome::Bug,
        ),
        (
            Call::FreeNode {
                nid: 1,
                address: 0xc1 * PAGE - 0x800,
                size: 0x400,
            },
            Outcome::Done,
        ),
        (
            Call::FreeNode {
                nid: 2,
                address: 0xd0 * PAGE + 1,
                size: 0x400,
            },
            Outcome::Done,
        ),
    ]);
    check(&steps);
}

#[test]
fn a_full_registry_refuses_the_next_node() {
    let mut bootmem: Bootmem<Vec<u64>, NoZeroing, 2> =
        Bootmem::new(Configuration::X86_64, NoZeroing);
    let storage = || vec![0; bootmem::node_storage_words(64) as usize];
    assert_eq!(
        bootmem.init_bootmem_node(0, 0x1000, 0, 64, storage()),
        Ok(8)
    );
    assert_eq!(
        bootmem.init_bootmem_node(1, 0x1001, 64, 128, storage()),
        Ok(8)
    );
    assert!(bootmem
        .init_bootmem_node(2, 0x1002, 128, 192, storage())
        .is_err());
    // Too small a bitmap is refused too, and nothing is registered.
    let mut small: Bootmem<Vec<u64>, NoZeroing, 2> = Bootmem::new(Configuration::X86_64, NoZeroing);
    assert!(small
        .init_bootmem_node(0, 0x1000, 0, 65, vec![0; 1])
        .is_err());
    assert_eq!(small.allocator().nodes().count(), 0);
    assert_eq!(small.allocator().is_reserved(PageFrameNumber::new(0)), None);
}

#[test]
fn a_bitmap_of_two_pages_stays_reserved_in_its_node() {
    // 0x8001 pages need 4104 bytes of bitmap: two pages, at the node's top.
    let pages = 0x8001;
    check(&[
        (
            Call::Init {
                nid: 0,
                mapstart: pages - 2,
                start: 0,
                end: pages,
            },
            Outcome::Bytes(4104),
        ),
        (
            Call::Free {
                address: 0,
                size: pages * PAGE,
            },
            Outcome::Done,
        ),
        (
            Call::Reserve {
                address: (pages - 3) * PAGE,
                size: PAGE,
                flags: 1,
            },
            Outcome::Reserve(0),
        ),
        (
            Call::Reserve {
                address: (pages - 2) * PAGE,
                size: PAGE,
                flags: 1,
            },
            Outcome::Reserve(-16),
        ),
        (
            Call::Reserve {
                address: (pages - 1) * PAGE,
                size: PAGE,
                flags: 1,
            },
            Outcome::Reserve(-16),
        ),
        (
            Call::Free {
                address: (pages - 3) * PAGE,
                size: 3 * PAGE,
            },
            Outcome::Done,
        ),
    ]);
    let bootmem: Bootmem<Vec<u64>, NoZeroing, 1> = Bootmem::new(Configuration::X86_64, NoZeroing);
    assert_eq!(bootmem.bootmem_bootmap_pages(0x8000), 1);
    assert_eq!(bootmem.bootmem_bootmap_pages(pages), 2);
    assert_eq!(bootmem.bootmem_bootmap_pages(0x10_0000), 32);
}
