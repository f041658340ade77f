//! Tests of the set-up on hand-built maps, and its invariant on random ones.

use std::cell::Cell;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::address::{FrameRange, PageFrameNumber, PageSize, PhysicalAddress};
use crate::allocator::AllocationRequest;
use crate::linux::Bootmem;
use crate::memory::NoZeroing;
use crate::memory_map::{MemoryMapBuilder, MemoryMapError, RangeKind};

type Map = MemoryMap<32, 4>;
type Allocator<const MAX_NODES: usize> = BootAllocator<Vec<u64>, NoZeroing, MAX_NODES>;

const MIB: u64 = 1 << 20;

fn address(value: u64) -> PhysicalAddress {
    PhysicalAddress::new(value)
}

fn range(start: u64, end: u64) -> PhysicalRange {
    PhysicalRange::new(address(start), address(end)).unwrap()
}

fn frame(value: u64) -> PageFrameNumber {
    PageFrameNumber::new(value)
}

/// Storage of the range's size, on the heap.
fn heap_storage(_node: NodeId, range: PhysicalRange) -> Vec<u64> {
    vec![0; (range.size() / 8) as usize]
}

fn build(page: PageSize, entries: &[(u64, u64, RangeKind)], numa: &[(u64, u64, u32)]) -> Map {
    let mut builder = MemoryMapBuilder::<32, 4>::new();
    for &(start, end, kind) in entries {
        builder
            .add_range(address(start), address(end), kind)
            .unwrap();
    }
    for &(start, end, node) in numa {
        builder
            .add_node_affinity(address(start), address(end), NodeId::new(node))
            .unwrap();
    }
    builder.build(page).unwrap()
}

fn set_up_4k<const MAX_NODES: usize>(
    map: &Map,
    in_use: &[PhysicalRange],
) -> Result<(Allocator<MAX_NODES>, SetupSummary<MAX_NODES>), SetupError> {
    set_up(map, Configuration::X86_64, NoZeroing, in_use, heap_storage)
}

/// The page-rounded bytes of bitmap storage a node of `pages` pages gets.
fn storage_bytes(pages: u64, page: PageSize) -> u64 {
    page.pages_for(node_storage_bytes(pages)) * page.bytes()
}

#[test]
fn numa_nodes_get_their_bitmaps_at_the_top_of_their_own_ram() {
    let map = build(
        PageSize::SIZE_4KIB,
        &[
            (0, 0x9_fc00, RangeKind::Ram),
            (0x10_0000, 0x8000_0000, RangeKind::Ram),
        ],
        &[(0, 0x4000_0000, 0), (0x4000_0000, 0x8000_0000, 1)],
    );
    let (allocator, summary) = set_up_4k::<4>(&map, &[]).unwrap();
    let nodes = summary.nodes();
    assert_eq!(nodes.len(), 2);
    let node0_bitmap = storage_bytes(0x4_0000, PageSize::SIZE_4KIB);
    assert_eq!(
        nodes[0].bitmap,
        Some(range(0x4000_0000 - node0_bitmap, 0x4000_0000))
    );
    assert_eq!(nodes[1].bitmap.unwrap().end(), address(0x8000_0000));
    assert_eq!(
        nodes[1].frames,
        FrameRange::new(frame(0x4_0000), frame(0x8_0000)).unwrap()
    );
    // Node 0: every RAM page but the bitmap's is free; the hole at
    // 0x9f000-0x100000 (a partial page and the legacy window) is not.
    let bitmap_pages = node0_bitmap / 4096;
    let node0 = allocator.nodes().next().unwrap();
    assert_eq!(node0.free_pages, 0x9f + (0x4_0000 - 0x100) - bitmap_pages);
    assert_eq!(nodes[0].reserved_bytes, (0x100 - 0x9f) * 4096);
    assert_eq!(allocator.is_reserved(frame(0x9f)), Some(true));
    assert_eq!(allocator.is_reserved(frame(0x3_ffff)), Some(true));
    assert_eq!(
        allocator.is_reserved(frame(0x3_ffff - bitmap_pages)),
        Some(false)
    );
}

