//! Unit and property tests of the memory map normaliser.

use super::*;
use proptest::prelude::*;
use std::vec::Vec;

const PAGE: PageSize = PageSize::SIZE_4KIB;

fn address(value: u64) -> PhysicalAddress {
    PhysicalAddress::new(value)
}

fn node(value: u32) -> NodeId {
    NodeId::new(value)
}

type Builder = MemoryMapBuilder<64, 8>;

fn spans(map: &MemoryMap<64, 8>) -> Vec<(u32, u64, u64, u64)> {
    map.nodes()
        .iter()
        .map(|span| {
            (
                span.node.as_u32(),
                span.start.as_u64(),
                span.end.as_u64(),
                span.ram_bytes,
            )
        })
        .collect()
}

#[test]
fn unsorted_adjacent_ram_is_sorted_and_merged() {
    let mut builder = Builder::new();
    builder.add_ram(address(0x3000), address(0x5000)).unwrap();
    builder.add_ram(address(0x1000), address(0x3000)).unwrap();
    builder.add_ram(address(0x4000), address(0x6000)).unwrap();
    let map = builder.build(PAGE).unwrap();
    assert_eq!(map.ranges().len(), 1);
    assert_eq!(
        (map.ranges()[0].start, map.ranges()[0].end),
        (address(0x1000), address(0x6000))
    );
    assert_eq!(spans(&map), [(0, 1, 6, 0x5000)]);
}

#[test]
fn reserved_wins_over_ram_and_splits_it() {
    let mut builder = Builder::new();
    builder.add_ram(address(0), address(0x10_0000)).unwrap();
    builder
        .add_reserved(address(0x5_8000), address(0x5_9000))
        .unwrap();
    let map = builder.build(PAGE).unwrap();
    let kinds: Vec<_> = map
        .ranges()
        .iter()
        .map(|range| (range.start.as_u64(), range.end.as_u64(), range.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (0, 0x5_8000, RangeKind::Ram),
            (0x5_8000, 0x5_9000, RangeKind::Reserved),
            (0x5_9000, 0x10_0000, RangeKind::Ram)
        ]
    );
    assert_eq!(map.ram_bytes(), 0x10_0000 - 0x1000);
    assert_eq!(map.ranges()[1].node, None);
}

#[test]
fn heavier_reservation_wins_over_lighter_one() {
    let mut builder = Builder::new();
    builder.add_ram(address(0), address(0x10_000)).unwrap();
    builder
        .add_range(address(0x2000), address(0x8000), RangeKind::AcpiData)
        .unwrap();
    builder
        .add_range(address(0x4000), address(0x6000), RangeKind::Unusable)
        .unwrap();
    let map = builder.build(PAGE).unwrap();
    let kinds: Vec<_> = map.ranges().iter().map(|range| range.kind).collect();
    assert_eq!(
        kinds,
        [
            RangeKind::Ram,
            RangeKind::AcpiData,
            RangeKind::Unusable,
            RangeKind::AcpiData,
            RangeKind::Ram
        ]
    );
}

#[test]
fn ram_is_rounded_inward_to_pages() {
    let mut builder = Builder::new();
    builder.add_ram(address(0), address(0x9_fc00)).unwrap();
    builder
        .add_ram(address(0x10_0800), address(0x20_0000))
        .unwrap();
    builder
        .add_ram(address(0x30_0100), address(0x30_0f00))
        .unwrap();
    let map = builder.build(PAGE).unwrap();
    let ram: Vec<_> = map
        .ram_ranges()
        .map(|range| (range.start.as_u64(), range.end.as_u64()))
        .collect();
    assert_eq!(ram, [(0, 0x9_f000), (0x10_1000, 0x20_0000)]);
    let big = builder.build(PageSize::SIZE_64KIB).unwrap();
    let ram: Vec<_> = big
        .ram_ranges()
        .map(|range| (range.start.as_u64(), range.end.as_u64()))
        .collect();
    assert_eq!(ram, [(0, 0x9_0000), (0x11_0000, 0x20_0000)]);
}

