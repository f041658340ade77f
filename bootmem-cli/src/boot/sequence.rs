//! The simulation engine every architecture's sequence runs on: set-up, reservations, allocations with their reasons, the hand-off.
//!
//! An architecture's file ([`super::x86_64`], [`super::arm64`] ...) says
//! which calls its v4.19 boot makes, in order, with which sizes; this file
//! makes them through the library's Linux-named layer, records each as a
//! [`Step`] (call, arguments, where it landed and why), and turns an
//! allocation Linux could not survive into a simulated panic that ends the
//! sequence instead of an error.

use std::collections::BTreeMap;

use bootmem::linux::{Bootmem, NoPanicResult, BOOTMEM_DEFAULT};
use bootmem::memory::NoZeroing;
use bootmem::{BlockKind, Configuration, NodeId};

use super::arch::Architecture;
use super::explain::{self, FreeState, Placement};
use super::kinds::RegionKind;
use crate::parse::{CommandMemoryMap, FirmwareMap};

/// How many nodes with memory a simulated machine may have (Linux's largest `MAX_NUMNODES`).
pub const MAX_BOOT_NODES: usize = 1024;

pub(super) type SimulatedBootmem = Bootmem<Vec<u64>, NoZeroing, MAX_BOOT_NODES>;

pub(super) const KIB: u64 = 1 << 10;
pub(super) const MIB: u64 = 1 << 20;
pub(super) const GIB: u64 = 1 << 30;

/// A reservation or an allocation: `[start, end)` bytes.
#[derive(Clone, Debug)]
pub struct Region {
    /// First byte.
    pub start: u64,
    /// Exclusive end.
    pub end: u64,
    /// The node it lies on, if any.
    pub node: Option<u32>,
    /// What it is.
    pub kind: RegionKind,
    /// What it is for, in words.
    pub purpose: String,
    /// The bootmem call that made it.
    pub call: &'static str,
}

impl Region {
    /// Its size in bytes.
    pub const fn size(&self) -> u64 {
        self.end - self.start
    }
}

/// The arguments of one call, as the Linux function passes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Arguments {
    /// Bytes asked for.
    pub size: u64,
    /// Alignment in bytes (0 for a reservation).
    pub align: u64,
    /// Where the search starts (0: none).
    pub goal: u64,
    /// Exclusive upper bound (0: none).
    pub limit: u64,
    /// The node asked for, if the call names one.
    pub node: Option<u32>,
}

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A reservation of memory already in use.
    Reserved,
    /// An allocation that found room.
    Allocated,
    /// An allocation that found none; the kernel carries on without it.
    Skipped,
    /// An allocation that found none; the kernel panics here.
    Panicked,
}

impl Outcome {
    /// The name used in JSON and on the page.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Allocated => "allocated",
            Self::Skipped => "skipped",
            Self::Panicked => "panicked",
        }
    }
}

/// One call of the boot, in order: what was asked, where it landed, why.
#[derive(Clone, Debug)]
pub struct Step {
    /// The bootmem call made.
    pub call: &'static str,
    /// The Linux function (and file) that makes the allocation.
    pub source: &'static str,
    /// Its arguments.
    pub arguments: Arguments,
    /// Where it landed, when it did.
    pub region: Option<Region>,
    /// What it is.
    pub kind: RegionKind,
    /// What it is for.
    pub purpose: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it landed where it did (or what the kernel does without it).
    pub explanation: Vec<String>,
}

/// One node's use of memory just before the hand-off.
#[derive(Clone, Debug)]
pub struct NodeUse {
    /// The node.
    pub node: u32,
    /// Its RAM.
    pub ram_bytes: u64,
    /// Bytes of its RAM reserved (bitmap, kernel, initrd, low memory).
    pub reserved_bytes: u64,
    /// Bytes allocated on it.
    pub allocated_bytes: u64,
    /// Allocations on it.
    pub allocations: u64,
    /// Its free pages.
    pub free_pages: u64,
}

/// What one node handed to the page allocator.
#[derive(Clone, Debug, Default)]
pub struct NodeHandOff {
    /// The node.
    pub node: u32,
    /// Free blocks by order.
    pub blocks_by_order: BTreeMap<u32, u64>,
    /// Bitmap pages released.
    pub bitmap_pages: u64,
    /// All pages released.
    pub pages: u64,
}

