//! The memblock policy: each request of a log placed by the memblock model, from the state the log shows.
//!
//! How the model's state follows the log:
//!
//! - **Memory** comes from the log's `memblock_add` / `memblock_add_node` /
//!   `memblock_remove` lines, applied in order. When no `memblock_add` line
//!   precedes the first request (the additions happened before
//!   `memblock=debug` took effect, as on device-tree machines), memory starts
//!   as the first `MEMBLOCK configuration:` dump lists it, else as the log's
//!   firmware map. Nodes come from the lines that print them (`nid=`,
//!   `on node N`), else from the log's NUMA map; with no NUMA information at
//!   all every region is node 0, as on a kernel without `CONFIG_NUMA`.
//! - **Reservations** the log shows outside any allocation are applied where
//!   they appear; frees remove from `reserved`. Ranges the first dump lists
//!   as reserved that no earlier line explains were reserved before the
//!   trace began: they are reserved from the start.
//! - **Every dump** replaces both lists: it is the machine's own state.
//! - **Each request** is predicted from the state before it; then the log's
//!   own placement is reserved, so one miss does not shift every later
//!   request (the report compares placement decisions one by one). A second
//!   run lets the model run free on its own placements, without the later
//!   dumps, and the report gives its figure too.
//!
//! What no log prints (`memblock.current_limit`, `memblock_bottom_up()`, the
//! architecture's `SMP_CACHE_BYTES` and `PAGE_SIZE`) starts at memblock's
//! defaults (`MEMBLOCK_ALLOC_ANYWHERE`, top-down, 64, 4096) and is revised
//! from the log's placements only after a miss that a change explains, tried
//! in this order: the lowest fit shows a switch to bottom-up (or the highest
//! one back to top-down), a block opening the free range above a
//! reservation shows bottom-up above the kernel's end (older kernels); a
//! block placed below free memory the limit would allow shows a lower limit
//! (taken as the block's end rounded up to a page), a block above the limit
//! a higher one (none when the unlimited search finds it); an `align=0`
//! block shows the cache line; a block just past a larger first page shows
//! the page size. A `bottom-up allocation failed` warning shows bottom-up was
//! on. The miss that reveals a change still counts as a miss.

use super::events::{Dump, Event, RequestEvent, Trace};
use super::memblock_model::{
    Call, Direction, Entry, Memblock, Parameters, Span, ALLOC_ANYWHERE, FLAG_NOMAP,
};
use super::trace::Request;

/// Page sizes other than 4 KiB that kernels use (arm64, LoongArch, powerpc).
const LARGER_PAGE_SIZES: [u64; 3] = [8192, 16384, 65536];

/// What the log does not say about memory, taken from elsewhere in it.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// NUMA ranges of the log's firmware map: `(range, node)`.
    pub affinity: Vec<(Span, u32)>,
    /// RAM ranges of the log's firmware map (used only when the log has
    /// neither `memblock_add` lines before its first request nor a dump).
    pub firmware_ram: Vec<Span>,
}

/// How the model did on one request whose placement the log shows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Miss {
    /// What differs between the log and the model.
    pub differs: String,
    /// The likeliest reason.
    pub reason: String,
}

/// The model's placement of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelPlacement {
    /// Where the model put the block.
    pub address: Option<u64>,
    /// Why it differs from the log, when it does.
    pub miss: Option<Miss>,
}

/// A parameter the log revealed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Inference {
    /// The request's log line.
    pub line: usize,
    /// `current_limit`, `direction`, `smp_cache_bytes` or `page_size`.
    pub parameter: &'static str,
    /// The new value.
    pub value: String,
    /// The evidence.
    pub how: String,
}

/// The memblock policy's run over a log.
#[derive(Clone, Debug, Default)]
pub struct MemblockRun {
    /// One per request, in log order.
    pub placements: Vec<ModelPlacement>,
    /// What the log revealed, in order.
    pub inferences: Vec<Inference>,
    /// Where the starting state came from.
    pub notes: Vec<String>,
    /// Placements identical to the log when the model runs free: each
    /// request placed on the model's own earlier placements (re-placed with
    /// what a miss revealed), no dump adopted after the start.
    pub free_running_identical: u64,
}

