//! `bootmem boot`: run an architecture's v4.19 sequence of early allocations on a memory map, then print, export, draw or step through it.
//!
//! The architecture comes from the map (an e820 table is x86-64; a device
//! tree or boot log names its CPUs) or from `--arch`. Set-up gives each
//! NUMA node a bootmem allocator with its bitmap at the top of its own RAM,
//! frees the RAM and reserves the firmware's ranges, the kernel, the initrd
//! and the blob; then the architecture's file makes the calls its v4.19
//! boot makes (`x86_64`, `arm64`, `riscv64`, `arm`), each recorded as a
//! step with its reasons; then `free_all_bootmem`. A call Linux could not
//! survive ends the sequence as a simulated panic, in the report.

mod arch;
mod arm;
mod arm64;
mod cmdline;
mod common;
mod explain;
mod kinds;
mod loader;
mod riscv64;
mod sequence;
mod setup;
mod simulate;
mod sizes;
mod x86_64;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::parse::{self, Format};
use crate::render::page::{self, Page, PageLimit, PageNode, PageRange, PageStep, Policy};
use crate::render::size::{size, size_wide};
use crate::render::{html, palette, svg};

pub use arch::Architecture;
pub use kinds::RegionKind;
pub use sequence::{Region, Simulation, Step};
pub use simulate::Layout;

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
    /// The architecture whose boot to simulate (read from the map by default).
    #[arg(long, value_enum)]
    pub arch: Option<Architecture>,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Also draw the physical address space as an SVG picture into FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Also write a self-contained HTML page that steps through the boot into FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Where the kernel image is loaded (default: the architecture's boot protocol).
    #[arg(long, value_parser = parse_size)]
    pub kernel_address: Option<u64>,
    /// Size of the kernel image, text to bss (K, M, G suffixes; default: the architecture's, at most 1/8 of RAM).
    #[arg(long, value_parser = parse_size)]
    pub kernel_size: Option<u64>,
    /// Where the initrd lies (default: as high as the boot protocol lets a bootloader put it).
    #[arg(long, value_parser = parse_size)]
    pub initrd_address: Option<u64>,
    /// Size of the initrd; 0 for none (default: 64M, at most 1/8 of RAM).
    #[arg(long, value_parser = parse_size)]
    pub initrd_size: Option<u64>,
    /// CPUs on each node, each with a per-CPU unit (default: the architecture's typical machine).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub cpus_per_node: Option<u64>,
    /// Bytes of a per-CPU unit (default: a defconfig kernel's).
    #[arg(long, value_parser = parse_size)]
    pub percpu_unit: Option<u64>,
    /// Bytes of the kernel log buffer (default: log_buf_len= of the map's command line, else the per-CPU rule).
    #[arg(long, value_parser = parse_size)]
    pub log_buffer: Option<u64>,
    /// Bytes of the swiotlb bounce buffer; 0 for none (default: where the architecture sets one up, 64M).
    #[arg(long, value_parser = parse_size)]
    pub bounce_buffer: Option<u64>,
    /// Bytes of the crash kernel's reservation; 0 for none (default: crashkernel= of the map's command line).
    #[arg(long, value_parser = parse_size)]
    pub crash_kernel: Option<u64>,
    /// Bytes of the CMA area; 0 for none (default: cma= of the command line, else the architecture's).
    #[arg(long, value_parser = parse_size)]
    pub cma: Option<u64>,
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
    let (name, bytes) = match &arguments.map {
        Some(path) => (
            path.display().to_string(),
            std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?,
        ),
        None => (
            DEFAULT_MACHINE_NAME.to_string(),
            DEFAULT_MACHINE.as_bytes().to_vec(),
        ),
    };
    let toml_extension = arguments
        .map
        .as_ref()
        .and_then(|path| path.extension())
        .is_some_and(|extension| extension == "toml");
    let firmware = parse::parse_memory_map(&bytes, arguments.format, toml_extension, None)
        .map_err(|error| error.in_named_file(&name).to_string())?;
    let layout = Layout {
        kernel_address: arguments.kernel_address,
        kernel_size: arguments.kernel_size,
        initrd_address: arguments.initrd_address,
        initrd_size: arguments.initrd_size,
        cpus_per_node: arguments.cpus_per_node,
        percpu_unit: arguments.percpu_unit,
        log_buffer: arguments.log_buffer,
        bounce_buffer: arguments.bounce_buffer,
        crash_kernel: arguments.crash_kernel,
        cma: arguments.cma,
    };
    let simulation = simulate_bytes(
        &name,
        &bytes,
        arguments.format,
        arguments.arch,
        firmware,
        &layout,
    )?;
    if let Some(path) = &arguments.svg {
        std::fs::write(path, svg::render(&simulation))
            .map_err(|error| format!("{}: {error}", path.display()))?;
    }
    if let Some(path) = &arguments.html {
        std::fs::write(path, html::render(&to_page(&simulation)))
            .map_err(|error| format!("{}: {error}", path.display()))?;
    }
    if arguments.json {
        println!("{}", to_json(&simulation));
    } else {
        print!("{}", to_report(&simulation));
    }
    Ok(())
}

