//! `bootmem bench --script`: a script's calls timed on the word search, and on the bit-by-bit reference for a sample.
//!
//! Issue 9's targets are checked on any workload written as a `.bms`
//! script. Each script runs on the word-at-a-time search, its calls timed
//! in groups by phase: allocations, set-up (configuration, registering,
//! freeing and reserving), the hand-off and queries. The allocations are
//! also timed on the bit-by-bit transcription of v4.19 (Linux's
//! `test_bit` loop and bit-per-page marking), which on a large machine can
//! take seconds a call: so the reference runs only a sample, ten stretches
//! of consecutive allocation calls spread evenly over the script, sized to
//! a time budget from a first measurement of ten single calls; every
//! allocation when the budget allows. The rest of the reference run uses
//! the word search, which leaves the same bitmap, and every call's result
//! must equal the word search's run, or the bench fails naming the line.
//! The set-up is set against writing the script's leaf bitmaps once, the
//! hand-off against reading them once. The nodes' storage is made, and
//! every page of it touched, before the timed runs, in the same memory as
//! the limits ([`super::memory`]), and taken back at the teardown
//! ([`StoragePool`]): the phases time the library, not the host mapping
//! and unmapping a fresh vector.
//!
//! Times are wall-clock (`Instant`) per group of calls, so that a script
//! whose phases alternate call by call is not swamped by the cost of
//! reading a thread's CPU clock; the best of the rounds counts, the two
//! searches running in turn, round by round.

use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::script::interpreter::Interpreter;
use crate::script::outcome::Outcome;
use crate::script::parser::{parse_script, Call, Command};

use std::rc::Rc;

use crate::script::storage::StoragePool;

use super::memory;
use super::report;
use super::workloads::limits;

/// What a call does, for the grouping of its time (in the order of the
/// phases' totals).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Configuration, registering nodes, freeing and reserving.
    SetUp,
    /// Any `alloc_bootmem` call.
    Allocation,
    /// `free_all_bootmem` and `free_bootmem_late`.
    HandOff,
    /// `is_reserved`, `reserved_ranges`, `free_pages`, `bootmem_bootmap_pages`.
    Query,
}

/// Every phase, each at the index its discriminant gives.
const PHASES: [Phase; 4] = [
    Phase::SetUp,
    Phase::Allocation,
    Phase::HandOff,
    Phase::Query,
];

fn phase(command: Command) -> Phase {
    use Command as C;
    match command {
        C::page_size
        | C::smp_cache_bytes
        | C::max_dma_address
        | C::arch_low_address_limit
        | C::max_dma32_pfn
        | C::init_bootmem_node
        | C::init_bootmem
        | C::free_bootmem
        | C::free_bootmem_node
        | C::reserve_bootmem
        | C::reserve_bootmem_node => Phase::SetUp,
        C::free_all_bootmem | C::free_bootmem_late => Phase::HandOff,
        C::is_reserved | C::reserved_ranges | C::free_pages | C::bootmem_bootmap_pages => {
            Phase::Query
        }
        _ => Phase::Allocation,
    }
}

/// Consecutive calls timed together: one phase, and for allocations,
/// all inside or all outside the reference's sample.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    calls: Range<usize>,
    phase: Phase,
    sampled: bool,
}

/// Cuts `calls` into groups: a new group wherever the phase changes or an
/// allocation enters or leaves the sample (`sampled` is asked with each
/// allocation's number among the script's allocations).
fn groups(calls: &[Call], sampled: impl Fn(usize) -> bool) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut allocations = 0;
    for (index, call) in calls.iter().enumerate() {
        let phase = phase(call.command);
        let in_sample = phase == Phase::Allocation && {
            allocations += 1;
            sampled(allocations - 1)
        };
        match groups.last_mut() {
            Some(last) if last.phase == phase && last.sampled == in_sample => {
                last.calls.end = index + 1;
            }
            _ => groups.push(Group {
                calls: index..index + 1,
                phase,
                sampled: in_sample,
            }),
        }
    }
    groups
}

