//! Property tests: random call sequences, with the allocator's invariants checked after every call.
//!
//! After each call: no two live allocations overlap; every live allocation
//! lies on reserved pages of registered nodes, honours its alignment and
//! limit; reserved plus free pages equal the registered pages; a call that
//! fails leaves the allocator exactly as it was (its whole state, bitmaps,
//! hints and last ends included, compared through `Debug`). The same
//! sequence on the bit-by-bit reference search gives the same results. At
//! teardown, every free page is handed out exactly once, in maximal
//! naturally aligned blocks in ascending order, and nothing else but the
//! bitmap pages.
#![cfg(feature = "reference")]

use std::collections::HashSet;

use bootmem::memory::NoZeroing;
use bootmem::{
    AllocationRequest, BlockKind, BootAllocator, Configuration, FrameRange, NodeId, NodePreference,
    PageFrameNumber, PhysicalAddress, ReserveMode,
};
use proptest::prelude::*;

type Allocator = BootAllocator<Vec<u64>, NoZeroing, 4>;

const PAGE: u64 = 4096;
/// Three nodes: a misaligned one, one right after it, one after a hole.
const NODES: [(u32, u64, u64, Option<u64>); 3] = [
    (1, 3, 300, Some(10)),
    (0, 300, 700, Some(690)),
    (2, 900, 1200, None),
];

fn configuration() -> Configuration {
    Configuration {
        dma_limit: PhysicalAddress::new(64 * PAGE),
        low_address_limit: PhysicalAddress::new(512 * PAGE + 5),
        dma32_end: PageFrameNumber::new(600),
        ..Configuration::X86_64
    }
}

fn machine(bit_by_bit: bool) -> Allocator {
    let mut allocator = Allocator::new(configuration(), NoZeroing);
    allocator.use_bit_by_bit_search(bit_by_bit);
    for (node, start, end, bitmap) in NODES {
        let storage = vec![0; bootmem::node_storage_words(end - start) as usize];
        // Linux's count of bitmap pages from the given first frame.
        let pages = bootmem::bitmap_bytes(end - start).div_ceil(PAGE);
        let location = bitmap.and_then(|first| {
            FrameRange::new(
                PageFrameNumber::new(first),
                PageFrameNumber::new(first + pages),
            )
        });
        allocator
            .register_node(
                NodeId::new(node),
                PageFrameNumber::new(start)..PageFrameNumber::new(end),
                storage,
                location,
            )
            .unwrap();
    }
    allocator
        .free(PhysicalAddress::new(3 * PAGE), 697 * PAGE)
        .unwrap();
    allocator
        .free(PhysicalAddress::new(900 * PAGE), 300 * PAGE)
        .unwrap();
    allocator
}

#[derive(Clone, Debug)]
enum Operation {
    Allocate(AllocationRequest),
    FreeLive(usize),
    Free {
        start: u64,
        size: u64,
        node: Option<u32>,
    },
    Reserve {
        start: u64,
        size: u64,
        node: Option<u32>,
        exclusive: bool,
    },
}

