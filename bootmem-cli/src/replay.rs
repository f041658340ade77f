//! `bootmem replay`: a real `memblock=debug` boot log, replayed call by call through bootmem.
//!
//! How the log becomes bootmem calls:
//!
//! 1. The nodes come from the log's memory map and NUMA lines, read by the
//!    `bootmem map` dmesg reader; a log with no such map uses its
//!    `memblock_add` / `memblock_add_node` lines (node 0 when none is
//!    printed). Each node is set up as the kernels do: its bitmap in the
//!    highest pages of its own RAM clear of the log's standalone
//!    reservations, every RAM range freed, the bitmap reserved.
//! 2. Every request line (`memblock_alloc*`, `memblock_virt_alloc*`,
//!    `memblock_phys_alloc*`) becomes one `_nopanic` call with the same
//!    size, alignment (0, the old kernels' default, is `SMP_CACHE_BYTES`,
//!    64), goal (`from=`) and limit (`max_addr=`; 0 = ACCESSIBLE,
//!    1 = NOLEAKTRACE and `~0` = ANYWHERE mean no limit):
//!    `___alloc_bootmem_node_nopanic(nid, ...)` for a node the map knows,
//!    `___alloc_bootmem_nopanic(...)` for `nid=-1` or any other node
//!    (memblock treats an invalid node as NUMA_NO_NODE).
//!    `memblock_alloc_exact_nid_raw` becomes the node call too: bootmem has
//!    no "this node only" request, so it may fall back to another node.
//! 3. The first `memblock_reserve` line after a request whose size equals
//!    the request's echoes it: it records where memblock put the block and
//!    is not a reservation of its own. A request that another request,
//!    free or add line (or the end of the log) follows before any such
//!    echo was not satisfied by the machine. Every other reservation is
//!    applied, in log order, with `reserve_bootmem`, clipped to the nodes.
//! 4. A free (`memblock_free`, `memblock_phys_free`) inside a block the log
//!    allocated frees the same part of bootmem's placement of that block
//!    (nothing when bootmem could not place it); any other free frees the
//!    range as printed. bootmem frees only whole pages; a free it refuses
//!    (a double free, a range outside the nodes) is counted, not fatal,
//!    since memblock ignores such frees silently.
//! 5. Zero-length ranges (`[A-(A-1)]`) are counted and skipped.
//!
//! The report: requests, satisfied, failed; node-local placements (requests
//! naming a node that bootmem served from that node); bytes requested
//! against pages used (the free pages each successful call took, so
//! sub-page blocks that share a page count once); time per call; and the
//! placements that differ from memblock's: both placed the block at
//! different addresses, or only one of them placed it.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bootmem::linux::{Bootmem, BOOTMEM_DEFAULT};
use bootmem::memory::NoZeroing;
use bootmem::memory_map::RangeKind;
use bootmem::{Configuration, NodeId};

use crate::parse::{dmesg, CommandMemoryMap, FirmwareMap, Origin, ParseError};

pub mod trace;

use trace::{Request, TraceLine};

/// The most nodes a replay sets up.
const MAX_NODES: usize = 64;

/// The allocator a replay drives: bitmaps in vectors, no memory behind it.
type ReplayBootmem = Bootmem<Vec<u64>, NoZeroing, MAX_NODES>;

/// memblock's `SMP_CACHE_BYTES`: what `align=0x0` means.
const SMP_CACHE_BYTES: u64 = 64;

/// Arguments of `bootmem replay`.
#[derive(clap::Args)]
pub struct ReplayArguments {
    /// A Linux boot log taken with `memblock=debug`.
    pub file: PathBuf,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
}

/// One event of the log, in order, with its line.
#[derive(Clone, Debug)]
enum Event {
    /// A request, with memblock's placement when the log echoes it.
    Request {
        request: Request,
        logged: Option<u64>,
    },
    /// A standalone reservation.
    Reserve { start: u64, size: u64 },
    /// A free.
    Free { start: u64, size: u64 },
}