/// The hand-off summary.
#[derive(Clone, Debug, Default)]
pub struct HandOffSummary {
    /// Pages released, as `free_all_bootmem` returns.
    pub total_pages: u64,
    /// Of which free memory.
    pub free_pages: u64,
    /// Of which bitmap pages.
    pub bitmap_pages: u64,
    /// By node.
    pub nodes: Vec<NodeHandOff>,
}

/// A line drawn across the address space that explains placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// The address.
    pub address: u64,
    /// What it is (`"1 MiB"`, `"4 GiB (DMA32)"` ...).
    pub label: String,
}

/// A whole simulated boot.
#[derive(Clone, Debug)]
pub struct Simulation {
    /// The map's name.
    pub name: String,
    /// The architecture whose sequence ran.
    pub architecture: Architecture,
    /// Why that architecture.
    pub architecture_because: String,
    /// The firmware map as read.
    pub firmware: FirmwareMap,
    /// The normalised map (the whole machine).
    pub map: Box<CommandMemoryMap>,
    /// Every call, in boot order.
    pub steps: Vec<Step>,
    /// Reservations, in order.
    pub reservations: Vec<Region>,
    /// Allocations, in order.
    pub allocations: Vec<Region>,
    /// Per-node use before the hand-off.
    pub node_use: Vec<NodeUse>,
    /// The hand-off.
    pub handoff: HandOffSummary,
    /// What the boot did differently from the full sequence, and why.
    pub notes: Vec<String>,
    /// The lines that explain placement.
    pub limits: Vec<Limit>,
    /// RAM that bootmem never manages (32-bit highmem), as `[start, end)`.
    pub highmem: Vec<(u64, u64)>,
    /// The panic that ended the sequence early, if one did.
    pub panic: Option<String>,
}

/// What the boot does when an allocation finds no room.
#[derive(Clone, Debug)]
pub enum OnFailure {
    /// The kernel panics (the sequence stops here).
    Panic,
    /// The kernel carries on: what it does instead, in words.
    CarryOn(String),
}

/// Which nodes a call may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nodes {
    /// Any node, in address order (`___alloc_bootmem_nopanic`).
    Any,
    /// This node first, then any (`___alloc_bootmem_node_nopanic`).
    Prefer(u32),
}

/// One allocation an architecture's sequence asks for.
#[derive(Clone, Debug)]
pub struct Request {
    /// The bootmem call (shown; the engine makes the equivalent canonical call).
    pub call: &'static str,
    /// The Linux function and file that makes it.
    pub source: &'static str,
    /// What it is.
    pub kind: RegionKind,
    /// What it is for.
    pub purpose: String,
    /// Bytes.
    pub size: u64,
    /// Alignment.
    pub align: u64,
    /// Goal (0: none).
    pub goal: u64,
    /// Why that goal, in words (shown when the goal is not 0).
    pub goal_reason: &'static str,
    /// Limit (0: none).
    pub limit: u64,
    /// Which nodes.
    pub nodes: Nodes,
    /// What happens when nothing fits.
    pub on_failure: OnFailure,
}

impl Request {
    /// A request with no goal, no limit, any node, panicking on failure.
    pub fn new(
        call: &'static str,
        source: &'static str,
        kind: RegionKind,
        purpose: impl Into<String>,
        size: u64,
        align: u64,
    ) -> Self {
        Self {
            call,
            source,
            kind,
            purpose: purpose.into(),
            size,
            align,
            goal: 0,
            goal_reason: "",
            limit: 0,
            nodes: Nodes::Any,
            on_failure: OnFailure::Panic,
        }
    }

    /// Sets the goal and why.
    pub fn goal(mut self, goal: u64, reason: &'static str) -> Self {
        self.goal = goal;
        self.goal_reason = reason;
        self
    }

    /// Sets the limit.
    pub const fn limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// Sets the nodes.
    pub const fn nodes(mut self, nodes: Nodes) -> Self {
        self.nodes = nodes;
        self
    }

    /// The kernel carries on without it, doing `instead`.
    pub fn or_else(mut self, instead: impl Into<String>) -> Self {
        self.on_failure = OnFailure::CarryOn(instead.into());
        self
    }
}

