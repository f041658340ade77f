//! Flattened device tree blobs: `/memory` nodes, `/reserved-memory`, `/memreserve/`, and the blob itself.
//!
//! The blob is checked here, token by token, before the `fdt` crate reads
//! it, because that crate asserts on malformed input; its reading also runs
//! under `catch_unwind` so that a blob this check missed is still an error,
//! not a crash.

use std::panic::{self, AssertUnwindSafe};

use bootmem::memory_map::RangeKind;
use fdt::node::FdtNode;
use fdt::Fdt;

use super::{FirmwareMap, Origin, ParseError};

/// The first four bytes of a blob.
pub const MAGIC: [u8; 4] = [0xd0, 0x0d, 0xfe, 0xed];

const HEADER_SIZE: usize = 40;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;

fn word(blob: &[u8], offset: usize) -> Option<u32> {
    let bytes = blob.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

fn double_word(blob: &[u8], offset: usize) -> Option<u64> {
    let bytes = blob.get(offset..offset.checked_add(8)?)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

fn align4(value: usize) -> Option<usize> {
    value.checked_add(3).map(|value| value & !3)
}

/// A NUL-terminated UTF-8 string at `offset`, within `limit`; its length.
fn c_string(blob: &[u8], offset: usize, limit: usize) -> Option<usize> {
    let bytes = blob.get(offset..limit)?;
    let length = bytes.iter().position(|&byte| byte == 0)?;
    std::str::from_utf8(&bytes[..length]).ok()?;
    Some(length)
}

/// Checks the header, the reservation block and every token of the
/// structure block.
///
/// # Errors
///
/// The first problem found, at its offset.
pub fn validate(blob: &[u8]) -> Result<(), ParseError> {
    if blob.len() < HEADER_SIZE {
        return Err(ParseError::at_offset(
            blob.len(),
            format!(
                "truncated: {} bytes, a header needs {HEADER_SIZE}",
                blob.len()
            ),
        ));
    }
    if blob[..4] != MAGIC {
        return Err(ParseError::at_offset(
            0,
            "bad magic: not a flattened device tree",
        ));
    }
    let field = |index: usize| word(blob, index * 4).map_or(0, |value| value as usize);
    let (total, struct_offset, strings_offset, reserve_offset) =
        (field(1), field(2), field(3), field(4));
    let (version, strings_size, struct_size) = (field(5), field(8), field(9));
    if total > blob.len() {
        return Err(ParseError::at_offset(
            blob.len(),
            format!(
                "truncated: the header says {total} bytes, the file has {}",
                blob.len()
            ),
        ));
    }
    if total < HEADER_SIZE {
        return Err(ParseError::at_offset(
            4,
            format!("total size {total} is smaller than the header"),
        ));
    }
    if version < 17 {
        return Err(ParseError::at_offset(
            20,
            format!("version {version} is older than 17"),
        ));
    }
    let within =
        |offset: usize, size: usize| offset.checked_add(size).is_some_and(|end| end <= total);
    if !within(struct_offset, struct_size) || struct_offset < HEADER_SIZE {
        return Err(ParseError::at_offset(
            8,
            "structure block lies outside the blob",
        ));
    }
    if !within(strings_offset, strings_size) {
        return Err(ParseError::at_offset(
            12,
            "strings block lies outside the blob",
        ));
    }
    if reserve_offset < HEADER_SIZE || reserve_offset % 8 != 0 {
        return Err(ParseError::at_offset(
            16,
            "bad memory reservation block offset",
        ));
    }
    let mut offset = reserve_offset;
    loop {
        let (Some(address), Some(size)) =
            (double_word(blob, offset), double_word(blob, offset + 8))
        else {
            return Err(ParseError::at_offset(
                offset,
                "memory reservation block runs off the blob",
            ));
        };
        if offset + 16 > total {
            return Err(ParseError::at_offset(
                offset,
                "memory reservation block runs off the blob",
            ));
        }
        if address == 0 && size == 0 {
            break;
        }
        offset += 16;
    }
    let strings_end = strings_offset + strings_size;
    let struct_end = struct_offset + struct_size;
    let mut offset = struct_offset;
    let mut depth = 0usize;
    let mut seen_root = false;
    loop {
        let token = word(blob, offset)
            .filter(|_| offset + 4 <= struct_end)
            .ok_or_else(|| ParseError::at_offset(offset, "structure block ends without FDT_END"))?;
        let body = offset + 4;
        match token {
            BEGIN_NODE => {
                if depth == 0 && seen_root {
                    return Err(ParseError::at_offset(offset, "a second root node"));
                }
                let length = c_string(blob, body, struct_end).ok_or_else(|| {
                    ParseError::at_offset(body, "node name is not a NUL-terminated UTF-8 string")
                })?;
                if depth == 0 && length != 0 {
                    return Err(ParseError::at_offset(body, "the root node has a name"));
                }
                seen_root = true;
                depth += 1;
                offset = align4(body + length + 1).unwrap_or(usize::MAX);
            }
            END_NODE => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| ParseError::at_offset(offset, "FDT_END_NODE without a node"))?;
                offset = body;
            }
            PROP => {
                if depth == 0 {
                    return Err(ParseError::at_offset(offset, "property outside any node"));
                }
                let (Some(length), Some(name)) = (word(blob, body), word(blob, body + 4)) else {
                    return Err(ParseError::at_offset(offset, "truncated property"));
                };
                let value = body + 8;
                let value_end = value
                    .checked_add(length as usize)
                    .filter(|&end| end <= struct_end);
                let Some(value_end) = value_end else {
                    return Err(ParseError::at_offset(
                        body,
                        format!("property of {length} bytes runs off the structure block"),
                    ));
                };
                let name_offset = strings_offset
                    .checked_add(name as usize)
                    .filter(|&start| start < strings_end);
                if name_offset
                    .and_then(|start| c_string(blob, start, strings_end))
                    .is_none()
                {
                    return Err(ParseError::at_offset(
                        body + 4,
                        format!("property name offset {name} is not a string of the strings block"),
                    ));
                }
                offset = align4(value_end).unwrap_or(usize::MAX);
            }
            NOP => offset = body,
            END => {
                if depth != 0 || !seen_root {
                    return Err(ParseError::at_offset(offset, "FDT_END inside a node"));
                }
                return Ok(());
            }
            other => {
                return Err(ParseError::at_offset(
                    offset,
                    format!("unknown structure token {other:#x}"),
                ))
            }
        }
    }
}

