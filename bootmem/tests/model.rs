//! Property test: random worlds and call sequences through `bootmem::linux::Bootmem`, each call against the independent model.
//!
//! Every call's result (address, `NULL`, `PANIC`, `BUG`, 0 / -16) must equal
//! the model's, and so must the state it leaves (every node's reserved
//! pages and free count); a failed call must leave the library's whole
//! state (hints and last ends included) as it was; a successful allocation
//! is zeroed exactly once, for exactly its size; live blocks never overlap
//! and stay reserved; at teardown the hand-off equals the model's block for
//! block. With feature `reference`, the bit-by-bit search runs alongside
//! and must agree too. The generators build valid machines directly (no
//! case is filtered out) and aim most calls at valid arguments; the test
//! prints how many calls of each kind it made and how many were refused.

mod oracle;

use std::collections::BTreeMap;

use oracle::calls::{self, Arguments, Call, Function, Outcome};
use oracle::harness::{Harness, Live};
use oracle::{Allocation, Machine, Model};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// A generated machine: constants, nodes `(nid, start, end, mapstart)` in
/// registration order, and a few reservations made after the RAM is freed.
#[derive(Clone, Debug)]
struct World {
    machine: Machine,
    nodes: Vec<(u32, u64, u64, u64)>,
    reservations: Vec<(u64, u64)>,
}

impl World {
    fn span_end(&self) -> u64 {
        self.nodes.iter().map(|node| node.2).max().unwrap_or(0)
    }
    fn span_start(&self) -> u64 {
        self.nodes.iter().map(|node| node.1).min().unwrap_or(0)
    }
}

fn world() -> impl Strategy<Value = World> {
    let page = prop_oneof![6 => Just(4096u64), 1 => Just(1u64 << 16), 1 => Just(1u64 << 20)];
    let cache = prop_oneof![Just(64u64), Just(128), Just(8)];
    let node = (
        1u64..150,
        prop_oneof![2 => Just(0u64), 1 => 1u64..12],
        any::<bool>(),
    );
    (
        page,
        cache,
        0u64..130,
        proptest::collection::vec(node, 1..=4),
        any::<[u64; 8]>(),
    )
        .prop_map(|(page, cache_line, first, shapes, random)| {
            let mut nodes = Vec::new();
            let mut start = first;
            let mut end_of_all = first;
            for (pages, gap, _) in &shapes {
                start += gap;
                end_of_all = start + pages;
                nodes.push((0u32, start, start + pages, 0u64));
                start += pages;
            }
            // Bitmaps at the top of their own node, or outside every node.
            let mut outside = end_of_all + 10;
            let machine_page = page;
            for (index, (_, _, inside)) in shapes.iter().enumerate() {
                let (_, start, end, _) = nodes[index];
                let bitmap_pages = (end - start).div_ceil(64) * 8;
                let bitmap_pages = bitmap_pages.div_ceil(machine_page);
                nodes[index].3 = if *inside && end - start > bitmap_pages {
                    end - bitmap_pages
                } else {
                    outside += bitmap_pages + 1;
                    outside - bitmap_pages - 1
                };
            }
            // Node numbers: a rotation, registered in a shuffled order.
            let count = nodes.len() as u64;
            for (index, node) in nodes.iter_mut().enumerate() {
                node.0 = ((index as u64 + random[0]) % count) as u32;
            }
            nodes.rotate_left((random[1] % count) as usize);
            let span = end_of_all.max(1);
            let machine = Machine {
                page,
                cache_line,
                dma_limit: (random[2] % span) * page,
                low_limit: (random[3] % span) * page + random[4] % page,
                dma32_end_pfn: random[5] % span,
            };
            let reservations = (0..random[6] % 3)
                .map(|index| {
                    let pfn =
                        first + (random[7].rotate_left(index as u32 * 13) % (span - first).max(1));
                    (pfn * page + random[4] % 3 * (page / 2), page * (1 + index))
                })
                .collect();
            World {
                machine,
                nodes,
                reservations,
            }
        })
}

/// Raw numbers a call is built from once the world and live blocks are known.
type Seed = (u8, u64, u64, u64, u64);

fn seeds() -> impl Strategy<Value = Vec<Seed>> {
    proptest::collection::vec(
        (
            any::<u8>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
        ),
        1..60,
    )
}

/// An address near something interesting: a node boundary, a page inside
/// a node, with a small or page-edge offset.
fn address(world: &World, random: u64) -> u64 {
    let page = world.machine.page;
    let (low, high) = (world.span_start(), world.span_end());
    let pfn = match random % 4 {
        0 => {
            let node = world.nodes[(random >> 8) as usize % world.nodes.len()];
            [node.1, node.2, node.2 - 1][(random >> 16) as usize % 3]
        }
        _ => low + (random >> 8) % (high - low).max(1),
    };
    let offset = [0, 0, 0, 1, page / 2, page - 1][(random >> 32) as usize % 6];
    pfn * page + offset
}

fn size(world: &World, random: u64) -> u64 {
    let page = world.machine.page;
    match random % 8 {
        0 | 1 => 1 + (random >> 8) % 256,
        2 | 3 => 1 + (random >> 8) % page,
        4 | 5 => page * (1 + (random >> 8) % 4),
        6 => page * (1 + (random >> 8) % 16) + (random >> 40) % page,
        _ => page * (1 + (random >> 8) % (world.span_end() - world.span_start()).max(1)),
    }
}

fn alignment(world: &World, random: u64) -> u64 {
    match random % 100 {
        0 => 0,
        1 => 3,
        _ => 1 << ((random >> 8) % (world.machine.page.trailing_zeros() as u64 + 3)),
    }
}