/// The kernel panicked: the sequence ends here.
#[derive(Clone, Debug)]
pub struct Panicked(pub String);

/// The boot in progress: the allocator and everything recorded so far.
pub struct Boot {
    /// The Linux-named allocator.
    pub bootmem: Box<SimulatedBootmem>,
    /// The map bootmem manages (lowmem only on 32-bit).
    pub map: Box<CommandMemoryMap>,
    /// The allocator's constants.
    pub configuration: Configuration,
    /// Calls so far.
    pub steps: Vec<Step>,
    /// Notes so far.
    pub notes: Vec<String>,
}

impl Boot {
    /// The page size in bytes.
    pub fn page(&self) -> u64 {
        self.configuration.page_size.bytes()
    }

    /// The node whose span holds `address`.
    pub fn node_of(&self, address: u64) -> Option<u32> {
        node_of(&self.map, address)
    }

    /// Records a reservation that set-up (or the bootloader) made.
    pub fn record_reservation(
        &mut self,
        start: u64,
        end: u64,
        kind: RegionKind,
        purpose: impl Into<String>,
        source: &'static str,
        why: impl Into<String>,
    ) {
        let purpose = purpose.into();
        let region = Region {
            start,
            end,
            node: self.node_of(start),
            kind,
            purpose: purpose.clone(),
            call: "reserve_bootmem",
        };
        self.steps.push(Step {
            call: "reserve_bootmem",
            source,
            arguments: Arguments {
                size: end - start,
                node: region.node,
                ..Arguments::default()
            },
            region: Some(region),
            kind,
            purpose,
            outcome: Outcome::Reserved,
            explanation: vec![why.into()],
        });
    }

    /// Reserves `[start, end)` with `reserve_bootmem` and records it.
    ///
    /// # Errors
    ///
    /// The range leaves the nodes (a bad `--kernel-address`, say).
    pub fn reserve(
        &mut self,
        start: u64,
        end: u64,
        kind: RegionKind,
        purpose: impl Into<String>,
        source: &'static str,
        why: impl Into<String>,
    ) -> Result<(), String> {
        let purpose = purpose.into();
        self.bootmem
            .reserve_bootmem(start, end - start, BOOTMEM_DEFAULT)
            .map_err(|error| {
                format!(
                    "reserve_bootmem({start:#x}, {:#x}) for {purpose}: {error}",
                    end - start
                )
            })?;
        self.record_reservation(start, end, kind, purpose, source, why);
        Ok(())
    }

    fn make_call(&mut self, request: &Request) -> NoPanicResult {
        let Request {
            size,
            align,
            goal,
            limit,
            ..
        } = *request;
        match request.nodes {
            Nodes::Any => self
                .bootmem
                .___alloc_bootmem_nopanic(size, align, goal, limit),
            Nodes::Prefer(node) => self
                .bootmem
                .___alloc_bootmem_node_nopanic(node, size, align, goal, limit),
        }
    }

