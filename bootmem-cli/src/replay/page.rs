//! `bootmem replay --html`: a replayed log as the interactive page, one column per policy.
//!
//! Every event of the log is one step of every column, so the page's
//! slider moves both columns through the same line of the log: a request
//! shows where that policy put the block (and where the machine did), a
//! reservation or a free is the same in both columns.

use crate::render::page::{
    self, Page, PageArgument, PageLimit, PageNode, PageRange, PageStep, Policy,
};
use crate::render::{palette, size::size};

use super::events::{Event, Trace};
use super::report::{Report, RequestRow};
use crate::parse::CommandMemoryMap;

/// The colour kind of a request, guessed from the function that made it.
fn kind_of(caller: Option<&str>) -> &'static str {
    const KINDS: [(&str, &str); 14] = [
        ("pcpu", "per-cpu"),
        ("percpu", "per-cpu"),
        ("sparse_index", "struct-pages"),
        ("sparse", "struct-pages"),
        ("vmemmap", "struct-pages"),
        ("__earlyonly_bootmem", "struct-pages"),
        ("mem_map", "struct-pages"),
        ("hash", "hash-table"),
        ("swiotlb", "bounce-buffer"),
        ("log_buf", "log-buffer"),
        ("early_init_dt", "device-tree"),
        ("node_data", "node-data"),
        ("real_mode", "trampoline"),
        ("fixmap", "page-tables"),
    ];
    let Some(caller) = caller else {
        return "allocation";
    };
    KINDS
        .iter()
        .find(|(word, _)| caller.contains(word))
        .map_or("allocation", |(_, kind)| kind)
}

/// The page's step for one request under one policy.
fn request_step(row: &RequestRow, placed: Option<u64>, policy: &str) -> PageStep {
    let mut explanation = vec![match (row.log, placed) {
        (Some(log), Some(placed)) if log == placed => {
            format!("the machine put it at the same address, {log:#x}")
        }
        (Some(log), _) => format!("the machine put it at {log:#x}"),
        (None, _) => "the log shows no placement (memblock did not satisfy it)".to_string(),
    }];
    if policy == "memblock" {
        if let Some(miss) = &row.memblock_miss {
            explanation.push(miss.differs.clone());
            explanation.push(format!("likeliest reason: {}", miss.reason));
        }
    }
    PageStep {
        call: row.function.clone(),
        source: format!("log line {}", row.line),
        arguments: page::allocation_arguments(
            row.size,
            row.align,
            row.from,
            row.max_addr,
            u32::try_from(row.node).ok(),
        ),
        start: placed.map(page::hex),
        size: page::hex(row.size),
        node: None,
        owner: row.caller.clone().unwrap_or_default(),
        kind: kind_of(row.caller.as_deref()).to_string(),
        outcome: match (placed, row.log) {
            (None, _) => "failed".to_string(),
            (Some(placed), Some(log)) if placed == log => "allocated".to_string(),
            (Some(_), Some(_)) => "allocated elsewhere".to_string(),
            (Some(_), None) => "allocated".to_string(),
        },
        explanation,
    }
}

/// The page's step for a reservation or a free (the same in every column).
fn range_step(call: &str, start: u64, bytes: u64, outcome: &str) -> PageStep {
    PageStep {
        call: call.to_string(),
        source: "the log".to_string(),
        arguments: vec![PageArgument {
            name: "size".to_string(),
            value: format!("{bytes:#x} ({})", size(bytes)),
        }],
        start: Some(page::hex(start)),
        size: page::hex(bytes),
        node: None,
        owner: format!("{call} in the log"),
        kind: if outcome == "reserved" {
            "firmware-reserved".to_string()
        } else {
            "free".to_string()
        },
        outcome: outcome.to_string(),
        explanation: vec!["as the log shows, outside any allocation request".to_string()],
    }
}

/// One column: every event of the log as a step.
fn column(report: &Report, trace: &Trace, policy: &str) -> Policy {
    let mut rows = report.rows.iter();
    let mut steps = Vec::new();
    for event in &trace.events {
        match event {
            Event::Request(_) => {
                let Some(row) = rows.next() else { continue };
                let placed = match policy {
                    "memblock" => row.memblock.flatten(),
                    _ => row.bootmem.flatten(),
                };
                steps.push(request_step(row, placed, policy));
            }
            Event::Reserve { span } if !span.is_empty() => {
                steps.push(range_step(
                    "memblock_reserve",
                    span.start(),
                    span.size(),
                    "reserved",
                ));
            }
            Event::Free { span } if !span.is_empty() => {
                steps.push(range_step(
                    "memblock_free",
                    span.start(),
                    span.size(),
                    "freed",
                ));
            }
            _ => {}
        }
    }
    Policy {
        name: match policy {
            "memblock" => "Linux memblock (model)".to_string(),
            _ => "bootmem".to_string(),
        },
        steps,
    }
}

/// The interactive page of a replay: the map's nodes and ranges, and one
/// column per policy the report holds.
pub fn page(report: &Report, trace: &Trace, map: Option<&CommandMemoryMap>) -> Page {
    let mut policies = Vec::new();
    if report.memblock.is_some() {
        policies.push(column(report, trace, "memblock"));
    }
    if report.bootmem.is_some() {
        policies.push(column(report, trace, "bootmem"));
    }
    let mut colours: Vec<(String, String)> = palette::KINDS
        .iter()
        .map(|(name, colour)| ((*name).to_string(), (*colour).to_string()))
        .collect();
    colours.push(("free".to_string(), palette::FREE.to_string()));
    let (nodes, ranges) = map.map_or_else(|| (Vec::new(), Vec::new()), map_parts);
    Page {
        title: format!("bootmem replay: {}", report.file),
        subtitle: format!(
            "{} requests of a memblock=debug boot log, {} placed by the machine",
            report.log.requests, report.log.log_satisfied
        ),
        nodes,
        ranges,
        limits: limits(map),
        policies,
        colours,
    }
}

/// The nodes and ranges of the log's map.
fn map_parts(map: &CommandMemoryMap) -> (Vec<PageNode>, Vec<PageRange>) {
    let shift = map.page_size().shift();
    let nodes = map
        .nodes()
        .iter()
        .filter(|span| !span.is_memoryless())
        .map(|span| PageNode {
            node: span.node.as_u32(),
            start: page::hex(span.start.as_u64() << shift),
            end: page::hex(span.end.as_u64() << shift),
        })
        .collect();
    let ranges = map
        .ranges()
        .iter()
        .map(|range| PageRange {
            start: page::hex(range.start.as_u64()),
            end: page::hex(range.end.as_u64()),
            kind: if range.kind.is_ram() {
                "ram".to_string()
            } else {
                format!("firmware-{}", range.kind)
            },
            node: range.node.map(|node| node.as_u32()),
        })
        .collect();
    (nodes, ranges)
}

/// The 4 GiB line, when the map reaches past it.
fn limits(map: Option<&CommandMemoryMap>) -> Vec<PageLimit> {
    let four_gib = 1_u64 << 32;
    map.filter(|map| {
        map.ranges()
            .iter()
            .any(|range| range.end.as_u64() > four_gib)
    })
    .map(|_| PageLimit {
        address: page::hex(four_gib),
        label: "4 GiB".to_string(),
    })
    .into_iter()
    .collect()
}