/// The reference's sample: `stretches` runs of `length` consecutive
/// allocations, centred on evenly spread points of the `count`
/// allocations; every allocation when they would cover them all.
#[derive(Clone, Copy, Debug)]
struct Sample {
    count: usize,
    stretches: usize,
    length: usize,
}

impl Sample {
    /// Whether allocation number `index` is in the sample.
    fn contains(&self, index: usize) -> bool {
        if self.covers_all() {
            return true;
        }
        (0..self.stretches).any(|stretch| self.stretch(stretch).contains(&index))
    }

    fn covers_all(&self) -> bool {
        self.stretches * self.length >= self.count
    }

    fn stretch(&self, stretch: usize) -> Range<usize> {
        let centre = (2 * stretch + 1) * self.count / (2 * self.stretches);
        let start = centre
            .saturating_sub(self.length / 2)
            .min(self.count - self.length);
        start..start + self.length
    }

    /// Allocations in the sample.
    fn size(&self) -> usize {
        if self.covers_all() {
            self.count
        } else {
            self.stretches * self.length
        }
    }
}

/// Stretches in every sample.
const STRETCHES: usize = 10;

/// Why a script was not measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// It cannot be read, or does not parse: `FILE:LINE: message`.
    Input(String),
    /// The two searches returned different results: a bug.
    Disagreement(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Input(message) | Self::Disagreement(message) => formatter.write_str(message),
        }
    }
}

/// A digest of outcomes, folded call by call: cheap enough to keep inside
/// the timed loop, where storing a million outcomes would time the
/// memory that holds them.
fn fold(digest: u64, outcome: &Outcome) -> u64 {
    let (kind, value) = match outcome {
        Outcome::Address(value) => (1, *value),
        Outcome::Number(value) => (2, *value),
        Outcome::Reservation(value) => (3, *value as u64),
        Outcome::Done => (4, 0),
        Outcome::Null => (5, 0),
        Outcome::Panic(size) => (6, *size),
        Outcome::Bug(text) => (7, text_digest(text)),
        Outcome::Text(text) => (8, text_digest(text)),
    };
    (digest.rotate_left(23) ^ value ^ kind << 59).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn text_digest(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    })
}

/// One run of a script: per group, its time and the digest of its outcomes.
struct Run {
    times: Vec<Duration>,
    digests: Vec<u64>,
}

/// Words of node storage the bench makes and touches ahead of the timed
/// runs (4 GiB); past them, nodes get fresh vectors as `bootmem script`
/// gives them ([`StoragePool`]).
const POOL_BUDGET_WORDS: usize = 1 << 29;

/// A pool for the storage of the nodes a script registers, made (and
/// touched) in the memory the limits use, filled by an untimed run on the
/// word search; with that run's outcomes.
fn storage_pool(calls: &[Call]) -> (Rc<StoragePool>, Vec<Outcome>) {
    let pool = StoragePool::new(|count| memory::words(count, 0), POOL_BUDGET_WORDS);
    let every_call = [Group {
        calls: 0..calls.len(),
        phase: Phase::SetUp,
        sampled: false,
    }];
    let outcomes = outcomes(calls, &every_call, &pool, |_| false);
    (pool, outcomes)
}

/// Empty intervals [`clock_cost`] times, the least of which counts.
const CLOCK_SAMPLES: usize = 10_000;

