//! Device tree blob files for the command: [`crate::devicetree`]'s reading, each entry remembering its offset.

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};

use super::{FirmwareMap, Origin, ParseError, NODE_CAPACITY, RANGE_CAPACITY};
use crate::devicetree;
use crate::entry::{EntryKind, Policy};
use crate::error::Location;

/// The first four bytes of a blob.
pub const MAGIC: [u8; 4] = devicetree::MAGIC;

/// Parses a blob with [`crate::devicetree`]'s policy (strict); the blob
/// itself is reserved at `blob_address` when given.
///
/// # Errors
///
/// A corrupt or truncated blob, a malformed `reg` or `numa-node-id`, an
/// entry the policy refuses, at its offset; a tree with no memory.
pub fn parse(blob: &[u8], blob_address: Option<u64>) -> Result<FirmwareMap, ParseError> {
    let mut scratch: Box<MemoryMapBuilder<RANGE_CAPACITY, NODE_CAPACITY>> = Box::default();
    let summary = devicetree::add(blob, &mut scratch, Policy::Strict)?;
    let mut map = FirmwareMap {
        source: "the /memory nodes",
        ram_bytes: summary.added.ram_bytes,
        ..FirmwareMap::default()
    };
    devicetree::visit_blob(blob, &mut |entry| {
        let origin = match entry.location {
            Location::Offset(offset) => Origin::Offset(offset),
            _ => Origin::File,
        };
        let end = entry.start.saturating_add(entry.size);
        match entry.kind {
            EntryKind::Range(kind) => map.push_range(entry.start, end, kind, origin),
            EntryKind::RamOnNode(node) => {
                map.push_range(entry.start, end, RangeKind::Ram, origin);
                map.push_affinity(entry.start, end, node.as_u32(), origin);
                map.declare_node(node.as_u32());
            }
            EntryKind::Affinity(node) => map.push_affinity(entry.start, end, node.as_u32(), origin),
            EntryKind::Node(node) => map.declare_node(node.as_u32()),
        }
        Ok(())
    })?;
    if summary.lowest_ram.is_none() {
        return Err(ParseError::in_file(
            "the device tree has no /memory node with a `reg`",
        ));
    }
    if let Some(address) = blob_address {
        let end = address.saturating_add(summary.size as u64);
        map.push_range(address, end, RangeKind::Reserved, Origin::File);
    }
    Ok(map)
}