fn request() -> impl Strategy<Value = AllocationRequest> {
    (
        prop_oneof![1u64..200, 1u64..(6 * PAGE), Just(PAGE), 0u64..3],
        prop_oneof![
            (0u32..7).prop_map(|shift| 1u64 << shift),
            (0u32..20).prop_map(|shift| 1u64 << shift),
            Just(0u64),
            Just(48u64)
        ],
        prop_oneof![Just(0u64), 0u64..(1300 * PAGE)],
        prop_oneof![Just(None), (0u64..(1300 * PAGE)).prop_map(Some)],
        prop_oneof![
            Just(NodePreference::AnyNode),
            (0u32..4).prop_map(|node| NodePreference::Prefer(NodeId::new(node))),
            (0u32..3).prop_map(|node| NodePreference::PreferAboveDma32(NodeId::new(node))),
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
        )
}

fn operation() -> impl Strategy<Value = Operation> {
    let range = (
        0u64..(1250 * PAGE),
        prop_oneof![0u64..(3 * PAGE), 0u64..(400 * PAGE)],
    );
    let node = prop_oneof![Just(None), (0u32..4).prop_map(Some)];
    prop_oneof![
        5 => request().prop_map(Operation::Allocate),
        2 => (0usize..64).prop_map(Operation::FreeLive),
        1 => (range.clone(), node.clone()).prop_map(|((start, size), node)| Operation::Free { start, size, node }),
        1 => (range, node, any::<bool>()).prop_map(|((start, size), node, exclusive)| Operation::Reserve { start, size, node, exclusive }),
    ]
}

/// A live allocation: where, how big, and what it asked for.
#[derive(Clone, Copy, Debug)]
struct Live {
    start: u64,
    size: u64,
}

fn total_pages() -> u64 {
    NODES.iter().map(|(_, start, end, _)| end - start).sum()
}

fn check_invariants(allocator: &Allocator, live: &[Live]) -> Result<(), TestCaseError> {
    let reserved: u64 = allocator
        .reserved_runs()
        .map(|run| run.end.as_u64() - run.start.as_u64())
        .sum();
    prop_assert_eq!(reserved + allocator.free_pages(), total_pages());
    let mut sorted = live.to_vec();
    sorted.sort_by_key(|block| block.start);
    for pair in sorted.windows(2) {
        prop_assert!(
            pair[0].start + pair[0].size <= pair[1].start,
            "overlap: {:?}",
            pair
        );
    }
    for block in live {
        let first = block.start / PAGE;
        let last = (block.start + block.size - 1) / PAGE;
        for frame in first..=last {
            prop_assert_eq!(
                allocator.is_reserved(PageFrameNumber::new(frame)),
                Some(true),
                "page {:#x} of {:?} is not a reserved registered page",
                frame,
                block
            );
        }
    }
    Ok(())
}

fn apply(
    allocator: &mut Allocator,
    live: &mut Vec<Live>,
    operation: &Operation,
) -> Result<String, TestCaseError> {
    let before = format!("{allocator:?}");
    let outcome = match *operation {
        Operation::Allocate(request) => match allocator.allocate(&request) {
            Ok(address) => {
                let start = address.as_u64();
                prop_assert!(request.alignment.is_power_of_two() && start % request.alignment == 0);
                if let (NodePreference::AnyNode, Some(limit)) = (request.preference, request.limit)
                {
                    prop_assert!(start + request.size <= limit.as_u64() / PAGE * PAGE);
                }
                live.push(Live {
                    start,
                    size: request.size,
                });
                Ok(format!("{start:#x}"))
            }
            Err(error) => Err(format!("{error:?}")),
        },
        Operation::FreeLive(index) => {
            if live.is_empty() {
                return Ok("nothing live".into());
            }
            let block = live.remove(index % live.len());
            let result = allocator.free(PhysicalAddress::new(block.start), block.size);
            // Freeing one's own allocation can only fail when no whole page
            // lies inside it and its start page's range check fails, which a
            // live block inside the nodes never does.
            prop_assert!(result.is_ok(), "{:?} freeing {:?}", result, block);
            Ok("freed".into())
        }
        Operation::Free { start, size, node } => {
            let result = match node {
                Some(node) => {
                    allocator.free_on_node(NodeId::new(node), PhysicalAddress::new(start), size)
                }
                None => allocator.free(PhysicalAddress::new(start), size),
            };
            if result.is_ok() {
                // Live blocks whose pages were freed are gone.
                live.retain(|block| {
                    let first = block.start / PAGE;
                    let last = (block.start + block.size - 1) / PAGE;
                    (first..=last).all(|frame| {
                        allocator.is_reserved(PageFrameNumber::new(frame)) == Some(true)
                    })
                });
            }
            result
                .map(|()| "ok".into())
                .map_err(|error| format!("{error:?}"))
        }
        Operation::Reserve {
            start,
            size,
            node,
            exclusive,
        } => {
            let mode = if exclusive {
                ReserveMode::Exclusive
            } else {
                ReserveMode::Shared
            };
            let result = match node {
                Some(node) => allocator.reserve_on_node(
                    NodeId::new(node),
                    PhysicalAddress::new(start),
                    size,
                    mode,
                ),
                None => allocator.reserve(PhysicalAddress::new(start), size, mode),
            };
            result
                .map(|()| "ok".into())
                .map_err(|error| format!("{error:?}"))
        }
    };
    if outcome.is_err() {
        prop_assert_eq!(
            &before,
            &format!("{allocator:?}"),
            "a failed call changed the allocator"
        );
    }
    Ok(match outcome {
        Ok(text) | Err(text) => text,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_call(operations in proptest::collection::vec(operation(), 1..120)) {
        let mut allocator = machine(false);
        let mut reference = machine(true);
        let (mut live, mut reference_live) = (Vec::new(), Vec::new());
        for operation in &operations {
            let result = apply(&mut allocator, &mut live, operation)?;
            let reference_result = apply(&mut reference, &mut reference_live, operation)?;
            prop_assert_eq!(&result, &reference_result, "word search and bit-by-bit search disagree on {:?}", operation);
            check_invariants(&allocator, &live)?;
        }
        let free_before = allocator.free_pages();
        let free_frames: HashSet<u64> = NODES
            .iter()
            .flat_map(|(_, start, end, _)| *start..*end)
            .filter(|&frame| allocator.is_reserved(PageFrameNumber::new(frame)) == Some(false))
            .collect();
        let mut seen = HashSet::new();
        let mut released = 0;
        let mut bitmap_pages = 0;
        let mut previous_end = 0;
        let live_pages: HashSet<u64> = live
            .iter()
            .flat_map(|block| (block.start / PAGE)..=((block.start + block.size - 1) / PAGE))
            .collect();
        for block in allocator.free_all() {
            let (start, end) = (block.start.as_u64(), block.start.as_u64() + block.pages());
            for frame in start..end {
                prop_assert!(seen.insert(frame), "page {:#x} handed out twice", frame);
                prop_assert!(!live_pages.contains(&frame), "live page {:#x} handed out", frame);
                if block.kind == BlockKind::Free {
                    prop_assert!(free_frames.contains(&frame), "page {:#x} was not free", frame);
                }
            }
            if block.kind == BlockKind::Free {
                prop_assert!(start % block.pages() == 0, "block not naturally aligned");
                prop_assert!(block.order <= 10, "block above the default maximum order");
                prop_assert!(start >= previous_end, "blocks not in ascending order");
                previous_end = end;
                // Maximal: the block twice as large at the same start would
                // not be naturally aligned, or not all free in this node.
                let node_end = NODES.iter().find(|(_, low, high, _)| (*low..*high).contains(&start)).unwrap().2;
                let doubled = start + 2 * block.pages();
                let could_grow = block.order < 10
                    && start % (2 * block.pages()) == 0
                    && doubled <= node_end
                    && (end..doubled).all(|frame| free_frames.contains(&frame));
                prop_assert!(!could_grow, "block at {:#x} of order {} is not maximal", start, block.order);
            }
            released += block.pages();
            if block.kind == BlockKind::Bitmap {
                bitmap_pages += block.pages();
            }
        }
        prop_assert!(free_frames.iter().all(|frame| seen.contains(frame)), "a free page was not handed out");
        prop_assert_eq!(bitmap_pages, 2);
        prop_assert_eq!(released, free_before + bitmap_pages);
    }
}
