//! The hand-off's fold and its one-by-one iteration give the same blocks, from any point, owned or in place.

use bootmem::memory::NoZeroing;
use bootmem::{
    AllocationRequest, BootAllocator, Configuration, FrameRange, FreeBlock, NodeId,
    PageFrameNumber, PhysicalAddress, RangeError, ReserveMode,
};

type Allocator = BootAllocator<Vec<u64>, NoZeroing, 4>;

const PAGE: u64 = 4096;

/// Three nodes (one with its bitmap in its own memory), their RAM freed,
/// then pseudo-random runs reserved: single pages, runs across words and
/// runs across summary words.
fn machine(seed: u64) -> Allocator {
    let mut allocator = Allocator::new(Configuration::X86_64, NoZeroing);
    let nodes = [
        (0u64, 70_001u64),
        (70_001, 400_000),
        (1 << 20, (1 << 20) + 300_000),
    ];
    for (index, &(start, end)) in nodes.iter().enumerate() {
        let storage = vec![u64::MAX; bootmem::node_storage_words(end - start) as usize];
        let bitmap_frames = (index == 0)
            .then(|| FrameRange::new(PageFrameNumber::new(start), PageFrameNumber::new(start + 3)));
        allocator
            .register_node(
                NodeId::new(index as u32),
                PageFrameNumber::new(start)..PageFrameNumber::new(end),
                storage,
                bitmap_frames.flatten(),
            )
            .unwrap();
        allocator
            .free(PhysicalAddress::new(start * PAGE), (end - start) * PAGE)
            .unwrap();
    }
    let mut state = seed | 1;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    for &(start, end) in &nodes {
        let mut frame = start + 3;
        while frame < end {
            let scale = [1, 60, 5000][next(3) as usize];
            let length = 1 + next(scale);
            let length = length.min(end - frame);
            allocator
                .reserve(
                    PhysicalAddress::new(frame * PAGE),
                    length * PAGE,
                    ReserveMode::Shared,
                )
                .unwrap();
            let gap = [2, 300, 20_000][next(3) as usize];
            frame += length + 1 + next(gap);
        }
    }
    allocator
}

#[test]
fn folding_after_any_number_of_blocks_gives_the_blocks_one_by_one_gives() {
    for max_order in [0, 3, 10, 12, 63] {
        let one_by_one: Vec<FreeBlock> = machine(7).free_all().with_max_order(max_order).collect();
        assert!(one_by_one.len() > 1000, "a fragmented machine: many blocks");
        // Free runs of up to 20 000 pages: the largest blocks reach a
        // maximum order up to 12 and never pass it; with no cap to speak
        // of (63) they pass the default order 10.
        let largest = one_by_one.iter().map(|block| block.order).max().unwrap();
        if max_order <= 12 {
            assert_eq!(u32::from(largest), max_order, "max order {max_order}");
        } else {
            assert!(largest > 10, "max order {max_order}: largest {largest}");
        }
        for taken in [0, 1, 2, 17, 500, one_by_one.len() - 3, one_by_one.len()] {
            let mut hand_off = machine(7).free_all().with_max_order(max_order);
            let mut blocks: Vec<FreeBlock> = hand_off.by_ref().take(taken).collect();
            let pages = hand_off.release_with(|block| blocks.push(block));
            assert_eq!(
                blocks, one_by_one,
                "max order {max_order}, {taken} taken first"
            );
            let rest: u64 = one_by_one[taken..].iter().map(FreeBlock::pages).sum();
            assert_eq!(pages, rest);
        }
    }
}

#[test]
fn the_hand_off_in_place_gives_the_owned_hand_offs_blocks_from_any_point() {
    for max_order in [0, 3, 10, 63] {
        let owned: Vec<FreeBlock> = machine(11).free_all().with_max_order(max_order).collect();
        for taken in [0, 1, 40, owned.len() - 2, owned.len()] {
            let mut allocator = machine(11);
            let mut hand_off = allocator.free_all_in_place().with_max_order(max_order);
            let mut blocks: Vec<FreeBlock> = hand_off.by_ref().take(taken).collect();
            let pages = hand_off.release_with(|block| blocks.push(block));
            assert_eq!(blocks, owned, "max order {max_order}, {taken} taken first");
            let rest: u64 = owned[taken..].iter().map(FreeBlock::pages).sum();
            assert_eq!(pages, rest);
            assert_eq!(
                allocator.nodes().count(),
                0,
                "the nodes went with the hand-off"
            );
        }
    }
}

