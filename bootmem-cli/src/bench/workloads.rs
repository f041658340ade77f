//! The six workloads of issue 9 (W1, W2, W3, W4a, W4b, W5), each timed for every implementation.

use std::hint::black_box;
use std::time::Duration;

use cpu_time::ThreadTime;

use bootmem::memory::NoZeroing;
use bootmem::{AllocationRequest, Configuration, PhysicalAddress, ReserveMode};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use super::logs::BootLog;
use super::machine::{log_uniform, Allocator, Runs, Shape, PAGE};
use super::peers::{BitmapPeer, BuddyPeer};
use super::report::Row;

/// How much work each workload does.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Size of the W2, W4 and W5 machines.
    pub gibibytes: u64,
    /// Best of this many runs per measurement.
    pub rounds: u32,
    /// W2 requests the reference search runs (scaled to all of them).
    pub reference_requests: usize,
    /// W2 requests `bitmap-allocator` runs (scaled to all of them).
    pub bitmap_allocator_requests: usize,
    /// W1 replays of all the logs per measurement.
    pub log_repeats: u32,
}

/// W2's request count.
pub const W2_REQUESTS: usize = 10_000;
/// W3's request count.
pub const W3_REQUESTS: usize = 1_000_000;

/// A workload went wrong: the two searches disagreed, or a log is bad.
pub type Failure = String;

/// The best time of `rounds` runs of `run`, with the last run's result.
fn best_of<T>(rounds: u32, mut run: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    let (mut best, mut result) = run();
    for _ in 1..rounds {
        let (time, again) = run();
        best = best.min(time);
        result = again;
    }
    (best, result)
}

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// Tries of a limit (and of the hand-offs measured against it): cheap next
/// to the workloads, and noisy on a shared machine, so never fewer than five.
const LIMIT_ROUNDS: u32 = 5;

/// Each of `runs` once a round, in turn, for `rounds` rounds; the best
/// time of each. A ratio's two sides are then measured side by side in
/// time: on a machine whose speed drifts during the bench (a shared host,
/// a changing clock), a slow stretch slows every side alike instead of
/// landing on one of them. Results come out through what the runs capture.
fn best_of_interleaved<const N: usize>(
    rounds: u32,
    mut runs: [&mut dyn FnMut() -> Duration; N],
) -> [Duration; N] {
    let mut best = [Duration::MAX; N];
    for _ in 0..rounds.max(1) {
        for (run, best) in runs.iter_mut().zip(&mut best) {
            *best = (*best).min(run());
        }
    }
    best
}

/// A copy of a leaf bitmap, for the limits: reading it once, writing it once.
struct Limits {
    bitmap: Vec<u64>,
}

impl Limits {
    /// A bitmap in `bitmap`'s memory, every word written.
    fn new(mut bitmap: Vec<u64>) -> Self {
        for (index, word) in bitmap.iter_mut().enumerate() {
            *word = (index as u64).wrapping_mul(0x9e37_79b9);
        }
        Self { bitmap }
    }

    /// One read of every word.
    fn read_once(&self) -> Duration {
        let started = ThreadTime::now();
        let folded = black_box(&self.bitmap)
            .iter()
            .fold(0u64, |sum, word| sum ^ word);
        black_box(folded);
        started.elapsed()
    }

    /// One write of every word.
    fn write_once(&mut self) -> Duration {
        let started = ThreadTime::now();
        black_box(&mut self.bitmap).fill(u64::MAX);
        black_box(&self.bitmap);
        started.elapsed()
    }
}

/// `run`, reading a copy of a leaf bitmap of `words` words once and
/// writing it once, in turn, at least [`LIMIT_ROUNDS`] times: the best
/// time of each (run, read, write).
fn beside_limits(words: u64, rounds: u32, run: &mut dyn FnMut() -> Duration) -> [Duration; 3] {
    let bitmap = super::memory::words(words as usize, 0);
    let limits = std::cell::RefCell::new(Limits::new(bitmap));
    best_of_interleaved(
        rounds.max(LIMIT_ROUNDS),
        [run, &mut || limits.borrow().read_once(), &mut || {
            limits.borrow_mut().write_once()
        }],
    )
}

/// Reads a copy of a leaf bitmap of `words` words once, and writes it
/// once, in turn, at least [`LIMIT_ROUNDS`] times; the best of each.
pub fn limits(words: u64, rounds: u32) -> (f64, f64) {
    let [_, read, write] = beside_limits(words, rounds, &mut || Duration::ZERO);
    (seconds(read), seconds(write))
}

