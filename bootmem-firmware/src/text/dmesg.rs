//! Linux boot logs: the e820 / EFI / setup_data tables, NUMA lines, node ranges and device-tree reservations.
//!
//! A log holds much else, so the reader looks only for the lines it knows
//! (see [`MemoryLine`]), wherever they sit after a timestamp, a `<6>`
//! priority, a caller id or a syslog prefix. A line of a known kind that
//! does not parse is an error; any other line is ignored.
//!
//! Which lines make the map:
//!
//! - ranges: the `BIOS-e820:` table, with the kernel's `e820: update` and
//!   `e820: remove` edits made before it set up its memory (so that page 0
//!   is reserved as Linux reserves it); else the `reserve setup_data:`
//!   table, else a Xen PV `Xen:` table, else the `efi: memNN:` map, else
//!   the `Early memory node ranges` (or the older `Early memory PFN ranges`)
//!   as RAM, else memblock's own view (`memblock_add:` / `memblock_remove:`
//!   lines, else the last `MEMBLOCK configuration:` dump, see
//!   [`super::memblock`]); plus `OF: reserved mem:` and `Reserved memory: created ... pool`
//!   lines as reservations;
//! - nodes: the `Early memory node ranges` (the kernel's final word), else
//!   the `SRAT: Node` lines, else `NUMA: Node N [mem ...]`, else `NUMA:
//!   Adding memblock ... on node N`; every node these name (and every
//!   `Initmem setup node N`) exists, with memory or without;
//! - RAM bytes: the `usable` entries of the `BIOS-e820:` table as printed,
//!   else the `Early memory node ranges`, else the RAM of the table used,
//!   else memblock's exact total.
//!
//! Only the first boot of a log holding several (`Linux version` seen again) is read.

use bootmem::memory_map::RangeKind;

use super::memblock::{self, MemblockLine, MemblockView};
use super::{check_table, parse_hex, FirmwareMap, Origin, ParseError};

/// The firmware tables a boot log can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// `BIOS-e820:` (x86's firmware map).
    E820,
    /// `reserve setup_data:` (the "extended physical RAM map").
    SetupData,
    /// `Xen:` (a Xen PV guest's map).
    Xen,
    /// `efi: memNN:` (the UEFI map, with `efi=debug`).
    Efi,
}

/// Where a NUMA affinity line comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AffinitySource {
    /// `SRAT: Node N PXM P [mem ...]` (ACPI).
    Srat,
    /// `NUMA: Node N [mem ...] + ... -> [mem ...]`.
    Numa,
    /// `NUMA: Adding memblock [...] on node N` (arm64 device tree / ACPI).
    Memblock,
}

/// One memory-map line of a boot log. Ends are exclusive, in `u128` so that
/// a range printed up to `0xffffffffffffffff` keeps its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryLine {
    /// An entry of a firmware table.
    Firmware {
        /// Which table.
        table: Table,
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u128,
        /// Kind.
        kind: RangeKind,
    },
    /// `e820: update [mem ...] FROM ==> TO` or `e820: remove [mem ...] [FROM]`.
    E820Edit {
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u128,
        /// The kind edited (any kind when `None`).
        from: Option<RangeKind>,
        /// The new kind, `None` for a removal.
        to: Option<RangeKind>,
    },
    /// A NUMA affinity.
    Affinity {
        /// Its line kind.
        source: AffinitySource,
        /// The node.
        node: u32,
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u128,
    },
    /// A line of `Early memory node ranges` (or `Early memory PFN ranges`, 4 KiB pages).
    NodeRange {
        /// The node.
        node: u32,
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u128,
    },
    /// A device-tree reservation (`OF: reserved mem: A..B ...`).
    ReservedMemory {
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u128,
    },
    /// `Initmem setup node N`: node N exists.
    NodeSetup {
        /// The node.
        node: u32,
    },
    /// The kernel starts building its own view of memory (`Zone ranges:`,
    /// `memblock_add:`, `MEMBLOCK configuration:`): later e820 edits do not
    /// change the RAM it manages.
    MemorySetup,
    /// `Linux version`: a boot starts.
    BootStart,
    /// A line of a `memblock=debug` trace.
    Memblock(MemblockLine),
}

