//! The hand-off's fold and its one-by-one iteration give the same blocks, from any point.

use bootmem::memory::NoZeroing;
use bootmem::{
    BootAllocator, Configuration, FrameRange, FreeBlock, NodeId, PageFrameNumber, PhysicalAddress,
    ReserveMode,
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