/// Dependent reads [`random_read`] times in one try.
const CHASED_READS: usize = 100_000;

/// The time of one read at a random place in a leaf bitmap of `words`
/// words, in seconds: what a search pays for each cold leaf word it must
/// look at. Each read's address comes from the one before (a chase
/// through every cache line of the bitmap in one random cycle), so
/// neither the processor nor its prefetchers can start a read early.
pub fn random_read(words: u64, rounds: u32) -> f64 {
    const LINE_WORDS: usize = 8;
    let lines = (words as usize / LINE_WORDS).max(2);
    let mut bitmap = super::memory::words(lines * LINE_WORDS, 0);
    for (line, next) in one_cycle(lines).into_iter().enumerate() {
        bitmap[line * LINE_WORDS] = (next * LINE_WORDS) as u64;
    }
    let (time, _) = best_of(rounds.max(LIMIT_ROUNDS), || {
        let mut at = black_box(0usize);
        let started = ThreadTime::now();
        for _ in 0..CHASED_READS {
            at = bitmap[at] as usize;
        }
        (started.elapsed(), black_box(at))
    });
    seconds(time) / CHASED_READS as f64
}

/// A random cyclic order of `count` items (`count >= 2`): item `i` is
/// followed by item `next[i]`, and following from any item visits every
/// item before coming back (Sattolo's shuffle).
fn one_cycle(count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    let mut random = SmallRng::seed_from_u64(7);
    for index in (1..count).rev() {
        order.swap(index, random.random_range(0..index));
    }
    let mut next = vec![0; count];
    for (index, &item) in order.iter().enumerate() {
        next[item] = order[(index + 1) % count];
    }
    next
}

/// W1: every allocation request of the boot logs, in order, on each log's machine.
pub fn w1(logs: &[BootLog], scale: Scale) -> Result<Row, Failure> {
    // Each repeat replays identical states, so the fastest of each call
    // over the repeats is its time without preemption noise.
    let run = |bit_by_bit: bool| -> Result<(Duration, Vec<Option<u64>>), Failure> {
        let mut fastest: Vec<Duration> = Vec::new();
        let mut results = Vec::new();
        for _ in 0..scale.log_repeats.max(1) * scale.rounds {
            let (mut times, mut placed) = (Vec::new(), Vec::new());
            for log in logs {
                let mut machine = log.machine(bit_by_bit)?;
                let (call_times, call_results) = log.replay(&mut machine);
                times.extend(call_times);
                placed.extend(call_results);
            }
            if fastest.is_empty() {
                fastest = times;
            } else {
                for (best, time) in fastest.iter_mut().zip(times) {
                    *best = (*best).min(time);
                }
            }
            results = placed;
        }
        Ok((fastest.iter().sum(), results))
    };
    let fast = run(false)?;
    let reference = run(true)?;
    if fast.1 != reference.1 {
        return Err("W1: the two searches placed blocks differently".into());
    }
    let words = logs.iter().map(BootLog::leaf_words).sum();
    let (read, write) = limits(words, scale.rounds);
    let requests: usize = logs.iter().map(BootLog::requests).sum();
    Ok(Row {
        id: "W1",
        fast_s: seconds(fast.0),
        reference_s: Some(seconds(reference.0)),
        bitmap_allocator_s: None,
        buddy_s: None,
        limit_read_s: Some(read),
        limit_memset_s: Some(write),
        note: format!(
            "{requests} requests of {} logs; each call's fastest of {} replays",
            logs.len(),
            scale.log_repeats.max(1) * scale.rounds
        ),
    })
}

/// One W2 request, with what the peers are asked for the same block.
#[derive(Clone, Copy, Debug)]
struct W2Request {
    request: AllocationRequest,
    pages: u64,
    align_pages: u64,
}

fn w2_requests(random: &mut SmallRng, shape: Shape) -> Vec<W2Request> {
    (0..W2_REQUESTS)
        .map(|_| {
            let pages = log_uniform(random, (1 << 30) / PAGE / 16) * 16;
            let align_pages = 1u64 << random.random_range(0..=18u32);
            let goal = random.random_range(0..shape.pages()) * PAGE;
            W2Request {
                request: AllocationRequest::new(pages * PAGE)
                    .aligned(align_pages * PAGE)
                    .goal(PhysicalAddress::new(goal)),
                pages,
                align_pages,
            }
        })
        .collect()
}

