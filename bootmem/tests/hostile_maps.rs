//! Hostile memory maps: 10 000 entries, memoryless, overlapping and duplicate nodes, ranges at the top of the address space.
//!
//! Each must give a map or an error naming the problem, never a panic or
//! a wrapped address. The builders are large (`RANGES` entries of each
//! kind), so the big cases run on a thread with a roomy stack.

use bootmem::memory_map::{MemoryMapBuilder, MemoryMapError, RangeKind};
use bootmem::{NodeId, PageSize, PhysicalAddress};

const PAGE: u64 = 4096;
const ENTRIES: u64 = 10_000;

fn address(value: u64) -> PhysicalAddress {
    PhysicalAddress::new(value)
}

/// Runs `body` on a thread with a 256 MiB stack (the builders are arrays).
fn with_big_stack(body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(body)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn ten_thousand_entries_over_four_nodes() {
    with_big_stack(|| {
        let mut builder = Box::new(MemoryMapBuilder::<16_384, 8>::new());
        // 10 000 RAM ranges of 3 pages, each followed by a one-page hole,
        // out of order; a reservation inside every tenth; four NUMA nodes.
        for index in (0..ENTRIES).rev() {
            let start = index * 4 * PAGE;
            builder
                .add_ram(address(start), address(start + 3 * PAGE))
                .unwrap();
        }
        for index in (0..ENTRIES).step_by(10) {
            let start = index * 4 * PAGE + PAGE;
            builder
                .add_reserved(address(start), address(start + 1))
                .unwrap();
        }
        let quarter = ENTRIES * 4 * PAGE / 4;
        for node in 0..4 {
            builder
                .add_node_affinity(
                    address(node * quarter),
                    address((node + 1) * quarter),
                    NodeId::new(node as u32),
                )
                .unwrap();
        }
        let map = builder.build(PageSize::SIZE_4KIB).unwrap();
        assert_eq!(map.nodes().len(), 4);
        // Every RAM range lost the page its reservation touched: 3 pages
        // for 9 of 10 ranges, and 1 + 1 pages around each reservation.
        let ram_pages: u64 = map.ram_ranges().map(|range| range.size() / PAGE).sum();
        assert_eq!(ram_pages, ENTRIES * 3 - ENTRIES / 10);
        assert_eq!(map.ram_bytes(), ram_pages * PAGE);
        for span in map.nodes() {
            assert!(span.start < span.end, "{span:?}");
        }
    });
}

#[test]
fn more_entries_than_the_capacity_is_an_error() {
    with_big_stack(|| {
        let mut builder = Box::new(MemoryMapBuilder::<10_000, 4>::new());
        for index in 0..ENTRIES {
            builder
                .add_ram(address(index * 2 * PAGE), address(index * 2 * PAGE + PAGE))
                .unwrap();
        }
        let error = builder.add_ram(address(0), address(PAGE)).unwrap_err();
        assert_eq!(error, MemoryMapError::TooManyRanges { capacity: 10_000 });
        assert!(!error.to_string().is_empty());
    });
}

#[test]
fn memoryless_duplicate_and_overlapping_nodes() {
    let mut builder = MemoryMapBuilder::<16, 4>::new();
    builder.add_ram(address(0), address(0x100_0000)).unwrap();
    builder
        .add_node_affinity(address(0), address(0x100_0000), NodeId::new(0))
        .unwrap();
    // The same node twice, overlapping itself: allowed.
    builder
        .add_node_affinity(address(0x80_0000), address(0x100_0000), NodeId::new(0))
        .unwrap();
    // A node with no RAM under it, and one only declared.
    builder
        .add_node_affinity(
            address(0x1_0000_0000),
            address(0x2_0000_0000),
            NodeId::new(1),
        )
        .unwrap();
    builder.declare_node(NodeId::new(2)).unwrap();
    builder.declare_node(NodeId::new(2)).unwrap();
    let map = builder.build(PageSize::SIZE_4KIB).unwrap();
    let memoryless: Vec<u32> = map
        .nodes()
        .iter()
        .filter(|span| span.is_memoryless())
        .map(|span| span.node.as_u32())
        .collect();
    assert_eq!(memoryless, [1, 2]);
    assert_eq!(map.node(NodeId::new(0)).unwrap().ram_bytes, 0x100_0000);

    // Two different nodes claiming the same addresses: an error naming both.
    builder
        .add_node_affinity(address(0x40_0000), address(0x50_0000), NodeId::new(3))
        .unwrap();
    let error = builder.build(PageSize::SIZE_4KIB).unwrap_err();
    assert!(
        matches!(error, MemoryMapError::OverlappingNodes { second_node, .. } if second_node == NodeId::new(3))
    );
    assert!(!error.to_string().is_empty());

    // More distinct nodes than the capacity.
    let mut small = MemoryMapBuilder::<16, 2>::new();
    small.declare_node(NodeId::new(0)).unwrap();
    small.declare_node(NodeId::new(1)).unwrap();
    assert_eq!(
        small.declare_node(NodeId::new(2)),
        Err(MemoryMapError::TooManyNodes { capacity: 2 })
    );
}

#[test]
fn ranges_at_the_top_of_the_address_space_and_empty_ones() {
    let mut builder = MemoryMapBuilder::<16, 4>::new();
    // RAM up to the last byte: its last partial page cannot be a page.
    builder
        .add_ram(address(u64::MAX - 3 * PAGE + 1), address(u64::MAX))
        .unwrap();
    builder.add_ram(address(0x1000), address(0x1000)).unwrap();
    builder
        .add_range(
            address(u64::MAX - 10),
            address(u64::MAX),
            RangeKind::Reserved,
        )
        .unwrap();
    assert!(matches!(
        builder.add_ram(address(10), address(9)),
        Err(MemoryMapError::EndBeforeStart { .. })
    ));
    let map = builder.build(PageSize::SIZE_4KIB).unwrap();
    for range in map.ram_ranges() {
        assert!(range.start < range.end);
        assert_eq!(range.start.as_u64() % PAGE, 0);
        assert_eq!(range.end.as_u64() % PAGE, 0);
    }
    let node = map.nodes()[0];
    assert_eq!(node.end.as_u64(), (1 << 52) - 1);
    assert!(node.end_address(PageSize::SIZE_4KIB).is_some());

    // Nothing but empty and sub-page RAM: no RAM, an error.
    let mut empty = MemoryMapBuilder::<4, 1>::new();
    assert_eq!(
        empty.build(PageSize::SIZE_4KIB).unwrap_err(),
        MemoryMapError::NoRam
    );
    empty.add_ram(address(1), address(PAGE + 1)).unwrap();
    assert_eq!(
        empty.build(PageSize::SIZE_4KIB).unwrap_err(),
        MemoryMapError::NoRam
    );
}