#[test]
fn firmware_reservations_inside_ram_and_holes_stay_reserved() {
    let map = build(
        PageSize::SIZE_4KIB,
        &[
            (0, 0x800_0000, RangeKind::Ram),
            (0x100_0000, 0x100_2000, RangeKind::AcpiNvs),
            (0x200_0800, 0x200_1000, RangeKind::Reserved),
            // A hole from 0x800_0000 to 0x900_0000 that no entry names.
            (0x900_0000, 0xa00_0000, RangeKind::Ram),
        ],
        &[],
    );
    let (allocator, summary) = set_up_4k::<1>(&map, &[]).unwrap();
    let node = &summary.nodes()[0];
    assert_eq!(node.reserved_ranges, 2);
    assert_eq!(node.reserved_bytes, 0x2000 + 0x1000 + 0x100_0000);
    for reserved in [0x1000, 0x1001, 0x2000, 0x8000, 0x8fff] {
        assert_eq!(
            allocator.is_reserved(frame(reserved)),
            Some(true),
            "{reserved:#x}"
        );
    }
    for free in [0xfff, 0x1002, 0x1fff, 0x2001, 0x7fff, 0x9000] {
        assert_eq!(allocator.is_reserved(frame(free)), Some(false), "{free:#x}");
    }
    // The bitmap went to the top of the highest RAM range.
    assert_eq!(node.bitmap.unwrap().end(), address(0xa00_0000));
}

#[test]
fn ranges_in_use_at_the_top_of_ram_push_the_bitmap_lower() {
    let map = build(
        PageSize::SIZE_4KIB,
        &[(0, 0x1000_0000, RangeKind::Ram)],
        &[],
    );
    // An initrd at the very top, a device tree blob just below it, unaligned.
    let initrd = range(0xff0_0000, 0x1000_0000);
    let blob = range(0xfe0_0800, 0xff0_0000);
    let (allocator, summary) = set_up_4k::<1>(&map, &[initrd, blob]).unwrap();
    let bitmap = summary.nodes()[0].bitmap.unwrap();
    assert_eq!(bitmap.end(), address(0xfe0_0000));
    assert_eq!(bitmap.size(), storage_bytes(0x1_0000, PageSize::SIZE_4KIB));
    assert!(!bitmap.overlaps(&initrd) && !bitmap.overlaps(&blob));
    // Both ranges in use are reserved, the blob's partial first page too.
    assert_eq!(allocator.is_reserved(frame(0xfe00)), Some(true));
    assert_eq!(allocator.is_reserved(frame(0xffff)), Some(true));
    assert_eq!(summary.nodes()[0].reserved_ranges, 2);
    assert_eq!(summary.nodes()[0].reserved_bytes, 0x10_0000 + 0x10_0000);
}

#[test]
fn memoryless_nodes_are_listed_but_not_registered() {
    let mut builder = MemoryMapBuilder::<32, 4>::new();
    builder.add_ram(address(0), address(0x400_0000)).unwrap();
    builder
        .add_node_affinity(address(0), address(0x400_0000), NodeId::new(0))
        .unwrap();
    builder
        .add_node_affinity(address(0x400_0000), address(0x800_0000), NodeId::new(1))
        .unwrap();
    builder.declare_node(NodeId::new(3)).unwrap();
    let map = builder.build(PageSize::SIZE_4KIB).unwrap();
    let (allocator, summary) = set_up_4k::<4>(&map, &[]).unwrap();
    assert_eq!(summary.nodes().len(), 3);
    assert_eq!(summary.registered().count(), 1);
    assert!(summary.node(NodeId::new(1)).unwrap().is_memoryless());
    assert!(summary.node(NodeId::new(3)).unwrap().is_memoryless());
    assert_eq!(allocator.nodes().count(), 1);
    let text = std::format!("{summary}");
    assert!(
        text.contains("node 1: no memory\nnode 3: no memory\n"),
        "{text}"
    );
}