fn build_call(world: &World, model: &Model, live: &Live, seed: Seed) -> Call {
    let (kind, a, b, c, d) = seed;
    let nid = || {
        if a % 40 == 0 {
            9
        } else {
            world.nodes[(a >> 8) as usize % world.nodes.len()].0
        }
    };
    let node_of = |address: u64| {
        let pfn = address / world.machine.page;
        model
            .nodes
            .iter()
            .find(|node| node.start <= pfn && pfn < node.end)
            .map_or(0, |node| node.id)
    };
    match kind % 20 {
        0..=9 => {
            let size = size(world, b);
            let goal = if c % 3 == 0 { 0 } else { address(world, c) };
            let limit = match d % 4 {
                0 => 0,
                _ => goal
                    .saturating_add(size)
                    .saturating_add(address(world, d) % (world.span_end() * world.machine.page)),
            };
            let arguments = Arguments {
                nid: nid(),
                size,
                align: alignment(world, d >> 3),
                goal,
                limit,
            };
            Call::Allocate {
                function: Function::ALL[(a >> 16) as usize % Function::ALL.len()],
                arguments,
            }
        }
        10..=13 if !live.is_empty() => {
            let (address, size) = live[b as usize % live.len()];
            if c % 2 == 0 {
                Call::Free { address, size }
            } else {
                Call::FreeNode {
                    nid: node_of(address),
                    address,
                    size,
                }
            }
        }
        10..=14 => {
            let address = address(world, b);
            let size = size(world, c) % (4 * world.machine.page);
            if d % 3 == 0 {
                Call::FreeNode {
                    nid: node_of(address),
                    address,
                    size,
                }
            } else {
                Call::Free { address, size }
            }
        }
        15..=18 => {
            let address = address(world, b);
            let size = size(world, c) % (4 * world.machine.page);
            let flags = (d % 2) as u32;
            if d % 5 == 0 {
                Call::ReserveNode {
                    nid: node_of(address),
                    address,
                    size,
                    flags,
                }
            } else {
                Call::Reserve {
                    address,
                    size,
                    flags,
                }
            }
        }
        _ => {
            // A node past the others (valid) or over an existing one (a BUG).
            let start = if b % 4 != 0 {
                world.span_end() + 20 + b % 50
            } else {
                world.span_start() + b % 5
            };
            Call::Init {
                nid: 4 + (c % 5) as u32,
                mapstart: start,
                start,
                end: start + 1 + c % 70,
            }
        }
    }
}

/// Counts of what the generated calls did.
#[derive(Default, Debug)]
struct Statistics {
    cases: u64,
    calls: u64,
    outcomes: BTreeMap<&'static str, u64>,
}

impl Statistics {
    fn count(&mut self, call: &Call, outcome: Outcome) {
        self.calls += 1;
        if outcome == Outcome::Bug || outcome == Outcome::Allocation(Allocation::Bug) {
            let kind = match call {
                Call::Init { .. } => "BUG init",
                Call::Free { .. } | Call::FreeNode { .. } => "BUG free",
                Call::Reserve { .. } | Call::ReserveNode { .. } => "BUG reserve",
                Call::Allocate { .. } => "BUG allocate",
            };
            *self.outcomes.entry(kind).or_default() += 1;
        }
        let name = match outcome {
            Outcome::Bytes(_) => "init",
            Outcome::Done => "free ok",
            Outcome::Reserve(0) => "reserve 0",
            Outcome::Reserve(_) => "reserve -EBUSY",
            Outcome::Allocation(Allocation::Address(_)) => "allocated",
            Outcome::Allocation(Allocation::Null) => "NULL",
            Outcome::Allocation(Allocation::Panic) => "PANIC",
            Outcome::Allocation(Allocation::Bug) | Outcome::Bug => "BUG",
        };
        *self.outcomes.entry(name).or_default() += 1;
    }
}

fn run_case(
    world: &World,
    seeds: &[Seed],
    statistics: &mut Statistics,
) -> Result<(), TestCaseError> {
    let mut harness = Harness::new(world.machine);
    statistics.cases += 1;
    let mut setup = Vec::new();
    for &(nid, start, end, mapstart) in &world.nodes {
        setup.push(Call::Init {
            nid,
            mapstart,
            start,
            end,
        });
    }
    for &(_, start, end, _) in &world.nodes {
        let page = world.machine.page;
        setup.push(Call::Free {
            address: start * page,
            size: (end - start) * page,
        });
    }
    for &(address, size) in &world.reservations {
        setup.push(Call::Reserve {
            address,
            size,
            flags: 0,
        });
    }
    for call in setup {
        let outcome = harness.run(&call).map_err(TestCaseError::fail)?;
        statistics.count(&call, outcome);
    }
    for &seed in seeds {
        let call = build_call(world, &harness.model, &harness.live, seed);
        let outcome = harness.run(&call).map_err(TestCaseError::fail)?;
        statistics.count(&call, outcome);
    }
    harness.finish().map_err(TestCaseError::fail)?;
    Ok(())
}

#[test]
fn every_call_matches_the_independent_model() {
    calls::quiet_expected_panics();
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let statistics = std::cell::RefCell::new(Statistics::default());
    let result = runner.run(&(world(), seeds()), |(world, seeds)| {
        run_case(&world, &seeds, &mut statistics.borrow_mut())
    });
    let statistics = statistics.into_inner();
    let refused = statistics.outcomes.get("BUG").copied().unwrap_or(0);
    eprintln!(
        "model: {} cases (0 discarded: generators build valid machines), {} calls, {:.1} % refused as BUG; {:?}",
        statistics.cases,
        statistics.calls,
        100.0 * refused as f64 / statistics.calls.max(1) as f64,
        statistics.outcomes
    );
    result.unwrap();
    assert!(statistics.outcomes.get("allocated").copied().unwrap_or(0) > 0);
}