/// Runs the model over the trace (see the module docs).
pub fn run(trace: &Trace, context: &Context) -> MemblockRun {
    let mut notes = Vec::new();
    let first_dump = trace.events.iter().find_map(|event| match event {
        Event::Dump(dump) if !dump.memory.is_empty() => Some(dump),
        _ => None,
    });
    let mut start = starting_memory(trace, context, first_dump, &mut notes);
    // Pass one finds what the first dump holds reserved that no earlier
    // line explains; pass two starts with it reserved.
    if let Some(dump) = first_dump {
        let mut replay = Replay::new(start.clone(), context, trace.movable_node);
        if let Some(state) = replay.run(trace, true) {
            let unexplained: Vec<Span> = dump
                .reserved
                .iter()
                .flat_map(|span| state.reserved.uncovered(*span))
                .collect();
            if !unexplained.is_empty() {
                let list: Vec<String> = unexplained.iter().map(Span::to_string).collect();
                notes.push(format!(
                    "reserved before the trace: {} range(s) the dump at line {} lists that no \
                     earlier line reserves, reserved from the start: {}",
                    unexplained.len(),
                    dump.line,
                    list.join(" ")
                ));
                for span in unexplained {
                    start.reserved.add(span, None, 0);
                }
            }
        }
    }
    let mut free_running = Replay::new(start.clone(), context, trace.movable_node);
    free_running.follow_log = false;
    free_running.run(trace, false);
    let free_running_identical = trace
        .requests()
        .zip(&free_running.placements)
        .filter(|(event, placement)| event.logged.is_some() && event.logged == placement.address)
        .count() as u64;
    let mut replay = Replay::new(start, context, trace.movable_node);
    replay.run(trace, false);
    MemblockRun {
        placements: replay.placements,
        inferences: replay.inferences,
        notes,
        free_running_identical,
    }
}

/// The memory the model starts with: none when `memblock_add` lines come
/// before the first request (they are applied in order), else the first
/// dump's, else the firmware map's RAM in whole pages (as
/// `memblock_trim_memory` leaves it).
fn starting_memory(
    trace: &Trace,
    context: &Context,
    first_dump: Option<&Dump>,
    notes: &mut Vec<String>,
) -> Memblock {
    let mut start = Memblock::default();
    let added_first = trace
        .events
        .iter()
        .take_while(|event| !matches!(event, Event::Request(_)))
        .any(|event| matches!(event, Event::Add { .. }));
    if added_first {
        return start;
    }
    if let Some(dump) = first_dump {
        start.memory.replace(&dump.memory);
        notes.push(format!(
            "memory: no memblock_add line precedes the first request; \
             memory starts as the MEMBLOCK configuration dump at line {} lists it",
            dump.line
        ));
        return start;
    }
    if context.firmware_ram.is_empty() {
        notes.push(
            "memory: the log shows none before its first request; \
             the model cannot place anything until it does"
                .to_string(),
        );
        return start;
    }
    let page = Parameters::default().page_size;
    for span in &context.firmware_ram {
        let trimmed = span
            .start()
            .checked_next_multiple_of(page)
            .and_then(|first| Span::new(first, span.end() / page * page));
        if let Some(trimmed) = trimmed {
            start.memory.add(trimmed, None, 0);
        }
    }
    notes.push(
        "memory: no memblock_add line precedes the first request and the log has no \
         MEMBLOCK configuration dump; memory starts as the log's firmware map"
            .to_string(),
    );
    start
}

/// The model's state while it walks the events.
struct Replay<'context> {
    memblock: Memblock,
    parameters: Parameters,
    context: &'context Context,
    placements: Vec<ModelPlacement>,
    inferences: Vec<Inference>,
    /// Whether the state follows the log (its placements reserved, its
    /// dumps adopted) or runs free on the model's own placements.
    follow_log: bool,
    /// Running free: every logged block and the model's placement of it,
    /// so that a free of the one frees the other.
    own_blocks: Vec<(Span, Option<u64>)>,
}

