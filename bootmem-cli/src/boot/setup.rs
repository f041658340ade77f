//! Set-up before the first call, through the library's `bootmem::setup::set_up`, recorded as the boot's first steps.
//!
//! `set_up` places each node's bitmap at the top of its own RAM clear of
//! what is in use, registers the nodes, frees the RAM and reserves the
//! map's non-RAM ranges and the ranges in use. This file hands it the
//! kernel, initrd, blob and low-memory ranges, wraps the result in the
//! Linux-named layer, and records what set-up reserved as steps: the
//! bitmaps (from the summary), the firmware's ranges and the ranges in use,
//! each clipped to the nodes as `set_up` clips them.

use bootmem::linux::Bootmem;
use bootmem::memory::NoZeroing;
use bootmem::setup::set_up as library_set_up;
use bootmem::{Configuration, PhysicalAddress, PhysicalRange};

use super::kinds::RegionKind;
use super::sequence::{Boot, MAX_BOOT_NODES};
use crate::parse::CommandMemoryMap;

/// Memory in use before bootmem starts: the kernel, the initrd, the blob, the firmware's low pages.
#[derive(Clone, Debug)]
pub struct InUse {
    /// First byte.
    pub start: u64,
    /// Exclusive end.
    pub end: u64,
    /// What it is.
    pub kind: RegionKind,
    /// What it is for.
    pub purpose: String,
    /// The Linux function that reserves it.
    pub source: &'static str,
    /// Why it is where it is.
    pub why: String,
}

/// Builds the allocator over `map` with the library's set-up and records
/// its reservations as steps.
///
/// # Errors
///
/// The library's [`bootmem::setup::SetupError`], in words: a node too
/// small for its bitmap, nodes whose spans overlap, no RAM.
pub fn set_up(
    name: &str,
    map: Box<CommandMemoryMap>,
    configuration: Configuration,
    in_use: &[InUse],
) -> Result<Boot, String> {
    let ranges: Vec<PhysicalRange> = in_use
        .iter()
        .filter_map(|range| {
            PhysicalRange::new(
                PhysicalAddress::new(range.start),
                PhysicalAddress::new(range.end),
            )
        })
        .collect();
    let (allocator, summary) = library_set_up::<Vec<u64>, NoZeroing, MAX_BOOT_NODES, _, _>(
        &map,
        configuration,
        NoZeroing,
        &ranges,
        |_node, range| vec![0; usize::try_from(range.size() / 8).unwrap_or(0)],
    )
    .map_err(|error| format!("{name}: set-up: {error}"))?;
    let mut boot = Boot {
        bootmem: Box::new(Bootmem::from_allocator(allocator)),
        map,
        configuration,
        steps: Vec::new(),
        notes: Vec::new(),
    };
    for node in summary.registered() {
        let Some(bitmap) = node.bitmap else { continue };
        let pages = node.frames.len();
        boot.record_reservation(
            bitmap.start().as_u64(),
            bitmap.end().as_u64(),
            RegionKind::Bitmap,
            format!("node {} bootmem bitmap", node.node),
            "bootmem::setup::set_up (init_bootmem_node, mm/bootmem.c)",
            format!("Set-up put node {}'s bitmap ({pages} pages' bits and their summary) at the top of the node's own RAM, clear of the kernel, initrd and firmware; its pages stay reserved until the hand-off.", node.node),
        );
    }
    record_firmware(&mut boot);
    for range in in_use {
        for (start, end) in clip_to_nodes(&boot, range.start, range.end) {
            boot.record_reservation(
                start,
                end,
                range.kind,
                range.purpose.clone(),
                range.source,
                range.why.clone(),
            );
        }
    }
    Ok(boot)
}

/// The pieces of `[start, end)` inside the registered nodes.
fn clip_to_nodes(boot: &Boot, start: u64, end: u64) -> Vec<(u64, u64)> {
    let page = boot.page();
    boot.bootmem
        .allocator()
        .nodes()
        .filter_map(|node| {
            let low = start.max(node.start.as_u64() * page);
            let high = end.min(node.end.as_u64() * page);
            (low < high).then_some((low, high))
        })
        .collect()
}

/// Records every non-RAM range of the map that set-up reserved inside a node.
fn record_firmware(boot: &mut Boot) {
    let firmware: Vec<(u64, u64, String)> = boot
        .map
        .ranges()
        .iter()
        .filter(|range| !range.kind.is_ram())
        .map(|range| {
            (
                range.start.as_u64(),
                range.end.as_u64(),
                range.kind.to_string(),
            )
        })
        .collect();
    for (start, end, kind) in firmware {
        for (low, high) in clip_to_nodes(boot, start, end) {
            boot.record_reservation(
                low,
                high,
                RegionKind::Firmware,
                format!("firmware range ({kind})"),
                "bootmem::setup::set_up (the firmware's memory map)",
                format!("The map marks [{low:#x}, {high:#x}) `{kind}` inside a node: set-up never frees it."),
            );
        }
    }
}