fn allocate_all(allocator: &mut Allocator, requests: &[W2Request]) -> (Duration, Vec<Option<u64>>) {
    let started = ThreadTime::now();
    let placed = requests
        .iter()
        .map(|request| {
            allocator
                .allocate(&request.request)
                .ok()
                .map(|a| a.as_u64())
        })
        .collect();
    (started.elapsed(), placed)
}

/// Times the reference search on `scale.reference_requests` requests
/// spread evenly over the sequence: the whole sequence runs on one machine
/// in fast mode, switching to the bit-by-bit search for the sampled
/// requests only. Every placement must equal the all-fast run's
/// `placed`, which also proves both searches saw the same bitmaps.
fn reference_sample(
    allocator: &mut Allocator,
    requests: &[W2Request],
    placed: &[Option<u64>],
    scale: Scale,
) -> Result<(Duration, usize), Failure> {
    let every = (requests.len() / scale.reference_requests.max(1)).max(1);
    let mut total = Duration::ZERO;
    let mut sampled = 0;
    for (index, request) in requests.iter().enumerate() {
        let sample = index % every == every / 2;
        allocator.use_bit_by_bit_search(sample);
        let started = ThreadTime::now();
        let address = allocator
            .allocate(&request.request)
            .ok()
            .map(|a| a.as_u64());
        if sample {
            total += started.elapsed();
            sampled += 1;
        }
        if address != placed[index] {
            return Err(format!(
                "W2: request {index}: the two searches placed it differently"
            ));
        }
    }
    Ok((total, sampled))
}

/// W2's rule that a request no node can satisfy is refused in far less
/// than a scan of the machine, where W2's own long runs do not test it:
/// the same machine cut into free runs as `cut` says (random runs of at
/// most a length, reserved runs of at most 20 pages between them; or runs
/// all of one length, a page apart), asked from its lowest address for
/// one page more than its longest free run, so that every run is too
/// short. Each round first reserves and frees one free page in each
/// node, which forgets the refusals the round before learnt. Returns the
/// best refusal time and the longest free run.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// Random free runs of at most this many pages.
    AtMost(u64),
    /// Every free run this many pages, the hostile case: no run is told
    /// apart from the others by its length.
    Exactly(u64),
}

fn short_run_refusal(shape: Shape, rounds: u32, cut: Cut) -> Result<(Duration, u64), Failure> {
    let runs = match cut {
        Cut::AtMost(free_runs_below) => {
            let mut random = SmallRng::seed_from_u64(3);
            Runs::random(&mut random, shape.pages(), free_runs_below, 20)
        }
        Cut::Exactly(free) => Runs::uniform(shape.pages(), free),
    };
    let Some(longest) = runs.free.iter().map(|(start, end)| end - start).max() else {
        return Err("W2: the short-run machine has no free run".into());
    };
    // One free page in each node: freeing it forgets that node's refusals.
    let pages: Vec<PhysicalAddress> = shape
        .node_frames()
        .filter_map(|(_, start, end)| {
            let &(free, _) = runs.free.iter().find(|&&(free, _)| free >= start)?;
            (free < end).then(|| PhysicalAddress::new(free * PAGE))
        })
        .collect();
    let mut allocator = shape.build(false);
    runs.apply(&mut allocator);
    let request = AllocationRequest::new((longest + 1) * PAGE);
    let mut refused = true;
    let (time, _) = best_of(rounds.max(LIMIT_ROUNDS), || {
        for &page in &pages {
            let forgotten = allocator
                .reserve(page, PAGE, ReserveMode::Exclusive)
                .and_then(|()| allocator.free(page, PAGE));
            refused &= forgotten.is_ok();
        }
        let started = ThreadTime::now();
        let placed = allocator.allocate(&request);
        let time = started.elapsed();
        refused &= placed.is_err();
        (time, ())
    });
    if !refused {
        return Err(format!(
            "W2: a request of {} pages was placed on a machine of shorter runs",
            longest + 1
        ));
    }
    Ok((time, longest))
}