/// Reads a log line by line, keeping the little state some blocks need.
#[derive(Clone, Debug, Default)]
pub struct LineParser {
    in_pfn_block: bool,
}

impl LineParser {
    /// A parser at the start of a log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Classifies one line: `Ok(None)` for a line that is not a memory-map line.
    ///
    /// # Errors
    ///
    /// A line of a known kind that is malformed; the message says which kind.
    pub fn parse_line(&mut self, line: &str) -> Result<Option<MemoryLine>, String> {
        let text = message(line);
        if self.in_pfn_block {
            if let Some(parsed) = pfn_range(text) {
                return Ok(Some(parsed));
            }
            self.in_pfn_block = false;
        }
        if text.contains("Early memory PFN ranges") || text.contains("active PFN ranges") {
            self.in_pfn_block = true;
            return Ok(Some(MemoryLine::MemorySetup));
        }
        if text.starts_with("Linux version ") {
            return Ok(Some(MemoryLine::BootStart));
        }
        if let Some(line) = memblock::parse_line(text)? {
            return Ok(Some(MemoryLine::Memblock(line)));
        }
        for (marker, table) in [
            ("BIOS-e820:", Table::E820),
            ("reserve setup_data:", Table::SetupData),
            ("Xen: [mem", Table::Xen),
        ] {
            if let Some(index) = text.find(marker) {
                let rest = if table == Table::Xen {
                    &text[index + 4..]
                } else {
                    &text[index + marker.len()..]
                };
                let (start, end, rest) = any_range(rest).map_err(|problem| {
                    format!(
                        "malformed {} line: {problem}",
                        marker.trim_end_matches(" [mem")
                    )
                })?;
                let kind = e820_kind(rest)
                    .ok_or_else(|| format!("malformed {marker} line: no memory type"))?;
                return Ok(Some(MemoryLine::Firmware {
                    table,
                    start,
                    end,
                    kind,
                }));
            }
        }
        for marker in [
            "e820: update",
            "e820 update range:",
            "e820: remove",
            "e820 remove range:",
        ] {
            if let Some(index) = text.find(marker) {
                return e820_edit(&text[index + marker.len()..], marker.contains("update"))
                    .map(Some)
                    .map_err(|problem| format!("malformed `{marker}` line: {problem}"));
            }
        }
        if let Some(index) = text.find("efi: mem") {
            let rest = &text[index + 8..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 && rest[digits..].starts_with(':') {
                return efi_entry(&rest[digits + 1..])
                    .map(Some)
                    .map_err(|problem| format!("malformed EFI memory map line: {problem}"));
            }
        }
        if let Some(index) = text.find("SRAT: Node ") {
            return srat(&text[index + 11..])
                .map(Some)
                .map_err(|problem| format!("malformed SRAT line: {problem}"));
        }
        if let Some(index) = text.find("NUMA: Node ") {
            let rest = &text[index + 11..];
            let (node, after) =
                leading_number(rest).ok_or("malformed NUMA line: no node number")?;
            if let Some(mem) = after.find("[mem") {
                // The last range is the node's merged span; the others lie inside it.
                let last = after.rfind("[mem").unwrap_or(mem);
                let (start, end, _) = mem_range(&after[last..])
                    .map_err(|problem| format!("malformed NUMA line: {problem}"))?;
                return Ok(Some(MemoryLine::Affinity {
                    source: AffinitySource::Numa,
                    node,
                    start,
                    end,
                }));
            }
            return Ok(None);
        }
        if let Some(index) = text.find("Adding memblock [") {
            return adding_memblock(&text[index + 17..])
                .map(Some)
                .map_err(|problem| format!("malformed `Adding memblock` line: {problem}"));
        }
        if let Some(index) = text.find("OF: reserved mem: ") {
            let rest = text[index + 18..].trim_start();
            if rest.starts_with("0x") {
                return reserved_memory(rest)
                    .map(Some)
                    .map_err(|problem| format!("malformed `OF: reserved mem` line: {problem}"));
            }
            return Ok(None);
        }
        if let Some(index) = text.find("Initmem setup node ") {
            if let Some((node, _)) = leading_number(&text[index + 19..]) {
                return Ok(Some(MemoryLine::NodeSetup { node }));
            }
        }
        if let Some(parsed) = node_range(text)? {
            return Ok(Some(parsed));
        }
        if text.starts_with("Zone ranges")
            || text.starts_with("Early memory node ranges")
            || text.starts_with("MEMBLOCK configuration")
            || text.starts_with("memblock_add")
        {
            return Ok(Some(MemoryLine::MemorySetup));
        }
        Ok(None)
    }
}

/// The message of a log line: without CR, syslog / journal prefix, `<N>`
/// priority, `[timestamp]`, `[T0]` caller ids and `dmesg -x` facility.
pub fn message(line: &str) -> &str {
    let mut text = line.trim_end_matches(['\r', '\n']);
    if let Some(index) = text.find("kernel: ") {
        text = &text[index + 8..];
    }
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix('<') {
            if let Some(close) = rest.find('>') {
                if close > 0
                    && rest[..close]
                        .bytes()
                        .all(|byte| byte.is_ascii_digit() || byte == b',')
                {
                    text = &rest[close + 1..];
                    continue;
                }
            }
        }
        if let Some(rest) = text.strip_prefix('[') {
            if let Some(close) = rest.find(']') {
                let inner = &rest[..close];
                if close < 40 && !inner.starts_with("mem") && !inner.contains('-') {
                    text = &rest[close + 1..];
                    continue;
                }
            }
        }
        if text.starts_with("kern ") || text.starts_with("kern:") {
            // `dmesg -x`: "kern  :info  : message"
            let mut colons = text.match_indices(" : ").map(|(index, _)| index);
            if let (Some(_), Some(second)) = (colons.next(), colons.next()) {
                text = &text[second + 3..];
                continue;
            }
            if let Some(first) = text.find(": ") {
                text = &text[first + 2..];
                continue;
            }
        }
        return text;
    }
}

