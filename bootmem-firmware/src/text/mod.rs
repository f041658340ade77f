//! Text and file readers for the `bootmem` command (feature `std`): Linux boot logs, `memblock=debug` traces, `/proc/iomem`, TOML, device tree files.
//!
//! Every reader turns its input into a [`FirmwareMap`]: the ranges and NUMA
//! affinities the firmware described, each remembering the line (or blob
//! offset) it came from, and the firmware's own count of RAM bytes.
//! [`FirmwareMap::normalise`] hands them to the library's
//! [`MemoryMapBuilder`] and maps its errors back to lines.

use std::fmt;
use std::path::Path;

use bootmem::memory_map::{
    MemoryMap, MemoryMapBuilder, MemoryMapError, MemoryRange, NodeAffinity, RangeKind,
};
use bootmem::{NodeId, PageSize, PhysicalAddress};

pub mod dmesg;
pub mod dtb;
pub mod iomem;
pub mod memblock;
pub mod toml;

/// How many ranges (and, separately, NUMA affinities) a map read by the command may hold.
pub const RANGE_CAPACITY: usize = 2048;
/// How many NUMA nodes a map read by the command may hold (Linux's largest `MAX_NUMNODES`).
pub const NODE_CAPACITY: usize = 1024;

/// The normalised map type the command works with.
pub type CommandMemoryMap = MemoryMap<RANGE_CAPACITY, NODE_CAPACITY>;

/// An input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Guess from the content (and the `.toml` extension).
    Auto,
    /// A Linux boot log (`dmesg`, `journalctl -k`, syslog).
    Dmesg,
    /// `/proc/iomem`.
    Iomem,
    /// A flattened device tree blob.
    Dtb,
    /// The native TOML description.
    Toml,
}

impl fmt::Display for Format {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Auto => "auto",
            Self::Dmesg => "dmesg",
            Self::Iomem => "iomem",
            Self::Dtb => "dtb",
            Self::Toml => "toml",
        })
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "auto" => Self::Auto,
            "dmesg" => Self::Dmesg,
            "iomem" => Self::Iomem,
            "dtb" => Self::Dtb,
            "toml" => Self::Toml,
            other => {
                return Err(format!(
                    "unknown format `{other}` (auto, dmesg, iomem, dtb, toml)"
                ))
            }
        })
    }
}

/// Where in the input an entry or an error lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A line of a text file, from 1.
    Line(usize),
    /// A byte offset in a blob.
    Offset(usize),
    /// The file as a whole.
    File,
}

/// A bad input: the file, where in it, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapError {
    /// The file as named on the command line.
    pub file: String,
    /// Where.
    pub origin: Origin,
    /// What.
    pub message: String,
}

impl fmt::Display for MapError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Origin::Line(line) => write!(formatter, "{}:{}: {}", self.file, line, self.message),
            Origin::Offset(offset) => write!(
                formatter,
                "{}: offset {}: {}",
                self.file, offset, self.message
            ),
            Origin::File => write!(formatter, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for MapError {}

/// An error of a reader before it knows the file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Where.
    pub origin: Origin,
    /// What.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Origin::Line(line) => write!(formatter, "line {line}: {}", self.message),
            Origin::Offset(offset) => write!(formatter, "offset {offset}: {}", self.message),
            Origin::File => formatter.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<crate::FirmwareError> for ParseError {
    fn from(error: crate::FirmwareError) -> Self {
        let origin = match error.location {
            crate::Location::Line(line) => Origin::Line(line),
            crate::Location::Offset(offset) => Origin::Offset(offset),
            crate::Location::Entry(_) | crate::Location::Table => Origin::File,
        };
        let message = match error.location {
            crate::Location::Entry(index) => format!("entry {index}: {}", error.problem),
            _ => error.problem.to_string(),
        };
        Self { origin, message }
    }
}

impl ParseError {
    /// An error at a line (from 1).
    pub fn at_line(line: usize, message: impl Into<String>) -> Self {
        Self {
            origin: Origin::Line(line),
            message: message.into(),
        }
    }

    /// An error at a blob offset.
    pub fn at_offset(offset: usize, message: impl Into<String>) -> Self {
        Self {
            origin: Origin::Offset(offset),
            message: message.into(),
        }
    }

    /// An error about the whole file.
    pub fn in_file(message: impl Into<String>) -> Self {
        Self {
            origin: Origin::File,
            message: message.into(),
        }
    }

    /// Names the file.
    pub fn in_named_file(self, file: &str) -> MapError {
        MapError {
            file: file.to_string(),
            origin: self.origin,
            message: self.message,
        }
    }
}

/// A range as the firmware gave it, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmwareRange {
    /// The range (its node is unused here).
    pub range: MemoryRange,
    /// Where it was read.
    pub origin: Origin,
}

