//! Exhaustive small worlds: every sequence of up to `DEPTH` calls from a fixed vocabulary, each checked against the model.
//!
//! The machine is tiny: node 1 over frames 3..35 (not a multiple of 64,
//! its bitmap on its own last page), a hole, node 0 over 40..72 and node 2
//! right after it over 72..90 (bitmaps outside memory). The vocabulary has
//! allocations of every node policy and edge arguments (sub-page merges,
//! alignment above a page, goal past a limit, alignment 0, a size that
//! never fits), frees (of the newest and oldest live block, double frees,
//! a range crossing the hole, one crossing two adjacent nodes) and
//! reservations (shared, exclusive, ending exactly at a node's end,
//! crossing two nodes, on a node). After every call of every sequence the
//! library and (feature `reference`) the bit-by-bit search must equal the
//! model, and the harness's invariants must hold; every sequence is torn
//! down and its hand-off compared. Run it in release:
//! `cargo test --release -p bootmem --all-features --test small_worlds -- --nocapture`
//! (`SMALL_WORLDS_DEPTH` overrides the depth).

mod oracle;

use oracle::calls::{Arguments, Call, Function};
use std::collections::BTreeMap;

use oracle::calls::Outcome;
use oracle::harness::{Harness, Live};
use oracle::Allocation;
use oracle::Machine;

const PAGE: u64 = 4096;

fn machine() -> Machine {
    Machine {
        page: PAGE,
        cache_line: 64,
        dma_limit: 16 * PAGE,
        low_limit: 45 * PAGE + 5,
        dma32_end_pfn: 0,
    }
}

/// Registration and freeing of the RAM, common to every sequence.
fn setup() -> Vec<Call> {
    vec![
        Call::Init {
            nid: 0,
            mapstart: 100,
            start: 40,
            end: 72,
        },
        Call::Init {
            nid: 1,
            mapstart: 34,
            start: 3,
            end: 35,
        },
        Call::Init {
            nid: 2,
            mapstart: 101,
            start: 72,
            end: 90,
        },
        Call::Free {
            address: 3 * PAGE,
            size: 32 * PAGE,
        },
        Call::Free {
            address: 40 * PAGE,
            size: 50 * PAGE,
        },
    ]
}

/// One word of the vocabulary; some depend on the live blocks.
#[derive(Clone, Copy, Debug)]
enum Word {
    Fixed(Call),
    FreeNewest,
    FreeOldestOnNode,
}

fn allocate(function: Function, nid: u32, size: u64, align: u64, goal: u64, limit: u64) -> Word {
    Word::Fixed(Call::Allocate {
        function,
        arguments: Arguments {
            nid,
            size,
            align,
            goal,
            limit,
        },
    })
}

fn vocabulary() -> Vec<Word> {
    use Function as F;
    let fixed = Word::Fixed;
    vec![
        allocate(F::alloc_bootmem_nopanic, 0, 5000, 0, 0, 0),
        allocate(F::alloc_bootmem, 0, 64, 0, 0, 0),
        allocate(F::__alloc_bootmem_nopanic, 0, 3 * PAGE, 2 * PAGE, 0, 0),
        allocate(F::alloc_bootmem_low_pages_nopanic, 0, PAGE, 0, 0, 0),
        allocate(F::__alloc_bootmem_node_nopanic, 2, 100, 64, 0, 0),
        allocate(
            F::___alloc_bootmem_node_nopanic,
            1,
            PAGE,
            PAGE,
            60 * PAGE,
            50 * PAGE,
        ),
        allocate(F::alloc_bootmem_pages, 0, 33 * PAGE, 0, 0, 0),
        allocate(F::__alloc_bootmem_low_node_nopanic, 0, 2 * PAGE, PAGE, 0, 0),
        allocate(F::___alloc_bootmem_nopanic, 0, 6 * PAGE, 64, 0, 12 * PAGE),
        allocate(F::__alloc_bootmem_nopanic, 0, 1, 0, 0, 0),
        Word::FreeNewest,
        Word::FreeOldestOnNode,
        fixed(Call::Free {
            address: 16 * PAGE,
            size: 2 * PAGE,
        }),
        fixed(Call::Free {
            address: 34 * PAGE,
            size: 7 * PAGE,
        }),
        fixed(Call::Free {
            address: 71 * PAGE,
            size: 2 * PAGE,
        }),
        fixed(Call::Reserve {
            address: 16 * PAGE,
            size: 1,
            flags: 0,
        }),
        fixed(Call::Reserve {
            address: 30 * PAGE,
            size: 5 * PAGE,
            flags: 1,
        }),
        fixed(Call::Reserve {
            address: 70 * PAGE,
            size: 4 * PAGE,
            flags: 1,
        }),
        fixed(Call::ReserveNode {
            nid: 0,
            address: 40 * PAGE,
            size: 2 * PAGE,
            flags: 1,
        }),
        fixed(Call::ReserveNode {
            nid: 2,
            address: 89 * PAGE + 1,
            size: PAGE - 1,
            flags: 0,
        }),
    ]
}