#[test]
fn no_ram_is_an_error() {
    assert_eq!(
        Builder::new().build(PAGE).unwrap_err(),
        MemoryMapError::NoRam
    );
    let mut builder = Builder::new();
    builder.add_reserved(address(0), address(0x1000)).unwrap();
    builder.add_ram(address(0x2000), address(0x2800)).unwrap();
    builder.add_ram(address(0x5000), address(0x5000)).unwrap();
    assert_eq!(builder.build(PAGE).unwrap_err(), MemoryMapError::NoRam);
    let mut covered = Builder::new();
    covered.add_ram(address(0), address(0x4000)).unwrap();
    covered.add_reserved(address(0), address(0x4000)).unwrap();
    assert_eq!(covered.build(PAGE).unwrap_err(), MemoryMapError::NoRam);
}

#[test]
fn empty_ranges_and_affinities_are_accepted_and_ignored() {
    let mut builder = Builder::new();
    builder.add_ram(address(0x1000), address(0x3000)).unwrap();
    assert_eq!(builder.add_ram(address(0x8000), address(0x8000)), Ok(()));
    assert_eq!(
        builder.add_reserved(address(0x2000), address(0x2000)),
        Ok(())
    );
    assert_eq!(
        builder.add_node_affinity(address(0x2000), address(0x2000), node(1)),
        Ok(())
    );
    assert_eq!(builder.added_ranges().len(), 3);
    assert_eq!(builder.added_affinities().len(), 1);
    let map = builder.build(PAGE).unwrap();
    assert_eq!(map.ranges().len(), 1);
    assert_eq!(map.ram_bytes(), 0x2000);
}

#[test]
fn inverted_range_and_capacity_are_errors() {
    let mut builder = MemoryMapBuilder::<2, 1>::new();
    assert_eq!(
        builder.add_ram(address(0x2000), address(0x1000)),
        Err(MemoryMapError::EndBeforeStart {
            start: address(0x2000),
            end: address(0x1000)
        })
    );
    builder.add_ram(address(0), address(0x1000)).unwrap();
    builder.add_ram(address(0x2000), address(0x3000)).unwrap();
    assert_eq!(
        builder.add_ram(address(0x4000), address(0x5000)),
        Err(MemoryMapError::TooManyRanges { capacity: 2 })
    );
    builder.declare_node(node(0)).unwrap();
    builder.declare_node(node(0)).unwrap();
    assert_eq!(
        builder.declare_node(node(1)),
        Err(MemoryMapError::TooManyNodes { capacity: 1 })
    );
    // Reservations splitting RAM overflow the normalised table.
    let mut split = MemoryMapBuilder::<2, 1>::new();
    split.add_ram(address(0), address(0x10_000)).unwrap();
    split
        .add_reserved(address(0x4000), address(0x5000))
        .unwrap();
    assert_eq!(
        split.build(PAGE).unwrap_err(),
        MemoryMapError::TooManyNormalisedRanges { capacity: 2 }
    );
}

#[test]
fn affinities_assign_nodes_and_size_them_from_ram_only() {
    let mut builder = Builder::new();
    builder
        .add_ram(address(0x1000), address(0x8000_0000))
        .unwrap();
    builder
        .add_ram(address(0x1_0000_0000), address(0x1_4000_0000))
        .unwrap();
    // A reserved window at 1 TiB, like QEMU's, inside node 1's affinity.
    builder
        .add_reserved(address(0x100_0000_0000), address(0x101_0000_0000))
        .unwrap();
    builder
        .add_node_affinity(address(0), address(0x4000_0000), node(0))
        .unwrap();
    builder
        .add_node_affinity(address(0x4000_0000), address(0x200_0000_0000), node(1))
        .unwrap();
    builder
        .add_node_affinity(address(0x300_0000_0000), address(0x400_0000_0000), node(3))
        .unwrap();
    let map = builder.build(PAGE).unwrap();
    assert_eq!(
        spans(&map),
        [
            (0, 1, 0x4_0000, 0x3fff_f000),
            (1, 0x4_0000, 0x14_0000, 0x8000_0000),
            (3, 0, 0, 0)
        ]
    );
    assert!(map.node(node(3)).unwrap().is_memoryless());
    let node1: Vec<_> = map
        .ram_ranges_of(node(1))
        .map(|range| (range.start.as_u64(), range.end.as_u64()))
        .collect();
    assert_eq!(
        node1,
        [(0x4000_0000, 0x8000_0000), (0x1_0000_0000, 0x1_4000_0000)]
    );
    assert_eq!(map.end_of_ram().as_u64(), 0x14_0000);
}