    /// Makes one allocation and records it with its reasons.
    ///
    /// # Errors
    ///
    /// [`Panicked`] when nothing fits and the kernel would panic, or when
    /// the call is one Linux would `BUG()` on.
    pub fn allocate(&mut self, request: Request) -> Result<Option<u64>, Panicked> {
        let before = FreeState::capture(self.bootmem.allocator());
        let previous_end = self
            .steps
            .iter()
            .rev()
            .find(|step| step.outcome == Outcome::Allocated)
            .and_then(|step| step.region.as_ref().map(|region| region.end));
        let result = self.make_call(&request);
        let node = match request.nodes {
            Nodes::Any => None,
            Nodes::Prefer(node) => Some(node),
        };
        let arguments = Arguments {
            size: request.size,
            align: request.align,
            goal: request.goal,
            limit: request.limit,
            node,
        };
        let mut step = Step {
            call: request.call,
            source: request.source,
            arguments,
            region: None,
            kind: request.kind,
            purpose: request.purpose.clone(),
            outcome: Outcome::Allocated,
            explanation: Vec::new(),
        };
        let placement = Placement {
            arguments,
            goal_reason: request.goal_reason,
            page: self.page(),
            previous_end,
        };
        // A memblock search whose goal and size pass its limit simply finds
        // nothing (bootmem would BUG()): the kernel's calls are memblock's.
        let result = match result {
            Err(bootmem::AllocationError::GoalPastLimit { .. }) => Ok(None),
            other => other,
        };
        match result {
            Ok(Some(address)) => {
                let start = address.as_u64();
                let region = Region {
                    start,
                    end: start + request.size,
                    node: self.node_of(start),
                    kind: request.kind,
                    purpose: request.purpose,
                    call: request.call,
                };
                step.explanation = explain::reasons(&placement, &before, &region);
                step.region = Some(region);
                self.steps.push(step);
                Ok(Some(start))
            }
            Ok(None) => {
                step.explanation = explain::failure(&placement);
                match request.on_failure {
                    OnFailure::CarryOn(instead) => {
                        step.outcome = Outcome::Skipped;
                        step.explanation.push(instead.clone());
                        self.notes.push(format!("{}: {instead}", request.purpose));
                        self.steps.push(step);
                        Ok(None)
                    }
                    OnFailure::Panic => {
                        let message = format!(
                            "{}({:#x}) for {}: out of memory; the kernel panics here (bootmem alloc of {} bytes failed!)",
                            request.call, request.size, request.purpose, request.size
                        );
                        step.outcome = Outcome::Panicked;
                        step.explanation.push(message.clone());
                        self.steps.push(step);
                        Err(Panicked(message))
                    }
                }
            }
            Err(error) => {
                let message = format!(
                    "{}({:#x}) for {}: {error} (Linux would BUG())",
                    request.call, request.size, request.purpose
                );
                step.outcome = Outcome::Panicked;
                step.explanation.push(message.clone());
                self.steps.push(step);
                Err(Panicked(message))
            }
        }
    }