#[test]
fn a_node_too_small_for_its_bitmap_is_an_error_naming_it() {
    // One page at 0 and one at 4 GiB: a span of a million pages, whose
    // bitmap fits in neither page.
    let map = build(
        PageSize::SIZE_4KIB,
        &[
            (0, 0x1000, RangeKind::Ram),
            (0x1_0000_0000, 0x1_0000_1000, RangeKind::Ram),
        ],
        &[],
    );
    let calls = Cell::new(0);
    let result: Result<(Allocator<1>, _), _> = set_up(
        &map,
        Configuration::X86_64,
        NoZeroing,
        &[],
        |node, range| {
            calls.set(calls.get() + 1);
            heap_storage(node, range)
        },
    );
    let error = result.unwrap_err();
    assert_eq!(
        error,
        SetupError::NodeTooSmall {
            node: NodeId::new(0),
            bitmap_bytes: storage_bytes(0x10_0001, PageSize::SIZE_4KIB),
            largest_ram_range: 0x1000,
        }
    );
    assert!(std::format!("{error}").starts_with("node 0: too small"));
    assert_eq!(calls.get(), 0);
}

#[test]
fn ram_wholly_in_use_leaves_no_room() {
    let map = build(PageSize::SIZE_4KIB, &[(0, 0x100_0000, RangeKind::Ram)], &[]);
    let error = set_up_4k::<1>(&map, &[range(0, 0x100_0000)]).unwrap_err();
    assert_eq!(
        error,
        SetupError::NoRoomForBitmap {
            node: NodeId::new(0),
            bitmap_bytes: 0x1000,
        }
    );
}

#[test]
fn ram_exactly_the_size_of_the_bitmap_but_in_use_leaves_no_room() {
    // One page of RAM: its bitmap needs exactly that page, which is in use.
    let map = build(
        PageSize::SIZE_4KIB,
        &[(0x1000, 0x2000, RangeKind::Ram)],
        &[],
    );
    assert_eq!(storage_bytes(1, PageSize::SIZE_4KIB), 0x1000);
    let error = set_up_4k::<1>(&map, &[range(0x1800, 0x1900)]).unwrap_err();
    assert_eq!(
        error,
        SetupError::NoRoomForBitmap {
            node: NodeId::new(0),
            bitmap_bytes: 0x1000,
        }
    );
}

#[test]
fn too_many_nodes_builds_nothing() {
    let map = build(
        PageSize::SIZE_4KIB,
        &[(0, 0x3000_0000, RangeKind::Ram)],
        &[
            (0, 0x1000_0000, 0),
            (0x1000_0000, 0x2000_0000, 1),
            (0x2000_0000, 0x3000_0000, 2),
        ],
    );
    let calls = Cell::new(0);
    let result: Result<(Allocator<2>, _), _> = set_up(
        &map,
        Configuration::X86_64,
        NoZeroing,
        &[],
        |node, range| {
            calls.set(calls.get() + 1);
            heap_storage(node, range)
        },
    );
    assert_eq!(
        result.unwrap_err(),
        SetupError::TooManyNodes {
            nodes: 3,
            capacity: 2
        }
    );
    assert_eq!(calls.get(), 0);
}

#[test]
fn interleaved_nodes_are_refused() {
    let map = build(
        PageSize::SIZE_4KIB,
        &[(0, 0x3000_0000, RangeKind::Ram)],
        &[
            (0, 0x1000_0000, 0),
            (0x1000_0000, 0x2000_0000, 1),
            (0x2000_0000, 0x3000_0000, 0),
        ],
    );
    assert_eq!(
        set_up_4k::<2>(&map, &[]).unwrap_err(),
        SetupError::NodesOverlap {
            first: NodeId::new(0),
            second: NodeId::new(1)
        }
    );
}