#[test]
fn ram_outside_every_affinity_goes_to_the_nearest_node() {
    let mut builder = Builder::new();
    builder.add_ram(address(0), address(0x10_0000)).unwrap();
    builder
        .add_ram(address(0x100_0000), address(0x200_0000))
        .unwrap();
    builder
        .add_ram(address(0x900_0000), address(0xa00_0000))
        .unwrap();
    builder
        .add_node_affinity(address(0x1000), address(0x10_0000), node(2))
        .unwrap();
    builder
        .add_node_affinity(address(0x800_0000), address(0x900_0000), node(5))
        .unwrap();
    let map = builder.build(PAGE).unwrap();
    let nodes: Vec<_> = map
        .ram_ranges()
        .map(|range| (range.start.as_u64(), range.node.unwrap().as_u32()))
        .collect();
    // Page 0 merges into node 2's range; 16 MiB is nearer node 2; 0x9000000 touches node 5.
    assert_eq!(nodes, [(0, 2), (0x100_0000, 2), (0x900_0000, 5)]);
}

#[test]
fn overlapping_affinities_of_different_nodes_are_an_error() {
    let mut builder = Builder::new();
    builder.add_ram(address(0), address(0x10_0000)).unwrap();
    builder
        .add_node_affinity(address(0), address(0x8_0000), node(0))
        .unwrap();
    builder
        .add_node_affinity(address(0), address(0x4_0000), node(0))
        .unwrap();
    builder
        .add_node_affinity(address(0x8_0000), address(0x10_0000), node(1))
        .unwrap();
    assert!(builder.build(PAGE).is_ok());
    builder
        .add_node_affinity(address(0x7_f000), address(0x9_0000), node(2))
        .unwrap();
    assert_eq!(
        builder.build(PAGE).unwrap_err(),
        MemoryMapError::OverlappingNodes {
            first: 0,
            first_node: node(0),
            second: 3,
            second_node: node(2)
        }
    );
}

#[test]
fn an_overlap_names_the_affinity_that_starts_first_among_those_reaching_furthest() {
    let mut builder = Builder::new();
    builder.add_ram(address(0), address(0x10_0000)).unwrap();
    builder
        .add_node_affinity(address(0), address(0x8_0000), node(0))
        .unwrap();
    // Node 0 again, ending where the first one ends.
    builder
        .add_node_affinity(address(0x4_0000), address(0x8_0000), node(0))
        .unwrap();
    builder
        .add_node_affinity(address(0x7_f000), address(0x9_0000), node(2))
        .unwrap();
    assert_eq!(
        builder.build(PAGE).unwrap_err(),
        MemoryMapError::OverlappingNodes {
            first: 0,
            first_node: node(0),
            second: 2,
            second_node: node(2)
        }
    );
}

#[test]
fn ram_is_cut_where_a_later_affinity_starts() {
    let mut builder = Builder::new();
    builder.add_ram(address(0), address(0x4000)).unwrap();
    builder
        .add_node_affinity(address(0), address(0x1000), node(0))
        .unwrap();
    builder
        .add_node_affinity(address(0x2000), address(0x4000), node(1))
        .unwrap();
    let map = builder.build(PAGE).unwrap();
    // The uncovered page 1 is as near to both; the first affinity added wins.
    assert_eq!(spans(&map), [(0, 0, 2, 0x2000), (1, 2, 4, 0x2000)]);
}

