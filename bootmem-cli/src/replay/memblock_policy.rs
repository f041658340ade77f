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
//!   request (the report compares placement decisions one by one).
//!
//! What no log prints (`memblock.current_limit`, `memblock_bottom_up()`, the
//! architecture's `SMP_CACHE_BYTES`) starts at memblock's defaults
//! (`MEMBLOCK_ALLOC_ANYWHERE`, top-down, 64) and is revised from the log's
//! placements only after a miss that a change explains: a block placed
//! below free memory the limit would allow shows a lower limit (taken as the
//! block's end rounded up to a page), a block above the limit a higher one
//! (none when the unlimited search finds it), the lowest fit shows a switch
//! to bottom-up, a `bottom-up allocation failed` warning shows bottom-up
//! was on. The miss that reveals a change still counts as a miss.

use super::events::{Event, RequestEvent, Trace};
use super::memblock_model::{
    Call, Direction, Entry, Memblock, Parameters, Span, ALLOC_ANYWHERE, FLAG_NOMAP,
};
use super::trace::Request;

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
    /// `current_limit`, `direction` or `smp_cache_bytes`.
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
}

/// Runs the model over the trace (see the module docs).
pub fn run(trace: &Trace, context: &Context) -> MemblockRun {
    let mut notes = Vec::new();
    let first_request = trace
        .events
        .iter()
        .position(|event| matches!(event, Event::Request(_)))
        .unwrap_or(trace.events.len());
    let added_first = trace.events[..first_request]
        .iter()
        .any(|event| matches!(event, Event::Add { .. }));
    let first_dump = trace.events.iter().find_map(|event| match event {
        Event::Dump(dump) if !dump.memory.is_empty() => Some(dump),
        _ => None,
    });
    let mut start = Memblock::default();
    if !added_first {
        match first_dump {
            Some(dump) => {
                start.memory.replace(&dump.memory);
                notes.push(format!(
                    "memory: no memblock_add line precedes the first request; \
                     memory starts as the MEMBLOCK configuration dump at line {} lists it",
                    dump.line
                ));
            }
            None if !context.firmware_ram.is_empty() => {
                for span in &context.firmware_ram {
                    start.memory.add(*span, None, 0);
                }
                notes.push(
                    "memory: no memblock_add line precedes the first request and the log \
                     has no MEMBLOCK configuration dump; memory starts as the log's firmware map"
                        .to_string(),
                );
            }
            None => notes.push(
                "memory: the log shows none before its first request; \
                 the model cannot place anything until it does"
                    .to_string(),
            ),
        }
    }
    // Pass one finds what the first dump holds reserved that no earlier
    // line explains; pass two starts with it reserved.
    let mut replay = Replay::new(start.clone(), context);
    let at_dump = replay.run(trace, true);
    if let (Some(dump), Some(state)) = (first_dump, at_dump) {
        let mut unexplained = Vec::new();
        for span in &dump.reserved {
            let mut cursor = span.start();
            for taken in state.reserved.regions() {
                let taken = taken.span;
                if taken.end() <= cursor || taken.start() >= span.end() {
                    continue;
                }
                if taken.start() > cursor {
                    unexplained.extend(Span::new(cursor, taken.start()));
                }
                cursor = cursor.max(taken.end());
            }
            if cursor < span.end() {
                unexplained.extend(Span::new(cursor, span.end()));
            }
        }
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
    let mut replay = Replay::new(start, context);
    replay.run(trace, false);
    MemblockRun {
        placements: replay.placements,
        inferences: replay.inferences,
        notes,
    }
}

/// The model's state while it walks the events.
struct Replay<'context> {
    memblock: Memblock,
    parameters: Parameters,
    context: &'context Context,
    placements: Vec<ModelPlacement>,
    inferences: Vec<Inference>,
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
    fn new(memblock: Memblock, context: &'context Context) -> Self {
        let mut replay = Self {
            memblock,
            parameters: Parameters::default(),
            context,
            placements: Vec::new(),
            inferences: Vec::new(),
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
                Event::Free { span, .. } => self.memblock.reserved.remove(*span),
                Event::Add { span, node, .. } => {
                    self.memblock.memory.add(*span, *node, 0);
                    self.name_nodes();
                }
                Event::Remove { span, .. } => self.memblock.memory.remove(*span),
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
            // searched top-down (3.13 to 5.2).
            parameters.direction = Direction::TopDown;
            if self.parameters.direction != Direction::BottomUp {
                self.parameters.direction = Direction::BottomUp;
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
        if let Some(logged) = event.logged {
            let span = Span::from_start_and_size(logged, call.size);
            self.memblock.reserved.add(span, None, 0);
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
        let reproduces = |parameters: &Parameters| {
            self.memblock
                .place(call, parameters)
                .is_some_and(|found| found.address == logged)
        };
        let current = self.parameters;
        let flipped = Parameters {
            direction: current.direction.flipped(),
            ..current
        };
        if reproduces(&flipped) {
            let value = match flipped.direction {
                Direction::BottomUp => "bottom-up",
                Direction::TopDown => "top-down",
            };
            self.parameters = flipped;
            let reason = format!(
                "the kernel had switched memblock to {value} (memblock_set_bottom_up): \
                 the log's block is the {} fit",
                if flipped.direction == Direction::BottomUp {
                    "lowest"
                } else {
                    "highest"
                }
            );
            self.infer(event.line, "direction", value.to_string(), reason.clone());
            return Miss { differs, reason };
        }
        if Memblock::limit_applies(call) {
            let end = logged.saturating_add(call.size);
            let page_end = end
                .checked_next_multiple_of(current.page_size)
                .unwrap_or(ALLOC_ANYWHERE);
            let candidates = [ALLOC_ANYWHERE, page_end, end];
            for limit in candidates
                .into_iter()
                .filter(|&limit| limit != current.current_limit)
            {
                let changed = Parameters {
                    current_limit: limit,
                    ..current
                };
                if !reproduces(&changed) {
                    continue;
                }
                self.parameters = changed;
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
                    format!(
                        "the kernel's current limit was lower than the model's: memory above \
                         the log's block was free but not used; limit now {value} \
                         (the block's end, rounded up to a page)"
                    )
                };
                self.infer(event.line, "current_limit", value, reason.clone());
                return Miss { differs, reason };
            }
        }
        if call.align == 0 {
            for cache in [16, 32, 128, 256, 8] {
                let changed = Parameters {
                    default_align: cache,
                    ..current
                };
                if reproduces(&changed) {
                    self.parameters = changed;
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
                    return Miss { differs, reason };
                }
            }
        }
        Miss {
            differs,
            reason: self.diagnose(call, logged, model),
        }
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
        if align.is_power_of_two() && logged % align != 0 {
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
