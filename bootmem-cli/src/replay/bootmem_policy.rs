//! The bootmem policy: a log's requests replayed through bootmem, its reservations and frees applied.
//!
//! 1. The nodes come from the log's memory map (see `super::read_map`) and
//!    are set up by the library's `bootmem::setup::set_up`, as a kernel
//!    does: each bitmap in the highest pages of its node's own RAM, clear of
//!    the ranges the log reserves before its first request (they count as
//!    in use), every RAM range freed, the rest reserved.
//! 2. Every request becomes one `_nopanic` call with the same size,
//!    alignment (0, the old kernels' default, is `SMP_CACHE_BYTES`, 64),
//!    goal (`from=`) and limit (`max_addr=`; 0 = ACCESSIBLE, 1 = NOLEAKTRACE
//!    and `~0` = ANYWHERE mean no limit): `___alloc_bootmem_node_nopanic(nid,
//!    ...)` for a node the map knows, `___alloc_bootmem_nopanic(...)` for
//!    `nid=-1` or any other node (memblock treats an invalid node as
//!    NUMA_NO_NODE). `memblock_alloc_exact_nid_raw` becomes the node call
//!    too: bootmem has no "this node only" request, so it may fall back to
//!    another node.
//! 3. Every reservation no request echoes is applied, in log order, with
//!    `reserve_bootmem`, clipped to the nodes.
//! 4. A free inside a block the log allocated frees the same part of
//!    bootmem's placement of that block (nothing when bootmem could not
//!    place it); any other free frees the range as printed. bootmem frees
//!    only whole pages; a free it refuses (a double free, a range outside
//!    the nodes) is counted, not fatal, since memblock ignores such frees.
//! 5. Zero-length ranges (`[A-(A-1)]`) are counted and skipped.

use std::time::{Duration, Instant};

use bootmem::linux::{Bootmem, BOOTMEM_DEFAULT};
use bootmem::memory::NoZeroing;
use bootmem::setup::set_up;
use bootmem::{Configuration, PhysicalAddress, PhysicalRange};

use super::events::{Event, Trace};
use super::memblock_model::Span;
use crate::parse::{CommandMemoryMap, NODE_CAPACITY, RANGE_CAPACITY};

/// The most nodes a replay sets up.
const MAX_NODES: usize = 64;

/// The most storage the replay gives one node's bitmap, in 64-bit words
/// (128 MiB of host memory: 2^30 pages, 4 TiB of 4 KiB pages), so that a
/// log claiming absurd memory gets an error instead of exhausting the host.
const MAX_NODE_STORAGE_WORDS: u64 = 1 << 24;

/// The allocator a replay drives: bitmaps in vectors, no memory behind it.
type ReplayBootmem = Bootmem<Vec<u64>, NoZeroing, MAX_NODES>;

/// memblock's `SMP_CACHE_BYTES` on x86-64: what `align=0x0` means.
const SMP_CACHE_BYTES: u64 = 64;

/// The figures of bootmem's replay.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BootmemFigures {
    /// What the set-up did, one line per node.
    pub set_up: Vec<String>,
    /// Requests naming a node that bootmem served from that node.
    pub node_local: u64,
    /// Requests naming a node the map knows.
    pub node_requests: u64,
    /// Pages the successful requests took: those each block touches, less
    /// a first page shared with the node's previous block.
    pub pages_used: u64,
    /// Bytes of those pages.
    pub bytes_used: u64,
    /// Standalone reservations applied.
    pub reservations: u64,
    /// Frees applied.
    pub frees: u64,
    /// Frees bootmem refused or had nothing to free for.
    pub frees_skipped: u64,
    /// Zero-length ranges skipped.
    pub zero_length: u64,
    /// Time spent in the allocation calls, in nanoseconds.
    pub allocation_nanoseconds: u64,
    /// Mean time per allocation call, in nanoseconds.
    pub mean_call_nanoseconds: u64,
    /// The slowest allocation call, in nanoseconds.
    pub slowest_call_nanoseconds: u64,
}

/// bootmem's run: one placement per request, and the figures.
#[derive(Clone, Debug, Default)]
pub struct BootmemRun {
    /// Where bootmem put each request, in log order.
    pub placements: Vec<Option<u64>>,
    /// The figures.
    pub figures: BootmemFigures,
}

