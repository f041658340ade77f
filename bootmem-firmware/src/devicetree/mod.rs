//! Flattened device tree blobs, read with `dtoolkit`: `/memory` nodes, `numa-node-id`, `/reserved-memory`, `/memreserve/`.
//!
//! # Which crate, and why
//!
//! Several crates read blobs without a heap. `fdt` (0.1.5, MPL-2.0, the
//! one this project used) checks only the header in `Fdt::new`; its
//! accessors then `unwrap` what they read (85 `unwrap`/`expect` calls), so a
//! truncated property or a name offset past the strings block panics: the
//! command had to pre-validate every token and run it under
//! `catch_unwind`, which a kernel cannot do. Its 0.2 is an alpha;
//! `flat_device_tree` and `fdt-parser` (both MPL-2.0) follow the same
//! model. `dtoolkit` (0.4, Google, MIT OR Apache-2.0 like this crate)
//! validates the whole blob in `Fdt::new` (header, reservation block,
//! every token, every name) and returns an error, after which its
//! accessors do not fail. This crate uses `dtoolkit`, after a walk of its
//! own over the header and the tokens so that a truncated blob, a lying
//! `totalsize` or a bad token gets an error naming its offset
//! (`dtoolkit`'s keeps the offset private).
//!
//! # The policy (the command's and the kernels')
//!
//! - RAM: every child of the root whose `device_type` is `"memory"` (or,
//!   with no `device_type`, whose name is `memory` or `memory@...`), unless
//!   its `status` is neither `"okay"` nor `"ok"`; its
//!   `linux,usable-memory` when present (a crash kernel's view), else its
//!   `reg`, decoded with the root's `#address-cells` / `#size-cells`.
//! - Nodes: a memory node's `numa-node-id` gives its RAM to that node; a
//!   memory node with a `numa-node-id` and no bytes, and every
//!   `numa-node-id` under `/cpus`, declare a node that may have no memory.
//! - Reservations: every enabled child of `/reserved-memory` with a `reg`
//!   (its own cells), with `no-map` (taken out of the kernel's mapping) or
//!   without (reserved but mapped): both are kept from the boot allocator,
//!   and the summary counts them apart. Children with only a `size` are
//!   pools the kernel places itself: counted, not reserved. Every
//!   `/memreserve/` entry is reserved.
//! - The blob itself is not in the map: the kernel passes it to the set-up
//!   among the ranges in use.
//!
//! Memory `reg` entries of one tree must not overlap (with
//! [`Policy::Strict`]); reservations may.
//!
//! ```
//! use bootmem::memory_map::MemoryMapBuilder;
//! use bootmem::PageSize;
//! use bootmem_firmware::{devicetree, Policy};
//! use dtoolkit::model::{DeviceTree, DeviceTreeNode, DeviceTreeProperty};
//!
//! // What the boot loader passed: /memory@40000000, reg = <0 0x40000000 0 0x40000000>.
//! let mut tree = DeviceTree::new();
//! tree.root.add_property(DeviceTreeProperty::new("#address-cells", 2u32).unwrap());
//! tree.root.add_property(DeviceTreeProperty::new("#size-cells", 2u32).unwrap());
//! tree.root.add_child(
//!     DeviceTreeNode::builder("memory@40000000").unwrap()
//!         .property(DeviceTreeProperty::new("device_type", "memory").unwrap())
//!         .property(DeviceTreeProperty::new("reg", [0u32, 0x4000_0000, 0, 0x4000_0000]).unwrap())
//!         .build(),
//! );
//! let blob = tree.to_dtb();
//!
//! let mut builder = MemoryMapBuilder::<16, 2>::new();
//! let summary = devicetree::add(&blob, &mut builder, Policy::Strict)?;
//! assert_eq!(summary.lowest_ram, Some(0x4000_0000));
//! let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB)?;
//! assert_eq!(map.ram_bytes(), 0x4000_0000);
//! # Ok::<(), bootmem_firmware::FirmwareError>(())
//! ```