/// W2: a fragmented TiB in 4 nodes, 30 % reserved in random runs; 10 000
/// allocations of 64 KiB to 1 GiB aligned 4 KiB to 1 GiB with random goals.
pub fn w2(scale: Scale) -> Result<Row, Failure> {
    let shape = Shape::new(scale.gibibytes, 4);
    let mut random = SmallRng::seed_from_u64(2);
    // Log-uniform runs: reserved up to 512 MiB, free up to 1.26 GiB, which
    // leaves about 30 % reserved.
    let runs = Runs::random(&mut random, shape.pages(), 330_000, 131_072);
    let requests = w2_requests(&mut random, shape);
    let machine = |bit_by_bit| {
        let mut allocator = shape.build(bit_by_bit);
        runs.apply(&mut allocator);
        allocator
    };
    let mut placed = Vec::new();
    // Fast and buddy in turn: the target ratio's two sides side by side.
    let [fast, buddy] = best_of_interleaved(
        scale.rounds,
        [
            &mut || {
                let (time, result) = allocate_all(&mut machine(false), &requests);
                placed = result;
                time
            },
            &mut || {
                let mut peer = BuddyPeer::new();
                for &(start, end) in &runs.free {
                    peer.insert(start, end);
                }
                let started = ThreadTime::now();
                for request in &requests {
                    black_box(peer.allocate(request.pages, request.align_pages));
                }
                started.elapsed()
            },
        ],
    );
    let (reference, sampled) = reference_sample(&mut machine(false), &requests, &placed, scale)?;
    let reference_scaled = seconds(reference) * requests.len() as f64 / sampled as f64;
    let mut bitmap_allocator = None;
    let bitmap_subset = &requests[..scale.bitmap_allocator_requests.min(requests.len())];
    if shape.pages() <= BitmapPeer::CAPACITY {
        let (time, _) = best_of(scale.rounds, || {
            let mut peer = BitmapPeer::new();
            for &(start, end) in &runs.free {
                peer.insert(start, end);
            }
            let started = ThreadTime::now();
            for request in bitmap_subset {
                black_box(peer.allocate(request.pages, request.align_pages.trailing_zeros()));
            }
            (started.elapsed(), ())
        });
        bitmap_allocator = Some(seconds(time) * requests.len() as f64 / bitmap_subset.len() as f64);
    }
    let (read, write) = limits(shape.leaf_words(), scale.rounds);
    let cold_read = random_read(shape.leaf_words(), scale.rounds);
    // Free runs of at most 59 pages (the request needs no whole free
    // word), of at most 2 999 (it needs as many as the runs hold), and of
    // exactly 40 000, a page apart (every run a candidate by its words).
    let cuts = [Cut::AtMost(60), Cut::AtMost(3000), Cut::Exactly(40_000)];
    let refused = cuts
        .into_iter()
        .map(|cut| {
            let (time, longest) = short_run_refusal(shape, scale.rounds, cut)?;
            let runs = match cut {
                Cut::AtMost(_) => format!("{longest} pages at most"),
                Cut::Exactly(_) => format!("all {longest} pages"),
            };
            Ok(format!(
                "{runs}, a request of {}: {:.1} µs, {:.0} times less",
                longest + 1,
                seconds(time) * 1e6,
                read / seconds(time)
            ))
        })
        .collect::<Result<Vec<_>, Failure>>()?
        .join("; ");
    let satisfied = placed.iter().filter(|address| address.is_some()).count();
    let per_request = |total: Duration| seconds(total) * 1e9 / requests.len() as f64;
    Ok(Row {
        id: "W2",
        fast_s: seconds(fast),
        reference_s: Some(reference_scaled),
        bitmap_allocator_s: bitmap_allocator,
        buddy_s: Some(seconds(buddy)),
        limit_read_s: Some(read),
        limit_memset_s: Some(write),
        note: format!(
            "{:.1} % reserved; {satisfied} of {} placed; reference: {} requests evenly sampled, \
             bitmap-allocator: the first {}; each scaled per request to all\n    \
             per request: fast {:.0} ns, buddy {:.0} ns; one read at a random place in \
             the leaf bitmap ({} MiB): {:.0} ns\n    \
             refused where every free run is too short (than reading the leaf bitmap \
             once): {refused}",
            100.0 * runs.reserved_fraction(shape.pages()),
            requests.len(),
            sampled,
            bitmap_subset.len(),
            per_request(fast),
            per_request(buddy),
            (shape.leaf_words() * 8) >> 20,
            cold_read * 1e9,
        ),
    })
}