/// Parses a blob: RAM from `/memory` nodes (`numa-node-id` for their node),
/// reservations from `/reserved-memory` children with a `reg` and from
/// `/memreserve/`, and the blob itself when its physical address is known.
///
/// # Errors
///
/// A corrupt or truncated blob, a malformed `reg` or `numa-node-id`, at its offset.
pub fn parse(blob: &[u8], blob_address: Option<u64>) -> Result<FirmwareMap, ParseError> {
    validate(blob)?;
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(|| read(blob, blob_address)));
    panic::set_hook(previous_hook);
    result.unwrap_or_else(|_| {
        Err(ParseError::at_offset(
            0,
            "the device tree could not be read (corrupt blob)",
        ))
    })
}

fn offset_of(blob: &[u8], value: &[u8]) -> usize {
    (value.as_ptr() as usize).wrapping_sub(blob.as_ptr() as usize)
}

/// `#address-cells` and `#size-cells` of `node` (for its children), defaults 2 and 1.
fn cells(blob: &[u8], node: FdtNode<'_, '_>) -> Result<(usize, usize), ParseError> {
    let mut result = (2, 1);
    for property in node.properties() {
        let slot = match property.name {
            "#address-cells" => &mut result.0,
            "#size-cells" => &mut result.1,
            _ => continue,
        };
        let value = match property.value.try_into() {
            Ok(bytes) => u32::from_be_bytes(bytes) as usize,
            Err(_) => {
                return Err(ParseError::at_offset(
                    offset_of(blob, property.value),
                    format!("`{}` is not one 32-bit cell", property.name),
                ))
            }
        };
        if value > 2 {
            return Err(ParseError::at_offset(
                offset_of(blob, property.value),
                format!("`{}` = {value}: more than 64 bits", property.name),
            ));
        }
        *slot = value;
    }
    Ok(result)
}

/// One `reg` entry: start, size, and the blob offset it was read at.
type RegEntry = (u64, u64, usize);

