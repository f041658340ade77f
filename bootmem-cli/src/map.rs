//! `bootmem map`: read a firmware memory map and print it normalised, as a table or as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use bootmem::PageSize;
use serde_json::json;

use crate::parse::{self, CommandMemoryMap, FirmwareMap, Format};
use crate::render::size::{size, size_wide};

/// Arguments of `bootmem map`.
#[derive(clap::Args)]
pub struct MapArguments {
    /// The memory map to read: a boot log (`dmesg`), `/proc/iomem`, a device tree blob, or a TOML description.
    pub file: PathBuf,
    /// The input format (guessed from the content by default).
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The page size in bytes (a power of two) RAM is rounded to.
    #[arg(long, default_value_t = 4096, value_parser = parse_page_size)]
    pub page_size: u64,
    /// Where a device tree blob lies in memory, to reserve it too (hex with 0x, or decimal).
    #[arg(long, value_parser = parse_address)]
    pub blob_address: Option<u64>,
}

fn parse_page_size(text: &str) -> Result<u64, String> {
    let value = parse_address(text)?;
    PageSize::try_new(value)
        .map(|_| value)
        .map_err(|error| error.to_string())
}

fn parse_address(text: &str) -> Result<u64, String> {
    let cleaned = text.replace('_', "");
    let parsed = match cleaned.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => cleaned.parse(),
    };
    parsed.map_err(|error| format!("`{text}`: {error}"))
}

/// Runs `bootmem map`.
pub fn run(arguments: &MapArguments) -> ExitCode {
    let page_size = PageSize::try_new(arguments.page_size).unwrap_or_default();
    let name = arguments.file.display().to_string();
    let result = parse::read_memory_map_with_blob_address(
        &arguments.file,
        arguments.format,
        arguments.blob_address,
    )
    .and_then(|firmware| {
        let map = firmware
            .normalise(page_size)
            .map_err(|error| error.in_named_file(&name))?;
        Ok((firmware, map))
    });
    match result {
        Ok((firmware, map)) => {
            if arguments.json {
                println!("{}", to_json(&firmware, &map));
            } else {
                print!("{}", to_table(&name, &firmware, &map));
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}

/// The nodes of a normalised map as JSON objects (shared by `map` and `boot`).
pub fn nodes_json<const RANGES: usize, const NODES: usize>(
    map: &bootmem::memory_map::MemoryMap<RANGES, NODES>,
) -> Vec<serde_json::Value> {
    map.nodes()
        .iter()
        .map(|span| {
            json!({
                "node": span.node.as_u32(),
                "start_pfn": span.start.as_u64(),
                "end_pfn": span.end.as_u64(),
                "ram_bytes": span.ram_bytes,
            })
        })
        .collect()
}

/// The ranges of a normalised map as JSON objects (shared by `map` and `boot`).
pub fn ranges_json<const RANGES: usize, const NODES: usize>(
    map: &bootmem::memory_map::MemoryMap<RANGES, NODES>,
) -> Vec<serde_json::Value> {
    map.ranges()
        .iter()
        .map(|range| {
            json!({
                "start": range.start.as_u64(),
                "end": range.end.as_u64(),
                "kind": range.kind.to_string(),
                "node": range.node.map(|node| node.as_u32()),
            })
        })
        .collect()
}

/// The JSON object of `bootmem map --json`.
pub fn to_json(firmware: &FirmwareMap, map: &CommandMemoryMap) -> serde_json::Value {
    let nodes = nodes_json(map);
    let ranges = ranges_json(map);
    let ram_bytes = u64::try_from(firmware.ram_bytes)
        .map_or_else(|_| json!(firmware.ram_bytes as f64), |bytes| json!(bytes));
    json!({ "ram_bytes": ram_bytes, "nodes": nodes, "ranges": ranges })
}

/// The table `bootmem map` prints.
pub fn to_table(name: &str, firmware: &FirmwareMap, map: &CommandMemoryMap) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let page = map.page_size().bytes();
    let _ = writeln!(out, "{name}: memory map from {}", firmware.source);
    let _ = writeln!(
        out,
        "firmware RAM: {} bytes ({}); after normalisation: {} bytes in {}-byte pages",
        firmware.ram_bytes,
        size_wide(firmware.ram_bytes),
        map.ram_bytes(),
        page
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<18}  {:<18}  {:>10}  {:<14}  node",
        "start", "end", "size", "kind"
    );
    for range in map.ranges() {
        let node = range
            .node
            .map_or_else(|| "-".to_string(), |node| node.to_string());
        let _ = writeln!(
            out,
            "{:#018x}  {:#018x}  {:>10}  {:<14}  {node}",
            range.start.as_u64(),
            range.end.as_u64(),
            size(range.size()),
            range.kind.to_string()
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:>4}  {:>12}  {:>12}  {:>12}  {:>12}  bitmap",
        "node", "start_pfn", "end_pfn", "pages", "ram"
    );
    for span in map.nodes() {
        if span.is_memoryless() {
            let _ = writeln!(out, "{:>4}  (memoryless)", span.node);
            continue;
        }
        let _ = writeln!(
            out,
            "{:>4}  {:>#12x}  {:>#12x}  {:>12}  {:>12}  {} bytes ({} pages)",
            span.node,
            span.start.as_u64(),
            span.end.as_u64(),
            span.pages(),
            size(span.ram_bytes),
            span.bitmap_bytes(),
            span.bitmap_bytes().div_ceil(page)
        );
    }
    out
}