/// W3: 1 000 000 allocations of 8 to 512 bytes, cache-line aligned, on a
/// 16 GiB node whose first 16 MiB are reserved (`alloc_bootmem`'s goal).
pub fn w3(scale: Scale) -> Result<Row, Failure> {
    let shape = Shape::new(16, 1);
    let mut random = SmallRng::seed_from_u64(3);
    let sizes: Vec<u64> = (0..W3_REQUESTS)
        .map(|_| random.random_range(8..=512u64))
        .collect();
    let goal = PhysicalAddress::new(16 << 20);
    let machine = |bit_by_bit| {
        let mut allocator = shape.build(bit_by_bit);
        allocator
            .reserve(
                PhysicalAddress::ZERO,
                16 << 20,
                bootmem::ReserveMode::Shared,
            )
            .expect("inside the node");
        allocator
    };
    let run = |bit_by_bit| {
        let mut allocator = machine(bit_by_bit);
        let started = ThreadTime::now();
        let mut last = 0;
        let mut checksum = 0u64;
        for &size in &sizes {
            let request = AllocationRequest::new(size).aligned(64).goal(goal);
            last = allocator
                .allocate(&request)
                .map_or(0, |address| address.as_u64());
            checksum = checksum.wrapping_mul(31).wrapping_add(last);
        }
        black_box(last);
        (started.elapsed(), checksum)
    };
    let units = shape.pages() * PAGE / 64;
    let (mut fast_sum, mut reference_sum) = (0, 0);
    // The three in turn: both target ratios' sides side by side.
    let [fast, reference, buddy] = best_of_interleaved(
        scale.rounds,
        [
            &mut || {
                let (time, sum) = run(false);
                fast_sum = sum;
                time
            },
            &mut || {
                let (time, sum) = run(true);
                reference_sum = sum;
                time
            },
            &mut || {
                let mut peer = BuddyPeer::new();
                peer.insert(0, units);
                let started = ThreadTime::now();
                for &size in &sizes {
                    black_box(peer.allocate(size.div_ceil(64), 1));
                }
                started.elapsed()
            },
        ],
    );
    if fast_sum != reference_sum {
        return Err("W3: the two searches placed blocks differently".into());
    }
    let (read, write) = limits(shape.leaf_words(), scale.rounds);
    Ok(Row {
        id: "W3",
        fast_s: seconds(fast),
        reference_s: Some(seconds(reference)),
        bitmap_allocator_s: None,
        buddy_s: Some(seconds(buddy)),
        limit_read_s: Some(read),
        limit_memset_s: Some(write),
        note: "16 GiB node; buddy in 64-byte units".into(),
    })
}

/// W4a and W4b: the hand-off of a TiB in 4 nodes, with `runs` reserved.
fn hand_off(id: &'static str, scale: Scale, runs: Option<&Runs>) -> Result<Row, Failure> {
    let shape = Shape::new(scale.gibibytes, 4);
    let free: Vec<(u64, u64)> = match runs {
        Some(runs) => runs.free.clone(),
        None => vec![(0, shape.pages())],
    };
    let mut storages: Vec<Vec<u64>> = (0..shape.nodes).map(|_| shape.storage()).collect();
    let mut pages = 0;
    // A few milliseconds, compared with the limits: as many tries as they
    // get, in turn with them.
    let [fast, read, write] = beside_limits(shape.leaf_words(), scale.rounds, &mut || {
        // Borrowed storage: the hand-off's time does not include freeing it.
        let mut allocator = shape.build_on(storages.iter_mut().map(Vec::as_mut_slice), false);
        if let Some(runs) = runs {
            runs.apply(&mut allocator);
        }
        let hand_off = allocator.free_all();
        let started = ThreadTime::now();
        // Every block reaches a consumer the optimiser cannot see through,
        // as each reaches the page allocator in a kernel.
        pages = hand_off.release_with(|block| {
            black_box(block);
        });
        started.elapsed()
    });
    let expected: u64 = free.iter().map(|(start, end)| end - start).sum();
    if pages != expected {
        return Err(format!(
            "{id}: the hand-off released {pages} pages, not {expected}"
        ));
    }
    let mut bitmap_allocator = None;
    if shape.pages() <= BitmapPeer::CAPACITY {
        let (time, _) = best_of(scale.rounds, || {
            let mut peer = BitmapPeer::new();
            let started = ThreadTime::now();
            for &(start, end) in &free {
                peer.insert(start, end);
            }
            (started.elapsed(), black_box(peer))
        });
        bitmap_allocator = Some(seconds(time));
    }
    let (buddy, _) = best_of(scale.rounds, || {
        let mut peer = BuddyPeer::new();
        let started = ThreadTime::now();
        for &(start, end) in &free {
            peer.insert(start, end);
        }
        (started.elapsed(), black_box(peer))
    });
    let reserved = runs.map_or(0.0, |runs| runs.reserved_fraction(shape.pages()));
    Ok(Row {
        id,
        fast_s: seconds(fast),
        reference_s: None,
        bitmap_allocator_s: bitmap_allocator,
        buddy_s: Some(seconds(buddy)),
        limit_read_s: Some(seconds(read)),
        limit_memset_s: Some(seconds(write)),
        note: format!(
            "{:.1} % reserved; peers: taking the same free runs in",
            100.0 * reserved
        ),
    })
}