/// Parses a boot log into a firmware map (see the [module documentation](self)).
///
/// # Errors
///
/// A malformed memory-map line, or a log with no memory map at all.
pub fn parse(text: &str) -> Result<FirmwareMap, ParseError> {
    let lines = LogLines::collect(text)?;
    let mut map = FirmwareMap {
        memblock_trace: lines.memblock.is_traced(),
        ..FirmwareMap::default()
    };
    lines.add_ranges(&mut map)?;
    lines.add_nodes(&mut map);
    Ok(map)
}

/// A firmware table entry: first byte, exclusive end, kind, line.
type TableEntry = (u64, u128, RangeKind, usize);
/// A node's range: node, first byte, exclusive end, line.
type NodeEntry = (u32, u64, u128, usize);

/// The memory-map lines of the first boot of a log, sorted by kind.
#[derive(Default)]
struct LogLines {
    tables: [Vec<TableEntry>; 4],
    edits: Vec<(u64, u128, Option<RangeKind>, Option<RangeKind>)>,
    affinities: [Vec<NodeEntry>; 3],
    node_ranges: Vec<NodeEntry>,
    reserved: Vec<(u64, u128, usize)>,
    nodes: Vec<u32>,
    memblock: MemblockView,
}

impl LogLines {
    /// Reads every line of the first boot.
    fn collect(text: &str) -> Result<Self, ParseError> {
        let mut lines = Self::default();
        let mut parser = LineParser::new();
        let mut memory_set_up = false;
        let mut seen_anything = false;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let Some(parsed) = parser
                .parse_line(line)
                .map_err(|problem| ParseError::at_line(number, problem))?
            else {
                continue;
            };
            if parsed == MemoryLine::BootStart && seen_anything {
                break;
            }
            lines.take(parsed, number, &mut memory_set_up);
            seen_anything = true;
        }
        Ok(lines)
    }

    /// Files one parsed line.
    fn take(&mut self, parsed: MemoryLine, number: usize, memory_set_up: &mut bool) {
        match parsed {
            MemoryLine::BootStart => {}
            MemoryLine::MemorySetup => *memory_set_up = true,
            MemoryLine::Memblock(line) => {
                if matches!(line, MemblockLine::Add { .. } | MemblockLine::DumpStart) {
                    *memory_set_up = true;
                }
                self.memblock.record(line, number);
            }
            MemoryLine::Firmware {
                table,
                start,
                end,
                kind,
            } => self.tables[table as usize].push((start, end, kind, number)),
            // Edits after the kernel set up its memory do not change the RAM it manages.
            MemoryLine::E820Edit {
                start,
                end,
                from,
                to,
            } if !*memory_set_up => self.edits.push((start, end, from, to)),
            MemoryLine::E820Edit { .. } => {}
            MemoryLine::Affinity {
                source,
                node,
                start,
                end,
            } => self.affinities[source as usize].push((node, start, end, number)),
            MemoryLine::NodeRange { node, start, end } => {
                self.node_ranges.push((node, start, end, number));
            }
            MemoryLine::ReservedMemory { start, end } => self.reserved.push((start, end, number)),
            MemoryLine::NodeSetup { node } => self.nodes.push(node),
        }
    }

    fn node_range_bytes(&self) -> u128 {
        self.node_ranges
            .iter()
            .map(|&(_, start, end, _)| end - u128::from(start))
            .sum()
    }

    /// The ranges and RAM total, from the first source the log has (see
    /// the module documentation), and the device tree reservations.
    fn add_ranges(&self, map: &mut FirmwareMap) -> Result<(), ParseError> {
        let [e820, setup_data, xen, efi] = &self.tables;
        let chosen = [
            (e820, "the BIOS-e820 table"),
            (setup_data, "the setup_data table"),
            (xen, "the Xen table"),
            (efi, "the EFI memory map"),
        ]
        .into_iter()
        .find(|(entries, _)| !entries.is_empty());
        if let Some((entries, source)) = chosen {
            self.add_table(map, entries, source, std::ptr::eq(entries, efi))?;
        } else if !self.node_ranges.is_empty() {
            map.source = "the Early memory node ranges";
            for &(_, start, end, line) in &self.node_ranges {
                map.push_range(start, clamp(end), RangeKind::Ram, Origin::Line(line));
            }
            map.ram_bytes = self.node_range_bytes();
        } else if !self.memblock.memory().is_empty() {
            map.source = "memblock's memory (memblock=debug lines)";
            for range in &self.memblock.memory() {
                let (start, end) = (clamp(range.start), clamp(range.end));
                map.push_range(start, end, RangeKind::Ram, Origin::Line(range.line));
            }
            map.ram_bytes = self.memblock.ram_bytes();
        } else {
            return Err(ParseError::in_file(
                "no memory map found: no BIOS-e820, setup_data, Xen or EFI table, no Early memory node ranges and no memblock=debug lines",
            ));
        }
        for &(start, end, line) in &self.reserved {
            map.push_range(start, clamp(end), RangeKind::Reserved, Origin::Line(line));
        }
        Ok(())
    }

    /// A firmware table, checked, with the kernel's edits (not for EFI).
    fn add_table(
        &self,
        map: &mut FirmwareMap,
        entries: &[TableEntry],
        source: &'static str,
        is_efi: bool,
    ) -> Result<(), ParseError> {
        let spans: Vec<_> = entries
            .iter()
            .map(|&(start, end, _, line)| (start, end, line))
            .collect();
        check_table(&spans)?;
        map.source = source;
        let mut edited: Vec<TableEntry> = entries.to_vec();
        if !is_efi {
            for &(start, end, from, to) in &self.edits {
                edited = apply_edit(&edited, start, end, from, to);
            }
        }
        for (start, end, kind, line) in edited {
            map.push_range(start, clamp(end), kind, Origin::Line(line));
        }
        map.ram_bytes =
            if self.tables[Table::E820 as usize].is_empty() && !self.node_ranges.is_empty() {
                self.node_range_bytes()
            } else {
                entries
                    .iter()
                    .filter(|entry| entry.2.is_ram())
                    .map(|&(start, end, _, _)| end - u128::from(start))
                    .sum()
            };
        Ok(())
    }

    /// The NUMA affinities of the first source the log has, and every node it names.
    fn add_nodes(&self, map: &mut FirmwareMap) {
        let dump_nodes: Vec<NodeEntry> = self
            .memblock
            .node_regions()
            .iter()
            .map(|range| {
                let node = range.node.unwrap_or(0);
                (node, clamp(range.start), range.end, range.line)
            })
            .collect();
        let affinity_source = if self.node_ranges.is_empty() {
            self.affinities
                .iter()
                .find(|list| !list.is_empty())
                .unwrap_or(&dump_nodes)
        } else {
            &self.node_ranges
        };
        for &(node, start, end, line) in affinity_source {
            map.push_affinity(start, clamp(end), node, Origin::Line(line));
        }
        let named = self.affinities.iter().flatten().chain(&self.node_ranges);
        for &(node, ..) in named.chain(&dump_nodes) {
            map.declare_node(node);
        }
        for &node in &self.nodes {
            map.declare_node(node);
        }
    }
}

