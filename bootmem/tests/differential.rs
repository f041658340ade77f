//! Differential test: the summary-driven allocator against the bit-by-bit reference, call for call.
//!
//! Random sequences of frees, reservations and allocations run on two
//! allocators over nodes large enough to have many summary words (and
//! whole level-1 words entirely free or reserved): one searching through
//! the summary, one testing a bit at a time as Linux does. Every result,
//! the final reserved runs and the hand-off's blocks must be identical.
#![cfg(feature = "reference")]

use bootmem::memory::NoZeroing;
use bootmem::{
    AllocationRequest, BootAllocator, Configuration, NodeId, NodePreference, PageFrameNumber,
    PhysicalAddress, ReserveMode,
};
use proptest::prelude::*;

type Allocator = BootAllocator<Vec<u64>, NoZeroing, 3>;

const PAGE: u64 = 4096;
/// Three adjacent nodes: the first starting off any word boundary, the
/// second on a word (where alignments of 64 pages and more take the
/// summary-only path) but off a region of 4 096 pages, the third on a
/// region (where alignments of 4 096 pages and more find their
/// boundaries through level 2).
const NODES: [(u32, u64, u64); 3] = [
    (0, 7, 150_016),
    (1, 150_016, 200_704),
    (2, 200_704, 450_003),
];
const END: u64 = 450_003;

fn machine(bit_by_bit: bool) -> Allocator {
    let mut allocator = Allocator::new(Configuration::X86_64, NoZeroing);
    allocator.use_bit_by_bit_search(bit_by_bit);
    for (node, start, end) in NODES {
        let storage = vec![0; bootmem::node_storage_words(end - start) as usize];
        allocator
            .register_node(
                NodeId::new(node),
                PageFrameNumber::new(start)..PageFrameNumber::new(end),
                storage,
                None,
            )
            .unwrap();
    }
    allocator
        .free(PhysicalAddress::new(7 * PAGE), (END - 7) * PAGE)
        .unwrap();
    allocator
}

#[derive(Clone, Debug)]
enum Operation {
    Allocate(AllocationRequest),
    Free {
        start: u64,
        pages: u64,
    },
    /// A free of `size` bytes from byte `start`: a few bytes inside a page
    /// free no page, and may lower the hint.
    FreeBytes {
        start: u64,
        size: u64,
    },
    Reserve {
        start: u64,
        pages: u64,
    },
}

/// A power of two from 2^0 to 2^`max_shift`, times a small factor.
fn spread(max_shift: u32) -> impl Strategy<Value = u64> {
    (0u32..=max_shift, 1u64..4).prop_map(|(shift, factor)| factor << shift)
}

fn operation() -> impl Strategy<Value = Operation> {
    let request = (
        spread(28),
        (0u32..31).prop_map(|shift| 1u64 << shift),
        prop_oneof![Just(0u64), 0u64..(END * PAGE)],
        prop_oneof![Just(None), (0u64..(END * PAGE)).prop_map(Some)],
        prop_oneof![
            Just(NodePreference::AnyNode),
            (0u32..3).prop_map(|node| NodePreference::Prefer(NodeId::new(node))),
        ],
    )
        .prop_map(
            |(size, alignment, goal, limit, preference)| AllocationRequest {
                size,
                alignment,
                goal: PhysicalAddress::new(goal),
                limit: limit.map(PhysicalAddress::new),
                preference,
            },
        );
    prop_oneof![
        4 => request.prop_map(Operation::Allocate),
        1 => (7u64..END, spread(17)).prop_map(|(start, pages)| Operation::Free { start, pages }),
        2 => (7u64..END, spread(17)).prop_map(|(start, pages)| Operation::Reserve { start, pages }),
    ]
}