/// W4a: the hand-off of an entirely free TiB.
pub fn w4a(scale: Scale) -> Result<Row, Failure> {
    hand_off("W4a", scale, None)
}

/// W4b: the hand-off of a TiB with 10 % of its pages reserved in random runs.
pub fn w4b(scale: Scale) -> Result<Row, Failure> {
    let shape = Shape::new(scale.gibibytes, 4);
    let mut random = SmallRng::seed_from_u64(4);
    // Reserved runs up to 16 MiB, free runs up to 188 MiB: about 10 % reserved.
    let runs = Runs::random(&mut random, shape.pages(), 48_000, 4096);
    hand_off("W4b", scale, Some(&runs))
}

/// W5: registering a TiB in 4 nodes and freeing all their RAM.
pub fn w5(scale: Scale) -> Result<Row, Failure> {
    let shape = Shape::new(scale.gibibytes, 4);
    let mut free = 0;
    // In turn with the limits, as many tries as they get.
    let [fast, read, write] = beside_limits(shape.leaf_words(), scale.rounds, &mut || {
        let storages: Vec<Vec<u64>> = (0..shape.nodes).map(|_| shape.storage()).collect();
        let mut allocator = Allocator::new(Configuration::X86_64, NoZeroing);
        let started = ThreadTime::now();
        shape.register(&mut allocator, storages);
        allocator
            .free(PhysicalAddress::ZERO, shape.pages() * PAGE)
            .expect("the machine's RAM frees");
        let elapsed = started.elapsed();
        free = allocator.free_pages();
        elapsed
    });
    if free != shape.pages() {
        return Err(format!(
            "W5: {free} pages free after set-up, not {}",
            shape.pages()
        ));
    }
    Ok(Row {
        id: "W5",
        fast_s: seconds(fast),
        reference_s: None,
        bitmap_allocator_s: None,
        buddy_s: None,
        limit_read_s: Some(seconds(read)),
        limit_memset_s: Some(seconds(write)),
        note: "register_node x4 + one free of all RAM".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_runs_take_turns_and_keep_each_best() {
        let order = std::cell::RefCell::new(Vec::new());
        let times = [[5, 3, 4], [2, 9, 1]];
        let (mut first_calls, mut second_calls) = (0, 0);
        let [first, second] = best_of_interleaved(
            3,
            [
                &mut || {
                    order.borrow_mut().push('a');
                    first_calls += 1;
                    Duration::from_millis(times[0][first_calls - 1])
                },
                &mut || {
                    order.borrow_mut().push('b');
                    second_calls += 1;
                    Duration::from_millis(times[1][second_calls - 1])
                },
            ],
        );
        assert_eq!(order.into_inner(), ['a', 'b', 'a', 'b', 'a', 'b']);
        assert_eq!([first_calls, second_calls], [3, 3]);
        assert_eq!(first, Duration::from_millis(3));
        assert_eq!(second, Duration::from_millis(1));
    }

    #[test]
    fn the_chase_visits_every_line_once_per_cycle() {
        for count in [2, 3, 10, 4096] {
            let next = one_cycle(count);
            let mut seen = vec![false; count];
            let mut at = 0;
            for _ in 0..count {
                assert!(!seen[at], "{count} items: item {at} came back early");
                seen[at] = true;
                at = next[at];
            }
            assert_eq!(at, 0, "{count} items: the cycle closes");
        }
    }

    #[test]
    fn a_random_read_takes_a_measurable_time() {
        let read = random_read(1 << 12, 1);
        assert!(read.is_finite() && read > 0.0, "{read}");
    }
}
