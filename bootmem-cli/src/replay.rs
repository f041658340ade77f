//! `bootmem replay`: a real `memblock=debug` boot log, replayed request by request through memblock's model and bootmem.
//!
//! The log's memblock lines become one ordered list of events
//! ([`events`]): requests (`memblock_virt_alloc*` in 3.x/4.x,
//! `memblock_alloc*` and `memblock_phys_alloc*` in 4.20 to 6.x) with the
//! placement the log echoes, reservations, frees, additions, removals and
//! `MEMBLOCK configuration:` dumps. Two policies place the requests:
//!
//! - `memblock` ([`memblock_policy`] over [`memblock_model`]): memblock's own
//!   rules, from the state the log shows; it says, request by request,
//!   whether it reproduces the machine and, when not, why;
//! - `bootmem` ([`bootmem_policy`]): bootmem's calls on the log's memory
//!   map, showing where bootmem would have put the same blocks.
//!
//! The report ([`report`]) puts the log's address beside each policy's, with
//! the totals of placements compared and identical per policy.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use bootmem::memory_map::RangeKind;
use bootmem::Configuration;

use crate::parse::{dmesg, CommandMemoryMap, FirmwareMap, Origin, ParseError};

pub mod bootmem_policy;
pub mod events;
pub mod memblock_model;
pub mod memblock_policy;
pub mod report;
pub mod trace;

use events::{Event, Trace};
use memblock_model::Span;
use report::Report;

/// Which placement policies a replay runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Policy {
    /// The memblock model only.
    Memblock,
    /// bootmem only.
    Bootmem,
    /// Both, side by side.
    Both,
}

impl Policy {
    /// Whether the memblock model runs.
    pub const fn memblock(self) -> bool {
        matches!(self, Self::Memblock | Self::Both)
    }

    /// Whether bootmem runs.
    pub const fn bootmem(self) -> bool {
        matches!(self, Self::Bootmem | Self::Both)
    }
}

/// Arguments of `bootmem replay`.
#[derive(clap::Args)]
pub struct ReplayArguments {
    /// A Linux boot log taken with `memblock=debug`.
    pub file: PathBuf,
    /// Which placement policy to replay the requests with.
    #[arg(long, value_enum, default_value = "bootmem")]
    pub policy: Policy,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
}

/// The log's memory map for bootmem: its firmware tables, else its
/// `memblock_add` lines, else its first `MEMBLOCK configuration:` dump.
fn read_map(text: &str, trace: &Trace, file: &str) -> Result<Box<CommandMemoryMap>, String> {
    let located = |error: ParseError| error.in_named_file(file).to_string();
    let firmware = match dmesg::parse(text) {
        Ok(map) => map,
        Err(error) if error.origin == Origin::File => match map_from_trace(trace) {
            Some(map) => map,
            None => return Err(located(error)),
        },
        Err(error) => return Err(located(error)),
    };
    let page_size = Configuration::X86_64.page_size;
    firmware.normalise(page_size).map_err(located)
}

/// A map of the memory the trace itself shows: its additions, else its
/// first dump.
fn map_from_trace(trace: &Trace) -> Option<FirmwareMap> {
    let push = |map: &mut FirmwareMap, span: Span, node: Option<u32>, line: usize| {
        let origin = Origin::Line(line);
        map.push_range(span.start(), span.end(), RangeKind::Ram, origin);
        map.ram_bytes += u128::from(span.size());
        if let Some(node) = node {
            map.push_affinity(span.start(), span.end(), node, origin);
        }
    };
    let mut map = FirmwareMap {
        source: "memblock_add lines",
        ..FirmwareMap::default()
    };
    for event in &trace.events {
        if let Event::Add {
            line, span, node, ..
        } = event
        {
            push(&mut map, *span, *node, *line);
        }
    }
    if map.ranges.is_empty() {
        let dump = trace.events.iter().find_map(|event| match event {
            Event::Dump(dump) if !dump.memory.is_empty() => Some(dump),
            _ => None,
        })?;
        map.source = "the MEMBLOCK configuration dump";
        for region in &dump.memory {
            push(&mut map, region.span, region.node, dump.line);
        }
    }
    (!map.ranges.is_empty()).then_some(map)
}

/// What the log's firmware map tells the memblock model: NUMA ranges and RAM.
fn memblock_context(text: &str) -> memblock_policy::Context {
    let Ok(map) = dmesg::parse(text) else {
        return memblock_policy::Context::default();
    };
    let span = |start: u64, end: u64| Span::new(start, end);
    memblock_policy::Context {
        affinity: map
            .affinities
            .iter()
            .filter_map(|entry| {
                let affinity = entry.affinity;
                span(affinity.start.as_u64(), affinity.end.as_u64())
                    .map(|range| (range, affinity.node.as_u32()))
            })
            .collect(),
        firmware_ram: map
            .ranges
            .iter()
            .filter(|entry| entry.range.kind == RangeKind::Ram)
            .filter_map(|entry| span(entry.range.start.as_u64(), entry.range.end.as_u64()))
            .collect(),
    }
}