fn node_of(harness: &Harness, address: u64) -> u32 {
    let pfn = address / PAGE;
    harness
        .model
        .nodes
        .iter()
        .find(|node| node.start <= pfn && pfn < node.end)
        .map_or(7, |node| node.id)
}

/// The call a word stands for now; a free with no live block frees
/// nothing on a node's first page (deviation 11).
fn resolve(word: Word, harness: &Harness) -> Call {
    let live: &Live = &harness.live;
    match word {
        Word::Fixed(call) => call,
        Word::FreeNewest => match live.last() {
            Some(&(address, size)) => Call::Free { address, size },
            None => Call::Free {
                address: 40 * PAGE,
                size: 10,
            },
        },
        Word::FreeOldestOnNode => match live.first() {
            Some(&(address, size)) => Call::FreeNode {
                nid: node_of(harness, address),
                address,
                size,
            },
            None => Call::FreeNode {
                nid: 1,
                address: 3 * PAGE - 10,
                size: 20,
            },
        },
    }
}

/// A short name for an outcome, for the histogram.
fn kind(outcome: Outcome) -> String {
    match outcome {
        Outcome::Allocation(Allocation::Address(_)) => "allocated".to_owned(),
        Outcome::Allocation(Allocation::Null) => "NULL".to_owned(),
        Outcome::Allocation(Allocation::Panic) => "PANIC".to_owned(),
        Outcome::Allocation(Allocation::Bug) | Outcome::Bug => "BUG".to_owned(),
        Outcome::Done => "ok".to_owned(),
        Outcome::Reserve(value) => value.to_string(),
        Outcome::Bytes(_) => "init".to_owned(),
    }
}

/// A fresh harness with the machine set up and the checked prefix replayed.
fn prepared(prefix: &[usize], vocabulary: &[Word]) -> Harness {
    let mut harness = Harness::new(machine());
    for call in setup() {
        harness.replay(&call);
    }
    for &index in prefix {
        let call = resolve(vocabulary[index], &harness);
        harness.replay(&call);
    }
    harness
}

/// Depth-first over every sequence: each is the checked last call of a
/// replayed (already checked) prefix, then torn down and compared.
fn explore(
    prefix: &mut Vec<usize>,
    depth: usize,
    vocabulary: &[Word],
    outcomes: &mut BTreeMap<String, u64>,
) {
    if prefix.len() == depth {
        return;
    }
    for index in 0..vocabulary.len() {
        let mut harness = prepared(prefix, vocabulary);
        let call = resolve(vocabulary[index], &harness);
        prefix.push(index);
        match harness.run(&call) {
            Ok(outcome) => *outcomes.entry(kind(outcome)).or_default() += 1,
            Err(error) => panic!("sequence {prefix:?}: {error}"),
        }
        if let Err(error) = harness.finish() {
            panic!("sequence {prefix:?}, teardown: {error}");
        }
        explore(prefix, depth, vocabulary, outcomes);
        prefix.pop();
    }
}

#[test]
fn every_short_sequence_matches_the_model() {
    oracle::calls::quiet_expected_panics();
    // The setup itself, checked once.
    let mut harness = Harness::new(machine());
    for call in setup() {
        harness.run(&call).unwrap();
    }
    harness.finish().unwrap();

    let default_depth = if cfg!(debug_assertions) { 2 } else { 5 };
    let depth = std::env::var("SMALL_WORLDS_DEPTH")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default_depth);
    let vocabulary = vocabulary();
    let mut outcomes = BTreeMap::new();
    explore(&mut Vec::new(), depth, &vocabulary, &mut outcomes);
    let covered: u64 = outcomes.values().sum();
    let expected: u64 = (1..=depth as u32)
        .map(|length| (vocabulary.len() as u64).pow(length))
        .sum();
    assert_eq!(covered, expected);
    eprintln!(
        "small worlds: {covered} sequences of 1 to {depth} calls over a vocabulary of {} (reference {}), each checked after every call and torn down",
        vocabulary.len(),
        if cfg!(feature = "reference") { "on" } else { "off" }
    );
    eprintln!("small worlds: last calls by outcome: {outcomes:?}");
    // One call cannot meet a full window; two can, and then every outcome occurs.
    if depth >= 2 {
        for kind in ["allocated", "NULL", "PANIC", "BUG", "ok", "0", "-16"] {
            assert!(outcomes.contains_key(kind), "no sequence ends in {kind}");
        }
    }
}
