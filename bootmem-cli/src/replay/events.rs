//! A boot log's memblock lines as one ordered list of events: requests with their placements.
//!
//! - The first reservation after a request whose size equals the request's
//!   echoes it: it records where memblock put the block and is not a
//!   reservation of its own. A request that another request, a free, an
//!   addition or removal (or the end of the log) follows before any such
//!   echo was not satisfied by memblock (late requests are served by the
//!   slab allocator, and a failed `_nopanic` request prints nothing more).
//! - A `MEMBLOCK configuration:` dump becomes one event holding both lists.
//! - `memblock: bottom-up allocation failed` marks the request it follows.
//! - Only the first boot of a log holding several (`Linux version` seen
//!   again) is read.
//! - Mail quotes (`> `) are removed, and in a log whose lines start with a
//!   `[timestamp]` or `<level>`, a line that does not is the rest of the
//!   line before (mails and terminals wrap long lines); errors name the
//!   line where the joined line starts.

use super::memblock_model::{Region, Span};
use super::trace::{self, DumpList, Request, TraceLine};

/// A request, with what the log shows of its outcome.
#[derive(Clone, Debug)]
pub struct RequestEvent {
    /// The log line (1-based).
    pub line: usize,
    /// The request as printed.
    pub request: Request,
    /// Where memblock put it, when the log echoes it.
    pub logged: Option<u64>,
    /// memblock warned, during this request, that bottom-up failed.
    pub bottom_up_failed: bool,
}

/// A dump of memblock's two lists.
#[derive(Clone, Debug, Default)]
pub struct Dump {
    /// The `MEMBLOCK configuration:` line.
    pub line: usize,
    /// `memory[...]` regions.
    pub memory: Vec<Region>,
    /// `reserved[...]` ranges.
    pub reserved: Vec<Span>,
}

/// One event of the log, in order.
#[derive(Clone, Debug)]
pub enum Event {
    /// An allocation request.
    Request(RequestEvent),
    /// A reservation no request echoes.
    Reserve {
        /// The range (possibly empty).
        span: Span,
    },
    /// A free (`memblock_free`, `memblock_phys_free`).
    Free {
        /// The range (possibly empty).
        span: Span,
    },
    /// Memory added, on a node when printed.
    Add {
        /// The log line.
        line: usize,
        /// The range.
        span: Span,
        /// `nid=`.
        node: Option<u32>,
        /// `flags=`.
        flags: u64,
    },
    /// Memory removed.
    Remove {
        /// The range.
        span: Span,
    },
    /// A dump of both lists.
    Dump(Dump),
}

/// Every event of a log.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// The events in log order.
    pub events: Vec<Event>,
    /// Lines of the trace recognised (requests, reservations, frees, ...).
    pub trace_lines: u64,
    /// The kernel command line holds `movable_node`.
    pub movable_node: bool,
}

impl Trace {
    /// The requests, in order.
    pub fn requests(&self) -> impl Iterator<Item = &RequestEvent> + '_ {
        self.events.iter().filter_map(|event| match event {
            Event::Request(request) => Some(request),
            _ => None,
        })
    }

    /// Whether the log holds any reservation line (echoes included).
    pub fn has_reservations(&self) -> bool {
        self.events
            .iter()
            .any(|event| matches!(event, Event::Reserve { .. }))
            || self.requests().any(|request| request.logged.is_some())
    }
}

/// Reads the events of `text`; errors are `(line, problem)`.
pub fn read(text: &str) -> Result<Trace, (usize, String)> {
    let mut trace = Trace::default();
    let mut pending: Option<usize> = None;
    let mut in_dump = false;
    let mut boots = 0;
    for (number, line) in logical_lines(text) {
        let line = line.as_str();
        let message = crate::parse::dmesg::message(line);
        if message.contains("ommand line:")
            && message
                .split_whitespace()
                .any(|word| word == "movable_node")
        {
            trace.movable_node = true;
        }
        for message in trace::messages(line) {
            // Only the first boot of a log holding several is read.
            if message.starts_with("Linux version ") {
                boots += 1;
                if boots > 1 {
                    return Ok(trace);
                }
            }
            let Some(parsed) =
                trace::parse_message(message).map_err(|problem| (number, problem))?
            else {
                continue;
            };
            trace.trace_lines += 1;
            if !matches!(parsed, TraceLine::DumpRegion(_)) {
                in_dump = false;
            }
            apply(&mut trace, &mut pending, &mut in_dump, number, parsed);
        }
    }
    Ok(trace)
}