fn clamp(end: impl Into<u128>) -> u64 {
    let end: u128 = end.into();
    u64::try_from(end).unwrap_or(u64::MAX)
}

fn apply_edit(
    entries: &[TableEntry],
    start: u64,
    end: u128,
    from: Option<RangeKind>,
    to: Option<RangeKind>,
) -> Vec<TableEntry> {
    let start = u128::from(start);
    let mut result = Vec::with_capacity(entries.len() + 2);
    for &(entry_start, entry_end, kind, line) in entries {
        let first = u128::from(entry_start);
        let overlaps = first < end && start < entry_end;
        if !overlaps || from.is_some_and(|from| from != kind) {
            result.push((entry_start, entry_end, kind, line));
            continue;
        }
        let low = first.max(start);
        let high = entry_end.min(end);
        if first < low {
            result.push((entry_start, low, kind, line));
        }
        if let Some(to) = to {
            result.push((clamp(low), high, to, line));
        }
        if high < entry_end {
            result.push((clamp(high), entry_end, kind, line));
        }
    }
    result
}

/// The kind of an e820 type as printed: `usable`, `(reserved)`, `ACPI data`,
/// `persistent (type 7)`, `type 20`, ... `None` when nothing is printed.
pub fn e820_kind(text: &str) -> Option<RangeKind> {
    let name = text
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim()
        .to_ascii_lowercase();
    if name.is_empty() {
        return None;
    }
    if let Some(number) = name
        .strip_prefix("type ")
        .and_then(|number| number.trim().parse::<u32>().ok())
    {
        return Some(RangeKind::from_e820_type(number));
    }
    Some(match name.as_str() {
        "usable" => RangeKind::Ram,
        "acpi data" => RangeKind::AcpiData,
        "acpi nvs" => RangeKind::AcpiNvs,
        "unusable" => RangeKind::Unusable,
        "soft reserved" => RangeKind::SoftReserved,
        other if other.starts_with("persistent") => RangeKind::Persistent,
        // "reserved" and any name a later kernel may add: not RAM.
        _ => RangeKind::Reserved,
    })
}