/// Simulates the boot of the map read from `bytes`: the architecture is
/// `architecture` when given, else the one the bytes name.
///
/// # Errors
///
/// As [`simulate::simulate`].
pub fn simulate_bytes(
    name: &str,
    bytes: &[u8],
    format: Format,
    architecture: Option<Architecture>,
    firmware: parse::FirmwareMap,
    layout: &Layout,
) -> Result<Simulation, String> {
    let is_blob = match format {
        Format::Auto => bytes.starts_with(&parse::dtb::MAGIC),
        other => other == Format::Dtb,
    };
    let above_4gib = firmware
        .ranges
        .iter()
        .any(|entry| entry.range.kind.is_ram() && entry.range.end.as_u64() > 1 << 32);
    let below_1mib = firmware
        .ranges
        .iter()
        .any(|entry| entry.range.kind.is_ram() && entry.range.start.as_u64() < 1 << 20);
    let detection = match architecture {
        Some(architecture) => arch::Detection {
            architecture,
            because: "--arch".to_string(),
        },
        None => arch::detect(bytes, is_blob, above_4gib, below_1mib),
    };
    let kernel_options = cmdline::find(bytes, is_blob);
    let inputs = simulate::Inputs {
        name,
        detection,
        kernel_options: &kernel_options,
        layout,
        blob_bytes: if is_blob { bytes.len() as u64 } else { 0 },
    };
    simulate::simulate(&inputs, firmware)
}

fn node_text(node: Option<u32>) -> String {
    node.map_or_else(|| "-".to_string(), |node| node.to_string())
}

/// The map part of the report, in the one size format.
fn map_table(simulation: &Simulation) -> String {
    let mut out = String::new();
    let map = &simulation.map;
    let _ = writeln!(
        out,
        "{}: memory map from {}; architecture {} ({})",
        simulation.name,
        simulation.firmware.source,
        simulation.architecture,
        simulation.architecture_because
    );
    let _ = writeln!(
        out,
        "firmware RAM: {} bytes ({}); after normalisation: {} bytes ({}) in {}-byte pages",
        simulation.firmware.ram_bytes,
        size_wide(simulation.firmware.ram_bytes),
        map.ram_bytes(),
        size(map.ram_bytes()),
        map.page_size().bytes()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<18}  {:<18}  {:>10}  {:<14}  node",
        "start", "end", "size", "kind"
    );
    for range in map.ranges() {
        let _ = writeln!(
            out,
            "{:#018x}  {:#018x}  {:>10}  {:<14}  {}",
            range.start.as_u64(),
            range.end.as_u64(),
            size(range.size()),
            range.kind.to_string(),
            node_text(range.node.map(|node| node.as_u32()))
        );
    }
    out
}