/// After an in-place hand-off (finished, dropped early or leaked), the
/// allocator holds no node: nothing it handed off can come out again, a
/// later owned hand-off is empty, and a node registered afresh works.
#[test]
fn after_an_in_place_hand_off_the_allocator_has_no_node_and_takes_new_ones() {
    let ends: [fn(&mut Allocator); 3] = [
        |allocator| {
            let owned = machine(3).free_all().count_pages();
            assert!(owned > 100_000);
            assert_eq!(allocator.free_all_in_place().count_pages(), owned);
        },
        |allocator| {
            let mut hand_off = allocator.free_all_in_place();
            assert!(hand_off.next().is_some());
        },
        |allocator| core::mem::forget(allocator.free_all_in_place()),
    ];
    for (case, end) in ends.into_iter().enumerate() {
        let mut allocator = machine(3);
        end(&mut allocator);
        assert_eq!(allocator.nodes().count(), 0, "case {case}");
        assert_eq!(allocator.free_pages(), 0, "case {case}");
        assert!(
            allocator.allocate(&AllocationRequest::new(PAGE)).is_err(),
            "case {case}: no node, no allocation"
        );
        assert!(
            matches!(
                allocator.free(PhysicalAddress::new(100 * PAGE), PAGE),
                Err(RangeError::OutsideNodes { .. })
            ),
            "case {case}: the freed range lies in no node"
        );
        allocator
            .register_node(
                NodeId::new(0),
                PageFrameNumber::new(0)..PageFrameNumber::new(1000),
                vec![0; bootmem::node_storage_words(1000) as usize],
                None,
            )
            .unwrap();
        allocator
            .free(PhysicalAddress::new(0), 1000 * PAGE)
            .unwrap();
        let placed = allocator.allocate(&AllocationRequest::new(PAGE)).unwrap();
        assert_eq!(placed.as_u64(), 0, "case {case}");
        let pages: u64 = allocator.free_all().map(|block| block.pages()).sum();
        assert_eq!(pages, 999, "case {case}: only the new node is handed off");
    }
}

/// Node storage that counts its live copies through a shared token.
struct CountedStorage {
    words: Vec<u64>,
    _token: std::rc::Rc<()>,
}

impl AsRef<[u64]> for CountedStorage {
    fn as_ref(&self) -> &[u64] {
        &self.words
    }
}

impl AsMut<[u64]> for CountedStorage {
    fn as_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }
}

/// The nodes' storage goes when the in-place hand-off goes, finished or
/// not, as it would with the owned hand-off.
#[test]
fn the_in_place_hand_off_drops_the_nodes_storage_with_it() {
    for blocks_taken in [None, Some(1)] {
        let token = std::rc::Rc::new(());
        let mut allocator: BootAllocator<CountedStorage, NoZeroing, 4> =
            BootAllocator::new(Configuration::X86_64, NoZeroing);
        for node in 0..2u64 {
            let storage = CountedStorage {
                words: vec![0; bootmem::node_storage_words(1000) as usize],
                _token: std::rc::Rc::clone(&token),
            };
            allocator
                .register_node(
                    NodeId::new(node as u32),
                    PageFrameNumber::new(node * 1000)..PageFrameNumber::new(node * 1000 + 1000),
                    storage,
                    None,
                )
                .unwrap();
        }
        allocator
            .free(PhysicalAddress::new(0), 2000 * PAGE)
            .unwrap();
        assert_eq!(std::rc::Rc::strong_count(&token), 3);
        {
            let mut hand_off = allocator.free_all_in_place();
            match blocks_taken {
                None => assert_eq!(
                    hand_off.by_ref().map(|block| block.pages()).sum::<u64>(),
                    2000
                ),
                Some(count) => assert_eq!(hand_off.by_ref().take(count).count(), count),
            }
            assert_eq!(
                std::rc::Rc::strong_count(&token),
                3,
                "held while the hand-off lives"
            );
        }
        assert_eq!(
            std::rc::Rc::strong_count(&token),
            1,
            "{blocks_taken:?}: dropped with it"
        );
    }
}
