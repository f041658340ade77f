//! The bootmem policy: a log's requests replayed through bootmem, its reservations and frees applied.
//!
//! 1. The nodes come from the log's memory map (see `super::read_map`).
//!    Each node is set up as the kernels do: its bitmap in the highest pages
//!    of its own RAM clear of the log's standalone reservations, every RAM
//!    range freed, the bitmap reserved.
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
use bootmem::{Configuration, NodeId};

use super::events::{Event, Trace};
use crate::parse::CommandMemoryMap;

/// The most nodes a replay sets up.
const MAX_NODES: usize = 64;

/// The allocator a replay drives: bitmaps in vectors, no memory behind it.
type ReplayBootmem = Bootmem<Vec<u64>, NoZeroing, MAX_NODES>;

/// memblock's `SMP_CACHE_BYTES` on x86-64: what `align=0x0` means.
const SMP_CACHE_BYTES: u64 = 64;

/// The figures of bootmem's replay.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BootmemFigures {
    /// Requests naming a node that bootmem served from that node.
    pub node_local: u64,
    /// Requests naming a node the map knows.
    pub node_requests: u64,
    /// Free pages the successful requests took.
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
            Event::Reserve { span, .. } => Some((span.start(), span.end())),
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
        let storage = vec![0; bootmem::bitmap_words(pages) as usize];
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

/// One request through bootmem: its placement, and the figures updated.
struct Replayer {
    bootmem: ReplayBootmem,
    spans: Vec<(u32, u64, u64)>,
    figures: BootmemFigures,
    allocation_time: Duration,
    slowest_call: Duration,
    /// (memblock's address, size, bootmem's address) of every logged block.
    blocks: Vec<(u64, u64, Option<u64>)>,
}

impl Replayer {
    fn node_of(&self, address: u64) -> Option<u32> {
        self.spans
            .iter()
            .find(|&&(_, first, end)| first <= address && address < end)
            .map(|&(node, _, _)| node)
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
            .filter(|&node| self.spans.iter().any(|&(known, _, _)| known == node));
        let free_before = self.bootmem.allocator().free_pages();
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
            self.figures.pages_used += free_before - self.bootmem.allocator().free_pages();
            if node.is_some() && self.node_of(address) == node {
                self.figures.node_local += 1;
            }
        }
        self.figures.node_requests += u64::from(node.is_some());
        if let Some(address) = logged {
            self.blocks.push((address, request.size, placed));
        }
        placed
    }

    fn reserve(&mut self, start: u64, size: u64) -> Result<(), String> {
        if size == 0 {
            self.figures.zero_length += 1;
            return Ok(());
        }
        self.figures.reservations += 1;
        let end = start.saturating_add(size);
        for &(_, first, last) in &self.spans {
            let (from, to) = (start.max(first), end.min(last));
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

    fn free(&mut self, start: u64, size: u64) {
        if size == 0 {
            self.figures.zero_length += 1;
            return;
        }
        let end = start.saturating_add(size);
        let block = self
            .blocks
            .iter()
            .rev()
            .find(|&&(first, bytes, _)| first <= start && end <= first.saturating_add(bytes));
        let target = match block {
            Some(&(first, _, Some(ours))) => Some(ours + (start - first)),
            Some(&(_, _, None)) => None,
            None => Some(start),
        };
        match target.map(|address| self.bootmem.free_bootmem(address, size)) {
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
    let mut replayer = Replayer {
        bootmem: set_up(map, &trace.events)?,
        spans: node_spans(map),
        figures: BootmemFigures::default(),
        allocation_time: Duration::ZERO,
        slowest_call: Duration::ZERO,
        blocks: Vec::new(),
    };
    let mut placements = Vec::new();
    for event in &trace.events {
        match event {
            Event::Request(request) => {
                placements.push(replayer.request(&request.request, request.logged));
            }
            Event::Reserve { span, .. } => replayer.reserve(span.start(), span.size())?,
            Event::Free { span, .. } => replayer.free(span.start(), span.size()),
            Event::Add { .. } | Event::Remove { .. } | Event::Dump(_) => {}
        }
    }
    let calls = u32::try_from(placements.len().max(1)).unwrap_or(u32::MAX);
    let mut figures = replayer.figures;
    figures.bytes_used = figures.pages_used.saturating_mul(map.page_size().bytes());
    figures.allocation_nanoseconds = nanoseconds(replayer.allocation_time);
    figures.mean_call_nanoseconds = nanoseconds(replayer.allocation_time / calls);
    figures.slowest_call_nanoseconds = nanoseconds(replayer.slowest_call);
    Ok(BootmemRun {
        placements,
        figures,
    })
}