/// A NUMA affinity as the firmware gave it, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmwareAffinity {
    /// The affinity.
    pub affinity: NodeAffinity,
    /// Where it was read.
    pub origin: Origin,
}

/// What a reader found: a firmware memory map before normalisation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirmwareMap {
    /// RAM and reserved ranges, in input order.
    pub ranges: Vec<FirmwareRange>,
    /// NUMA affinities, in input order.
    pub affinities: Vec<FirmwareAffinity>,
    /// Nodes known to exist even without memory.
    pub declared_nodes: Vec<NodeId>,
    /// The exact bytes of RAM in the firmware's own table, before any page
    /// rounding (inclusive ends counted as printed).
    pub ram_bytes: u128,
    /// Which table of the input the ranges come from (for the report).
    pub source: &'static str,
    /// Whether the input holds a `memblock=debug` trace (`memblock_*` lines
    /// or a `MEMBLOCK configuration:` dump): without one, a replay has no
    /// requests to replay.
    pub memblock_trace: bool,
}

impl FirmwareMap {
    /// Adds a range `[start, end)`.
    pub fn push_range(&mut self, start: u64, end: u64, kind: RangeKind, origin: Origin) {
        let range = MemoryRange::new(PhysicalAddress::new(start), PhysicalAddress::new(end), kind);
        self.ranges.push(FirmwareRange { range, origin });
    }

    /// Adds an affinity `[start, end)` of `node`.
    pub fn push_affinity(&mut self, start: u64, end: u64, node: u32, origin: Origin) {
        let affinity = NodeAffinity {
            start: PhysicalAddress::new(start),
            end: PhysicalAddress::new(end),
            node: NodeId::new(node),
        };
        self.affinities.push(FirmwareAffinity { affinity, origin });
    }

    /// Declares a node, once.
    pub fn declare_node(&mut self, node: u32) {
        let node = NodeId::new(node);
        if !self.declared_nodes.contains(&node) {
            self.declared_nodes.push(node);
        }
    }

    /// Normalises the map with the library (see `bootmem::memory_map`).
    ///
    /// # Errors
    ///
    /// The library's errors, located at the line of the entry concerned
    /// where there is one: no RAM, overlapping NUMA ranges, capacity.
    pub fn normalise(&self, page_size: PageSize) -> Result<Box<CommandMemoryMap>, ParseError> {
        let mut builder: Box<MemoryMapBuilder<RANGE_CAPACITY, NODE_CAPACITY>> = Box::default();
        for entry in &self.ranges {
            let range = entry.range;
            builder
                .add_range(range.start, range.end, range.kind)
                .map_err(|error| self.locate(error, entry.origin))?;
        }
        for entry in &self.affinities {
            let affinity = entry.affinity;
            builder
                .add_node_affinity(affinity.start, affinity.end, affinity.node)
                .map_err(|error| self.locate(error, entry.origin))?;
        }
        for &node in &self.declared_nodes {
            builder
                .declare_node(node)
                .map_err(|error| self.locate(error, Origin::File))?;
        }
        builder
            .build(page_size)
            .map(Box::new)
            .map_err(|error| self.locate(error, Origin::File))
    }

    fn locate(&self, error: MemoryMapError, origin: Origin) -> ParseError {
        match error {
            MemoryMapError::OverlappingNodes { first, second, .. } => {
                let place = |index: usize| self.affinities.get(index).map(|entry| entry.origin);
                let origin = place(second).unwrap_or(Origin::File);
                let first_place = match place(first) {
                    Some(Origin::Line(line)) => format!(" (the other range is at line {line})"),
                    Some(Origin::Offset(offset)) => {
                        format!(" (the other range is at offset {offset})")
                    }
                    _ => String::new(),
                };
                ParseError {
                    origin,
                    message: format!("{error}{first_place}"),
                }
            }
            MemoryMapError::NoRam => {
                ParseError::in_file(format!("{error} (read from {})", self.source))
            }
            other => ParseError {
                origin,
                message: other.to_string(),
            },
        }
    }
}