/// Strips a mail quote (`> > `) from the front of a line.
fn unquoted(line: &str) -> &str {
    let mut rest = line;
    while let Some(after) = rest.strip_prefix('>') {
        rest = after.strip_prefix(' ').unwrap_or(after);
    }
    rest
}

/// The log's lines with their numbers, quotes removed and, in a log whose
/// lines start with `[timestamp]` or `<level>`, lines that do not (a mail
/// or terminal wrapping a long line) joined to the line before.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().map(unquoted).collect();
    let starts_a_record = |line: &str| line.starts_with('[') || line.starts_with('<');
    let filled = lines.iter().filter(|line| !line.trim().is_empty()).count();
    let prefixed = lines.iter().filter(|line| starts_a_record(line)).count();
    let wrapped = filled > 0 && prefixed * 2 > filled;
    let mut logical: Vec<(usize, String)> = Vec::with_capacity(lines.len());
    for (index, line) in lines.into_iter().enumerate() {
        let continues =
            wrapped && !starts_a_record(line) && !line.trim().is_empty() && !line.starts_with('#');
        match logical.last_mut() {
            Some((_, previous)) if continues => {
                previous.push(' ');
                previous.push_str(line.trim());
            }
            _ => logical.push((index + 1, line.to_string())),
        }
    }
    logical
}

/// Adds one parsed line to the trace.
fn apply(
    trace: &mut Trace,
    pending: &mut Option<usize>,
    in_dump: &mut bool,
    number: usize,
    parsed: TraceLine,
) {
    let events = &mut trace.events;
    match parsed {
        TraceLine::Request(request) => {
            *pending = Some(events.len());
            events.push(Event::Request(RequestEvent {
                line: number,
                request,
                logged: None,
                bottom_up_failed: false,
            }));
        }
        TraceLine::Reserve { start, size } => {
            if let Some(Event::Request(request)) = pending.and_then(|index| events.get_mut(index)) {
                if request.request.size == size {
                    request.logged = Some(start);
                    *pending = None;
                    return;
                }
            }
            events.push(Event::Reserve {
                span: Span::from_start_and_size(start, size),
            });
        }
        TraceLine::BottomUpFailed => {
            if let Some(Event::Request(request)) = pending.and_then(|index| events.get_mut(index)) {
                request.bottom_up_failed = true;
            }
        }
        TraceLine::Free { start, size } => {
            *pending = None;
            events.push(Event::Free {
                span: Span::from_start_and_size(start, size),
            });
        }
        TraceLine::Add {
            start,
            size,
            node,
            flags,
        } => {
            *pending = None;
            events.push(Event::Add {
                line: number,
                span: Span::from_start_and_size(start, size),
                node,
                flags,
            });
        }
        TraceLine::Remove { start, size } => {
            *pending = None;
            events.push(Event::Remove {
                span: Span::from_start_and_size(start, size),
            });
        }
        TraceLine::DumpStart => {
            *in_dump = true;
            events.push(Event::Dump(Dump {
                line: number,
                ..Dump::default()
            }));
        }
        TraceLine::DumpRegion(region) => {
            let Some(Event::Dump(dump)) = events.last_mut().filter(|_| *in_dump) else {
                return;
            };
            let span = Span::from_start_and_size(region.start, region.size);
            match region.list {
                DumpList::Memory => dump.memory.push(Region {
                    span,
                    node: region.node,
                    flags: region.flags,
                }),
                DumpList::Reserved => dump.reserved.push(span),
                DumpList::Physical => {}
            }
        }
    }
}