/// `[mem 0xA-0xB] rest` (inclusive) or the old `A - B rest` (exclusive end).
fn any_range(text: &str) -> Result<(u64, u128, &str), String> {
    let text = text.trim_start();
    if text.starts_with("[mem") {
        return mem_range(text);
    }
    let mut words = text.split_whitespace();
    let (Some(first), Some("-"), Some(second)) = (words.next(), words.next(), words.next()) else {
        return Err(format!(
            "expected `[mem 0xSTART-0xEND]` or `START - END`, found `{text}`"
        ));
    };
    let start = parse_hex(first).ok_or_else(|| format!("bad address `{first}`"))?;
    let end = parse_hex(second).ok_or_else(|| format!("bad address `{second}`"))?;
    if end < start {
        return Err(format!("range {first} - {second} ends below its start"));
    }
    let offset = text
        .find(second)
        .map_or(text.len(), |index| index + second.len());
    Ok((start, u128::from(end), &text[offset..]))
}

/// `[mem 0xA-0xB] rest`, inclusive: `(A, B + 1, rest)`.
fn mem_range(text: &str) -> Result<(u64, u128, &str), String> {
    let text = text.trim_start();
    let inner_start = text
        .strip_prefix("[mem")
        .ok_or_else(|| format!("expected `[mem`, found `{text}`"))?;
    let close = inner_start.find(']').ok_or("unclosed `[mem`")?;
    let inner = inner_start[..close].split_whitespace().next().unwrap_or("");
    let (first, last) = inclusive_pair(inner, "-")?;
    Ok((first, u128::from(last) + 1, &inner_start[close + 1..]))
}

