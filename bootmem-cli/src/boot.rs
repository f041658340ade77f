//! `bootmem boot`: simulate a Linux-like x86-64 boot on a memory map, then print, export or draw it.
//!
//! The simulation follows v4.19's `setup_arch` and `start_kernel` as far as
//! bootmem sees them: one node allocator per NUMA node with its bitmap at
//! the top of the node's own RAM, the RAM freed, the bitmaps, the low
//! 64 KiB, the firmware's ranges, the kernel image and the initrd reserved;
//! then the real-mode trampoline, the early page tables, each node's
//! `pglist_data` and `struct page` array, the per-CPU areas, the log
//! buffer, the large system hashes and the swiotlb bounce buffer; then
//! `free_all_bootmem`. Every allocation goes through a `_nopanic` call, so
//! a machine too small for the sequence is an error message, not a panic.

mod sequence;
mod svg;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::map;
use crate::parse::{self, Format};

pub use sequence::{simulate, Layout, Region, RegionKind, Simulation};

/// The embedded default machine: a two-socket x86-64 server's boot log.
pub const DEFAULT_MACHINE: &str = include_str!("boot/default-machine.txt");

/// The name the embedded default machine goes by in messages.
pub const DEFAULT_MACHINE_NAME: &str = "(embedded two-socket server)";

/// Arguments of `bootmem boot`.
#[derive(clap::Args)]
pub struct BootArguments {
    /// The memory map to boot on (dmesg, /proc/iomem, device tree blob, TOML); an embedded two-socket server by default.
    pub map: Option<PathBuf>,
    /// The input format (guessed from the content by default).
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Also draw the physical address space as an SVG picture into FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Where the kernel image is loaded (default: CONFIG_PHYSICAL_START, 16 MiB, or the lowest 2 MiB-aligned RAM that holds it when that is not RAM).
    #[arg(long, value_parser = parse_size)]
    pub kernel_address: Option<u64>,
    /// Size of the kernel image, text to bss (K, M, G suffixes).
    #[arg(long, default_value = "32M", value_parser = parse_size)]
    pub kernel_size: u64,
    /// Where the initrd lies (default: as high in RAM below 4 GiB as it fits, as a bootloader puts it).
    #[arg(long, value_parser = parse_size)]
    pub initrd_address: Option<u64>,
    /// Size of the initrd; 0 for none.
    #[arg(long, default_value = "64M", value_parser = parse_size)]
    pub initrd_size: u64,
    /// CPUs on each node, each with a per-CPU unit.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub cpus_per_node: u64,
    /// Bytes of a per-CPU unit.
    #[arg(long, default_value = "256K", value_parser = parse_size)]
    pub percpu_unit: u64,
    /// Bytes of the kernel log buffer (log_buf_len).
    #[arg(long, default_value = "1M", value_parser = parse_size)]
    pub log_buffer: u64,
    /// Bytes of the swiotlb bounce buffer below 4 GiB; 0 for none.
    #[arg(long, default_value = "64M", value_parser = parse_size)]
    pub bounce_buffer: u64,
}