/// The model's view of a request line.
fn call_of(request: &Request) -> Call {
    let entry = if request.function.starts_with("memblock_phys_alloc") {
        Entry::PhysicalRange
    } else {
        Entry::Virtual {
            exact_node: request.function.contains("exact_nid"),
        }
    };
    Call {
        size: request.size,
        align: request.align,
        node: u32::try_from(request.node).ok(),
        minimum: request.minimum,
        maximum: request.maximum,
        entry,
    }
}

impl<'context> Replay<'context> {
    fn new(memblock: Memblock, context: &'context Context, movable_node: bool) -> Self {
        let mut replay = Self {
            memblock,
            parameters: Parameters {
                movable_node,
                ..Parameters::default()
            },
            context,
            placements: Vec::new(),
            inferences: Vec::new(),
            follow_log: true,
            own_blocks: Vec::new(),
        };
        replay.name_nodes();
        replay
    }

    /// Gives regions the log left without a node their node from the map.
    fn name_nodes(&mut self) {
        for &(span, node) in &self.context.affinity {
            self.memblock.memory.set_missing_node(span, node);
        }
        let numa = !self.context.affinity.is_empty()
            || self
                .memblock
                .memory
                .regions()
                .iter()
                .any(|region| region.node.is_some_and(|node| node != 0));
        if !numa {
            self.memblock
                .memory
                .set_missing_node(Span::from_start_and_size(0, u64::MAX), 0);
        }
    }

    /// Walks the events; with `stop_at_dump`, returns the state just
    /// before the first dump with memory.
    fn run(&mut self, trace: &Trace, stop_at_dump: bool) -> Option<Memblock> {
        for event in &trace.events {
            match event {
                Event::Request(request) => self.request(request),
                Event::Reserve { span, .. } => self.memblock.reserved.add(*span, None, 0),
                Event::Free { span, .. } => self.free(*span),
                Event::Add {
                    span, node, flags, ..
                } => {
                    self.memblock.memory.add(*span, *node, *flags);
                    self.name_nodes();
                }
                Event::Remove { span, .. } => self.memblock.memory.remove(*span),
                Event::Dump(_) if !self.follow_log => {}
                Event::Dump(dump) => {
                    if stop_at_dump && !dump.memory.is_empty() {
                        return Some(self.memblock.clone());
                    }
                    if !dump.memory.is_empty() {
                        self.memblock.memory.replace(&dump.memory);
                        self.name_nodes();
                    }
                    let reserved: Vec<_> = dump
                        .reserved
                        .iter()
                        .map(|&span| super::memblock_model::Region {
                            span,
                            node: None,
                            flags: 0,
                        })
                        .collect();
                    self.memblock.reserved.replace(&reserved);
                }
            }
        }
        None
    }

    fn infer(&mut self, line: usize, parameter: &'static str, value: String, how: String) {
        self.inferences.push(Inference {
            line,
            parameter,
            value,
            how,
        });
    }

