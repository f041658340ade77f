//! Criterion benches of issue 9's workloads at development size, summary search against the bit-by-bit reference.
//!
//! `bootmem bench` measures the full-size workloads once, side by side with
//! the peers; these run smaller versions (64 GiB machines, fewer requests)
//! under criterion's statistics for day-to-day work on the search:
//! W2 (fragmented machine, large aligned requests with random goals),
//! W3 (small cache-line aligned allocations), W4a/W4b (hand-off, free and
//! 10 % reserved), W5 (registering and freeing). W1 replays boot logs and
//! lives in `bootmem bench` only (it needs the command's log parser).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use bootmem::memory::NoZeroing;
use bootmem::{
    AllocationRequest, BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress,
    ReserveMode,
};

type Allocator = BootAllocator<Vec<u64>, NoZeroing, 4>;

const PAGE: u64 = 4096;
/// 64 GiB in 4 nodes.
const NODE_PAGES: u64 = 1 << 22;

/// Deterministic random numbers for the workloads.
struct Sequence(SmallRng);

impl Sequence {
    fn seeded(seed: u64) -> Self {
        Self(SmallRng::seed_from_u64(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.random()
    }

    /// Log-uniform in `1..=max`.
    fn log_uniform(&mut self, max: u64) -> u64 {
        let unit: f64 = self.0.random();
        ((unit * (max as f64).ln()).exp() as u64).clamp(1, max)
    }
}

fn machine(bit_by_bit: bool, reserved: &[(u64, u64)]) -> Allocator {
    let mut allocator = Allocator::new(Configuration::X86_64, NoZeroing);
    allocator.use_bit_by_bit_search(bit_by_bit);
    for node in 0..4u64 {
        let start = node * NODE_PAGES;
        allocator
            .register_node(
                NodeId::new(node as u32),
                PageFrameNumber::new(start)..PageFrameNumber::new(start + NODE_PAGES),
                vec![0; bootmem::node_storage_words(NODE_PAGES) as usize],
                None,
            )
            .unwrap();
    }
    allocator
        .free(PhysicalAddress::ZERO, 4 * NODE_PAGES * PAGE)
        .unwrap();
    for &(start, end) in reserved {
        allocator
            .reserve(
                PhysicalAddress::new(start * PAGE),
                (end - start) * PAGE,
                ReserveMode::Shared,
            )
            .unwrap();
    }
    allocator
}

/// Alternating free and reserved runs, log-uniform lengths.
fn reserved_runs(sequence: &mut Sequence, free_max: u64, reserved_max: u64) -> Vec<(u64, u64)> {
    let mut runs = Vec::new();
    let mut frame = 0;
    while frame < 4 * NODE_PAGES {
        let start = (frame + sequence.log_uniform(free_max)).min(4 * NODE_PAGES);
        let end = (start + sequence.log_uniform(reserved_max)).min(4 * NODE_PAGES);
        if start < end {
            runs.push((start, end));
        }
        frame = end;
    }
    runs
}

fn w2(criterion: &mut Criterion) {
    let mut sequence = Sequence::seeded(2);
    let runs = reserved_runs(&mut sequence, 330_000, 131_072);
    let requests: Vec<AllocationRequest> = (0..200)
        .map(|_| {
            let pages = sequence.log_uniform(1 << 14) * 16;
            AllocationRequest::new(pages * PAGE)
                .aligned(PAGE << (sequence.next() % 19))
                .goal(PhysicalAddress::new(
                    sequence.next() % (4 * NODE_PAGES) * PAGE,
                ))
        })
        .collect();
    let mut group =
        criterion.benchmark_group("W2 200 large aligned requests, 64 GiB, 30 % reserved");
    group.sample_size(10);
    for (name, bit_by_bit) in [("summary", false), ("reference", true)] {
        group.bench_function(name, |bencher| {
            bencher.iter_batched_ref(
                || machine(bit_by_bit, &runs),
                |allocator| {
                    for request in &requests {
                        let _ = allocator.allocate(request);
                    }
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

fn w3(criterion: &mut Criterion) {
    let mut sequence = Sequence::seeded(3);
    let sizes: Vec<u64> = (0..100_000).map(|_| 8 + sequence.next() % 505).collect();
    let goal = PhysicalAddress::new(16 << 20);
    let mut group = criterion.benchmark_group("W3 100 000 small allocations");
    group.sample_size(10);
    for (name, bit_by_bit) in [("summary", false), ("reference", true)] {
        group.bench_function(name, |bencher| {
            bencher.iter_batched_ref(
                || machine(bit_by_bit, &[(0, 4096)]),
                |allocator| {
                    for &size in &sizes {
                        let request = AllocationRequest::new(size).aligned(64).goal(goal);
                        let _ = allocator.allocate(&request);
                    }
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

fn w4(criterion: &mut Criterion) {
    let runs = reserved_runs(&mut Sequence::seeded(4), 48_000, 4096);
    let mut group = criterion.benchmark_group("W4 hand-off of 64 GiB");
    group.sample_size(10);
    for (name, reserved) in [("W4a free", Vec::new()), ("W4b 10 % reserved", runs)] {
        group.bench_function(name, |bencher| {
            bencher.iter_batched(
                || machine(false, &reserved),
                |allocator| allocator.free_all().count_pages(),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

fn w5(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("W5 register 64 GiB and free it");
    group.sample_size(10);
    group.bench_function("summary", |bencher| {
        bencher.iter_batched(
            || {
                (0..4)
                    .map(|_| vec![u64::MAX; bootmem::node_storage_words(NODE_PAGES) as usize])
                    .collect::<Vec<_>>()
            },
            |storages| {
                let mut allocator = Allocator::new(Configuration::X86_64, NoZeroing);
                for (node, storage) in storages.into_iter().enumerate() {
                    let start = node as u64 * NODE_PAGES;
                    allocator
                        .register_node(
                            NodeId::new(node as u32),
                            PageFrameNumber::new(start)..PageFrameNumber::new(start + NODE_PAGES),
                            storage,
                            None,
                        )
                        .unwrap();
                }
                allocator
                    .free(PhysicalAddress::ZERO, 4 * NODE_PAGES * PAGE)
                    .unwrap();
                allocator
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(workloads, w2, w3, w4, w5);
criterion_main!(workloads);