/// Sets the nodes up with the library's [`set_up`]: the ranges the log
/// reserves before its first request count as in use (what the kernel knew
/// was taken when allocations began), so no bitmap lands on them; the
/// set-up summary comes back one line per node.
fn set_up_nodes(
    map: &CommandMemoryMap,
    events: &[Event],
) -> Result<(ReplayBootmem, Vec<String>), String> {
    let in_use: Vec<PhysicalRange> = events
        .iter()
        .take_while(|event| !matches!(event, Event::Request(_)))
        .filter_map(|event| match event {
            Event::Reserve { span, .. } if !span.is_empty() => PhysicalRange::new(
                PhysicalAddress::new(span.start()),
                PhysicalAddress::new(span.end()),
            ),
            _ => None,
        })
        .collect();
    for span in map.nodes() {
        let words = bootmem::node_storage_words(span.frames().len());
        if words > MAX_NODE_STORAGE_WORDS {
            return Err(format!(
                "node {}: {} pages are more than the replay simulates (at most {} per node)",
                span.node,
                span.frames().len(),
                MAX_NODE_STORAGE_WORDS * 64
            ));
        }
    }
    let (allocator, summary) = set_up::<_, _, MAX_NODES, RANGE_CAPACITY, NODE_CAPACITY>(
        map,
        Configuration::X86_64,
        NoZeroing,
        &in_use,
        |_node, range| vec![0_u64; usize::try_from(range.size() / 8).unwrap_or(0)],
    )
    .map_err(|error| format!("cannot set bootmem up on the log's map: {error}"))?;
    let lines = summary.nodes().iter().map(ToString::to_string).collect();
    Ok((Bootmem::from_allocator(allocator), lines))
}

/// A node with RAM and the bytes its pages span.
#[derive(Clone, Copy, Debug)]
struct NodeBytes {
    node: u32,
    range: PhysicalRange,
}

/// The map's nodes with RAM, as byte ranges.
fn node_ranges(map: &CommandMemoryMap) -> Vec<NodeBytes> {
    let page = map.page_size();
    map.nodes()
        .iter()
        .filter(|span| span.ram_bytes > 0)
        .filter_map(|span| {
            Some(NodeBytes {
                node: span.node.as_u32(),
                range: span.frames().to_physical(page)?,
            })
        })
        .collect()
}

/// A block the log allocated, and where bootmem put the same request.
#[derive(Clone, Copy, Debug)]
struct LoggedBlock {
    /// Where memblock put it.
    logged: Span,
    /// Where bootmem put it, if it could.
    ours: Option<u64>,
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

/// One request through bootmem: its placement, and the figures updated.
struct Replayer {
    bootmem: ReplayBootmem,
    nodes: Vec<NodeBytes>,
    figures: BootmemFigures,
    allocation_time: Duration,
    slowest_call: Duration,
    /// Every block the log allocated, in order.
    blocks: Vec<LoggedBlock>,
    /// Bytes per page.
    page_bytes: u64,
    /// Per node, the partly used page after its last block, if any.
    partial_pages: Vec<(Option<u32>, u64)>,
}

impl Replayer {
    fn node_of(&self, address: u64) -> Option<u32> {
        self.nodes
            .iter()
            .find(|known| known.range.contains(PhysicalAddress::new(address)))
            .map(|known| known.node)
    }

    fn request(&mut self, request: &super::trace::Request, logged: Option<u64>) -> Option<u64> {
        let align = if request.align == 0 {
            SMP_CACHE_BYTES
        } else {
            request.align
        };
        let limit = limit_of(request.maximum);
        let node = u32::try_from(request.node)
            .ok()
            .filter(|&node| self.nodes.iter().any(|known| known.node == node));
        let started = Instant::now();
        let result = match node {
            Some(node) => self.bootmem.___alloc_bootmem_node_nopanic(
                node,
                request.size,
                align,
                request.minimum,
                limit,
            ),
            None => {
                self.bootmem
                    .___alloc_bootmem_nopanic(request.size, align, request.minimum, limit)
            }
        };
        let elapsed = started.elapsed();
        self.allocation_time += elapsed;
        self.slowest_call = self.slowest_call.max(elapsed);
        // A misuse (zero size, a goal past the limit...) is a failure here:
        // the log is what it is.
        let placed = result.ok().flatten().map(|address| address.as_u64());
        if let Some(address) = placed {
            self.figures.pages_used += self.new_pages(address, request.size);
            if node.is_some() && self.node_of(address) == node {
                self.figures.node_local += 1;
            }
        }
        self.figures.node_requests += u64::from(node.is_some());
        if let Some(address) = logged {
            self.blocks.push(LoggedBlock {
                logged: Span::from_start_and_size(address, request.size),
                ours: placed,
            });
        }
        placed
    }