#[test]
fn uncovered_ram_goes_to_the_nearest_affinity_and_a_tie_to_the_first_added() {
    let ram_node = |affinities: &[(u64, u64, u32)]| {
        let mut builder = Builder::new();
        builder
            .add_ram(address(0x10_000), address(0x11_000))
            .unwrap();
        for &(start, end, number) in affinities {
            builder
                .add_node_affinity(address(start), address(end), node(number))
                .unwrap();
        }
        let map = builder.build(PAGE).unwrap();
        let ram = map.ranges()[0];
        ram.node.unwrap().as_u32()
    };
    // 0xf000 below against 0x1000 above.
    assert_eq!(ram_node(&[(0, 0x1000, 3), (0x12_000, 0x13_000, 4)]), 4);
    // 0x1000 below against 0xf000 above.
    assert_eq!(ram_node(&[(0, 0xf_000, 3), (0x20_000, 0x21_000, 4)]), 3);
    // 0x1000 either side, in both orders of adding.
    assert_eq!(ram_node(&[(0, 0xf_000, 3), (0x12_000, 0x13_000, 4)]), 3);
    assert_eq!(ram_node(&[(0x12_000, 0x13_000, 4), (0, 0xf_000, 3)]), 4);
}

#[test]
fn ram_entries_meeting_inside_a_page_are_merged_before_rounding() {
    let mut builder = Builder::new();
    builder.add_ram(address(0x1000), address(0x2800)).unwrap();
    builder.add_ram(address(0x1800), address(0x3000)).unwrap();
    builder.add_ram(address(0x3000), address(0x3800)).unwrap();
    builder.add_ram(address(0x3800), address(0x5000)).unwrap();
    let map = builder.build(PAGE).unwrap();
    let ranges: Vec<_> = map
        .ranges()
        .iter()
        .map(|range| (range.start.as_u64(), range.end.as_u64()))
        .collect();
    assert_eq!(ranges, [(0x1000, 0x5000)]);
    assert_eq!(map.ram_bytes(), 0x4000);
}

#[test]
fn ram_on_node_and_declared_memoryless_nodes() {
    let mut builder = Builder::new();
    builder
        .add_ram_on_node(address(0x8000_0000), address(0xc000_0000), node(1))
        .unwrap();
    builder
        .add_ram_on_node(address(0x4000_0000), address(0x8000_0000), node(0))
        .unwrap();
    builder.declare_node(node(4)).unwrap();
    let map = builder.build(PAGE).unwrap();
    assert_eq!(
        spans(&map),
        [
            (0, 0x4_0000, 0x8_0000, 0x4000_0000),
            (1, 0x8_0000, 0xc_0000, 0x4000_0000),
            (4, 0, 0, 0)
        ]
    );
    assert_eq!(map.node(node(1)).unwrap().bitmap_bytes(), 0x4_0000 / 8);
}

#[test]
fn ranges_at_the_top_of_the_address_space_do_not_wrap() {
    let mut builder = Builder::new();
    builder
        .add_ram(address(u64::MAX - 0x2fff), address(u64::MAX))
        .unwrap();
    builder
        .add_ram(address(u64::MAX - 0x10), address(u64::MAX))
        .unwrap();
    builder
        .add_reserved(address(u64::MAX - 1), address(u64::MAX))
        .unwrap();
    let map = builder.build(PAGE).unwrap();
    let ram: Vec<_> = map
        .ram_ranges()
        .map(|range| (range.start.as_u64(), range.end.as_u64()))
        .collect();
    assert_eq!(ram, [(u64::MAX - 0x2fff, u64::MAX - 0xfff)]);
    let span = map.nodes()[0];
    assert_eq!(span.end_address(PAGE), Some(address(u64::MAX - 0xfff)));
}

fn arbitrary_kind() -> impl Strategy<Value = RangeKind> {
    prop_oneof![
        4 => Just(RangeKind::Ram),
        1 => Just(RangeKind::Reserved),
        1 => Just(RangeKind::AcpiNvs),
        1 => (0u32..30).prop_map(RangeKind::Other),
    ]
}