    /// Predicts one request, compares, learns, then reserves the log's block.
    fn request(&mut self, event: &RequestEvent) {
        let call = call_of(&event.request);
        let mut parameters = self.parameters;
        if event.bottom_up_failed {
            // memblock tried bottom-up above the kernel, failed, warned and
            // searched top-down (3.13 to early 5.x).
            parameters.direction = Direction::TopDown;
            if self.parameters.direction != Direction::BottomUp {
                self.parameters.direction = Direction::BottomUp;
                self.parameters.bottom_up_floor =
                    Some(self.parameters.bottom_up_floor.unwrap_or(0));
                self.infer(
                    event.line,
                    "direction",
                    "bottom-up".to_string(),
                    "memblock warned that a bottom-up allocation failed".to_string(),
                );
            }
        }
        let predicted = self.memblock.place(&call, &parameters);
        let address = predicted.map(|found| found.address);
        let miss = match event.logged {
            Some(logged) if address != Some(logged) => {
                Some(self.explain(event, &call, logged, address))
            }
            _ => None,
        };
        self.placements.push(ModelPlacement { address, miss });
        if !self.follow_log {
            // What the model learnt from a miss places the block again:
            // running free takes the log's parameters, never its addresses.
            let own = if self.parameters == parameters || event.bottom_up_failed {
                address
            } else {
                self.memblock
                    .place(&call, &self.parameters)
                    .map(|found| found.address)
            };
            if let Some(logged) = event.logged {
                let span = Span::from_start_and_size(logged, call.size);
                self.own_blocks.push((span, own));
            }
            if let Some(address) = own {
                let span = Span::from_start_and_size(address, call.size);
                self.memblock.reserved.add(span, None, 0);
            }
        } else if let Some(logged) = event.logged {
            let span = Span::from_start_and_size(logged, call.size);
            self.memblock.reserved.add(span, None, 0);
        }
    }

    /// A free of `span`: running free, a free inside a logged block frees
    /// the same part of the model's placement of it.
    fn free(&mut self, span: Span) {
        if self.follow_log {
            self.memblock.reserved.remove(span);
            return;
        }
        let block = self
            .own_blocks
            .iter()
            .rev()
            .find(|(logged, _)| logged.contains_span(&span));
        match block {
            Some(&(logged, Some(ours))) => {
                let start = ours.saturating_add(span.start() - logged.start());
                self.memblock
                    .reserved
                    .remove(Span::from_start_and_size(start, span.size()));
            }
            Some(&(_, None)) => {}
            None => self.memblock.reserved.remove(span),
        }
    }

    /// Finds a parameter change that reproduces the log's placement and
    /// adopts it, or says what else differs.
    fn explain(
        &mut self,
        event: &RequestEvent,
        call: &Call,
        logged: u64,
        model: Option<u64>,
    ) -> Miss {
        let differs = self.differs(logged, model);
        let reason = self
            .explain_direction(event, call, logged)
            .or_else(|| self.explain_limit(event, call, logged))
            .or_else(|| self.explain_alignment(event, call, logged))
            .or_else(|| self.explain_page_size(event, call, logged, model))
            .unwrap_or_else(|| self.diagnose(call, logged, model));
        Miss { differs, reason }
    }

    /// Whether the model puts `call` at `logged` under `parameters`.
    fn reproduces(&self, call: &Call, logged: u64, parameters: &Parameters) -> bool {
        self.memblock
            .place(call, parameters)
            .is_some_and(|found| found.address == logged)
    }

    /// A current limit that reproduces the log's block: none at all, else
    /// the block's end rounded up to a page, else the block's end.
    fn explain_limit(&mut self, event: &RequestEvent, call: &Call, logged: u64) -> Option<String> {
        if !Memblock::limit_applies(call) {
            return None;
        }
        let current = self.parameters;
        let end = logged.saturating_add(call.size);
        let page_end = end
            .checked_next_multiple_of(current.page_size)
            .unwrap_or(ALLOC_ANYWHERE);
        let limit = [ALLOC_ANYWHERE, page_end, end]
            .into_iter()
            .filter(|&limit| limit != current.current_limit)
            .find(|&limit| {
                let changed = Parameters {
                    current_limit: limit,
                    ..current
                };
                self.reproduces(call, logged, &changed)
            })?;
        self.parameters.current_limit = limit;
        let value = if limit == ALLOC_ANYWHERE {
            "MEMBLOCK_ALLOC_ANYWHERE".to_string()
        } else {
            format!("{limit:#x}")
        };
        let reason = if limit > current.current_limit {
            format!(
                "the kernel had raised the current limit (memblock_set_current_limit) \
                 above {:#x}: the log's block lies above it; limit now {value}",
                current.current_limit
            )
        } else {
            let taken_as = if limit == end {
                "the block's end"
            } else {
                "the block's end, rounded up to a page"
            };
            format!(
                "memory above the log's block was free to the model but the machine did not \
                 use it: the kernel's current limit was lower, or that memory was unusable \
                 without the log saying so (NOMAP, hotplug); the model now caps allocations \
                 at {value} ({taken_as})"
            )
        };
        self.infer(event.line, "current_limit", value, reason.clone());
        Some(reason)
    }