/// The report `bootmem boot` prints: map, every call in order with its reasons, per-node use, hand-off.
pub fn to_report(simulation: &Simulation) -> String {
    let mut out = map_table(simulation);
    let page = simulation.map.page_size().bytes();
    let _ = writeln!(out);
    let _ = writeln!(out, "{} boot, call by call:", simulation.architecture);
    let _ = writeln!(
        out,
        "{:>4}  {:<18}  {:>10}  {:>4}  {:<31}  purpose",
        "step", "address", "size", "node", "call"
    );
    for (index, step) in simulation.steps.iter().enumerate() {
        let address = step.region.as_ref().map_or_else(
            || step.outcome.name().to_string(),
            |region| format!("{:#018x}", region.start),
        );
        let _ = writeln!(
            out,
            "{:>4}  {:<18}  {:>10}  {:>4}  {:<31}  {}",
            index + 1,
            address,
            size(step.arguments.size),
            node_text(step.region.as_ref().and_then(|region| region.node)),
            step.call,
            step.purpose
        );
        if step.outcome != sequence::Outcome::Reserved {
            for line in &step.explanation {
                let _ = writeln!(out, "{:>6}{line}", "");
            }
        }
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
            size(node.ram_bytes),
            size(node.reserved_bytes),
            size(node.allocated_bytes),
            node.allocations,
            size(node.free_pages * page)
        );
    }
    let _ = writeln!(out);
    let handoff = &simulation.handoff;
    let _ = writeln!(
        out,
        "free_all_bootmem: {} pages ({}) handed to the page allocator: {} free, {} of bitmaps",
        handoff.total_pages,
        size(handoff.total_pages * page),
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
    if let Some(panic) = &simulation.panic {
        let _ = writeln!(out);
        let _ = writeln!(out, "Kernel panic (simulated): {panic}");
    }
    out
}

fn region_json(region: &Region) -> serde_json::Value {
    json!({
        "start": region.start,
        "end": region.end,
        "size": region.size(),
        "node": region.node,
        "kind": region.kind.name(),
        "purpose": region.purpose,
        "call": region.call,
    })
}

/// One step as JSON: the call, its arguments, where it landed and why.
pub fn step_json(index: usize, step: &Step) -> serde_json::Value {
    let arguments = step.arguments;
    json!({
        "index": index + 1,
        "call": step.call,
        "source": step.source,
        "arguments": {
            "size": arguments.size,
            "align": arguments.align,
            "goal": arguments.goal,
            "limit": arguments.limit,
            "node": arguments.node,
        },
        "start": step.region.as_ref().map(|region| region.start),
        "end": step.region.as_ref().map(|region| region.end),
        "node": step.region.as_ref().and_then(|region| region.node),
        "kind": step.kind.name(),
        "purpose": step.purpose,
        "outcome": step.outcome.name(),
        "explanation": step.explanation,
    })
}

/// The JSON object of `bootmem boot --json`. Every node number is under the key `"node"`.
pub fn to_json(simulation: &Simulation) -> serde_json::Value {
    let map = &simulation.map;
    let nodes = crate::map::nodes_json(map);
    let ranges = crate::map::ranges_json(map);
    let node_use: Vec<_> = simulation
        .node_use
        .iter()
        .map(|node| {
            json!({
                "node": node.node,
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
                "node": node.node,
                "blocks_by_order": orders,
                "bitmap_pages": node.bitmap_pages,
                "pages": node.pages,
            })
        })
        .collect();
    let ram_bytes = u64::try_from(simulation.firmware.ram_bytes).map_or_else(
        |_| json!(simulation.firmware.ram_bytes as f64),
        |bytes| json!(bytes),
    );
    json!({
        "name": simulation.name,
        "arch": simulation.architecture.name(),
        "arch_because": simulation.architecture_because,
        "page_size": map.page_size().bytes(),
        "map": { "ram_bytes": ram_bytes, "nodes": nodes, "ranges": ranges },
        "steps": simulation.steps.iter().enumerate().map(|(index, step)| step_json(index, step)).collect::<Vec<_>>(),
        "reservations": simulation.reservations.iter().map(region_json).collect::<Vec<_>>(),
        "allocations": simulation.allocations.iter().map(region_json).collect::<Vec<_>>(),
        "node_use": node_use,
        "notes": simulation.notes,
        "limits": simulation.limits.iter().map(|limit| json!({"address": limit.address, "label": limit.label})).collect::<Vec<_>>(),
        "highmem": simulation.highmem.iter().map(|(start, end)| json!({"start": start, "end": end})).collect::<Vec<_>>(),
        "panic": simulation.panic,
        "handoff": {
            "total_pages": simulation.handoff.total_pages,
            "free_pages": simulation.handoff.free_pages,
            "bitmap_pages": simulation.handoff.bitmap_pages,
            "nodes": handoff_nodes,
        },
    })
}

