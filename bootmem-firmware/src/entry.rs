//! The one path every reader takes into the builder: check each entry and the table, then add it all or nothing.
//!
//! A reader describes its table as a [`Source`]: something that can walk its
//! entries, as often as asked, in the firmware's order. [`add_source`]
//! walks it once to check every entry on its own (wrapping, zero length),
//! once per entry to compare it with the entries before it (overlaps and
//! duplicates in one table), counts what the builder must hold, and only
//! then adds everything. Nothing is allocated; checking is quadratic in the
//! number of entries, which firmware tables keep in the hundreds.

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
use bootmem::{NodeId, PhysicalAddress};

use crate::error::{FirmwareError, Location, Problem};

/// How strictly a table is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Refuse a table with a zero-length entry, or two entries of one table
    /// sharing addresses (each named in the error). The default: a kernel
    /// learns of a broken firmware table at boot, not from a wrong map.
    #[default]
    Strict,
    /// Read a table the way Linux sanitises e820: zero-length entries are
    /// skipped, overlapping and repeated entries are kept and the library's
    /// normalisation settles them (a reservation wins over RAM). Entries
    /// that wrap past 2^64 and malformed structures are still errors.
    Sanitise,
}

/// What an entry says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A range of this kind.
    Range(RangeKind),
    /// RAM that belongs to a node (a device tree memory node with `numa-node-id`).
    RamOnNode(NodeId),
    /// The addresses belong to a node (an SRAT memory affinity).
    Affinity(NodeId),
    /// The node exists, with memory or without (its range is empty).
    Node(NodeId),
}

/// Which entries of a source must not share addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Entries checked against the other entries of the same group.
    Exclusive(u8),
    /// Entries that may overlap anything (device tree reservations, which
    /// `/memreserve/` and `/reserved-memory` often both list).
    Shared,
}

/// One entry of a firmware table, as a reader decoded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The first byte.
    pub start: u64,
    /// Its size in bytes.
    pub size: u64,
    /// What it says.
    pub kind: EntryKind,
    /// Where it was read.
    pub location: Location,
    /// Which entries it must not overlap.
    pub group: Group,
}

impl Entry {
    /// An entry of the table's exclusive group 0 at entry `index`.
    pub const fn at_index(index: usize, start: u64, size: u64, kind: EntryKind) -> Self {
        Self {
            start,
            size,
            kind,
            location: Location::Entry(index),
            group: Group::Exclusive(0),
        }
    }

    /// The exclusive end, or the error naming the entry when it passes 2^64.
    pub fn end(&self) -> Result<u64, FirmwareError> {
        self.start.checked_add(self.size).ok_or(FirmwareError::new(
            self.location,
            Problem::Wraps {
                start: self.start,
                size: self.size,
            },
        ))
    }

    fn shares_addresses_with(&self, other: &Self) -> bool {
        let end = |entry: &Self| u128::from(entry.start) + u128::from(entry.size);
        u128::from(self.start) < end(other) && u128::from(other.start) < end(self)
    }

    fn adds_range(&self) -> bool {
        matches!(self.kind, EntryKind::Range(_) | EntryKind::RamOnNode(_)) && self.size > 0
    }

    fn adds_affinity(&self) -> bool {
        matches!(self.kind, EntryKind::Affinity(_) | EntryKind::RamOnNode(_)) && self.size > 0
    }
}

/// A firmware table whose entries can be walked, in order, as often as asked.
pub trait Source {
    /// Calls `visit` with every entry, in order, stopping at the first error
    /// (of the table itself, or returned by `visit`).
    ///
    /// # Errors
    ///
    /// A malformed table, or what `visit` returned.
    fn visit(
        &self,
        visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError>;
}

/// What a reader added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries read.
    pub entries: usize,
    /// Ranges added to the builder.
    pub ranges: usize,
    /// NUMA affinities added to the builder.
    pub affinities: usize,
    /// Bytes of RAM in the table, exactly as given (before page rounding).
    pub ram_bytes: u128,
    /// Zero-length entries skipped under [`Policy::Sanitise`].
    pub skipped: usize,
    /// Node declarations (nodes that may have no memory).
    pub nodes: usize,
}