/// The `(start, size)` pairs of a node's `reg`, or `None` without one.
fn reg(
    blob: &[u8],
    node: FdtNode<'_, '_>,
    (address_cells, size_cells): (usize, usize),
) -> Result<Option<Vec<RegEntry>>, ParseError> {
    let Some(property) = node.property("reg") else {
        return Ok(None);
    };
    let base = offset_of(blob, property.value);
    let stride = (address_cells + size_cells) * 4;
    if address_cells == 0 || stride == 0 || property.value.len() % stride != 0 {
        return Err(ParseError::at_offset(base, format!("`reg` of {} is {} bytes, not a whole number of ({address_cells} + {size_cells})-cell entries", node.name, property.value.len())));
    }
    let number = |bytes: &[u8]| {
        bytes.chunks(4).fold(0u64, |value, cell| {
            (value << 32) | u64::from(u32::from_be_bytes(cell.try_into().unwrap_or_default()))
        })
    };
    let entries = property
        .value
        .chunks(stride)
        .enumerate()
        .map(|(index, entry)| {
            let (address, size) = entry.split_at(address_cells * 4);
            (number(address), number(size), base + index * stride)
        })
        .collect();
    Ok(Some(entries))
}

fn disabled(node: FdtNode<'_, '_>) -> bool {
    node.property("status")
        .and_then(|status| status.as_str())
        .is_some_and(|status| status != "okay" && status != "ok")
}

fn read(blob: &[u8], blob_address: Option<u64>) -> Result<FirmwareMap, ParseError> {
    let tree = Fdt::new(blob).map_err(|error| ParseError::at_offset(0, format!("{error:?}")))?;
    let mut map = FirmwareMap {
        source: "the /memory nodes",
        ..FirmwareMap::default()
    };
    let root = tree
        .find_node("/")
        .ok_or_else(|| ParseError::at_offset(0, "no root node"))?;
    let root_cells = cells(blob, root)?;
    for node in root.children() {
        let base_name = node.name.split('@').next().unwrap_or("");
        let is_memory =
            node.property("device_type").and_then(|kind| kind.as_str()) == Some("memory");
        if !(is_memory || (base_name == "memory" && node.property("device_type").is_none()))
            || disabled(node)
        {
            continue;
        }
        let node_id = match node.property("numa-node-id") {
            None => None,
            Some(property) => match <[u8; 4]>::try_from(property.value) {
                Ok(bytes) => Some(u32::from_be_bytes(bytes)),
                Err(_) => {
                    return Err(ParseError::at_offset(
                        offset_of(blob, property.value),
                        format!("`numa-node-id` of {} is not one 32-bit cell", node.name),
                    ))
                }
            },
        };
        for (start, size, offset) in reg(blob, node, root_cells)?.unwrap_or_default() {
            let end = start.checked_add(size).ok_or_else(|| {
                ParseError::at_offset(
                    offset,
                    format!("memory range {start:#x} + {size:#x} runs past 2^64"),
                )
            })?;
            map.push_range(start, end, RangeKind::Ram, Origin::Offset(offset));
            map.ram_bytes += u128::from(size);
            if let Some(node_id) = node_id {
                map.push_affinity(start, end, node_id, Origin::Offset(offset));
                map.declare_node(node_id);
            }
        }
    }
    if let Some(reserved) = tree.find_node("/reserved-memory") {
        let reserved_cells = cells(blob, reserved)?;
        for child in reserved.children() {
            if disabled(child) {
                continue;
            }
            for (start, size, offset) in reg(blob, child, reserved_cells)?.unwrap_or_default() {
                let end = start.saturating_add(size);
                map.push_range(start, end, RangeKind::Reserved, Origin::Offset(offset));
            }
        }
    }
    let reserve_offset = word(blob, 16).map_or(0, |value| value as usize);
    for (index, reservation) in tree.memory_reservations().enumerate() {
        let start = reservation.address() as usize as u64;
        let end = start.saturating_add(reservation.size() as u64);
        map.push_range(
            start,
            end,
            RangeKind::Reserved,
            Origin::Offset(reserve_offset + index * 16),
        );
    }
    if let Some(address) = blob_address {
        map.push_range(
            address,
            address.saturating_add(tree.total_size() as u64),
            RangeKind::Reserved,
            Origin::File,
        );
    }
    if map.ranges.iter().all(|range| !range.range.kind.is_ram()) {
        return Err(ParseError::in_file(
            "the device tree has no /memory node with a `reg`",
        ));
    }
    Ok(map)
}