/// Parses `123`, `0x1000`, `16M`, `1G`, `4K`, with `_` separators.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let cleaned = text.trim().replace('_', "");
    let (digits, shift) = match cleaned.char_indices().last() {
        Some((index, 'K' | 'k')) => (&cleaned[..index], 10),
        Some((index, 'M' | 'm')) => (&cleaned[..index], 20),
        Some((index, 'G' | 'g')) => (&cleaned[..index], 30),
        Some((index, 'T' | 't')) => (&cleaned[..index], 40),
        _ => (cleaned.as_str(), 0),
    };
    let value = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse(),
    }
    .map_err(|error| format!("`{text}`: {error}"))?;
    value
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}`: too large for 64 bits"))
}

/// Runs `bootmem boot`.
pub fn run(arguments: &BootArguments) -> ExitCode {
    match run_fallibly(arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn run_fallibly(arguments: &BootArguments) -> Result<(), String> {
    let (name, firmware) = match &arguments.map {
        Some(path) => (
            path.display().to_string(),
            parse::read_memory_map(path, arguments.format).map_err(|error| error.to_string())?,
        ),
        None => (
            DEFAULT_MACHINE_NAME.to_string(),
            parse::parse_memory_map(DEFAULT_MACHINE.as_bytes(), Format::Dmesg, false, None)
                .map_err(|error| error.in_named_file(DEFAULT_MACHINE_NAME).to_string())?,
        ),
    };
    let layout = Layout {
        kernel_address: arguments.kernel_address,
        kernel_size: arguments.kernel_size,
        initrd_address: arguments.initrd_address,
        initrd_size: arguments.initrd_size,
        cpus_per_node: arguments.cpus_per_node,
        percpu_unit: arguments.percpu_unit,
        log_buffer: arguments.log_buffer,
        bounce_buffer: arguments.bounce_buffer,
    };
    let simulation = simulate(&name, firmware, &layout)?;
    if let Some(path) = &arguments.svg {
        std::fs::write(path, svg::render(&simulation))
            .map_err(|error| format!("{}: {error}", path.display()))?;
    }
    if arguments.json {
        println!("{}", to_json(&simulation));
    } else {
        print!("{}", to_report(&simulation));
    }
    Ok(())
}

/// A byte count in the largest binary unit that keeps it readable.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut unit = 0;
    while unit + 1 < UNITS.len() && u128::from(bytes) >= 1024u128 << (10 * unit) {
        unit += 1;
    }
    let scale = 1u64 << (10 * unit);
    if bytes % scale == 0 {
        format!("{} {}", bytes / scale, UNITS[unit])
    } else {
        format!("{:.1} {}", bytes as f64 / scale as f64, UNITS[unit])
    }
}

fn node_text(node: Option<u32>) -> String {
    node.map_or_else(|| "-".to_string(), |node| node.to_string())
}

/// The report `bootmem boot` prints: map, reservations, allocations, per-node use, hand-off.
pub fn to_report(simulation: &Simulation) -> String {
    let mut out = map::to_table(&simulation.name, &simulation.firmware, &simulation.map);
    let page = simulation.map.page_size().bytes();
    let _ = writeln!(out);
    let _ = writeln!(out, "reservations (reserve_bootmem):");
    let _ = writeln!(
        out,
        "{:<18}  {:>10}  {:>4}  purpose",
        "address", "size", "node"
    );
    for region in &simulation.reservations {
        let _ = writeln!(
            out,
            "{:#018x}  {:>10}  {:>4}  {}",
            region.start,
            human(region.size()),
            node_text(region.node),
            region.purpose
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "allocations, in boot order:");
    let _ = writeln!(
        out,
        "{:<18}  {:>10}  {:>4}  {:<34}  purpose",
        "address", "size", "node", "call"
    );
    for region in &simulation.allocations {
        let _ = writeln!(
            out,
            "{:#018x}  {:>10}  {:>4}  {:<34}  {}",
            region.start,
            human(region.size()),
            node_text(region.node),
            region.call,
            region.purpose
        );
    }
    for note in &simulation.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "per-node use before free_all_bootmem:");
    let _ = writeln!(
        out,
        "{:>4}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}",
        "node", "ram", "reserved", "allocated", "allocations", "free"
    );
    for node in &simulation.node_use {
        let _ = writeln!(
            out,
            "{:>4}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}",
            node.node,
            human(node.ram_bytes),
            human(node.reserved_bytes),
            human(node.allocated_bytes),
            node.allocations,
            human(node.free_pages * page)
        );
    }
    let _ = writeln!(out);
    let handoff = &simulation.handoff;
    let _ = writeln!(
        out,
        "free_all_bootmem: {} pages ({}) handed to the page allocator: {} free, {} of bitmaps",
        handoff.total_pages,
        human(handoff.total_pages * page),
        handoff.free_pages,
        handoff.bitmap_pages
    );
    let orders: Vec<u32> = handoff
        .nodes
        .iter()
        .flat_map(|node| node.blocks_by_order.keys().copied())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut header = format!("{:>4}", "node");
    for order in &orders {
        let _ = write!(header, "  {:>12}", format!("order-{order}"));
    }
    let _ = writeln!(out, "{header}  {:>12}  {:>12}", "bitmap pages", "pages");
    for node in &handoff.nodes {
        let mut line = format!("{:>4}", node.node);
        for order in &orders {
            let blocks = node.blocks_by_order.get(order).copied().unwrap_or(0);
            let _ = write!(line, "  {blocks:>12}");
        }
        let _ = writeln!(out, "{line}  {:>12}  {:>12}", node.bitmap_pages, node.pages);
    }
    out
}

/// The JSON object of `bootmem boot --json`.
pub fn to_json(simulation: &Simulation) -> serde_json::Value {
    let region = |region: &Region| {
        json!({
            "start": region.start,
            "end": region.end,
            "size": region.size(),
            "node": region.node,
            "kind": region.kind.name(),
            "purpose": region.purpose,
            "call": region.call,
        })
    };
    let node_use: Vec<_> = simulation
        .node_use
        .iter()
        .map(|node| {
            json!({
                "nid": node.node,
                "ram_bytes": node.ram_bytes,
                "reserved_bytes": node.reserved_bytes,
                "allocated_bytes": node.allocated_bytes,
                "allocations": node.allocations,
                "free_pages": node.free_pages,
            })
        })
        .collect();
    let handoff_nodes: Vec<_> = simulation
        .handoff
        .nodes
        .iter()
        .map(|node| {
            let orders: BTreeMap<String, u64> = node
                .blocks_by_order
                .iter()
                .map(|(order, count)| (order.to_string(), *count))
                .collect();
            json!({
                "nid": node.node,
                "blocks_by_order": orders,
                "bitmap_pages": node.bitmap_pages,
                "pages": node.pages,
            })
        })
        .collect();
    json!({
        "name": simulation.name,
        "page_size": simulation.map.page_size().bytes(),
        "map": map::to_json(&simulation.firmware, &simulation.map),
        "reservations": simulation.reservations.iter().map(region).collect::<Vec<_>>(),
        "allocations": simulation.allocations.iter().map(region).collect::<Vec<_>>(),
        "node_use": node_use,
        "notes": simulation.notes,
        "handoff": {
            "total_pages": simulation.handoff.total_pages,
            "free_pages": simulation.handoff.free_pages,
            "bitmap_pages": simulation.handoff.bitmap_pages,
            "nodes": handoff_nodes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_suffixes_and_hex() {
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("0x1000"), Ok(0x1000));
        assert_eq!(parse_size("1_024k"), Ok(1 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert!(parse_size("16Q").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("20000000T").is_err());
    }

    #[test]
    fn the_embedded_machine_has_two_nodes() {
        let firmware =
            parse::parse_memory_map(DEFAULT_MACHINE.as_bytes(), Format::Auto, false, None)
                .expect("the embedded map parses");
        let map = firmware
            .normalise(bootmem::PageSize::SIZE_4KIB)
            .expect("and normalises");
        assert_eq!(map.nodes().len(), 2);
        // 624 KiB, 1.9 GiB and 68 MiB below 4 GiB, 62 GiB above.
        assert_eq!(
            map.ram_bytes(),
            0x9_c000 + 0x7a20_0000 + 0x440_0000 + (62 << 30)
        );
    }
}