/// Checks every entry of `source` under `policy`, then adds them all to
/// `builder`; on error nothing is added.
///
/// # Errors
///
/// The first bad entry, by its location: wrapping, zero length or overlap
/// (strict policy), or more entries than the builder holds.
pub fn add_source<const RANGES: usize, const NODES: usize>(
    source: &dyn Source,
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    let summary = check(source, policy)?;
    check_room(source, builder, summary)?;
    if summary.nodes > 0 {
        // The builder does not tell how many nodes it holds: declare them
        // on a copy first, so that a full builder is refused untouched.
        let mut trial = builder.clone();
        source.visit(&mut |entry| match entry.kind {
            EntryKind::Node(node) => trial
                .declare_node(node)
                .map_err(|error| FirmwareError::new(entry.location, Problem::Map(error))),
            _ => Ok(()),
        })?;
    }
    source.visit(&mut |entry| add_entry(entry, builder))?;
    Ok(summary)
}

/// The checks of one entry and the counts, without touching any builder.
fn check(source: &dyn Source, policy: Policy) -> Result<Summary, FirmwareError> {
    let mut summary = Summary::default();
    let mut index = 0usize;
    source.visit(&mut |entry| {
        entry.end()?;
        summary.entries += 1;
        let empty = entry.size == 0 && !matches!(entry.kind, EntryKind::Node(_));
        if empty {
            if policy == Policy::Strict {
                return Err(FirmwareError::new(entry.location, Problem::Empty));
            }
            summary.skipped += 1;
        }
        if policy == Policy::Strict {
            check_against_earlier(source, entry, index)?;
        }
        summary.nodes += usize::from(matches!(entry.kind, EntryKind::Node(_)));
        summary.ranges += usize::from(entry.adds_range());
        summary.affinities += usize::from(entry.adds_affinity());
        if matches!(
            entry.kind,
            EntryKind::Range(RangeKind::Ram) | EntryKind::RamOnNode(_)
        ) {
            summary.ram_bytes += u128::from(entry.size);
        }
        index += 1;
        Ok(())
    })?;
    Ok(summary)
}

/// Compares the entry at `index` with the entries before it.
fn check_against_earlier(
    source: &dyn Source,
    entry: Entry,
    index: usize,
) -> Result<(), FirmwareError> {
    let Group::Exclusive(group) = entry.group else {
        return Ok(());
    };
    let mut earlier = 0usize;
    source.visit(&mut |other| {
        if earlier < index && other.group == Group::Exclusive(group) {
            if other.start == entry.start && other.size == entry.size && entry.size > 0 {
                return Err(FirmwareError::new(
                    entry.location,
                    Problem::Duplicate {
                        other: other.location,
                    },
                ));
            }
            if entry.shares_addresses_with(&other) {
                return Err(FirmwareError::new(
                    entry.location,
                    Problem::Overlaps {
                        other: other.location,
                    },
                ));
            }
        }
        earlier += 1;
        Ok(())
    })
}

/// Whether the builder has room for every range and affinity of the source.
fn check_room<const RANGES: usize, const NODES: usize>(
    source: &dyn Source,
    builder: &MemoryMapBuilder<RANGES, NODES>,
    summary: Summary,
) -> Result<(), FirmwareError> {
    let (ranges, affinities) = (
        builder.added_ranges().len(),
        builder.added_affinities().len(),
    );
    if ranges + summary.ranges <= RANGES && affinities + summary.affinities <= RANGES {
        return Ok(());
    }
    // Name the first entry that does not fit.
    let (mut ranges, mut affinities) = (ranges, affinities);
    source.visit(&mut |entry| {
        ranges += usize::from(entry.adds_range());
        affinities += usize::from(entry.adds_affinity());
        if ranges > RANGES || affinities > RANGES {
            return Err(FirmwareError::new(
                entry.location,
                Problem::TooManyEntries { capacity: RANGES },
            ));
        }
        Ok(())
    })?;
    Err(FirmwareError::of_table(Problem::TooManyEntries {
        capacity: RANGES,
    }))
}

fn add_entry<const RANGES: usize, const NODES: usize>(
    entry: Entry,
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
) -> Result<(), FirmwareError> {
    let located = |error| FirmwareError::new(entry.location, Problem::Map(error));
    let start = PhysicalAddress::new(entry.start);
    let end = PhysicalAddress::new(entry.end()?);
    match entry.kind {
        EntryKind::Node(node) => builder.declare_node(node).map_err(located),
        _ if entry.size == 0 => Ok(()),
        EntryKind::Range(kind) => builder.add_range(start, end, kind).map_err(located),
        EntryKind::RamOnNode(node) => builder.add_ram_on_node(start, end, node).map_err(located),
        EntryKind::Affinity(node) => builder.add_node_affinity(start, end, node).map_err(located),
    }
}
