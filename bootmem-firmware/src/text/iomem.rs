//! `/proc/iomem`: the top-level `System RAM` and reserved entries.
//!
//! Each line is `START-END : NAME`, ends inclusive, nesting shown by
//! indentation. Only top-level entries describe the firmware map: nested
//! ones (`Kernel code`, `reserved` on arm64, device windows) say how the
//! running kernel uses it. Top-level names that are neither memory nor a
//! reservation (PCI windows, ROMs, devices) are left out.

use bootmem::memory_map::RangeKind;

use super::{
    check_table, exclusive_end, inclusive_size, parse_hex, FirmwareMap, Origin, ParseError,
};

/// Whether a line has the shape of an iomem line (`hex-hex : name`).
pub fn looks_like_iomem_line(line: &str) -> bool {
    split_line(line.trim_start()).is_some()
}

fn split_line(text: &str) -> Option<(&str, &str, &str)> {
    let (range, name) = text.split_once(" : ")?;
    let (first, last) = range.trim().split_once('-')?;
    let hex = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_hexdigit());
    (hex(first) && hex(last)).then_some((first, last, name.trim()))
}

/// The kind of a top-level iomem name, `None` for names that are not part of the memory map.
pub fn iomem_kind(name: &str) -> Option<RangeKind> {
    let name = name.to_ascii_lowercase();
    Some(match name.as_str() {
        "system ram" => RangeKind::Ram,
        "reserved" | "ram buffer" | "unknown e820 type" => RangeKind::Reserved,
        "acpi tables" => RangeKind::AcpiData,
        "acpi non-volatile storage" => RangeKind::AcpiNvs,
        "unusable memory" => RangeKind::Unusable,
        "soft reserved" => RangeKind::SoftReserved,
        other if other.starts_with("persistent memory") => RangeKind::Persistent,
        _ => return None,
    })
}

/// Parses `/proc/iomem` text.
///
/// # Errors
///
/// A line that is not `START-END : NAME`, an end below its start, or a
/// file read without root (every address zero).
pub fn parse(text: &str) -> Result<FirmwareMap, ParseError> {
    let mut map = FirmwareMap {
        source: "the System RAM entries",
        ..FirmwareMap::default()
    };
    let mut all_zero = true;
    let mut top_level = Vec::new();
    let mut entries = 0usize;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (first, last, name) = split_line(line.trim_start()).ok_or_else(|| {
            ParseError::at_line(
                number,
                format!("not an iomem line (`START-END : NAME`): `{}`", line.trim()),
            )
        })?;
        let start = parse_hex(first)
            .ok_or_else(|| ParseError::at_line(number, format!("bad address `{first}`")))?;
        let end = parse_hex(last)
            .ok_or_else(|| ParseError::at_line(number, format!("bad address `{last}`")))?;
        entries += 1;
        all_zero &= start == 0 && end == 0;
        if end < start {
            return Err(ParseError::at_line(
                number,
                format!("range {first}-{last} ends below its start"),
            ));
        }
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        if let Some(kind) = iomem_kind(name) {
            if kind.is_ram() {
                map.ram_bytes += inclusive_size(start, end);
            }
            map.push_range(start, exclusive_end(end), kind, Origin::Line(number));
            top_level.push((start, u128::from(end) + 1, number));
        }
    }
    if entries > 0 && all_zero {
        return Err(ParseError::in_file(
            "every address is zero: the kernel hides /proc/iomem addresses from users other than root; read it with `sudo cat /proc/iomem`",
        ));
    }
    if entries == 0 {
        return Err(ParseError::in_file("empty /proc/iomem file"));
    }
    check_table(&top_level)?;
    Ok(map)
}