use core::fmt::{self, Write};

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
use bootmem::NodeId;
use dtoolkit::error::FdtErrorKind;
use dtoolkit::fdt::{Fdt, FdtNode};
use dtoolkit::{Node, Property};

mod structure;

use crate::entry::{add_source, Entry, EntryKind, Group, Policy, Source, Summary};
use crate::error::{FirmwareError, Location, Problem};

/// The first four bytes of a blob.
pub const MAGIC: [u8; 4] = [0xd0, 0x0d, 0xfe, 0xed];
/// Bytes of the header.
pub const HEADER_SIZE: usize = 40;

/// What a device tree said beyond its ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceTreeSummary<'blob> {
    /// The entries added.
    pub added: Summary,
    /// The blob's `totalsize`.
    pub size: usize,
    /// The lowest address of RAM, `None` when no memory node has any.
    pub lowest_ram: Option<u64>,
    /// `/reserved-memory` ranges with `no-map`.
    pub no_map_ranges: usize,
    /// `/reserved-memory` ranges without `no-map`.
    pub mapped_reserved_ranges: usize,
    /// `/reserved-memory` children with no `reg` (placed by the kernel).
    pub dynamic_pools: usize,
    /// `/memreserve/` entries.
    pub memreserve_ranges: usize,
    /// `/chosen/bootargs`, empty when absent.
    pub command_line: &'blob str,
}

/// Checks the header of `blob` and the whole structure (with `dtoolkit`),
/// and returns the tree; bytes past `totalsize` are ignored.
///
/// # Errors
///
/// A blob shorter than its header or its `totalsize`, a wrong magic, an
/// old version, or any structural fault `dtoolkit` finds, at its offset.
pub fn check(blob: &[u8]) -> Result<Fdt<'_>, FirmwareError> {
    let size = total_size(blob)?;
    let blob = &blob[..size];
    structure::check(blob)?;
    Fdt::new(blob).map_err(|error| {
        let mut capture = OffsetCapture::default();
        let _ = write!(capture, "{error}");
        FirmwareError::malformed(Location::Offset(capture.offset), describe(&error.kind))
    })
}

/// The blob's `totalsize`, checked against the bytes there are.
fn total_size(blob: &[u8]) -> Result<usize, FirmwareError> {
    if blob.len() < HEADER_SIZE {
        return Err(FirmwareError::new(
            Location::Offset(blob.len()),
            Problem::Truncated {
                needed: HEADER_SIZE,
                available: blob.len(),
            },
        ));
    }
    if blob[..4] != MAGIC {
        return Err(FirmwareError::new(Location::Offset(0), Problem::BadMagic));
    }
    let field = |index: usize| {
        let bytes = [
            blob[index * 4],
            blob[index * 4 + 1],
            blob[index * 4 + 2],
            blob[index * 4 + 3],
        ];
        u32::from_be_bytes(bytes) as usize
    };
    let total = field(1);
    if total > blob.len() {
        return Err(FirmwareError::new(
            Location::Offset(blob.len()),
            Problem::Truncated {
                needed: total,
                available: blob.len(),
            },
        ));
    }
    if total < HEADER_SIZE {
        return Err(FirmwareError::malformed(
            Location::Offset(4),
            "totalsize is smaller than the header",
        ));
    }
    if field(5) < 16 {
        return Err(FirmwareError::malformed(
            Location::Offset(20),
            "version older than 16",
        ));
    }
    Ok(total)
}