/// Why a log cannot be replayed when it holds no request line.
fn no_trace(trace: &Trace) -> String {
    if trace.has_reservations() {
        "no memblock=debug allocation requests: the log has memblock_reserve lines but not one \
         memblock_alloc* / memblock_virt_alloc* / memblock_phys_alloc* request line (kernels \
         before 3.13 print no requests), so there is nothing to replay"
            .to_string()
    } else {
        "no memblock=debug trace: the log has no memblock_alloc* / memblock_virt_alloc* / \
         memblock_phys_alloc* request and no memblock_reserve line; boot with `memblock=debug` \
         on the kernel command line to record one"
            .to_string()
    }
}

/// Replays the log in `text`, named `file` in errors, with `policy`.
///
/// # Errors
///
/// `FILE:LINE: message` for a malformed line; `FILE: message` for a log
/// with no trace, or (for `--policy bootmem`) no memory map or nodes it
/// cannot set up. With `--policy both` bootmem's failure is reported beside
/// the memblock model's results instead.
pub fn replay_log(text: &str, file: &str, policy: Policy) -> Result<Report, String> {
    let trace = events::read(text).map_err(|(line, problem)| {
        ParseError::at_line(line, problem)
            .in_named_file(file)
            .to_string()
    })?;
    if trace.requests().next().is_none() {
        return Err(format!("{file}: {}", no_trace(&trace)));
    }
    let memblock = policy
        .memblock()
        .then(|| memblock_policy::run(&trace, &memblock_context(text)));
    let bootmem = policy.bootmem().then(|| {
        let map = read_map(text, &trace, file)?;
        bootmem_policy::run(&map, &trace).map_err(|problem| format!("{file}: {problem}"))
    });
    let mut report_error = None;
    let bootmem = match bootmem {
        Some(Err(problem)) if policy == Policy::Both => {
            // The memblock model's results stand on their own.
            report_error = Some(problem);
            None
        }
        Some(result) => Some(result?),
        None => None,
    };
    let mut report = Report::new(file, &trace, memblock, bootmem);
    report.bootmem_error = report_error;
    Ok(report)
}

/// Runs `bootmem replay`.
pub fn run(arguments: &ReplayArguments) -> ExitCode {
    let file = arguments.file.display().to_string();
    let text = match std::fs::read(&arguments.file) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) => {
            eprintln!("error: {file}: cannot read: {error}");
            return ExitCode::from(2);
        }
    };
    let report = match replay_log(&text, &file, arguments.policy) {
        Ok(report) => report,
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = if arguments.json {
        match serde_json::to_string(&report) {
            Ok(json) => writeln!(out, "{json}"),
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(1);
            }
        }
    } else {
        report.write_text(&mut out)
    };
    if written.and_then(|()| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An address: mostly within 4 GiB, sometimes at the very top.
    fn address() -> impl Strategy<Value = u64> {
        prop_oneof![
            8 => 0..(1_u64 << 32),
            1 => Just(u64::MAX),
            1 => (u64::MAX - 0xffff)..=u64::MAX,
        ]
    }

    /// One line of a hostile log: valid, malformed, or unrelated.
    fn line() -> impl Strategy<Value = String> {
        let functions = prop_oneof![
            Just("memblock_alloc_try_nid"),
            Just("memblock_alloc_exact_nid_raw"),
            Just("memblock_virt_alloc_try_nid_nopanic"),
            Just("memblock_phys_alloc_range"),
        ];
        let range_kinds = prop_oneof![
            Just("memblock_reserve"),
            Just("__memblock_reserve"),
            Just("memblock_free"),
            Just("memblock_phys_free"),
            Just("memblock_add"),
            Just("memblock_remove"),
            Just(" memory[0x0]\t"),
            Just(" reserved[0x1]\t"),
        ];
        prop_oneof![
            (functions, 0..(1_u64 << 31), 0..64_u32, -1..3_i64, address(), address()).prop_map(
                |(function, size, align_shift, node, from, max)| {
                    let align = if align_shift >= 40 { 3 } else { 1_u64 << align_shift };
                    format!(
                        "[    0.000000] {function}: {size} bytes align={align:#x} nid={node} \
                         from={from:#x} max_addr={max:#x} caller+0x1/0x2"
                    )
                }
            ),
            (range_kinds, address(), address()).prop_map(|(kind, first, last)| {
                let separator = if kind.ends_with('\t') { "" } else { ": " };
                format!("[    0.000000] {kind}{separator}[{first:#018x}-{last:#018x}], 0x0 bytes flags: 0x4 x+0x1/0x2")
            }),
            Just("[    0.000000] MEMBLOCK configuration:".to_string()),
            Just("[    0.000000] memblock: bottom-up allocation failed, memory hotunplug may be affected".to_string()),
            Just("[    0.000000] Linux version 6.6.0".to_string()),
            "[ -~]{0,60}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the log holds, a replay ends in a report or an error,
        /// never a panic.
        #[test]
        fn hostile_logs_never_panic(lines in prop::collection::vec(line(), 0..40)) {
            let text = lines.join("\n");
            for policy in [Policy::Memblock, Policy::Bootmem, Policy::Both] {
                match replay_log(&text, "hostile.log", policy) {
                    Ok(report) => prop_assert_eq!(report.rows.len() as u64, report.log.requests),
                    Err(problem) => prop_assert!(problem.starts_with("hostile.log"), "{}", problem),
                }
            }
        }
    }
}