    /// Notes what the boot does differently, and why.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

/// The node whose span holds `address`.
pub fn node_of(map: &CommandMemoryMap, address: u64) -> Option<u32> {
    let frame = address >> map.page_size().shift();
    map.nodes()
        .iter()
        .find(|span| {
            !span.is_memoryless() && span.start.as_u64() <= frame && frame < span.end.as_u64()
        })
        .map(|span| span.node.as_u32())
}

/// The RAM ranges of the map as `(start, end)`, optionally of one node.
pub fn ram_ranges(map: &CommandMemoryMap, node: Option<NodeId>) -> Vec<(u64, u64)> {
    map.ram_ranges()
        .filter(|range| node.is_none() || range.node == node)
        .map(|range| (range.start.as_u64(), range.end.as_u64()))
        .collect()
}

/// Whether every byte of `[start, end)` is RAM.
pub fn all_ram(ranges: &[(u64, u64)], start: u64, end: u64) -> bool {
    let mut position = start;
    for &(low, high) in ranges {
        if low <= position && position < high {
            position = high;
        }
        if position >= end {
            return true;
        }
    }
    position >= end
}

/// The highest `bytes`-sized piece of `ranges` aligned to `align` below
/// `ceiling` that overlaps none of `avoid`.
pub fn place_highest(
    ranges: &[(u64, u64)],
    bytes: u64,
    ceiling: u64,
    avoid: &[(u64, u64)],
    align: u64,
) -> Option<u64> {
    for &(low, high) in ranges.iter().rev() {
        let mut high = high.min(ceiling);
        while high >= low.checked_add(bytes)? {
            let start = (high - bytes) & !(align - 1);
            if start < low {
                break;
            }
            match avoid
                .iter()
                .filter(|&&(first, end)| first < start + bytes && start < end)
                .map(|&(first, _)| first)
                .min()
            {
                None => return Some(start),
                Some(blocker) => high = blocker,
            }
        }
    }
    None
}

/// The lowest `bytes`-sized piece of `ranges` aligned to `align` at or
/// above `floor` that overlaps none of `avoid`.
pub fn place_lowest(
    ranges: &[(u64, u64)],
    bytes: u64,
    floor: u64,
    avoid: &[(u64, u64)],
    align: u64,
) -> Option<u64> {
    for &(low, high) in ranges {
        let mut start = low.max(floor).checked_add(align - 1)? & !(align - 1);
        while start.checked_add(bytes)? <= high {
            match avoid
                .iter()
                .filter(|&&(first, end)| first < start + bytes && start < end)
                .map(|&(_, end)| end)
                .max()
            {
                None => return Some(start),
                Some(blocker) => start = blocker.checked_add(align - 1)? & !(align - 1),
            }
        }
    }
    None
}

/// Per-node use, then `free_all_bootmem`.
pub(super) fn hand_off(boot: Boot) -> (Vec<NodeUse>, HandOffSummary, Vec<Step>, Vec<String>) {
    let regions: Vec<&Region> = boot
        .steps
        .iter()
        .filter_map(|step| step.region.as_ref())
        .collect();
    let node_use = boot
        .bootmem
        .allocator()
        .nodes()
        .map(|summary| {
            let nid = summary.node.as_u32();
            let on_node = |outcome: Outcome| {
                boot.steps
                    .iter()
                    .filter(move |step| step.outcome == outcome)
                    .filter_map(|step| step.region.as_ref())
                    .filter(move |region| region.node == Some(nid))
            };
            let ram_bytes = boot
                .map
                .nodes()
                .iter()
                .find(|span| span.node == summary.node)
                .map_or(0, |span| span.ram_bytes);
            NodeUse {
                node: nid,
                ram_bytes,
                reserved_bytes: on_node(Outcome::Reserved).map(Region::size).sum(),
                allocated_bytes: on_node(Outcome::Allocated).map(Region::size).sum(),
                allocations: on_node(Outcome::Allocated).count() as u64,
                free_pages: summary.free_pages,
            }
        })
        .collect();
    drop(regions);
    let mut handoff = HandOffSummary::default();
    let mut by_node: BTreeMap<u32, NodeHandOff> = BTreeMap::new();
    handoff.total_pages = (*boot.bootmem).free_all_bootmem(|block| {
        let nid = block.node.as_u32();
        let entry = by_node.entry(nid).or_insert_with(|| NodeHandOff {
            node: nid,
            ..NodeHandOff::default()
        });
        entry.pages += block.pages();
        match block.kind {
            BlockKind::Free => {
                *entry
                    .blocks_by_order
                    .entry(u32::from(block.order))
                    .or_insert(0) += 1;
                handoff.free_pages += block.pages();
            }
            BlockKind::Bitmap => {
                entry.bitmap_pages += block.pages();
                handoff.bitmap_pages += block.pages();
            }
        }
    });
    handoff.nodes = by_node.into_values().collect();
    (node_use, handoff, boot.steps, boot.notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_takes_the_highest_room_clear_of_what_to_avoid() {
        let ranges = [(0x1000, 0x9_f000), (0x10_0000, 0x800_0000)];
        assert_eq!(
            place_highest(&ranges, 0x2000, u64::MAX, &[], 0x1000),
            Some(0x7ff_e000)
        );
        let avoid = [(0x7f0_0000, 0x800_0000)];
        assert_eq!(
            place_highest(&ranges, 0x2000, u64::MAX, &avoid, 0x1000),
            Some(0x7ef_e000)
        );
        assert_eq!(
            place_highest(&ranges, 0x2000, 0x20_0000, &[], 0x1000),
            Some(0x1f_e000)
        );
        assert_eq!(
            place_highest(&ranges, 0x1_0000_0000, u64::MAX, &[], 0x1000),
            None
        );
    }

    #[test]
    fn lowest_placement_steps_over_what_to_avoid() {
        let ranges = [(0x1000, 0x9_f000), (0x10_0000, 0x800_0000)];
        assert_eq!(place_lowest(&ranges, 0x2000, 0, &[], 0x1000), Some(0x1000));
        let avoid = [(0x10_0000, 0x20_0000)];
        assert_eq!(
            place_lowest(&ranges, 0x10_0000, 0x9_0000, &avoid, 0x20_0000),
            Some(0x20_0000)
        );
        assert_eq!(place_lowest(&ranges, 1 << 40, 0, &[], 0x1000), None);
    }

    #[test]
    fn ram_coverage() {
        let ranges = [(0, 0x9_f000), (0x10_0000, 0x800_0000)];
        assert!(all_ram(&ranges, 0x100_0000, 0x300_0000));
        assert!(!all_ram(&ranges, 0x9_0000, 0x11_0000));
        assert!(!all_ram(&ranges, 0x700_0000, 0x900_0000));
    }
}
