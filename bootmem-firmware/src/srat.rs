//! ACPI's System Resource Affinity Table: which node each memory range belongs to, and which nodes exist.
//!
//! # Why an own reader over bytes
//!
//! The `acpi` crate's releases that build on stable (5.x) find and
//! checksum tables but have no SRAT type. Its 7.0 pre-release has one, but
//! reads the high half of a range's length from its base address, takes
//! the subtable length as 16 bits (it is 8), loops forever on a zero-length
//! subtable and reads past a subtable shorter than its type. So this module
//! decodes the table from bytes, checking every length, and uses `acpi`
//! 5.x to find the table: [`add_from_tables`] takes the crate's
//! `AcpiTables`.
//!
//! # Nodes
//!
//! Linux numbers nodes by first appearance of each proximity domain: first
//! among the processor and initiator entries (local APIC, x2APIC, GICC,
//! generic initiator), then among the memory entries. This reader numbers
//! them the same way, so its nodes are those of a Linux log's `SRAT: Node
//! N PXM P` lines. Disabled entries are skipped; hot-pluggable ranges count
//! (they name addresses, not memory: only RAM ranges say what exists).
//!
//! ```
//! use bootmem::memory_map::MemoryMapBuilder;
//! use bootmem::{NodeId, PageSize};
//! use bootmem_firmware::{e820, srat, Policy};
//!
//! // An SRAT with two enabled memory affinities: PXM 0 below 2 GiB, PXM 1 above.
//! let mut table = vec![0u8; 48];
//! table[..4].copy_from_slice(b"SRAT");
//! for (domain, base, length) in [(0u32, 0u64, 0x8000_0000u64), (1, 0x8000_0000, 0x8000_0000)] {
//!     let mut entry = [0u8; 40];
//!     entry[0] = 1; // memory affinity
//!     entry[1] = 40;
//!     entry[2..6].copy_from_slice(&domain.to_le_bytes());
//!     entry[8..16].copy_from_slice(&base.to_le_bytes());
//!     entry[16..24].copy_from_slice(&length.to_le_bytes());
//!     entry[28..32].copy_from_slice(&1u32.to_le_bytes()); // enabled
//!     table.extend_from_slice(&entry);
//! }
//! let length = table.len() as u32;
//! table[4..8].copy_from_slice(&length.to_le_bytes());
//! let sum = table.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte));
//! table[9] = 0u8.wrapping_sub(sum); // checksum
//!
//! // With the e820 table of the same machine.
//! let mut e820_table = Vec::new();
//! for (address, size) in [(0u64, 0x8000_0000u64), (0x8000_0000, 0x8000_0000)] {
//!     e820_table.extend_from_slice(&address.to_le_bytes());
//!     e820_table.extend_from_slice(&size.to_le_bytes());
//!     e820_table.extend_from_slice(&1u32.to_le_bytes());
//! }
//! let mut builder = MemoryMapBuilder::<16, 4>::new();
//! e820::add(&e820_table, &mut builder, Policy::Sanitise)?;
//! srat::add(&table, &mut builder, Policy::Strict)?;
//! let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB)?;
//! assert_eq!(map.node(NodeId::new(1)).unwrap().ram_bytes, 0x8000_0000);
//! # Ok::<(), bootmem_firmware::FirmwareError>(())
//! ```

use bootmem::memory_map::MemoryMapBuilder;
use bootmem::NodeId;

use crate::bytes::{le_u32, le_u64};
use crate::entry::{add_source, Entry, EntryKind, Group, Policy, Source, Summary};
use crate::error::{FirmwareError, Location, Problem};

/// Bytes before the first subtable: the 36-byte ACPI header and 12 reserved bytes.
pub const HEADER_SIZE: usize = 48;
/// Bytes of a memory affinity subtable.
pub const MEMORY_AFFINITY_SIZE: usize = 40;

const PROCESSOR: u8 = 0;
const MEMORY: u8 = 1;
const X2APIC: u8 = 2;
const GICC: u8 = 3;
const GENERIC_INITIATOR: u8 = 5;