/// The figures of a replay.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Request lines in the log.
    pub requests: u64,
    /// Requests bootmem satisfied.
    pub satisfied: u64,
    /// Requests bootmem could not satisfy.
    pub failed: u64,
    /// Requests naming a node that bootmem served from that node.
    pub node_local: u64,
    /// Bytes asked for by all requests.
    pub bytes_requested: u64,
    /// Free pages the successful requests took.
    pub pages_used: u64,
    /// Requests placed differently from memblock (see the module docs).
    pub differ_from_log: u64,
    /// Requests the log shows satisfied.
    #[serde(skip)]
    pub log_satisfied: u64,
    /// Requests naming a node.
    #[serde(skip)]
    pub node_requests: u64,
    /// Standalone reservations applied.
    #[serde(skip)]
    pub reservations: u64,
    /// Frees applied.
    #[serde(skip)]
    pub frees: u64,
    /// Frees bootmem refused or had nothing to free for.
    #[serde(skip)]
    pub frees_skipped: u64,
    /// Zero-length ranges skipped.
    #[serde(skip)]
    pub zero_length: u64,
    /// Time spent in the allocation calls.
    #[serde(skip)]
    pub allocation_time: Duration,
    /// The slowest allocation call.
    #[serde(skip)]
    pub slowest_call: Duration,
}

/// A bad log: where, and what.
fn located(error: ParseError, file: &str) -> String {
    error.in_named_file(file).to_string()
}

/// Reads the events of `text` in order.
fn read_events(text: &str, file: &str) -> Result<(Vec<Event>, FirmwareMap), String> {
    let mut events = Vec::new();
    let mut pending: Option<usize> = None;
    let mut added = FirmwareMap {
        source: "memblock_add lines",
        ..FirmwareMap::default()
    };
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let parsed = trace::parse_message(dmesg::message(line))
            .map_err(|problem| located(ParseError::at_line(number, problem), file))?;
        let Some(parsed) = parsed else { continue };
        match parsed {
            TraceLine::Request(request) => {
                pending = Some(events.len());
                events.push(Event::Request {
                    request,
                    logged: None,
                });
            }
            TraceLine::Reserve { start, size } => {
                if let Some(position) = pending {
                    if let Event::Request { request, logged } = &mut events[position] {
                        if request.size == size {
                            *logged = Some(start);
                            pending = None;
                            continue;
                        }
                    }
                }
                events.push(Event::Reserve { start, size });
            }
            TraceLine::Free { start, size } => {
                pending = None;
                events.push(Event::Free { start, size });
            }
            TraceLine::Add { start, size, node } => {
                pending = None;
                let end = start.saturating_add(size);
                added.push_range(start, end, RangeKind::Ram, Origin::Line(number));
                added.ram_bytes += u128::from(size);
                if let Some(node) = node {
                    added.push_affinity(start, end, node, Origin::Line(number));
                }
            }
        }
    }
    Ok((events, added))
}

/// The log's memory map: its firmware tables, else its `memblock_add` lines.
fn read_map(text: &str, added: &FirmwareMap, file: &str) -> Result<Box<CommandMemoryMap>, String> {
    let firmware = match dmesg::parse(text) {
        Ok(map) => map,
        Err(error) if error.origin == Origin::File && !added.ranges.is_empty() => added.clone(),
        Err(error) => return Err(located(error, file)),
    };
    let page_size = Configuration::X86_64.page_size;
    firmware
        .normalise(page_size)
        .map_err(|error| located(error, file))
}

/// The highest page-aligned `bytes` of `node`'s RAM clear of `avoid`.
fn place_bitmap(
    map: &CommandMemoryMap,
    node: NodeId,
    bytes: u64,
    avoid: &[(u64, u64)],
) -> Option<u64> {
    let page = map.page_size().bytes();
    let mut ranges: Vec<(u64, u64)> = map
        .ram_ranges_of(node)
        .map(|range| (range.start.as_u64(), range.end.as_u64()))
        .collect();
    ranges.reverse();
    for (low, mut high) in ranges {
        while high >= low.saturating_add(bytes) {
            let start = (high - bytes) & !(page - 1);
            if start < low {
                break;
            }
            let blocker = avoid
                .iter()
                .filter(|&&(first, end)| first < start + bytes && start < end)
                .map(|&(first, _)| first)
                .min();
            match blocker {
                None => return Some(start),
                Some(first) => high = first & !(page - 1),
            }
        }
    }
    None
}