    /// The pages a block at `address` took from the free ones: those it
    /// touches, less its first when bootmem packed it into the partly used
    /// last page of the node's previous block (Linux's `last_end_off`).
    fn new_pages(&mut self, address: u64, size: u64) -> u64 {
        let page = self.page_bytes;
        let first = address / page;
        let end = address.saturating_add(size.max(1));
        let pages = end.div_ceil(page) - first;
        let node = self.node_of(address);
        let shared = self
            .partial_pages
            .iter()
            .any(|&(known, partial)| known == node && partial == first);
        self.partial_pages.retain(|&(known, _)| known != node);
        if !end.is_multiple_of(page) {
            self.partial_pages.push((node, end / page));
        }
        pages - u64::from(shared)
    }

    fn reserve(&mut self, span: Span) -> Result<(), String> {
        if span.is_empty() {
            self.figures.zero_length += 1;
            return Ok(());
        }
        self.figures.reservations += 1;
        for known in &self.nodes {
            let (from, to) = (
                span.start().max(known.range.start().as_u64()),
                span.end().min(known.range.end().as_u64()),
            );
            if from < to {
                self.bootmem
                    .reserve_bootmem(from, to - from, BOOTMEM_DEFAULT)
                    .map_err(|error| {
                        format!("reserve_bootmem({from:#x}, {:#x}): {error}", to - from)
                    })?;
            }
        }
        Ok(())
    }

    fn free(&mut self, span: Span) {
        if span.is_empty() {
            self.figures.zero_length += 1;
            return;
        }
        let block = self
            .blocks
            .iter()
            .rev()
            .find(|block| block.logged.contains_span(&span));
        let target = match block {
            Some(block) => block
                .ours
                .map(|ours| ours + (span.start() - block.logged.start())),
            None => Some(span.start()),
        };
        match target.map(|address| self.bootmem.free_bootmem(address, span.size())) {
            Some(Ok(())) => self.figures.frees += 1,
            _ => self.figures.frees_skipped += 1,
        }
    }
}

fn nanoseconds(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Replays the trace through bootmem on `map`'s nodes.
///
/// # Errors
///
/// Nodes bootmem cannot set up, or a reservation it refuses.
pub fn run(map: &CommandMemoryMap, trace: &Trace) -> Result<BootmemRun, String> {
    let (bootmem, set_up_lines) = set_up_nodes(map, &trace.events)?;
    let mut replayer = Replayer {
        bootmem,
        nodes: node_ranges(map),
        figures: BootmemFigures::default(),
        allocation_time: Duration::ZERO,
        slowest_call: Duration::ZERO,
        blocks: Vec::new(),
        page_bytes: map.page_size().bytes(),
        partial_pages: Vec::new(),
    };
    let mut placements = Vec::new();
    for event in &trace.events {
        match event {
            Event::Request(request) => {
                placements.push(replayer.request(&request.request, request.logged));
            }
            Event::Reserve { span } => replayer.reserve(*span)?,
            Event::Free { span } => replayer.free(*span),
            Event::Add { .. } | Event::Remove { .. } | Event::Dump(_) => {}
        }
    }
    let calls = u32::try_from(placements.len().max(1)).unwrap_or(u32::MAX);
    let mut figures = replayer.figures;
    figures.set_up = set_up_lines;
    figures.bytes_used = figures.pages_used.saturating_mul(map.page_size().bytes());
    figures.allocation_nanoseconds = nanoseconds(replayer.allocation_time);
    figures.mean_call_nanoseconds = nanoseconds(replayer.allocation_time / calls);
    figures.slowest_call_nanoseconds = nanoseconds(replayer.slowest_call);
    Ok(BootmemRun {
        placements,
        figures,
    })
}