/// A blob's bytes from its physical (identity-mapped) address, at most
/// `limit` bytes of them (what the caller knows to be readable there).
///
/// # Safety
///
/// `address` must point to `limit` readable bytes (at least the 40 of a
/// header) that stay unchanged for `'static`.
///
/// # Errors
///
/// A wrong magic, or a `totalsize` above `limit` (nothing past the header
/// is read then).
pub unsafe fn blob_at(address: usize, limit: usize) -> Result<&'static [u8], FirmwareError> {
    if limit < HEADER_SIZE {
        return Err(FirmwareError::new(
            Location::Offset(limit),
            Problem::Truncated {
                needed: HEADER_SIZE,
                available: limit,
            },
        ));
    }
    // SAFETY: the caller vouches for `limit` >= 40 readable bytes at `address`.
    let header = unsafe { core::slice::from_raw_parts(address as *const u8, HEADER_SIZE) };
    if header[..4] != MAGIC {
        return Err(FirmwareError::new(Location::Offset(0), Problem::BadMagic));
    }
    let size = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if size > limit {
        return Err(FirmwareError::new(
            Location::Offset(4),
            Problem::Truncated {
                needed: size,
                available: limit,
            },
        ));
    }
    // SAFETY: `size` <= `limit`, which the caller vouches for.
    Ok(unsafe { core::slice::from_raw_parts(address as *const u8, size.max(HEADER_SIZE)) })
}

/// Adds the memory, nodes and reservations of `blob` (see the [module
/// documentation](self) for the policy).
///
/// # Errors
///
/// A blob [`check`] refuses; a `reg` that is not a whole number of
/// entries, cells above 2, a `numa-node-id` that is not one cell; the
/// errors of the entry policy. Each at its offset in the blob; nothing is
/// added on error.
pub fn add<'blob, const RANGES: usize, const NODES: usize>(
    blob: &'blob [u8],
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<DeviceTreeSummary<'blob>, FirmwareError> {
    let tree = check(blob)?;
    let source = Tree { blob, tree };
    let added = add_source(&source, builder, policy)?;
    let mut summary = DeviceTreeSummary {
        added,
        size: tree.data().len(),
        lowest_ram: None,
        no_map_ranges: 0,
        mapped_reserved_ranges: 0,
        dynamic_pools: 0,
        memreserve_ranges: tree.memory_reservations().count(),
        command_line: command_line(blob, tree),
    };
    source.visit(&mut |entry| {
        if let EntryKind::RamOnNode(_) | EntryKind::Range(RangeKind::Ram) = entry.kind {
            if entry.size > 0 {
                summary.lowest_ram = Some(
                    summary
                        .lowest_ram
                        .map_or(entry.start, |low| low.min(entry.start)),
                );
            }
        }
        Ok(())
    })?;
    if let Some(reserved) = tree.root().child("reserved-memory") {
        for child in reserved.children().filter(enabled) {
            match child.property("reg") {
                None => summary.dynamic_pools += 1,
                Some(_) if child.property("no-map").is_some() => summary.no_map_ranges += 1,
                Some(_) => summary.mapped_reserved_ranges += 1,
            }
        }
    }
    Ok(summary)
}

/// Walks the entries of `blob` (checked first) in the reader's order: the
/// memory `reg` entries, node declarations, reservations.
///
/// # Errors
///
/// As [`add`], less the entry policy.
#[cfg(feature = "std")]
pub(crate) fn visit_blob(
    blob: &[u8],
    visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
) -> Result<(), FirmwareError> {
    let tree = check(blob)?;
    Tree { blob, tree }.visit(visit)
}

fn command_line<'blob>(blob: &'blob [u8], tree: Fdt<'blob>) -> &'blob str {
    let Some(bootargs) = tree
        .root()
        .child("chosen")
        .and_then(|chosen| chosen.property("bootargs"))
    else {
        return "";
    };
    // The value lies inside the blob: take it from there, for the blob's lifetime.
    let value = bootargs.value();
    let start = (value.as_ptr() as usize).wrapping_sub(blob.as_ptr() as usize);
    let bytes = blob
        .get(start..start.saturating_add(value.len()))
        .unwrap_or(&[]);
    core::str::from_utf8(bytes).map_or("", |text| text.trim_end_matches('\0'))
}

struct Tree<'blob> {
    blob: &'blob [u8],
    tree: Fdt<'blob>,
}

/// Which part of the tree an entry comes from.
const MEMORY_GROUP: Group = Group::Exclusive(0);