/// Registers the nodes, frees their RAM and reserves their bitmaps.
fn set_up(map: &CommandMemoryMap, events: &[Event]) -> Result<ReplayBootmem, String> {
    let configuration = Configuration::X86_64;
    let shift = configuration.page_size.shift();
    let mut bootmem = ReplayBootmem::new(configuration, NoZeroing);
    let avoid: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|event| match *event {
            Event::Reserve { start, size } => Some((start, start.saturating_add(size))),
            _ => None,
        })
        .collect();
    let mut bitmaps = Vec::new();
    for span in map.nodes().iter().filter(|span| span.ram_bytes > 0) {
        let (start, end) = (span.start.as_u64(), span.end.as_u64());
        let pages = end - start;
        let bytes = bootmem.bootmem_bootmap_pages(pages) << shift;
        let node = span.node.as_u32();
        let address = place_bitmap(map, span.node, bytes, &avoid)
            .ok_or_else(|| format!("node {node}: no room for a bitmap of {bytes} bytes"))?;
        let storage = vec![0; bootmem::node_storage_words(pages) as usize];
        bootmem
            .init_bootmem_node(node, address >> shift, start, end, storage)
            .map_err(|error| format!("init_bootmem_node({node}): {error}"))?;
        bitmaps.push((address, bytes));
    }
    for range in map.ram_ranges() {
        let (start, size) = (range.start.as_u64(), range.size());
        bootmem
            .free_bootmem(start, size)
            .map_err(|error| format!("free_bootmem({start:#x}, {size:#x}): {error}"))?;
    }
    for (start, size) in bitmaps {
        bootmem
            .reserve_bootmem(start, size, BOOTMEM_DEFAULT)
            .map_err(|error| format!("reserve_bootmem(bitmap {start:#x}): {error}"))?;
    }
    Ok(bootmem)
}

/// The node spans `(node, first byte, end)` of the map's nodes with RAM.
fn node_spans(map: &CommandMemoryMap) -> Vec<(u32, u64, u64)> {
    let shift = map.page_size().shift();
    map.nodes()
        .iter()
        .filter(|span| span.ram_bytes > 0)
        .map(|span| {
            (
                span.node.as_u32(),
                span.start.as_u64() << shift,
                span.end.as_u64() << shift,
            )
        })
        .collect()
}

/// The limit a `max_addr=` means: 0 (ACCESSIBLE), 1 (NOLEAKTRACE) and
/// `~0` (ANYWHERE) are no limit.
fn limit_of(maximum: u64) -> u64 {
    if maximum <= 1 || maximum == u64::MAX {
        0
    } else {
        maximum
    }
}

