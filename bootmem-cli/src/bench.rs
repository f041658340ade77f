//! `bootmem bench`: the word-at-a-time search against Linux's bit-by-bit scan, side by side.
//!
//! Both allocators are built identically and driven through the same
//! boot-like workload on a large, fragmented node; every address they return
//! is compared, so the speed-up is measured on identical placements. Each
//! workload runs `--rounds` times, alternating the two searches, and the
//! best time of each is reported.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bootmem::memory::NoZeroing;
use bootmem::{
    AllocationRequest, BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress,
    ReserveMode,
};

/// Arguments of `bootmem bench`.
#[derive(clap::Args)]
pub struct BenchArguments {
    /// Size of the simulated node, in GiB.
    #[arg(long, default_value_t = 16)]
    pub gibibytes: u64,
    /// Times each workload runs per search; the best time counts.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
}

type Allocator = BootAllocator<Vec<u64>, NoZeroing, 1>;

const PAGE: u64 = 4096;

/// A node of `gibibytes` GiB: below 1 GiB one page in every 64 reserved
/// (the small fragments early reservations leave), every 4 MiB below 4 GiB
/// a 512 KiB reservation, the rest free.
fn machine(gibibytes: u64, bit_by_bit: bool) -> Allocator {
    let pages = gibibytes << 18;
    let mut allocator = Allocator::new(Configuration::X86_64, NoZeroing);
    allocator.use_bit_by_bit_search(bit_by_bit);
    allocator
        .register_node(
            NodeId::new(0),
            PageFrameNumber::new(0)..PageFrameNumber::new(pages),
            vec![0; bootmem::node_storage_words(pages) as usize],
            None,
        )
        .expect("one node registers");
    allocator
        .free(PhysicalAddress::ZERO, pages * PAGE)
        .expect("the node's RAM frees");
    let low_end = (pages * PAGE).min(4 << 30);
    let mut chunk = 0;
    while chunk < low_end {
        allocator
            .reserve(
                PhysicalAddress::new(chunk + 0x10_0000),
                0x8_0000,
                ReserveMode::Shared,
            )
            .expect("inside the node");
        chunk += 4 << 20;
    }
    let mut page = 32;
    while page < (1 << 18).min(pages) {
        allocator
            .reserve(PhysicalAddress::new(page * PAGE), PAGE, ReserveMode::Shared)
            .expect("inside the node");
        page += 64;
    }
    allocator
}

/// One workload: a name and the requests it makes.
struct Workload {
    name: &'static str,
    requests: Vec<AllocationRequest>,
}

fn workloads() -> Vec<Workload> {
    let goal = PhysicalAddress::new(0x100_0000);
    let small = (0..4000u64)
        .map(|index| {
            AllocationRequest::new(64 + (index * 37) % 2048)
                .aligned(64)
                .goal(goal)
        })
        .collect();
    let pages = (0..1000u64)
        .map(|index| {
            AllocationRequest::new(PAGE * (1 + index % 8))
                .aligned(PAGE)
                .goal(goal)
        })
        .collect();
    let huge = (0..200u64)
        .map(|_| AllocationRequest::new(3 << 20).aligned(2 << 20).goal(goal))
        .collect();
    // Goal 0 behind a hint: each search runs from the hint, fails above it,
    // and falls back to a full rescan from the node's start.
    let low = (0..300u64)
        .map(|_| {
            AllocationRequest::new(0x18_0000)
                .aligned(PAGE)
                .limit(PhysicalAddress::new(0xffff_ffff))
        })
        .collect();
    // 64 pages never fit in the fragmented first GiB: each request scans it
    // all, from the hint and again from the start, and fails.
    let fragmented = (0..50u64)
        .map(|_| {
            AllocationRequest::new(64 * PAGE)
                .aligned(PAGE)
                .limit(PhysicalAddress::new(1 << 30))
        })
        .collect();
    vec![
        Workload {
            name: "50 misfits in a fragmented GiB (full scans)",
            requests: fragmented,
        },
        Workload {
            name: "4000 small blocks (cache-line aligned)",
            requests: small,
        },
        Workload {
            name: "1000 page-aligned blocks of 1-8 pages",
            requests: pages,
        },
        Workload {
            name: "200 blocks of 3 MiB, 2 MiB aligned",
            requests: huge,
        },
        Workload {
            name: "300 low blocks of 1.5 MiB below 4 GiB",
            requests: low,
        },
    ]
}

/// Runs a workload on a fresh machine; returns the time and the addresses.
fn measure(
    gibibytes: u64,
    bit_by_bit: bool,
    workload: &Workload,
) -> (Duration, Vec<Option<PhysicalAddress>>) {
    let mut allocator = machine(gibibytes, bit_by_bit);
    let start = Instant::now();
    let addresses = workload
        .requests
        .iter()
        .map(|request| allocator.allocate(request).ok())
        .collect();
    (start.elapsed(), addresses)
}

fn teardown(gibibytes: u64, bit_by_bit: bool) -> (Duration, u64) {
    let allocator = machine(gibibytes, bit_by_bit);
    let start = Instant::now();
    let pages = allocator.free_all().count_pages();
    (start.elapsed(), pages)
}

/// Runs `bootmem bench`.
pub fn run(arguments: &BenchArguments) -> ExitCode {
    if arguments.gibibytes == 0 || arguments.gibibytes > 1024 || arguments.rounds == 0 {
        eprintln!("error: --gibibytes must be 1..=1024 and --rounds at least 1");
        return ExitCode::from(2);
    }
    println!(
        "node of {} GiB, fragmented below 4 GiB; best of {} rounds",
        arguments.gibibytes, arguments.rounds
    );
    println!(
        "{:<50} {:>14} {:>14} {:>8}",
        "workload", "bit by bit", "word search", "speed-up"
    );
    for workload in workloads() {
        let mut best = [Duration::MAX; 2];
        let mut results: [Vec<Option<PhysicalAddress>>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..arguments.rounds {
            for (slot, bit_by_bit) in [(0, true), (1, false)] {
                let (time, addresses) = measure(arguments.gibibytes, bit_by_bit, &workload);
                best[slot] = best[slot].min(time);
                results[slot] = addresses;
            }
        }
        if results[0] != results[1] {
            eprintln!(
                "error: {}: the two searches placed blocks differently",
                workload.name
            );
            return ExitCode::from(1);
        }
        report(workload.name, best);
    }
    let mut best = [Duration::MAX; 2];
    for _ in 0..arguments.rounds {
        let (time, pages) = teardown(arguments.gibibytes, false);
        best[1] = best[1].min(time);
        let (time, reference_pages) = teardown(arguments.gibibytes, true);
        best[0] = best[0].min(time);
        if pages != reference_pages {
            eprintln!("error: teardown released different page counts");
            return ExitCode::from(1);
        }
    }
    println!(
        "{:<50} {:>14} (hand-off scans words in both modes)",
        "free_all_bootmem (hand-off)",
        format!("{:.3?}", best[1])
    );
    ExitCode::SUCCESS
}

fn report(name: &str, best: [Duration; 2]) {
    let ratio = best[0].as_secs_f64() / best[1].as_secs_f64().max(1e-9);
    println!(
        "{:<50} {:>14} {:>14} {:>7.1}x",
        name,
        format!("{:.3?}", best[0]),
        format!("{:.3?}", best[1]),
        ratio
    );
}