/// `A<separator>B` of two hex numbers, B not below A.
pub(crate) fn inclusive_pair(text: &str, separator: &str) -> Result<(u64, u64), String> {
    let (first, last) = text
        .split_once(separator)
        .ok_or_else(|| format!("expected `START{separator}END`, found `{text}`"))?;
    let (first, last) = (first.trim(), last.trim());
    let start = parse_hex(first).ok_or_else(|| format!("bad address `{first}`"))?;
    let end = parse_hex(last).ok_or_else(|| format!("bad address `{last}`"))?;
    if end < start {
        return Err(format!("range {first}-{last} ends below its start"));
    }
    Ok((start, end))
}

fn leading_number(text: &str) -> Option<(u32, &str)> {
    let text = text.trim_start();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let number = text[..digits].parse().ok()?;
    Some((number, &text[digits..]))
}

fn e820_edit(text: &str, update: bool) -> Result<MemoryLine, String> {
    let (start, end, rest) = any_range(text)?;
    if update {
        let (from, to) = rest.split_once("==>").ok_or("expected `FROM ==> TO`")?;
        let from = e820_kind(from).ok_or("no type before `==>`")?;
        let to = e820_kind(to).ok_or("no type after `==>`")?;
        Ok(MemoryLine::E820Edit {
            start,
            end,
            from: Some(from),
            to: Some(to),
        })
    } else {
        Ok(MemoryLine::E820Edit {
            start,
            end,
            from: e820_kind(rest),
            to: None,
        })
    }
}

fn efi_entry(text: &str) -> Result<MemoryLine, String> {
    let text = text.trim_start();
    let kind = if let Some(rest) = text.strip_prefix('[') {
        let name = rest
            .split(['|', ']'])
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        efi_kind_by_name(&name)
    } else if let Some(rest) = text.strip_prefix("type=") {
        let number: u32 = rest
            .split([',', ' '])
            .next()
            .and_then(|number| number.parse().ok())
            .ok_or("bad `type=`")?;
        efi_kind_by_number(number)
    } else {
        return Err("expected `[Type|...]` or `type=N`".to_string());
    };
    let index = text.find("range=[").ok_or("no `range=[`")?;
    let rest = &text[index + 7..];
    let close = rest.find([']', ')']).ok_or("unclosed `range=[`")?;
    let (start, last) = inclusive_pair(&rest[..close], "-")?;
    // Old kernels print `[start-end)`, exclusive.
    let end = if rest.as_bytes()[close] == b')' {
        u128::from(last)
    } else {
        u128::from(last) + 1
    };
    Ok(MemoryLine::Firmware {
        table: Table::Efi,
        start,
        end,
        kind,
    })
}

/// The kind of a UEFI type number, by the one mapping the raw readers use.
fn efi_kind_by_number(number: u32) -> RangeKind {
    crate::efi::range_kind(number, 0)
}