/// Replays the events; returns the summary.
fn replay(map: &CommandMemoryMap, events: &[Event]) -> Result<Summary, String> {
    let mut bootmem = set_up(map, events)?;
    let spans = node_spans(map);
    let node_of = |address: u64| {
        spans
            .iter()
            .find(|&&(_, first, end)| first <= address && address < end)
            .map(|&(node, _, _)| node)
    };
    let mut summary = Summary::default();
    // (memblock's address, size, bootmem's address) of every logged block.
    let mut blocks: Vec<(u64, u64, Option<u64>)> = Vec::new();
    for event in events {
        match event {
            Event::Request { request, logged } => {
                summary.requests += 1;
                summary.bytes_requested = summary.bytes_requested.saturating_add(request.size);
                summary.log_satisfied += u64::from(logged.is_some());
                let align = if request.align == 0 {
                    SMP_CACHE_BYTES
                } else {
                    request.align
                };
                let limit = limit_of(request.maximum);
                let node = u32::try_from(request.node)
                    .ok()
                    .filter(|&node| spans.iter().any(|&(known, _, _)| known == node));
                let free_before = bootmem.allocator().free_pages();
                let started = Instant::now();
                let result = match node {
                    Some(node) => bootmem.___alloc_bootmem_node_nopanic(
                        node,
                        request.size,
                        align,
                        request.minimum,
                        limit,
                    ),
                    None => bootmem.___alloc_bootmem_nopanic(
                        request.size,
                        align,
                        request.minimum,
                        limit,
                    ),
                };
                let elapsed = started.elapsed();
                summary.allocation_time += elapsed;
                summary.slowest_call = summary.slowest_call.max(elapsed);
                // A misuse (zero size, a goal past the limit...) is a
                // failure here: the log is what it is.
                let placed = result.ok().flatten().map(|address| address.as_u64());
                if let Some(address) = placed {
                    summary.satisfied += 1;
                    summary.pages_used += free_before - bootmem.allocator().free_pages();
                    if node.is_some() && node_of(address) == node {
                        summary.node_local += 1;
                    }
                } else {
                    summary.failed += 1;
                }
                summary.node_requests += u64::from(node.is_some());
                if placed != *logged {
                    summary.differ_from_log += 1;
                }
                if let Some(address) = logged {
                    blocks.push((*address, request.size, placed));
                }
            }
            Event::Reserve { start, size } => {
                if *size == 0 {
                    summary.zero_length += 1;
                    continue;
                }
                summary.reservations += 1;
                let end = start.saturating_add(*size);
                for &(_, first, last) in &spans {
                    let (from, to) = ((*start).max(first), end.min(last));
                    if from < to {
                        bootmem
                            .reserve_bootmem(from, to - from, BOOTMEM_DEFAULT)
                            .map_err(|error| {
                                format!("reserve_bootmem({from:#x}, {:#x}): {error}", to - from)
                            })?;
                    }
                }
            }
            Event::Free { start, size } => {
                if *size == 0 {
                    summary.zero_length += 1;
                    continue;
                }
                let end = start.saturating_add(*size);
                let block = blocks.iter().rev().find(|&&(first, bytes, _)| {
                    first <= *start && end <= first.saturating_add(bytes)
                });
                let target = match block {
                    Some(&(first, _, Some(ours))) => Some(ours + (start - first)),
                    Some(&(_, _, None)) => None,
                    None => Some(*start),
                };
                match target.map(|address| bootmem.free_bootmem(address, *size)) {
                    Some(Ok(())) => summary.frees += 1,
                    _ => summary.frees_skipped += 1,
                }
            }
        }
    }
    Ok(summary)
}

/// Replays the log in `text`, named `file` in errors.
///
/// # Errors
///
/// `FILE:LINE: message` for a malformed line, `FILE: message` for a log
/// with no memory map or nodes bootmem cannot set up.
pub fn replay_log(text: &str, file: &str) -> Result<Summary, String> {
    let (events, added) = read_events(text, file)?;
    let map = read_map(text, &added, file)?;
    replay(&map, &events).map_err(|problem| format!("{file}: {problem}"))
}

fn report(out: &mut impl Write, file: &str, summary: &Summary, page_bytes: u64) -> io::Result<()> {
    let calls = u32::try_from(summary.requests.max(1)).unwrap_or(u32::MAX);
    writeln!(out, "{file}: replayed through bootmem")?;
    writeln!(
        out,
        "requests:        {} ({} satisfied, {} failed; the machine satisfied {})",
        summary.requests, summary.satisfied, summary.failed, summary.log_satisfied
    )?;
    writeln!(
        out,
        "node-local:      {} of {} requests naming a node",
        summary.node_local, summary.node_requests
    )?;
    writeln!(
        out,
        "memory:          {} bytes requested, {} pages used ({} bytes)",
        summary.bytes_requested,
        summary.pages_used,
        summary.pages_used.saturating_mul(page_bytes)
    )?;
    writeln!(
        out,
        "time per call:   {:?} mean, {:?} slowest",
        summary.allocation_time / calls,
        summary.slowest_call
    )?;
    writeln!(
        out,
        "differ from log: {} of {} placements",
        summary.differ_from_log, summary.requests
    )?;
    writeln!(
        out,
        "also:            {} reservations, {} frees ({} skipped), {} zero-length ranges",
        summary.reservations, summary.frees, summary.frees_skipped, summary.zero_length
    )
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
    let summary = match replay_log(&text, &file) {
        Ok(summary) => summary,
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = if arguments.json {
        match serde_json::to_string(&summary) {
            Ok(json) => writeln!(out, "{json}"),
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(1);
            }
        }
    } else {
        report(
            &mut out,
            &file,
            &summary,
            Configuration::X86_64.page_size.bytes(),
        )
    };
    if written.and_then(|()| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