#[test]
fn storage_of_exactly_the_words_needed_is_enough() {
    let map = build(
        PageSize::SIZE_4KIB,
        &[(0, 0x1000_0000, RangeKind::Ram)],
        &[],
    );
    let needed = node_storage_words(0x1_0000) as usize;
    let result: Result<(Allocator<1>, _), _> =
        set_up(&map, Configuration::X86_64, NoZeroing, &[], |_, _| {
            vec![0; needed]
        });
    let (allocator, summary) = result.unwrap();
    assert_eq!(summary.registered().count(), 1);
    assert!(allocator.free_pages() > 0);
}

#[test]
fn storage_too_small_is_refused_after_every_node_was_checked() {
    let map = build(
        PageSize::SIZE_4KIB,
        &[(0, 0x1000_0000, RangeKind::Ram)],
        &[],
    );
    let result: Result<(Allocator<1>, _), _> =
        set_up(&map, Configuration::X86_64, NoZeroing, &[], |_, _| {
            vec![0; 1]
        });
    assert_eq!(
        result.unwrap_err(),
        SetupError::StorageTooSmall {
            node: NodeId::new(0),
            needed_words: node_storage_words(0x1_0000),
            given_words: 1,
        }
    );
}

#[test]
fn page_sizes_must_agree() {
    let map = build(
        PageSize::SIZE_64KIB,
        &[(0, 0x1000_0000, RangeKind::Ram)],
        &[],
    );
    assert_eq!(
        set_up_4k::<1>(&map, &[]).unwrap_err(),
        SetupError::PageSizeMismatch {
            map: PageSize::SIZE_64KIB,
            configuration: PageSize::SIZE_4KIB
        }
    );
}

#[test]
fn sixty_four_kib_pages() {
    let page = PageSize::SIZE_64KIB;
    let configuration = Configuration {
        page_size: page,
        ..Configuration::X86_64
    };
    let map = build(
        page,
        &[
            (0x4000_0000, 0x1_4000_0000, RangeKind::Ram),
            (0x8000_8000, 0x8001_0000, RangeKind::Reserved),
        ],
        &[],
    );
    let kernel = range(0x4008_0000, 0x4100_0000);
    let (allocator, summary): (Allocator<1>, _) =
        set_up(&map, configuration, NoZeroing, &[kernel], heap_storage).unwrap();
    let node = &summary.nodes()[0];
    assert_eq!(
        node.frames,
        FrameRange::new(frame(0x4000), frame(0x1_4000)).unwrap()
    );
    let bitmap = node.bitmap.unwrap();
    assert_eq!(bitmap, range(0x1_4000_0000 - 0x1_0000, 0x1_4000_0000));
    // The reservation inside RAM covers the 64 KiB page holding it.
    assert_eq!(allocator.is_reserved(frame(0x8000)), Some(true));
    assert_eq!(allocator.is_reserved(frame(0x7fff)), Some(false));
    assert_eq!(allocator.free_pages(), 0x1_0000 - 1 - 1 - (0x4100 - 0x4008));
}

#[test]
fn ranges_in_use_are_clipped_to_each_node() {
    let map = build(
        PageSize::SIZE_4KIB,
        &[(0, 0x2000_0000, RangeKind::Ram)],
        &[(0, 0x1000_0000, 0), (0x1000_0000, 0x2000_0000, 1)],
    );
    // One range across the node boundary, one above every node.
    let across = range(0xfff_0000, 0x1001_0000);
    let above = range(0x4000_0000, 0x5000_0000);
    let (allocator, summary) = set_up_4k::<2>(&map, &[across, above]).unwrap();
    assert_eq!(summary.nodes()[0].reserved_ranges, 1);
    assert_eq!(summary.nodes()[1].reserved_ranges, 1);
    assert_eq!(allocator.is_reserved(frame(0xfff0)), Some(true));
    assert_eq!(allocator.is_reserved(frame(0x1_0010)), Some(false));
    assert_eq!(allocator.is_reserved(frame(0x4_0000)), None);
}

