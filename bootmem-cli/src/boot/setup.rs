//! Set-up before the first call: one bootmem node per NUMA node, RAM freed, the firmware's ranges and what is in use reserved.

use bootmem::linux::Bootmem;
use bootmem::memory::NoZeroing;
use bootmem::Configuration;

use super::kinds::RegionKind;
use super::sequence::{place_highest, ram_ranges, Boot, SimulatedBootmem};
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

/// Builds the allocator over `map`: each node's bitmap at the top of its
/// own RAM clear of `in_use`, the node registered, its RAM freed, the
/// map's non-RAM ranges inside nodes and the `in_use` ranges reserved,
/// each reservation recorded as a step.
///
/// # Errors
///
/// A node with no room for its bitmap, or an `in_use` range outside the nodes.
pub fn set_up(
    name: &str,
    map: Box<CommandMemoryMap>,
    configuration: Configuration,
    in_use: &[InUse],
) -> Result<Boot, String> {
    let page = configuration.page_size.bytes();
    let shift = configuration.page_size.shift();
    let mut bootmem: Box<SimulatedBootmem> = Box::new(Bootmem::new(configuration, NoZeroing));
    let avoid: Vec<(u64, u64)> = in_use
        .iter()
        .map(|range| (range.start, range.end))
        .collect();
    let mut bitmaps = Vec::new();
    for span in map.nodes().iter().filter(|span| !span.is_memoryless()) {
        let (start, end) = (span.start.as_u64(), span.end.as_u64());
        let pages = end - start;
        let bitmap_bytes = bootmem::node_storage_bytes(pages).div_ceil(page) * page;
        let node_ranges = ram_ranges(&map, Some(span.node));
        let address = place_highest(&node_ranges, bitmap_bytes, u64::MAX, &avoid, page)
            .ok_or_else(|| {
                format!(
                    "{name}: node {}: no room for a {bitmap_bytes}-byte bitmap in its RAM",
                    span.node
                )
            })?;
        let words = usize::try_from(bootmem::node_storage_words(pages))
            .map_err(|_| format!("{name}: node {} too large", span.node))?;
        bootmem
            .init_bootmem_node(
                span.node.as_u32(),
                address >> shift,
                start,
                end,
                vec![0; words],
            )
            .map_err(|error| format!("init_bootmem_node({}): {error}", span.node))?;
        bitmaps.push((span.node.as_u32(), address, address + bitmap_bytes, pages));
    }
    for (start, end) in ram_ranges(&map, None) {
        bootmem
            .free_bootmem(start, end - start)
            .map_err(|error| format!("free_bootmem({start:#x}, {:#x}): {error}", end - start))?;
    }
    let mut boot = Boot {
        bootmem,
        map,
        configuration,
        steps: Vec::new(),
        notes: Vec::new(),
    };
    for (node, start, end, pages) in bitmaps {
        boot.reserve(
            start,
            end,
            RegionKind::Bitmap,
            format!("node {node} bootmem bitmap"),
            "init_bootmem_node (mm/bootmem.c)",
            format!("Set-up puts node {node}'s bitmap ({pages} pages' bits) at the top of the node's own RAM, clear of the kernel, initrd and firmware; its pages stay reserved until the hand-off."),
        )?;
    }
    reserve_firmware(&mut boot)?;
    for range in in_use {
        if boot.node_of(range.start).is_none() {
            continue;
        }
        boot.reserve(
            range.start,
            range.end,
            range.kind,
            range.purpose.clone(),
            range.source,
            range.why.clone(),
        )?;
    }
    Ok(boot)
}

/// Reserves every non-RAM range of the map that lies inside a node.
fn reserve_firmware(boot: &mut Boot) -> Result<(), String> {
    let shift = boot.configuration.page_size.shift();
    let spans: Vec<(u64, u64)> = boot
        .map
        .nodes()
        .iter()
        .filter(|span| !span.is_memoryless())
        .map(|span| (span.start.as_u64() << shift, span.end.as_u64() << shift))
        .collect();
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
        for &(node_start, node_end) in &spans {
            let (low, high) = (start.max(node_start), end.min(node_end));
            if low < high {
                boot.reserve(
                    low,
                    high,
                    RegionKind::Firmware,
                    format!("firmware range ({kind})"),
                    "the firmware's memory map",
                    format!("The map marks [{low:#x}, {high:#x}) `{kind}` inside a node: it is never freed, so set-up reserves it."),
                )?;
            }
        }
    }
    Ok(())
}