/// A subtable the reader uses: its kind, proximity domain and (memory) range.
#[derive(Clone, Copy)]
struct Subtable {
    offset: usize,
    memory: Option<(u64, u64)>,
    domain: u32,
}

struct Table<'a> {
    bytes: &'a [u8],
}

impl<'a> Table<'a> {
    /// Checks the header and returns the table's bytes (`length` of them).
    fn new(table: &'a [u8]) -> Result<Self, FirmwareError> {
        if table.len() < HEADER_SIZE {
            return Err(FirmwareError::new(
                Location::Offset(table.len()),
                Problem::Truncated {
                    needed: HEADER_SIZE,
                    available: table.len(),
                },
            ));
        }
        if &table[..4] != b"SRAT" {
            return Err(FirmwareError::new(Location::Offset(0), Problem::BadMagic));
        }
        let length = le_u32(table, 4).unwrap_or(0) as usize;
        if length > table.len() {
            return Err(FirmwareError::new(
                Location::Offset(4),
                Problem::Truncated {
                    needed: length,
                    available: table.len(),
                },
            ));
        }
        if length < HEADER_SIZE {
            return Err(FirmwareError::malformed(
                Location::Offset(4),
                "the table's length is smaller than its header",
            ));
        }
        let bytes = &table[..length];
        if bytes.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte)) != 0 {
            return Err(FirmwareError::new(
                Location::Offset(9),
                Problem::BadChecksum,
            ));
        }
        Ok(Self { bytes })
    }

    /// Calls `each` with every enabled subtable this reader uses.
    fn subtables(
        &self,
        each: &mut dyn FnMut(Subtable) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        let mut offset = HEADER_SIZE;
        while offset < self.bytes.len() {
            let rest = &self.bytes[offset..];
            let (Some(&kind), Some(&length)) = (rest.first(), rest.get(1)) else {
                return Err(FirmwareError::new(
                    Location::Offset(offset),
                    Problem::Truncated {
                        needed: 2,
                        available: rest.len(),
                    },
                ));
            };
            let length = usize::from(length);
            if length < 2 {
                return Err(FirmwareError::malformed(
                    Location::Offset(offset + 1),
                    "a subtable's length is below its own header",
                ));
            }
            let body = rest.get(..length).ok_or(FirmwareError::new(
                Location::Offset(offset),
                Problem::Truncated {
                    needed: length,
                    available: rest.len(),
                },
            ))?;
            if let Some(subtable) = decode(kind, body, offset)? {
                each(subtable)?;
            }
            offset += length;
        }
        Ok(())
    }

    /// The node Linux gives `domain`: the rank of its first appearance,
    /// processors and initiators first, then memory.
    fn node_of(&self, domain: u32) -> Result<NodeId, FirmwareError> {
        let mut seen = 0u32;
        let mut found = None;
        for memory_pass in [false, true] {
            self.subtables(&mut |subtable| {
                if found.is_some() || subtable.memory.is_some() != memory_pass {
                    return Ok(());
                }
                if subtable.domain == domain {
                    found = Some(seen);
                } else if self.first_appearance(subtable)? {
                    seen += 1;
                }
                Ok(())
            })?;
        }
        Ok(NodeId::new(found.unwrap_or(seen)))
    }

    /// Whether `subtable` is the first (in Linux's order) with its domain.
    fn first_appearance(&self, subtable: Subtable) -> Result<bool, FirmwareError> {
        let mut first = true;
        self.subtables(&mut |other| {
            let earlier = match (other.memory.is_some(), subtable.memory.is_some()) {
                (false, true) => true,
                (true, false) => false,
                _ => other.offset < subtable.offset,
            };
            if earlier && other.domain == subtable.domain {
                first = false;
            }
            Ok(())
        })?;
        Ok(first)
    }
}

fn field(body: &[u8], offset: usize, kind: &'static str) -> Result<u32, FirmwareError> {
    le_u32(body, offset).ok_or(FirmwareError::malformed(Location::Offset(offset), kind))
}