impl Source for Tree<'_> {
    fn visit(
        &self,
        visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        let root = self.tree.root();
        let root_cells = self.cells(root)?;
        for node in root
            .children()
            .filter(|node| is_memory(*node) && enabled(node))
        {
            self.memory_node(node, root_cells, visit)?;
        }
        if let Some(cpus) = root.child("cpus") {
            for cpu in cpus.children() {
                if let Some(node) = self.numa_node(cpu)? {
                    visit(self.node_declaration(node, cpu))?;
                }
            }
        }
        if let Some(reserved) = root.child("reserved-memory") {
            let cells = self.cells(reserved)?;
            for child in reserved.children().filter(enabled) {
                self.reg(child, "reg", cells, &mut |start, size, offset| {
                    visit(shared(start, size, offset))
                })?;
            }
        }
        let reservations_at = header_word(self.blob, 16);
        for (index, reservation) in self.tree.memory_reservations().enumerate() {
            let offset = reservations_at + index * 16;
            visit(shared(reservation.address(), reservation.size(), offset))?;
        }
        Ok(())
    }
}

fn shared(start: u64, size: u64, offset: usize) -> Entry {
    Entry {
        start,
        size,
        kind: EntryKind::Range(RangeKind::Reserved),
        location: Location::Offset(offset),
        group: Group::Shared,
    }
}

impl<'blob> Tree<'blob> {
    fn offset_of(&self, bytes: &[u8]) -> usize {
        (bytes.as_ptr() as usize).wrapping_sub(self.blob.as_ptr() as usize)
    }

    fn memory_node(
        &self,
        node: FdtNode<'blob>,
        cells: Cells,
        visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        let numa = self.numa_node(node)?;
        let property = if node.property("linux,usable-memory").is_some() {
            "linux,usable-memory"
        } else {
            "reg"
        };
        let mut bytes = 0u128;
        self.reg(node, property, cells, &mut |start, size, offset| {
            bytes += u128::from(size);
            let kind = numa.map_or(EntryKind::Range(RangeKind::Ram), EntryKind::RamOnNode);
            if size == 0 && numa.is_some() {
                return Ok(());
            }
            visit(Entry {
                start,
                size,
                kind,
                location: Location::Offset(offset),
                group: MEMORY_GROUP,
            })
        })?;
        match numa {
            Some(id) if bytes == 0 => visit(self.node_declaration(id, node)),
            _ => Ok(()),
        }
    }

    fn node_declaration(&self, node: NodeId, at: FdtNode<'blob>) -> Entry {
        let offset = at
            .property("numa-node-id")
            .map_or(0, |property| self.offset_of(property.value()));
        Entry {
            start: 0,
            size: 0,
            kind: EntryKind::Node(node),
            location: Location::Offset(offset),
            group: Group::Shared,
        }
    }

    fn numa_node(&self, node: FdtNode<'blob>) -> Result<Option<NodeId>, FirmwareError> {
        let Some(property) = node.property("numa-node-id") else {
            return Ok(None);
        };
        match <[u8; 4]>::try_from(property.value()) {
            Ok(bytes) => Ok(Some(NodeId::new(u32::from_be_bytes(bytes)))),
            Err(_) => Err(FirmwareError::malformed(
                Location::Offset(self.offset_of(property.value())),
                "`numa-node-id` is not one 32-bit cell",
            )),
        }
    }

    /// `#address-cells` and `#size-cells` of `node` (for its children), defaults 2 and 1.
    fn cells(&self, node: FdtNode<'blob>) -> Result<Cells, FirmwareError> {
        let mut cells = Cells {
            address: 2,
            size: 1,
        };
        for (name, slot) in [
            ("#address-cells", &mut cells.address),
            ("#size-cells", &mut cells.size),
        ] {
            let Some(property) = node.property(name) else {
                continue;
            };
            let location = Location::Offset(self.offset_of(property.value()));
            let bytes = <[u8; 4]>::try_from(property.value()).map_err(|_| {
                FirmwareError::malformed(location, "a `#...-cells` property is not one 32-bit cell")
            })?;
            let value = u32::from_be_bytes(bytes);
            if value > 2 {
                return Err(FirmwareError::malformed(
                    location,
                    "a `#...-cells` above 2: addresses or sizes wider than 64 bits",
                ));
            }
            *slot = value as usize;
        }
        Ok(cells)
    }