/// Applies one call and returns its result as text.
fn apply(allocator: &mut Allocator, operation: &Operation) -> String {
    match operation {
        Operation::Allocate(request) => format!("{:?}", allocator.allocate(request)),
        Operation::Free { start, pages } => {
            let pages = (*pages).min(END - start);
            format!(
                "{:?}",
                allocator.free(PhysicalAddress::new(start * PAGE), pages * PAGE)
            )
        }
        Operation::FreeBytes { start, size } => {
            format!("{:?}", allocator.free(PhysicalAddress::new(*start), *size))
        }
        Operation::Reserve { start, pages } => {
            let pages = (*pages).min(END - start);
            let result = allocator.reserve(
                PhysicalAddress::new(start * PAGE),
                pages * PAGE,
                ReserveMode::Shared,
            );
            format!("{result:?}")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn summary_search_and_bit_by_bit_search_agree(operations in proptest::collection::vec(operation(), 1..60), max_order in 0u32..14) {
        let mut fast = machine(false);
        let mut reference = machine(true);
        for operation in &operations {
            let result = apply(&mut fast, operation);
            let expected = apply(&mut reference, operation);
            prop_assert_eq!(result, expected, "results differ on {:?}", operation);
        }
        prop_assert!(fast.reserved_runs().eq(reference.reserved_runs()), "final bitmaps differ");
        prop_assert_eq!(fast.free_pages(), reference.free_pages());
        // The fast machine hands off in place through `fold` (whole runs
        // cut at once), the reference one, owned, block by block through
        // `next`.
        let mut folded = Vec::new();
        fast.free_all_in_place().with_max_order(max_order).release_with(|block| folded.push(block));
        prop_assert!(folded.into_iter().eq(reference.free_all().with_max_order(max_order)), "hand-offs differ");
    }
}

/// A burst of requests that share a goal, limit and node preference (the
/// streaks), most
/// of them small, some of a page or a few pages (placed at the hint), a
/// few larger; most at the burst's alignment, some at another, so that a
/// streak's proof is worked out for more than one step. Or a free or
/// reserve next to where they land, or a free of a few bytes that frees
/// no page (which keeps a streak, unless it lowers the hint).
fn streak_burst() -> impl Strategy<Value = Vec<Operation>> {
    let alignment = || {
        prop_oneof![
            Just(8u64),
            Just(64),
            Just(256),
            Just(4096),
            Just(8192),
            Just(1 << 16)
        ]
    };
    let burst = (
        proptest::collection::vec(
            (
                prop_oneof![
                    12 => 1u64..600,
                    3 => 4000u64..4200,
                    2 => 1u64..9000,
                    1 => 9000u64..300_000,
                ],
                prop_oneof![3 => Just(None), 1 => alignment().prop_map(Some)],
            ),
            1..40,
        ),
        alignment(),
        prop_oneof![Just(0u64), Just(16u64 << 20), Just(150_016 * PAGE - 8192)],
        // No limit, one far past the goals, or one inside a leaf word a
        // streak from 16 MiB fills.
        prop_oneof![4 => Just(None), 1 => Just(Some(32u64 << 20)), 1 => Just(Some((4096 + 37) * PAGE))],
        // Any node, or a preferred one (the `_node` calls), sometimes
        // above the end of DMA32 memory (`__alloc_bootmem_node_high`).
        prop_oneof![
            3 => Just(NodePreference::AnyNode),
            2 => (0u32..3).prop_map(|node| NodePreference::Prefer(NodeId::new(node))),
            1 => (0u32..3).prop_map(|node| NodePreference::PreferAboveDma32(NodeId::new(node))),
        ],
    )
        .prop_map(|(requests, alignment, goal, limit, preference)| {
            requests
                .into_iter()
                .map(|(size, own_alignment)| {
                    Operation::Allocate(AllocationRequest {
                        size,
                        alignment: own_alignment.unwrap_or(alignment),
                        goal: PhysicalAddress::new(goal),
                        limit: limit.map(PhysicalAddress::new),
                        preference,
                    })
                })
                .collect()
        });
    let near = prop_oneof![4096u64..4160, 150_014u64..150_030];
    prop_oneof![
        6 => burst,
        1 => (near.clone(), 1u64..4).prop_map(|(start, pages)| vec![Operation::Free { start, pages }]),
        1 => (near.clone(), 1u64..4).prop_map(|(start, pages)| vec![Operation::Reserve { start, pages }]),
        1 => (near, 1u64..4095, 1u64..64).prop_map(|(page, offset, size)| {
            vec![Operation::FreeBytes { start: page * PAGE + offset, size }]
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sequential_streaks_agree_with_bit_by_bit(bursts in proptest::collection::vec(streak_burst(), 1..30), max_order in 0u32..14) {
        let mut fast = machine(false);
        let mut reference = machine(true);
        for operation in bursts.iter().flatten() {
            let result = apply(&mut fast, operation);
            let expected = apply(&mut reference, operation);
            prop_assert_eq!(result, expected, "results differ on {:?}", operation);
        }
        prop_assert!(fast.reserved_runs().eq(reference.reserved_runs()), "final bitmaps differ");
        // The fast machine hands off through `fold` (whole runs cut at
        // once), the reference one block by block through `next`.
        let mut folded = Vec::new();
        fast.free_all().with_max_order(max_order).release_with(|block| folded.push(block));
        prop_assert!(folded.into_iter().eq(reference.free_all().with_max_order(max_order)), "hand-offs differ");
    }
}