/// What reading the clock around a group adds to the group's time: the
/// least of [`CLOCK_SAMPLES`] intervals timed around no call at all (the
/// clock's own latency, about 30 ns on a virtual machine; the least, so
/// that what is taken off each group is never more than the clock cost).
fn clock_cost() -> Duration {
    (0..CLOCK_SAMPLES)
        .map(|_| {
            let started = Instant::now();
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Runs every call, the groups `bit_by_bit` selects on the reference
/// search, timing each group; `clock` (see [`clock_cost`]) is taken off
/// each group's time, so that a script whose phases alternate call by
/// call is timed by its calls, not by its clock reads.
fn run(
    calls: &[Call],
    groups: &[Group],
    pool: &Rc<StoragePool>,
    clock: Duration,
    bit_by_bit: impl Fn(&Group) -> bool,
) -> Run {
    let mut interpreter = Interpreter::with_pool(Rc::clone(pool));
    let mut times = Vec::with_capacity(groups.len());
    let mut digests = Vec::with_capacity(groups.len());
    // The search is named only where an allocation group needs another
    // than the one before: the other calls do not search, and a switch
    // ends the word search's streaks and walks the registry, which no
    // boot does between two of its calls.
    let mut searching_bit_by_bit = None;
    for group in groups {
        let reference = bit_by_bit(group);
        if group.phase == Phase::Allocation && searching_bit_by_bit != Some(reference) {
            interpreter.use_bit_by_bit_search(reference);
            searching_bit_by_bit = Some(reference);
        }
        let mut digest = 0;
        let started = Instant::now();
        for call in &calls[group.calls.clone()] {
            digest = fold(digest, &interpreter.execute(call));
        }
        times.push(started.elapsed().saturating_sub(clock));
        digests.push(digest);
    }
    Run { times, digests }
}

/// Every call's outcome, the groups `bit_by_bit` selects on the reference
/// search (untimed: to name a disagreement, or to read results).
fn outcomes(
    calls: &[Call],
    groups: &[Group],
    pool: &Rc<StoragePool>,
    bit_by_bit: impl Fn(&Group) -> bool,
) -> Vec<Outcome> {
    let mut interpreter = Interpreter::with_pool(Rc::clone(pool));
    let mut outcomes = Vec::with_capacity(calls.len());
    for group in groups {
        interpreter.use_bit_by_bit_search(bit_by_bit(group));
        for call in &calls[group.calls.clone()] {
            outcomes.push(interpreter.execute(call));
        }
    }
    outcomes
}

/// Fails when the two runs' outcomes differ, naming the first call
/// whose outcome differs (found by running both again, keeping every
/// outcome).
fn check_same(
    file: &str,
    calls: &[Call],
    groups: &[Group],
    pool: &Rc<StoragePool>,
    runs: [&Run; 2],
) -> Result<(), Failure> {
    let [word, reference] = runs;
    if word.digests == reference.digests {
        return Ok(());
    }
    let word = outcomes(calls, groups, pool, |_| false);
    let reference = outcomes(calls, groups, pool, |group| group.sampled);
    let differing = word
        .iter()
        .zip(&reference)
        .position(|(word, reference)| word != reference);
    Err(Failure::Disagreement(match differing {
        Some(index) => format!(
            "{file}:{}: the bit-by-bit search returned `{}` where the word search returned `{}`",
            calls[index].line, reference[index], word[index]
        ),
        None => {
            format!("{file}: the two searches' results differed in one run but not when run again")
        }
    }))
}

/// The summed time of the groups `pick` selects.
fn total(groups: &[Group], times: &[Duration], pick: impl Fn(&Group) -> bool) -> Duration {
    groups
        .iter()
        .zip(times)
        .filter(|(group, _)| pick(group))
        .map(|(_, time)| *time)
        .sum()
}

/// How much measuring a script may do.
#[derive(Clone, Copy, Debug)]
pub struct ScriptScale {
    /// Best of this many runs of each search.
    pub rounds: u32,
    /// Seconds the reference's sample may take a round, about.
    pub reference_seconds: f64,
}

/// One phase's calls and time.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseTime {
    /// Calls in the phase.
    pub calls: usize,
    /// Their time on the word search, in seconds.
    pub fast_s: f64,
}

/// The allocations' times on both searches.
#[derive(Clone, Debug, Serialize)]
pub struct AllocationTimes {
    /// Allocation calls, and their time on the word search.
    #[serde(flatten)]
    pub all: PhaseTime,
    /// Allocation calls the reference ran.
    pub sampled_calls: usize,
    /// The sampled calls' time on the word search, in seconds.
    pub sampled_fast_s: f64,
    /// The sampled calls' time on the bit-by-bit reference, in seconds.
    pub sampled_reference_s: f64,
}

/// One script's measurement (`--json` prints a list of them).
#[derive(Clone, Debug, Serialize)]
pub struct ScriptRow {
    /// The script's path as given.
    pub file: String,
    /// Calls in the script.
    pub calls: usize,
    /// Leaf bitmap bytes of the nodes it registered.
    pub leaf_bitmap_bytes: u64,
    /// Allocation calls.
    pub allocations: AllocationTimes,
    /// Configuration, registering, freeing and reserving.
    pub set_up: PhaseTime,
    /// `free_all_bootmem` and `free_bootmem_late`.
    pub hand_off: PhaseTime,
    /// Queries.
    pub queries: PhaseTime,
    /// Reading the leaf bitmaps once, in seconds (`None`: no node).
    pub limit_read_s: Option<f64>,
    /// Writing them once, in seconds (`None`: no node).
    pub limit_memset_s: Option<f64>,
    /// What reading the clock adds to a group of calls, in seconds,
    /// taken off each group's time ([`clock_cost`]).
    pub clock_s: f64,
    /// Groups of calls timed on the word search (each paid one clock).
    pub groups: usize,
}

/// Words of leaf bitmap the limits read and write at most (512 MiB).
const LIMIT_WORDS: u64 = 1 << 26;

/// The limits for `words` words of leaf bitmap: measured on them, or,
/// past [`LIMIT_WORDS`], on that many and scaled in proportion (reading
/// and writing memory take time in proportion to it), so that a script of
/// huge nodes does not make the bench take their whole size again.
fn scaled_limits(words: u64, rounds: u32) -> (f64, f64) {
    let measured = words.min(LIMIT_WORDS);
    let (read, write) = limits(measured, rounds);
    let scale = words as f64 / measured as f64;
    (read * scale, write * scale)
}

/// Leaf bitmap bytes of every node a successful registration made.
fn leaf_bitmap_bytes(calls: &[Call], outcomes: &[Outcome]) -> u64 {
    calls
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| matches!(outcome, Outcome::Number(_)))
        .map(|(call, _)| {
            let arguments = call.arguments();
            match call.command {
                Command::init_bootmem_node => arguments[3].saturating_sub(arguments[2]),
                Command::init_bootmem => arguments[1],
                _ => 0,
            }
        })
        .map(bootmem::bitmap_bytes)
        .sum()
}

/// The sample the budget allows, from the time of ten single allocations
/// spread over the script on the reference; none for a budget of zero.
fn choose_sample(
    calls: &[Call],
    pool: &Rc<StoragePool>,
    clock: Duration,
    count: usize,
    scale: ScriptScale,
) -> Sample {
    if scale.reference_seconds <= 0.0 {
        return Sample {
            count,
            stretches: 0,
            length: 0,
        };
    }
    let probe = Sample {
        count,
        stretches: STRETCHES,
        length: 1,
    };
    if probe.covers_all() {
        return probe;
    }
    let probe_groups = groups(calls, |index| probe.contains(index));
    let timed = run(calls, &probe_groups, pool, clock, |group| group.sampled);
    let per_call = total(&probe_groups, &timed.times, |group| group.sampled).as_secs_f64()
        / probe.size() as f64;
    let affordable = (scale.reference_seconds / per_call.max(1e-9)) as usize;
    Sample {
        count,
        stretches: STRETCHES,
        length: (affordable / STRETCHES).clamp(1, count.div_ceil(STRETCHES)),
    }
}

/// Measures one parsed script.
fn measure(file: &str, calls: &[Call], scale: ScriptScale) -> Result<ScriptRow, Failure> {
    let count = calls
        .iter()
        .filter(|call| phase(call.command) == Phase::Allocation)
        .count();
    let (pool, word_outcomes) = storage_pool(calls);
    let clock = clock_cost();
    let sample = choose_sample(calls, &pool, clock, count, scale);
    let groups = groups(calls, |index| sample.contains(index));
    // Each total is the best of the rounds' totals, as a whole (not a
    // sum of each group's best), on both searches alike.
    let mut best_phases = [Duration::MAX; 4];
    let mut best_sampled = Duration::MAX;
    let mut best_reference = Duration::MAX;
    for _ in 0..scale.rounds.max(1) {
        let word = run(calls, &groups, &pool, clock, |_| false);
        let reference = run(calls, &groups, &pool, clock, |group| group.sampled);
        check_same(file, calls, &groups, &pool, [&word, &reference])?;
        for (best, phase) in best_phases.iter_mut().zip(PHASES) {
            *best = (*best).min(total(&groups, &word.times, |group| group.phase == phase));
        }
        best_sampled = best_sampled.min(total(&groups, &word.times, |group| group.sampled));
        best_reference =
            best_reference.min(total(&groups, &reference.times, |group| group.sampled));
    }
    let phase_time = |phase: Phase| PhaseTime {
        calls: groups
            .iter()
            .filter(|group| group.phase == phase)
            .map(|group| group.calls.len())
            .sum(),
        fast_s: best_phases[phase as usize].as_secs_f64(),
    };
    let leaf_bytes = leaf_bitmap_bytes(calls, &word_outcomes);
    let limits = (leaf_bytes > 0).then(|| scaled_limits(leaf_bytes.div_ceil(8), scale.rounds));
    Ok(ScriptRow {
        file: file.to_owned(),
        calls: calls.len(),
        leaf_bitmap_bytes: leaf_bytes,
        allocations: AllocationTimes {
            all: phase_time(Phase::Allocation),
            sampled_calls: sample.size(),
            sampled_fast_s: best_sampled.as_secs_f64(),
            sampled_reference_s: if sample.size() == 0 {
                0.0
            } else {
                best_reference.as_secs_f64()
            },
        },
        set_up: phase_time(Phase::SetUp),
        hand_off: phase_time(Phase::HandOff),
        queries: phase_time(Phase::Query),
        limit_read_s: limits.map(|(read, _)| read),
        limit_memset_s: limits.map(|(_, write)| write),
        clock_s: clock.as_secs_f64(),
        groups: groups.len(),
    })
}

/// Reads, parses and measures the script at `path`.
pub fn measure_file(path: &Path, scale: ScriptScale) -> Result<ScriptRow, Failure> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::Input(format!("{name}: cannot read: {error}")))?;
    let calls = parse_script(&text).map_err(|error| Failure::Input(format!("{name}:{error}")))?;
    measure(&name, &calls, scale)
}