    /// A larger `PAGE_SIZE` that reproduces a block the model put in what
    /// would be the machine's first page (never handed out).
    fn explain_page_size(
        &mut self,
        event: &RequestEvent,
        call: &Call,
        logged: u64,
        model: Option<u64>,
    ) -> Option<String> {
        let model = model?;
        let current = self.parameters;
        let page_size = LARGER_PAGE_SIZES.into_iter().find(|&page_size| {
            let changed = Parameters {
                page_size,
                ..current
            };
            page_size > current.page_size
                && model < page_size
                && self.reproduces(call, logged, &changed)
        })?;
        self.parameters.page_size = page_size;
        let reason = format!(
            "the machine's pages are {page_size} bytes, not {}: memblock never hands out the \
             first page",
            current.page_size
        );
        self.infer(
            event.line,
            "page_size",
            page_size.to_string(),
            reason.clone(),
        );
        Some(reason)
    }

    /// An `SMP_CACHE_BYTES` that reproduces an `align=0` request's block.
    fn explain_alignment(
        &mut self,
        event: &RequestEvent,
        call: &Call,
        logged: u64,
    ) -> Option<String> {
        if call.align != 0 {
            return None;
        }
        let current = self.parameters;
        let cache = [16, 32, 128, 256, 8].into_iter().find(|&cache| {
            let changed = Parameters {
                default_align: cache,
                ..current
            };
            self.reproduces(call, logged, &changed)
        })?;
        self.parameters.default_align = cache;
        let reason = format!(
            "align=0 means this architecture's SMP_CACHE_BYTES, {cache}, not {}",
            current.default_align
        );
        self.infer(
            event.line,
            "smp_cache_bytes",
            cache.to_string(),
            reason.clone(),
        );
        Some(reason)
    }

    /// A change of direction that reproduces the log's block: the other
    /// direction, else bottom-up above a floor (the kernel's end, 3.13 to
    /// early 5.x) taken as the start of the free range the block opens.
    fn explain_direction(
        &mut self,
        event: &RequestEvent,
        call: &Call,
        logged: u64,
    ) -> Option<String> {
        let current = self.parameters;
        let flipped = Parameters {
            direction: current.direction.flipped(),
            ..current
        };
        let floored = self.memblock.free_range_at(logged).map(|range| Parameters {
            direction: Direction::BottomUp,
            bottom_up_floor: Some(range.start()),
            ..current
        });
        // A bottom-up search near address 0 also shows the page size: the
        // first page is never handed out.
        let larger_pages = LARGER_PAGE_SIZES
            .into_iter()
            .filter(|&page_size| page_size > current.page_size)
            .map(|page_size| Parameters {
                page_size,
                ..flipped
            });
        let changed = [Some(flipped), floored.filter(|floored| *floored != current)]
            .into_iter()
            .flatten()
            .chain(larger_pages)
            .find(|candidate| self.reproduces(call, logged, candidate))?;
        self.parameters = changed;
        let floor_chosen = Some(changed) == floored && changed != flipped;
        let (value, mut reason) = match (changed.direction, changed.bottom_up_floor) {
            (Direction::TopDown, _) => (
                "top-down".to_string(),
                "the kernel had switched memblock back to top-down \
                 (memblock_set_bottom_up(false)): the log's block is the highest fit"
                    .to_string(),
            ),
            (Direction::BottomUp, Some(floor)) if floor_chosen => (
                format!("bottom-up above {floor:#x}"),
                format!(
                    "the kernel allocates bottom-up (memblock_set_bottom_up(true)) above its \
                     own end, as older kernels (3.13 to early 5.x) did: the log's block opens \
                     the free range at {floor:#x}, taken as the kernel's end"
                ),
            ),
            (Direction::BottomUp, _) => (
                "bottom-up".to_string(),
                "the kernel had switched memblock to bottom-up (memblock_set_bottom_up(true)): \
                 the log's block is the lowest fit"
                    .to_string(),
            ),
        };
        self.infer(event.line, "direction", value, reason.clone());
        if changed.page_size != current.page_size {
            let pages = format!(
                "the machine's pages are {} bytes, not {}: memblock never hands out the first page",
                changed.page_size, current.page_size
            );
            self.infer(
                event.line,
                "page_size",
                changed.page_size.to_string(),
                pages.clone(),
            );
            reason = format!("{reason}; {pages}");
        }
        Some(reason)
    }