    /// Calls `each(start, size, offset)` for every entry of `node`'s `property`.
    fn reg(
        &self,
        node: FdtNode<'blob>,
        property: &str,
        cells: Cells,
        each: &mut dyn FnMut(u64, u64, usize) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        let Some(property) = node.property(property) else {
            return Ok(());
        };
        let value = property.value();
        let base = self.offset_of(value);
        if cells.address == 0 || cells.size == 0 {
            return Err(FirmwareError::malformed(
                Location::Offset(base),
                "`reg` under `#address-cells` or `#size-cells` of 0",
            ));
        }
        let stride = (cells.address + cells.size) * 4;
        if value.len() % stride != 0 {
            return Err(FirmwareError::malformed(
                Location::Offset(base),
                "`reg` is not a whole number of (address, size) entries",
            ));
        }
        for (index, entry) in value.chunks_exact(stride).enumerate() {
            let (address, size) = entry.split_at(cells.address * 4);
            each(number(address), number(size), base + index * stride)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Cells {
    address: usize,
    size: usize,
}

fn number(cells: &[u8]) -> u64 {
    cells.chunks_exact(4).fold(0u64, |value, cell| {
        (value << 32) | u64::from(u32::from_be_bytes([cell[0], cell[1], cell[2], cell[3]]))
    })
}

fn header_word(blob: &[u8], offset: usize) -> usize {
    blob.get(offset..offset + 4).map_or(0, |bytes| {
        u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize
    })
}

fn is_memory(node: FdtNode<'_>) -> bool {
    match node.property("device_type") {
        Some(kind) => kind.value().strip_suffix(b"\0").unwrap_or(kind.value()) == b"memory",
        None => node.name_without_address() == "memory",
    }
}

fn enabled(node: &FdtNode<'_>) -> bool {
    node.property("status").is_none_or(|status| {
        let value = status.value().strip_suffix(b"\0").unwrap_or(status.value());
        value == b"okay" || value == b"ok"
    })
}

fn describe(kind: &FdtErrorKind) -> &'static str {
    match kind {
        FdtErrorKind::InvalidMagic => "bad magic: not a flattened device tree",
        FdtErrorKind::UnsupportedVersion(_) => "unsupported device tree version",
        FdtErrorKind::InvalidLength => "truncated: the blob's length disagrees with its header",
        FdtErrorKind::InvalidHeader(reason) => reason,
        FdtErrorKind::BadToken(_) => "unknown structure token",
        FdtErrorKind::InvalidOffset => "a structure runs off the blob",
        FdtErrorKind::InvalidString => "a name is not a NUL-terminated string inside the blob",
        FdtErrorKind::InvalidNodeName => "invalid node name",
        FdtErrorKind::InvalidPropertyName => {
            "property name offset is not a string of the strings block"
        }
        FdtErrorKind::MemReserveNotTerminated => "the /memreserve/ block has no terminating entry",
        FdtErrorKind::MemReserveInvalid => "a /memreserve/ entry is unaligned or malformed",
        _ => "malformed device tree",
    }
}

/// Takes the number after the last "offset " of `dtoolkit`'s message
/// (its error keeps the offset private).
#[derive(Default)]
struct OffsetCapture {
    offset: usize,
    after_marker: bool,
    matched: usize,
}

impl Write for OffsetCapture {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        const MARKER: &[u8] = b"offset ";
        for byte in text.bytes() {
            if self.after_marker && byte.is_ascii_digit() {
                self.offset = self
                    .offset
                    .saturating_mul(10)
                    .saturating_add(usize::from(byte - b'0'));
                continue;
            }
            self.after_marker = false;
            self.matched = if byte == MARKER[self.matched] {
                self.matched + 1
            } else {
                usize::from(byte == MARKER[0])
            };
            if self.matched == MARKER.len() {
                self.after_marker = true;
                self.matched = 0;
                self.offset = 0;
            }
        }
        Ok(())
    }
}