#[test]
fn the_linux_layer_takes_over_the_set_up_allocator() {
    let map = build(
        PageSize::SIZE_4KIB,
        &[(0, 0x4000_0000, RangeKind::Ram)],
        &[],
    );
    let (allocator, _) = set_up_4k::<1>(&map, &[range(0, 0x1000)]).unwrap();
    let mut bootmem: Bootmem<_, _, 1> = allocator.into();
    let table = bootmem.alloc_bootmem(100).unwrap();
    assert_eq!(table, address(0x100_0000));
    let low = bootmem.alloc_bootmem_low_pages(4096).unwrap();
    assert_eq!(low, address(0x100_1000));
    // Page 0 and the two blocks stay; the bitmap comes back as bitmap pages.
    let mut bitmap_pages = 0;
    let released = bootmem.free_all_bootmem(|block| {
        if block.kind == crate::BlockKind::Bitmap {
            bitmap_pages += 1;
        }
    });
    assert_eq!(released, 0x4_0000 - 3);
    assert_eq!(
        bitmap_pages,
        storage_bytes(0x4_0000, PageSize::SIZE_4KIB) / 4096
    );
}

#[test]
fn bitmap_pages_are_never_handed_out() {
    // 64 MiB of RAM (4 MiB under Miri, a thousand times slower): allocate
    // every page there is and check none is a bitmap page.
    let bytes = if cfg!(miri) { 0x40_0000 } else { 0x400_0000 };
    let map = build(PageSize::SIZE_4KIB, &[(0, bytes, RangeKind::Ram)], &[]);
    let (mut allocator, summary) = set_up_4k::<1>(&map, &[]).unwrap();
    let bitmap = summary.nodes()[0].bitmap.unwrap();
    let mut pages = 0;
    while let Ok(block) = allocator.allocate(&AllocationRequest::new(4096).aligned(4096)) {
        assert!(!bitmap.contains(block), "{block:?} is a bitmap page");
        pages += 1;
    }
    assert_eq!(pages, (bytes - bitmap.size()) / 4096);
}

// --- The invariant, on random maps ---------------------------------------

/// One random map entry: start and length in bytes of a 16 MiB machine,
/// and whether it is RAM.
fn entry() -> impl Strategy<Value = (u64, u64, bool)> {
    (0..16 * MIB, 1..4 * MIB, prop::bool::weighted(0.6))
}

/// The highest page-aligned window of `bytes` in one RAM range of `node`
/// clear of `in_use`, found page by page.
fn brute_force_placement(
    map: &Map,
    node: NodeId,
    bytes: u64,
    in_use: &[PhysicalRange],
) -> Option<PhysicalRange> {
    let page = map.page_size().bytes();
    map.ram_ranges_of(node)
        .flat_map(|ram| {
            let ram = ram.as_physical_range();
            (ram.start().as_u64()..ram.end().as_u64())
                .step_by(page as usize)
                .filter_map(move |start| {
                    let window = PhysicalRange::from_start_and_size(address(start), bytes)?;
                    ram.encloses(&window).then_some(window)
                })
        })
        .filter(|window| in_use.iter().all(|used| !used.overlaps(window)))
        .max()
}