/// The map's ranges for the page: RAM, the firmware's kinds, and 32-bit
/// highmem (RAM bootmem never manages) split off the RAM it lies in.
fn page_ranges(simulation: &Simulation) -> Vec<PageRange> {
    let highmem_start = simulation.highmem.iter().map(|(start, _)| *start).min();
    let mut ranges = Vec::new();
    for range in simulation.map.ranges() {
        let (start, end) = (range.start.as_u64(), range.end.as_u64());
        let node = range.node.map(|node| node.as_u32());
        let mut push = |start: u64, end: u64, kind: String| {
            ranges.push(PageRange {
                start: page::hex(start),
                end: page::hex(end),
                kind,
                node,
            });
        };
        if !range.kind.is_ram() {
            push(start, end, format!("firmware-{}", range.kind));
            continue;
        }
        match highmem_start {
            Some(cut) if end > cut => {
                if start < cut {
                    push(start, cut, "ram".to_string());
                }
                push(start.max(cut), end, "highmem".to_string());
            }
            _ => push(start, end, "ram".to_string()),
        }
    }
    ranges
}

/// A step's colour name: its kind, or for a firmware range the map's kind of it.
fn page_kind(simulation: &Simulation, step: &Step) -> String {
    if step.kind != RegionKind::Firmware {
        return step.kind.name().to_string();
    }
    step.region
        .as_ref()
        .and_then(|region| {
            simulation.map.ranges().iter().find(|range| {
                range.start.as_u64() <= region.start && region.start < range.end.as_u64()
            })
        })
        .map_or_else(
            || step.kind.name().to_string(),
            |range| format!("firmware-{}", range.kind),
        )
}

/// The interactive page's input for one simulated boot.
pub fn to_page(simulation: &Simulation) -> Page {
    let map = &simulation.map;
    let shift = map.page_size().shift();
    let steps = simulation
        .steps
        .iter()
        .map(|step| PageStep {
            call: step.call.to_string(),
            source: step.source.to_string(),
            arguments: if step.outcome == sequence::Outcome::Reserved {
                vec![page::PageArgument {
                    name: "size".to_string(),
                    value: format!("{:#x} ({})", step.arguments.size, size(step.arguments.size)),
                }]
            } else {
                page::allocation_arguments(
                    step.arguments.size,
                    step.arguments.align,
                    step.arguments.goal,
                    step.arguments.limit,
                    step.arguments.node,
                )
            },
            start: step.region.as_ref().map(|region| page::hex(region.start)),
            size: page::hex(step.arguments.size),
            node: step.region.as_ref().and_then(|region| region.node),
            owner: step.purpose.clone(),
            kind: page_kind(simulation, step),
            outcome: step.outcome.name().to_string(),
            explanation: step.explanation.clone(),
        })
        .collect();
    let mut colours: Vec<(String, String)> = palette::KINDS
        .iter()
        .map(|(name, colour)| ((*name).to_string(), (*colour).to_string()))
        .collect();
    colours.push(("free".to_string(), palette::FREE.to_string()));
    Page {
        title: format!("bootmem boot: {}", simulation.name),
        subtitle: format!(
            "{} v4.19 boot sequence ({}), {} of RAM",
            simulation.architecture,
            simulation.architecture_because,
            size(map.ram_bytes())
        ),
        nodes: map
            .nodes()
            .iter()
            .filter(|span| !span.is_memoryless())
            .map(|span| PageNode {
                node: span.node.as_u32(),
                start: page::hex(span.start.as_u64() << shift),
                end: page::hex(span.end.as_u64() << shift),
            })
            .collect(),
        ranges: page_ranges(simulation),
        limits: simulation
            .limits
            .iter()
            .map(|limit| PageLimit {
                address: page::hex(limit.address),
                label: limit.label.clone(),
            })
            .collect(),
        policies: vec![Policy {
            name: format!("bootmem ({})", simulation.architecture),
            steps,
        }],
        colours,
    }
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