fn arbitrary_address() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..0x40_000,
        any::<u64>(),
        (u64::MAX - 0x10_000)..=u64::MAX
    ]
}

proptest! {
    #[test]
    fn normalised_maps_keep_their_promises(
        entries in proptest::collection::vec((arbitrary_address(), arbitrary_address(), arbitrary_kind()), 0..12),
        affinities in proptest::collection::vec((arbitrary_address(), arbitrary_address(), 0u32..4), 0..5),
    ) {
        let mut builder = MemoryMapBuilder::<48, 8>::new();
        for &(first, second, kind) in &entries {
            builder.add_range(address(first.min(second)), address(first.max(second)), kind).unwrap();
        }
        for &(first, second, id) in &affinities {
            builder.add_node_affinity(address(first.min(second)), address(first.max(second)), node(id)).unwrap();
        }
        let Ok(map) = builder.build(PAGE) else { return Ok(()); };
        let ranges = map.ranges();
        for pair in ranges.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start);
            prop_assert!(pair[0].end < pair[1].start || pair[0].kind != pair[1].kind || pair[0].node != pair[1].node);
        }
        let mut total = 0u64;
        for range in map.ram_ranges() {
            prop_assert!(range.start < range.end);
            prop_assert!(range.start.is_aligned(4096) && range.end.is_aligned(4096));
            let node = range.node.unwrap();
            // RAM overlaps no reservation that was added (an empty one reserves nothing).
            for entry in builder.added_ranges().iter().filter(|entry| !entry.kind.is_ram() && entry.start < entry.end) {
                prop_assert!(entry.end <= range.start || range.end <= entry.start);
            }
            // RAM lies inside some RAM entry that was added.
            let last = address(range.end.as_u64() - 1);
            for probe in [range.start, last] {
                prop_assert!(builder.added_ranges().iter().any(|entry| entry.kind.is_ram() && entry.contains(probe)));
            }
            // RAM covered by an affinity has that affinity's node.
            for affinity in builder.added_affinities() {
                if affinity.start <= range.start && range.end <= affinity.end {
                    prop_assert_eq!(affinity.node, node);
                }
            }
            let span = map.node(node).unwrap();
            prop_assert!(span.start.as_u64() <= range.start.as_u64() / 4096);
            prop_assert!(range.end.as_u64() / 4096 <= span.end.as_u64());
            total += range.size();
        }
        prop_assert!(total > 0);
        prop_assert_eq!(total, map.ram_bytes());
        prop_assert_eq!(map.nodes().iter().map(|span| span.ram_bytes).sum::<u64>(), total);
        prop_assert!(map.nodes().windows(2).all(|pair| pair[0].node < pair[1].node));
    }
}

proptest! {
    /// The sorted check finds an overlap of different nodes exactly when
    /// some pair of affinities has one, and the pair it names has one.
    #[test]
    fn overlapping_nodes_are_found_exactly_when_some_pair_overlaps(
        affinities in proptest::collection::vec((0u64..40, 0u64..12, 0u32..3), 0..10),
    ) {
        let mut builder = Builder::new();
        builder.add_ram(address(0), address(0x10_0000)).unwrap();
        for &(start, length, number) in &affinities {
            builder.add_node_affinity(address(start), address(start + length), node(number)).unwrap();
        }
        let clash = |first: usize, second: usize| {
            let (a, b) = (affinities[first], affinities[second]);
            a.2 != b.2 && a.0 < b.0 + b.1 && b.0 < a.0 + a.1 && a.1 > 0 && b.1 > 0
        };
        let any_clash = (0..affinities.len())
            .any(|second| (0..second).any(|first| clash(first, second)));
        match builder.build(PAGE) {
            Err(MemoryMapError::OverlappingNodes { first, first_node, second, second_node }) => {
                prop_assert!(first < second && clash(first, second));
                prop_assert_eq!(first_node, node(affinities[first].2));
                prop_assert_eq!(second_node, node(affinities[second].2));
            }
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
            Ok(_) => prop_assert!(!any_clash),
        }
    }
}