proptest! {
    // Two hundred maps natively; under Miri as many as the rest of the
    // suite runs (`PROPTEST_CASES`).
    #![proptest_config(if cfg!(miri) { ProptestConfig::default() } else { ProptestConfig::with_cases(200) })]

    /// After the set-up, a page of a node is reserved exactly when it is
    /// not wholly RAM, or a range in use touches it, or it holds a bitmap;
    /// and each bitmap is the highest window a page-by-page search finds.
    #[test]
    fn reserved_pages_are_exactly_non_ram_in_use_and_bitmaps(
        entries in prop::collection::vec(entry(), 1..8),
        big_ram in (0..8 * MIB, 4 * MIB..8 * MIB),
        split in prop::option::of(1..32u64),
        in_use in prop::collection::vec((0..20 * MIB, 0..2 * MIB), 0..4),
    ) {
        let mut builder = MemoryMapBuilder::<32, 4>::new();
        builder.add_ram(address(big_ram.0), address(big_ram.0 + big_ram.1)).unwrap();
        for (start, length, is_ram) in entries {
            let kind = if is_ram { RangeKind::Ram } else { RangeKind::Reserved };
            builder.add_range(address(start), address(start + length), kind).unwrap();
        }
        if let Some(split) = split {
            let boundary = split * MIB / 2;
            builder.add_node_affinity(address(0), address(boundary), NodeId::new(0)).unwrap();
            builder.add_node_affinity(address(boundary), address(32 * MIB), NodeId::new(1)).unwrap();
        }
        let map = match builder.build(PageSize::SIZE_4KIB) {
            Ok(map) => map,
            // Reservations cover every RAM page: there is nothing to set up,
            // and the builder says so (tested in memory_map).
            Err(MemoryMapError::NoRam) => return Ok(()),
            Err(error) => panic!("{error}"),
        };
        let in_use: Vec<PhysicalRange> = in_use
            .iter()
            .map(|&(start, length)| range(start, start + length))
            .collect();
        let page = PageSize::SIZE_4KIB;
        match set_up_4k::<4>(&map, &in_use) {
            Ok((allocator, summary)) => {
                for setup in summary.registered() {
                    let bitmap = setup.bitmap.unwrap();
                    let expected = brute_force_placement(&map, setup.node, bitmap.size(), &in_use);
                    prop_assert_eq!(Some(bitmap), expected);
                    prop_assert_eq!(bitmap.size(), storage_bytes(setup.frames.len(), page));
                    for frame in setup.frames {
                        let bytes = FrameRange::new(frame, PageFrameNumber::new(frame.as_u64() + 1))
                            .unwrap()
                            .to_physical(page)
                            .unwrap();
                        let wholly_ram = map
                            .ram_ranges()
                            .any(|ram| ram.as_physical_range().encloses(&bytes));
                        let used = in_use.iter().any(|used| used.overlaps(&bytes));
                        let expected = !wholly_ram || used || bitmap.overlaps(&bytes);
                        prop_assert_eq!(allocator.is_reserved(frame), Some(expected), "frame {:?}", frame);
                    }
                }
            }
            Err(SetupError::NodeTooSmall { node, bitmap_bytes, .. } | SetupError::NoRoomForBitmap { node, bitmap_bytes }) => {
                // The claim holds: no window anywhere in the node's RAM.
                prop_assert_eq!(brute_force_placement(&map, node, bitmap_bytes, &in_use), None);
            }
            Err(SetupError::NodesOverlap { first, second }) => {
                let span = |node| map.node(node).unwrap().frames();
                prop_assert!(span(first).overlaps(&span(second)));
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }
}

#[test]
fn the_whole_storage_stays_reserved_not_only_linux_bitmap_pages() {
    // 128 MiB: Linux's bitmap is exactly one page, the storage (leaf bitmap
    // and summary) needs a second one.
    let pages = 0x8000;
    assert_eq!(crate::bitmap_bytes(pages), 4096);
    assert!(node_storage_bytes(pages) > 4096);
    let map = build(
        PageSize::SIZE_4KIB,
        &[(0, pages * 4096, RangeKind::Ram)],
        &[],
    );
    let (allocator, summary) = set_up_4k::<1>(&map, &[]).unwrap();
    let bitmap = summary.nodes()[0].bitmap.unwrap();
    let storage_pages = bitmap.size() / 4096;
    assert_eq!(
        storage_pages,
        storage_bytes(pages, PageSize::SIZE_4KIB) / 4096
    );
    assert!(storage_pages >= 2);
    for frame in bitmap.frames_touched(PageSize::SIZE_4KIB) {
        assert_eq!(allocator.is_reserved(frame), Some(true), "{frame:?}");
    }
    assert_eq!(allocator.free_pages(), pages - storage_pages);
    let mut bitmap_pages = 0;
    let released = allocator.free_all().release_with(|block| {
        if block.kind == crate::BlockKind::Bitmap {
            bitmap_pages += block.pages();
        }
    });
    assert_eq!(bitmap_pages, storage_pages);
    assert_eq!(released, pages);
}