fn efi_kind_by_name(name: &str) -> RangeKind {
    match name {
        "conventional"
        | "conventional memory"
        | "loader code"
        | "loader data"
        | "boot code"
        | "boot data"
        | "boot services code"
        | "boot services data"
        | "unaccepted" => RangeKind::Ram,
        "unusable" | "unusable memory" => RangeKind::Unusable,
        "acpi reclaim" | "acpi reclaim memory" => RangeKind::AcpiData,
        "acpi mem nvs" | "acpi memory nvs" => RangeKind::AcpiNvs,
        "persistent" | "persistent memory" => RangeKind::Persistent,
        _ => RangeKind::Reserved,
    }
}

/// After `SRAT: Node `: `N PXM P [mem A-B]` or the old `N PXM P A-B` (exclusive).
fn srat(text: &str) -> Result<MemoryLine, String> {
    let (node, rest) = leading_number(text).ok_or("no node number")?;
    let rest = rest.trim_start().strip_prefix("PXM").ok_or("no `PXM`")?;
    let (_, rest) = leading_number(rest).ok_or("no proximity domain")?;
    let rest = rest.trim_start();
    let (start, end) = if rest.starts_with("[mem") {
        let (start, end, _) = mem_range(rest)?;
        (start, end)
    } else {
        let pair = rest.split_whitespace().next().unwrap_or("");
        let (start, end) = inclusive_pair(pair, "-")?;
        (start, u128::from(end))
    };
    Ok(MemoryLine::Affinity {
        source: AffinitySource::Srat,
        node,
        start,
        end,
    })
}

/// After `Adding memblock [`: `0xA - 0xB] on node N`.
fn adding_memblock(text: &str) -> Result<MemoryLine, String> {
    let close = text.find(']').ok_or("unclosed `[`")?;
    let (start, last) = inclusive_pair(&text[..close], " - ")?;
    let rest = text[close + 1..].trim_start();
    let rest = rest.strip_prefix("on node").ok_or("no `on node`")?;
    let (node, _) = leading_number(rest).ok_or("no node number")?;
    Ok(MemoryLine::Affinity {
        source: AffinitySource::Memblock,
        node,
        start,
        end: u128::from(last) + 1,
    })
}

/// `0xA..0xB (N KiB) ...`, inclusive.
fn reserved_memory(text: &str) -> Result<MemoryLine, String> {
    let pair = text.split_whitespace().next().unwrap_or("");
    let (start, last) = inclusive_pair(pair, "..")?;
    Ok(MemoryLine::ReservedMemory {
        start,
        end: u128::from(last) + 1,
    })
}

/// `node   N: [mem 0xA-0xB]` of `Early memory node ranges`.
fn node_range(text: &str) -> Result<Option<MemoryLine>, String> {
    let Some(rest) = text.strip_prefix("node") else {
        return Ok(None);
    };
    let Some((node, after)) = leading_number(rest) else {
        return Ok(None);
    };
    let Some(after) = after.strip_prefix(':') else {
        return Ok(None);
    };
    if !rest.starts_with(char::is_whitespace) || !after.trim_start().starts_with("[mem") {
        return Ok(None);
    }
    let (start, end, _) =
        mem_range(after).map_err(|problem| format!("malformed node range line: {problem}"))?;
    Ok(Some(MemoryLine::NodeRange { node, start, end }))
}

/// `N: 0xA -> 0xB` of `Early memory PFN ranges` (page frames, exclusive end, 4 KiB pages).
fn pfn_range(text: &str) -> Option<MemoryLine> {
    let (node, rest) = leading_number(text)?;
    let rest = rest.strip_prefix(':')?;
    let (first, last) = rest.split_once("->")?;
    let first = parse_hex(first.trim())?;
    let last = parse_hex(last.trim())?;
    if last < first || first > u64::MAX >> 12 {
        return None;
    }
    Some(MemoryLine::NodeRange {
        node,
        start: first << 12,
        end: u128::from(last) << 12,
    })
}