fn time(seconds: f64) -> String {
    report::time(Some(seconds))
}

fn ratio(numerator: f64, denominator: f64) -> String {
    report::ratio(Some(numerator), Some(denominator))
}

/// Prints one script's measurement.
pub fn print(row: &ScriptRow) {
    println!(
        "{}: {} calls; leaf bitmaps {} bytes",
        row.file, row.calls, row.leaf_bitmap_bytes
    );
    let allocations = &row.allocations;
    let per_call = |phase: &PhaseTime| {
        if phase.calls == 0 {
            String::new()
        } else {
            format!(
                " ({:.0} ns a call)",
                phase.fast_s * 1e9 / phase.calls as f64
            )
        }
    };
    println!(
        "  allocations {:>9} calls  fast {}{}",
        allocations.all.calls,
        time(allocations.all.fast_s),
        per_call(&allocations.all)
    );
    if allocations.sampled_calls > 0 {
        println!(
            "    reference on {} of them: {} against fast {}: reference / fast = {}",
            allocations.sampled_calls,
            time(allocations.sampled_reference_s),
            time(allocations.sampled_fast_s),
            ratio(allocations.sampled_reference_s, allocations.sampled_fast_s)
        );
    }
    let beside = |limit: Option<f64>, what: &str, fast: f64| match limit {
        Some(limit) => format!(
            "; {what} the leaf bitmaps once: {}, fast / that = {}",
            time(limit),
            ratio(fast, limit)
        ),
        None => String::new(),
    };
    println!(
        "  set-up      {:>9} calls  fast {}{}",
        row.set_up.calls,
        time(row.set_up.fast_s),
        beside(row.limit_memset_s, "writing", row.set_up.fast_s)
    );
    println!(
        "  hand-off    {:>9} calls  fast {}{}",
        row.hand_off.calls,
        time(row.hand_off.fast_s),
        beside(row.limit_read_s, "reading", row.hand_off.fast_s)
    );
    println!(
        "  queries     {:>9} calls  fast {}",
        row.queries.calls,
        time(row.queries.fast_s)
    );
    println!(
        "  timed in {} groups of calls; the clock's own {:.1} ns taken off each",
        row.groups,
        row.clock_s * 1e9
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(text: &str) -> Vec<Call> {
        parse_script(text).expect("the test script parses")
    }

    const SCRIPT: &str = "init_bootmem_node 0 0x100 0 0x8000\n\
                          free_bootmem 0 0x8000000\n\
                          alloc_bootmem 64\n\
                          alloc_bootmem_pages 8192\n\
                          free_pages\n\
                          alloc_bootmem 64\n\
                          reserve_bootmem 0x4000000 0x1000 0\n\
                          alloc_bootmem_low 100\n\
                          free_all_bootmem\n";

    #[test]
    fn groups_split_where_the_phase_or_the_sample_changes() {
        let calls = calls(SCRIPT);
        let cut = groups(&calls, |index| index == 1);
        let shape: Vec<(Range<usize>, Phase, bool)> = cut
            .into_iter()
            .map(|group| (group.calls, group.phase, group.sampled))
            .collect();
        assert_eq!(
            shape,
            [
                (0..2, Phase::SetUp, false),
                (2..3, Phase::Allocation, false),
                (3..4, Phase::Allocation, true),
                (4..5, Phase::Query, false),
                (5..6, Phase::Allocation, false),
                (6..7, Phase::SetUp, false),
                (7..8, Phase::Allocation, false),
                (8..9, Phase::HandOff, false),
            ]
        );
    }

    #[test]
    fn a_budget_of_zero_runs_no_reference() {
        let calls = calls(SCRIPT);
        let scale = ScriptScale {
            rounds: 1,
            reference_seconds: 0.0,
        };
        let row = measure("test.bms", &calls, scale).expect("nothing to disagree on");
        assert_eq!(row.allocations.all.calls, 4);
        assert_eq!(row.allocations.sampled_calls, 0);
        assert_eq!(row.allocations.sampled_reference_s, 0.0);
    }

    #[test]
    fn each_phase_sits_at_its_own_index() {
        for (index, phase) in PHASES.into_iter().enumerate() {
            assert_eq!(phase as usize, index);
        }
    }

    #[test]
    fn every_command_has_the_phase_its_name_says() {
        for &command in Command::ALL {
            let name = command.name();
            let expected = if name.contains("alloc_bootmem") {
                Phase::Allocation
            } else if name == "free_all_bootmem" || name == "free_bootmem_late" {
                Phase::HandOff
            } else if [
                "is_reserved",
                "reserved_ranges",
                "free_pages",
                "bootmem_bootmap_pages",
            ]
            .contains(&name)
            {
                Phase::Query
            } else {
                Phase::SetUp
            };
            assert_eq!(phase(command), expected, "{name}");
        }
    }

    #[test]
    fn samples_are_spread_stretches_inside_the_allocations() {
        for count in [1, 9, 10, 11, 99, 1000, 12_345] {
            for length in [1, 3, 50, 2000] {
                let sample = Sample {
                    count,
                    stretches: STRETCHES,
                    length,
                };
                let members: Vec<usize> = (0..count).filter(|&i| sample.contains(i)).collect();
                assert_eq!(members.len(), sample.size(), "{count} {length}");
                if sample.covers_all() {
                    assert_eq!(members.len(), count);
                    continue;
                }
                // Ten stretches (disjoint, or the count above would differ),
                // each around its tenth's centre.
                for stretch in 0..STRETCHES {
                    let range = sample.stretch(stretch);
                    assert!(range.end <= count);
                    let centre = (2 * stretch + 1) * count / (2 * STRETCHES);
                    assert!(range.contains(&centre) || range.start == count - length);
                }
            }
        }
    }

    #[test]
    fn both_searches_run_every_call_and_agree() {
        let calls = calls(SCRIPT);
        let scale = ScriptScale {
            rounds: 2,
            reference_seconds: 1.0,
        };
        let row = measure("test.bms", &calls, scale).expect("the searches agree");
        assert_eq!(row.calls, 9);
        assert_eq!(row.allocations.all.calls, 4);
        assert_eq!(row.allocations.sampled_calls, 4);
        assert_eq!(row.set_up.calls, 3);
        assert_eq!(row.hand_off.calls, 1);
        assert_eq!(row.queries.calls, 1);
        assert_eq!(row.leaf_bitmap_bytes, bootmem::bitmap_bytes(0x8000));
        assert!(row.limit_read_s.is_some() && row.limit_memset_s.is_some());
        assert!(row.allocations.sampled_reference_s > 0.0);
    }

    #[test]
    fn digests_tell_every_outcome_apart() {
        let outcomes = [
            Outcome::Address(0x1000),
            Outcome::Number(0x1000),
            Outcome::Panic(0x1000),
            Outcome::Reservation(0),
            Outcome::Done,
            Outcome::Null,
            Outcome::bug("a"),
            Outcome::bug("b"),
            Outcome::Text("a".to_owned()),
        ];
        let mut seen = std::collections::HashSet::new();
        for outcome in &outcomes {
            assert!(seen.insert(fold(0, outcome)), "{outcome:?}");
        }
        // Order counts: two calls swapped are two different runs.
        assert_ne!(
            fold(fold(0, &outcomes[0]), &outcomes[4]),
            fold(fold(0, &outcomes[4]), &outcomes[0])
        );
    }

    #[test]
    fn a_disagreement_names_the_line() {
        let calls = calls(SCRIPT);
        // The reference's run is made to differ by a line that does not
        // belong to the script: its digest no longer matches, and the
        // runs again find no difference call by call.
        let groups = groups(&calls, |_| true);
        let (pool, _) = storage_pool(&calls);
        let word = run(&calls, &groups, &pool, Duration::ZERO, |_| false);
        let mut other = run(&calls, &groups, &pool, Duration::ZERO, |_| false);
        assert!(check_same("x.bms", &calls, &groups, &pool, [&word, &other]).is_ok());
        other.digests[1] ^= 1;
        let failure = check_same("x.bms", &calls, &groups, &pool, [&word, &other])
            .expect_err("the digests differ");
        assert!(matches!(failure, Failure::Disagreement(_)));
        assert!(failure.to_string().starts_with("x.bms: "), "{failure}");
    }

    #[test]
    fn a_script_that_does_not_parse_is_refused_with_its_line() {
        let directory = std::env::temp_dir().join(format!("bench-script-{}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("a temporary directory");
        let path = directory.join("bad.bms");
        std::fs::write(&path, "free_pages\nalloc_bootmem\n").expect("the script is written");
        let scale = ScriptScale {
            rounds: 1,
            reference_seconds: 0.1,
        };
        let failure = measure_file(&path, scale).expect_err("it does not parse");
        assert!(matches!(failure, Failure::Input(_)));
        assert!(failure.to_string().contains("bad.bms:2"), "{failure}");
        std::fs::remove_dir_all(&directory).ok();
    }
}