    /// What differs: addresses, and the nodes when they differ.
    fn differs(&self, logged: u64, model: Option<u64>) -> String {
        let node_at = |address: u64| {
            self.memblock
                .memory
                .region_at(address)
                .and_then(|region| region.node)
        };
        let Some(model) = model else {
            return format!("log {logged:#x}; the model found no room");
        };
        let mut text = format!("log {logged:#x}, model {model:#x}");
        let (log_node, model_node) = (node_at(logged), node_at(model));
        if log_node != model_node {
            let show = |node: Option<u32>| node.map_or("?".to_string(), |node| node.to_string());
            text.push_str(&format!(
                " (node {} against node {})",
                show(log_node),
                show(model_node)
            ));
        }
        if model > logged {
            text.push_str(&format!(
                "; the model's block is {:#x} bytes higher",
                model - logged
            ));
        } else {
            text.push_str(&format!(
                "; the model's block is {:#x} bytes lower",
                logged - model
            ));
        }
        text
    }

    /// The likeliest reason for a miss no parameter change explains.
    fn diagnose(&self, call: &Call, logged: u64, model: Option<u64>) -> String {
        let span = Span::from_start_and_size(logged, call.size);
        let region = self.memblock.memory.region_at(logged);
        let Some(region) = region.filter(|region| region.span.contains_span(&span)) else {
            return format!(
                "the log's block {span} is not inside the memory the model knows: memory \
                 added before memblock=debug took effect or never printed"
            );
        };
        if let Some(taken) = self.memblock.reserved.first_overlap(span) {
            return format!(
                "the log's block overlaps {}, which the model holds reserved: a free the log \
                 does not print, or a reservation the kernel dropped",
                taken.span
            );
        }
        if region.flags & FLAG_NOMAP != 0 {
            return "the log's block is in memory the dump marks NOMAP".to_string();
        }
        let align = if call.align == 0 {
            self.parameters.default_align
        } else {
            call.align
        };
        if align.is_power_of_two() && !logged.is_multiple_of(align) {
            return format!(
                "the log's address is not a multiple of align={align:#x}: the kernel aligned \
                 it otherwise than printed"
            );
        }
        if let (Some(wanted), Some(actual)) = (call.node, region.node) {
            if wanted != actual && matches!(call.entry, Entry::Virtual { .. }) {
                return format!(
                    "the machine fell back from node {wanted} to node {actual} although the \
                     model finds room on node {wanted}: the node's memory was held by something \
                     the log does not show"
                );
            }
        }
        match model {
            None => "the model found no room where the machine did: the current limit or the \
                     memory the model knows is too small"
                .to_string(),
            Some(model) if model > logged => format!(
                "free memory at {:#x} above the log's block that the machine did not use: held \
                 by something the log does not show (a reservation made before memblock=debug \
                 took effect, hotplug or mirror-only memory), or a lower current limit that \
                 still leaves the block where it is",
                model
            ),
            Some(_) => "the machine found room higher than the model: memory the model holds \
                        reserved was free there (a free the log does not print)"
                .to_string(),
        }
    }
}
