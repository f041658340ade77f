//! The native TOML description of a hand-made machine: RAM ranges with their nodes, reserved ranges.
//!
//! ```toml
//! # Addresses are integers or strings ("0x1_0000_0000"); give `end`
//! # (exclusive) or `size`.
//! [[ram]]
//! start = 0x0
//! end = 0x8000_0000
//! node = 0            # default 0
//!
//! [[ram]]
//! start = 0x1_0000_0000
//! size = "0x8000_0000"
//! node = 1
//!
//! [[reserved]]
//! start = 0xf000_0000
//! size = 0x1000_0000
//! kind = "acpi-nvs"   # default "reserved"
//!
//! nodes = [2]         # memoryless nodes (optional, before the tables)
//! ```

use serde::Deserialize;
use toml::Spanned;

use bootmem::memory_map::RangeKind;

use super::{check_table, FirmwareMap, Origin, ParseError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    nodes: Vec<u32>,
    #[serde(default)]
    ram: Vec<Spanned<Entry>>,
    #[serde(default)]
    reserved: Vec<Spanned<Entry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    start: Address,
    end: Option<Address>,
    size: Option<Address>,
    node: Option<u32>,
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Address {
    Integer(i64),
    Text(String),
}

impl Address {
    fn value(&self, what: &str) -> Result<u64, String> {
        match self {
            Self::Integer(value) => {
                u64::try_from(*value).map_err(|_| format!("{what} is negative"))
            }
            Self::Text(text) => {
                let cleaned: String = text
                    .trim()
                    .chars()
                    .filter(|&character| character != '_')
                    .collect();
                let parsed = match cleaned
                    .strip_prefix("0x")
                    .or_else(|| cleaned.strip_prefix("0X"))
                {
                    Some(hex) => u64::from_str_radix(hex, 16).ok(),
                    None => cleaned.parse().ok(),
                };
                parsed.ok_or_else(|| format!("{what} `{text}` is not a 64-bit number"))
            }
        }
    }
}

/// The kind named in a `[[reserved]]` table: the names the command prints.
pub fn kind_from_name(name: &str) -> Option<RangeKind> {
    Some(match name {
        "reserved" => RangeKind::Reserved,
        "acpi-data" => RangeKind::AcpiData,
        "acpi-nvs" => RangeKind::AcpiNvs,
        "unusable" => RangeKind::Unusable,
        "persistent" => RangeKind::Persistent,
        "soft-reserved" => RangeKind::SoftReserved,
        other => RangeKind::Other(other.strip_prefix("type-")?.parse().ok()?),
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        + 1
}

/// Parses the TOML description.
///
/// # Errors
///
/// TOML syntax, unknown keys, a bad address or kind, `end` and `size` both
/// or neither given, an end below its start or past 2^64.
pub fn parse(text: &str) -> Result<FirmwareMap, ParseError> {
    let document: Document = toml::from_str(text).map_err(|error| {
        let line = error.span().map_or(1, |span| line_of(text, span.start));
        ParseError::at_line(line, error.message().trim().to_string())
    })?;
    let mut map = FirmwareMap {
        source: "the [[ram]] tables",
        ..FirmwareMap::default()
    };
    let mut ram = Vec::new();
    for node in &document.nodes {
        map.declare_node(*node);
    }
    for (entries, is_ram) in [(&document.ram, true), (&document.reserved, false)] {
        for spanned in entries {
            let line = line_of(text, spanned.span().start);
            let entry = spanned.get_ref();
            let fail = |message: String| ParseError::at_line(line, message);
            let start = entry.start.value("start").map_err(fail)?;
            let end: u128 = match (&entry.end, &entry.size) {
                (Some(end), None) => u128::from(end.value("end").map_err(fail)?),
                (None, Some(size)) => {
                    u128::from(start) + u128::from(size.value("size").map_err(fail)?)
                }
                _ => {
                    return Err(fail(
                        "give exactly one of `end` (exclusive) and `size`".to_string(),
                    ))
                }
            };
            let end = u64::try_from(end).map_err(|_| fail("range ends past 2^64".to_string()))?;
            if end < start {
                return Err(fail(format!("end {end:#x} lies below start {start:#x}")));
            }
            if is_ram {
                if entry.kind.is_some() {
                    return Err(fail("`kind` is for [[reserved]] tables".to_string()));
                }
                let node = entry.node.unwrap_or(0);
                map.push_range(start, end, RangeKind::Ram, Origin::Line(line));
                ram.push((start, u128::from(end), line));
                map.push_affinity(start, end, node, Origin::Line(line));
                map.declare_node(node);
                map.ram_bytes += u128::from(end - start);
            } else {
                if entry.node.is_some() {
                    return Err(fail("`node` is for [[ram]] tables".to_string()));
                }
                let name = entry.kind.as_deref().unwrap_or("reserved");
                let kind = kind_from_name(name)
                    .filter(|kind| !kind.is_ram())
                    .ok_or_else(|| fail(format!("unknown reserved kind `{name}`")))?;
                map.push_range(start, end, kind, Origin::Line(line));
            }
        }
    }
    check_table(&ram)?;
    Ok(map)
}