/// Reads `path` in `format` (guessing it for [`Format::Auto`]).
///
/// # Errors
///
/// The file cannot be read, or holds a malformed entry, or no memory map.
#[allow(dead_code)] // the entry point of the `boot` and `replay` subcommands
pub fn read_memory_map(path: &Path, format: Format) -> Result<FirmwareMap, MapError> {
    read_memory_map_with_blob_address(path, format, None)
}

/// As [`read_memory_map`]; a device tree blob is also reserved at
/// `blob_address` (where the bootloader put it) when given.
///
/// # Errors
///
/// As [`read_memory_map`].
pub fn read_memory_map_with_blob_address(
    path: &Path,
    format: Format,
    blob_address: Option<u64>,
) -> Result<FirmwareMap, MapError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|error| ParseError::in_file(error.to_string()).in_named_file(&name))?;
    let toml_extension = path
        .extension()
        .is_some_and(|extension| extension == "toml");
    parse_memory_map(&bytes, format, toml_extension, blob_address)
        .map_err(|error| error.in_named_file(&name))
}

/// Parses the bytes of a memory map in `format`; `toml_extension` tells
/// [`Format::Auto`] that the file name ends in `.toml`; `blob_address` is
/// where a device tree blob lies in memory, if known.
///
/// # Errors
///
/// A malformed entry, or no memory map at all.
pub fn parse_memory_map(
    bytes: &[u8],
    format: Format,
    toml_extension: bool,
    blob_address: Option<u64>,
) -> Result<FirmwareMap, ParseError> {
    let format = match format {
        Format::Auto => detect_format(bytes, toml_extension),
        other => other,
    };
    if format == Format::Dtb {
        return dtb::parse(bytes, blob_address);
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        ParseError::in_file(format!(
            "not UTF-8 text (byte {}) and not a device tree blob",
            error.valid_up_to()
        ))
    })?;
    match format {
        Format::Iomem => iomem::parse(text),
        Format::Toml => toml::parse(text),
        _ => dmesg::parse(text),
    }
}

/// Guesses the format of a file from its first bytes and lines.
pub fn detect_format(bytes: &[u8], toml_extension: bool) -> Format {
    if bytes.starts_with(&dtb::MAGIC) {
        return Format::Dtb;
    }
    if toml_extension {
        return Format::Toml;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Format::Dmesg;
    };
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'));
    match first {
        Some(line) if iomem::looks_like_iomem_line(line) => Format::Iomem,
        Some(line) if line.starts_with("[[") || line.starts_with("page_size") => Format::Toml,
        _ => Format::Dmesg,
    }
}

/// Checks the ranges of one table of a text (`(start, exclusive end,
/// line)`, in any order): a zero-length range, or two sharing addresses, is
/// an error at the later line, naming the other.
///
/// # Errors
///
/// The first such range, by address.
pub fn check_table(entries: &[(u64, u128, usize)]) -> Result<(), ParseError> {
    let mut sorted: Vec<&(u64, u128, usize)> = entries.iter().collect();
    sorted.sort_by_key(|&&(start, end, line)| (start, end, line));
    let mut furthest: Option<&(u64, u128, usize)> = None;
    for entry in sorted {
        let &(start, end, line) = entry;
        if end <= u128::from(start) {
            return Err(ParseError::at_line(line, "zero-length range"));
        }
        if let Some(&(other_start, other_end, other_line)) = furthest {
            if u128::from(start) < other_end {
                let (later, earlier) = (line.max(other_line), line.min(other_line));
                let what = if (start, end) == (other_start, other_end) {
                    "repeats"
                } else {
                    "overlaps"
                };
                return Err(ParseError::at_line(
                    later,
                    format!("range {what} the range at line {earlier}"),
                ));
            }
        }
        if furthest.is_none_or(|&(_, other_end, _)| end > other_end) {
            furthest = Some(entry);
        }
    }
    Ok(())
}

/// Parses a hexadecimal number, with or without `0x`.
pub fn parse_hex(text: &str) -> Option<u64> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if digits.is_empty()
        || digits.len() > 16
        || !digits.bytes().all(|byte| byte.is_ascii_hexdigit())
    {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// The exclusive end of an inclusive range `[first, last]`, saturating at
/// 2^64 - 1 (the last byte of the address space cannot be described).
pub fn exclusive_end(last: u64) -> u64 {
    last.saturating_add(1)
}

/// The size of an inclusive range, as printed.
pub fn inclusive_size(first: u64, last: u64) -> u128 {
    u128::from(last) - u128::from(first) + 1
}
