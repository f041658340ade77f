//! Why an allocation landed where it did, told by comparing the result with the request and the free memory before the call.
//!
//! The library answers "where"; it does not say "why". The simulation
//! captures every node's free page runs just before each call (from the
//! library's `nodes()` and `reserved_runs()`), then compares the address it
//! got against the request:
//!
//! - **goal**: the search starts at the goal; a result below a non-zero
//!   goal means nothing fitted above it and the search ran again from 0
//!   (the goal was dropped);
//! - **limit**: a result ending past the limit means the node call dropped
//!   it (`___alloc_bootmem_node` retries without one);
//! - **node**: a result on another node than the one asked for is a fallback;
//! - **merge**: a result that starts inside the page where the previous
//!   allocation ended, not on a page boundary, was packed into that
//!   partly used page;
//! - **hint**: otherwise, the lowest aligned free fit at or above where the
//!   search began (computed from the captured free runs) is compared with
//!   the result: a higher result means the node's search hint (the end of
//!   its last allocation) moved the search up.

use bootmem::BootAllocator;

use super::sequence::Arguments;
use super::sequence::Region;
use crate::render::size::size;

/// Free page runs of one node, in bytes.
#[derive(Clone, Debug)]
struct NodeFree {
    node: u32,
    start: u64,
    free: Vec<(u64, u64)>,
}

/// Every node's free memory at one moment.
#[derive(Clone, Debug, Default)]
pub struct FreeState {
    nodes: Vec<NodeFree>,
}

impl FreeState {
    /// The free runs of every registered node, from the library.
    pub fn capture<Storage, Memory, const MAX_NODES: usize>(
        allocator: &BootAllocator<Storage, Memory, MAX_NODES>,
    ) -> Self
    where
        Storage: AsRef<[u64]> + AsMut<[u64]>,
        Memory: bootmem::memory::PhysicalMemory,
    {
        let page = allocator.configuration().page_size.bytes();
        let reserved: Vec<(u64, u64)> = allocator
            .reserved_runs()
            .map(|run| (run.start.as_u64() * page, run.end.as_u64() * page))
            .collect();
        let nodes = allocator
            .nodes()
            .map(|summary| {
                let (start, end) = (summary.start.as_u64() * page, summary.end.as_u64() * page);
                let mut free = Vec::new();
                let mut cursor = start;
                for &(low, high) in &reserved {
                    if high <= cursor || low >= end {
                        continue;
                    }
                    if low > cursor {
                        free.push((cursor, low));
                    }
                    cursor = cursor.max(high);
                }
                if cursor < end {
                    free.push((cursor, end));
                }
                NodeFree {
                    node: summary.node.as_u32(),
                    start,
                    free,
                }
            })
            .collect();
        Self { nodes }
    }

    /// The lowest address at or above `from` on `node` where `size` bytes
    /// aligned to `align` (at least a page) fit in free pages below `limit` (0: none).
    fn first_fit(&self, node: u32, from: u64, size: u64, align: u64, limit: u64) -> Option<u64> {
        let node = self.nodes.iter().find(|entry| entry.node == node)?;
        let step = align.max(1);
        for &(low, high) in &node.free {
            let base = low.max(from).max(node.start);
            let start = base.checked_add(step - 1)? / step * step;
            let end = start.checked_add(size)?;
            let high = if limit == 0 { high } else { high.min(limit) };
            if end <= high {
                return Some(start);
            }
        }
        None
    }
}

impl FreeState {
    /// The first byte of `node`, when it is registered.
    fn node_start(&self, node: u32) -> Option<u64> {
        self.nodes
            .iter()
            .find(|entry| entry.node == node)
            .map(|entry| entry.start)
    }
}

/// The request as the explanation needs it.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// The call's arguments.
    pub arguments: Arguments,
    /// Why the goal (empty: no reason given).
    pub goal_reason: &'static str,
    /// Page bytes.
    pub page: u64,
    /// Where the previous allocation ended.
    pub previous_end: Option<u64>,
}

fn hex(value: u64) -> String {
    format!("{value:#x}")
}

fn where_it_started(placement: &Placement) -> String {
    let goal = placement.arguments.goal;
    if goal == 0 {
        "No goal: the search starts at the node's hint (just past its last allocation), else at its first page.".to_string()
    } else if placement.goal_reason.is_empty() {
        format!(
            "The search starts at the goal {} ({}).",
            hex(goal),
            size(goal)
        )
    } else {
        format!(
            "The search starts at the goal {} ({}): {}.",
            hex(goal),
            size(goal),
            placement.goal_reason
        )
    }
}

/// The reasons for where `region` landed.
pub fn reasons(placement: &Placement, before: &FreeState, region: &Region) -> Vec<String> {
    let arguments = placement.arguments;
    let mut lines = vec![where_it_started(placement)];
    let landed_node = region.node.unwrap_or(0);
    let mut from = arguments.goal;
    let mut limit = arguments.limit;
    if let Some(node_start) = before.node_start(landed_node) {
        if arguments.goal > 0 && arguments.goal < node_start {
            lines.push(format!(
                "The goal lies below node {landed_node}, which starts at {}: the search there starts at the node's first page.",
                hex(node_start)
            ));
        }
    }
    if let Some(asked) = arguments.node {
        if asked != landed_node {
            lines.push(format!(
                "Node {asked} had no room for it (at the goal, then from 0): it fell back to node {landed_node}."
            ));
        }
    }
    if arguments.goal > 0
        && region.start < arguments.goal
        && before
            .node_start(landed_node)
            .is_some_and(|start| start <= arguments.goal)
    {
        lines.push(format!(
            "Nothing fitted between the goal {} and the limit: the goal was dropped and the search ran again from 0.",
            hex(arguments.goal)
        ));
        from = 0;
    }
    if arguments.limit > 0 && region.end > arguments.limit {
        lines.push(format!(
            "It ends past the limit {}: the node call dropped the limit when nothing fitted below it.",
            hex(arguments.limit)
        ));
        limit = 0;
    }
    let page = placement.page;
    let merged = !region.start.is_multiple_of(page)
        && placement
            .previous_end
            .is_some_and(|end| end / page == region.start / page && end <= region.start);
    if merged {
        lines.push(format!(
            "Merged into the partly used page {} where the previous allocation ended ({}): bootmem packs small allocations there.",
            hex(region.start / page * page),
            hex(placement.previous_end.unwrap_or_default())
        ));
    } else {
        let align = arguments.align.max(page);
        match before.first_fit(landed_node, from, region.size(), align, limit) {
            Some(first) if first < region.start => lines.push(format!(
                "The search hint moved it: node {landed_node}'s first free fit was {}, but the search began at the hint, where the node's last allocation ended.",
                hex(first)
            )),
            Some(first) if first == region.start => lines.push(
                "It took the first free, aligned room at or above where the search began.".to_string(),
            ),
            _ => {}
        }
    }
    lines.push(format!(
        "Landed at [{}, {}) on node {landed_node}: {}.",
        hex(region.start),
        hex(region.end),
        size(region.size())
    ));
    lines
}

/// Why a call found nothing.
pub fn failure(placement: &Placement) -> Vec<String> {
    let arguments = placement.arguments;
    let mut lines = vec![where_it_started(placement)];
    let within = if arguments.limit == 0 {
        String::new()
    } else {
        format!(" below the limit {}", hex(arguments.limit))
    };
    lines.push(format!(
        "No node had {} of free, {}-aligned memory{within}, at the goal or from 0.",
        size(arguments.size),
        size(arguments.align.max(1))
    ));
    lines
}