/// Decodes one subtable at `offset`: `None` for disabled ones and kinds not used.
fn decode(kind: u8, body: &[u8], offset: usize) -> Result<Option<Subtable>, FirmwareError> {
    let short = |minimum: usize| {
        if body.len() < minimum {
            Err(FirmwareError::new(
                Location::Offset(offset),
                Problem::Truncated {
                    needed: minimum,
                    available: body.len(),
                },
            ))
        } else {
            Ok(())
        }
    };
    let what = "subtable field";
    let (domain, flags, memory) = match kind {
        PROCESSOR => {
            short(16)?;
            let domain = u32::from_le_bytes([body[2], body[9], body[10], body[11]]);
            (domain, field(body, 4, what)?, None)
        }
        MEMORY => {
            short(MEMORY_AFFINITY_SIZE)?;
            let base = le_u64(body, 8).unwrap_or(0);
            let length = le_u64(body, 16).unwrap_or(0);
            (
                field(body, 2, what)?,
                field(body, 28, what)?,
                Some((base, length)),
            )
        }
        X2APIC => {
            short(24)?;
            (field(body, 4, what)?, field(body, 12, what)?, None)
        }
        GICC => {
            short(18)?;
            (field(body, 2, what)?, field(body, 14, what)?, None)
        }
        GENERIC_INITIATOR => {
            short(32)?;
            (field(body, 4, what)?, field(body, 28, what)?, None)
        }
        _ => return Ok(None),
    };
    Ok((flags & 1 != 0).then_some(Subtable {
        offset,
        memory,
        domain,
    }))
}

impl Source for Table<'_> {
    fn visit(
        &self,
        visit: &mut dyn FnMut(Entry) -> Result<(), FirmwareError>,
    ) -> Result<(), FirmwareError> {
        self.subtables(&mut |subtable| {
            let node = self.node_of(subtable.domain)?;
            let (start, size, kind, group) = match subtable.memory {
                Some((start, size)) => {
                    (start, size, EntryKind::Affinity(node), Group::Exclusive(0))
                }
                None => (0, 0, EntryKind::Node(node), Group::Shared),
            };
            visit(Entry {
                start,
                size,
                kind,
                location: Location::Offset(subtable.offset),
                group,
            })
        })
    }
}

/// Adds the memory affinities of an SRAT (its bytes, header included) and
/// declares every node its enabled entries name.
///
/// # Errors
///
/// A wrong signature, a length beyond the bytes given or below the header,
/// a bad checksum, a subtable shorter than its kind or running off the
/// table, and the entry policy's errors, at the subtable's offset; nothing
/// is added on error.
pub fn add<const RANGES: usize, const NODES: usize>(
    table: &[u8],
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    let table = Table::new(table)?;
    add_source(&table, builder, policy)
}

/// The SRAT's header, for `acpi::AcpiTables::find_table`.
#[repr(C, packed)]
pub struct SratHeader {
    header: acpi::sdt::SdtHeader,
}

// SAFETY: `SratHeader` is the ACPI header the crate expects first, and
// the signature is the SRAT's.
unsafe impl acpi::AcpiTable for SratHeader {
    const SIGNATURE: acpi::sdt::Signature = acpi::sdt::Signature::SRAT;

    fn header(&self) -> &acpi::sdt::SdtHeader {
        &self.header
    }
}

/// Finds the SRAT among the `acpi` crate's tables and adds it as [`add`]
/// does. A machine without an SRAT adds nothing.
///
/// # Errors
///
/// As [`add`].
pub fn add_from_tables<H: acpi::AcpiHandler, const RANGES: usize, const NODES: usize>(
    tables: &acpi::AcpiTables<H>,
    builder: &mut MemoryMapBuilder<RANGES, NODES>,
    policy: Policy,
) -> Result<Summary, FirmwareError> {
    let Ok(mapping) = tables.find_table::<SratHeader>() else {
        return Ok(Summary::default());
    };
    // SAFETY: the crate mapped the table's `length` bytes from
    // `virtual_start` (its `region_length`; `mapped_length` may count from
    // the page below) and verified its checksum over them; the mapping lives
    // until the end of this function.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            mapping.virtual_start().as_ptr().cast::<u8>(),
            mapping.region_length(),
        )
    };
    add(bytes, builder, policy)
}
