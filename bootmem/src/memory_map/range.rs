//! One range of a memory map: where it lies, what kind of memory it is, and its node.

use core::fmt;

use crate::address::{PhysicalAddress, PhysicalRange};
use crate::node_id::NodeId;

/// What a range of physical addresses holds, in the vocabulary of the
/// firmware tables (e820, UEFI, device tree).
///
/// Every kind but [`Ram`](Self::Ram) is some flavour of "not for the
/// allocator": where a non-RAM range overlaps RAM, the non-RAM range wins.
///
/// ```
/// use bootmem::memory_map::RangeKind;
/// assert_eq!(RangeKind::from_e820_type(1), RangeKind::Ram);
/// assert_eq!(RangeKind::from_e820_type(20), RangeKind::Other(20));
/// assert_eq!(format!("{}", RangeKind::AcpiNvs), "acpi-nvs");
/// assert_eq!(format!("{}", RangeKind::Other(20)), "type-20");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeKind {
    /// Usable memory: e820 `usable`, UEFI conventional and boot memory, a
    /// device tree `/memory` node.
    Ram,
    /// Reserved by the firmware or the device tree (`reserved`,
    /// `/reserved-memory`, `/memreserve/`).
    Reserved,
    /// ACPI tables, reclaimable once parsed (e820 type 3, `ACPI data`).
    AcpiData,
    /// ACPI non-volatile storage (e820 type 4, `ACPI NVS`).
    AcpiNvs,
    /// Memory the firmware found faulty (e820 type 5, `unusable`).
    Unusable,
    /// Persistent memory (e820 types 7 and 12).
    Persistent,
    /// Specific-purpose memory the kernel leaves alone at boot (`soft reserved`).
    SoftReserved,
    /// Any other firmware type, by its e820 number.
    Other(u32),
}

impl RangeKind {
    /// The kind of an e820 entry from its type number.
    pub const fn from_e820_type(number: u32) -> Self {
        match number {
            1 => Self::Ram,
            2 => Self::Reserved,
            3 => Self::AcpiData,
            4 => Self::AcpiNvs,
            5 => Self::Unusable,
            7 | 12 => Self::Persistent,
            0xefff_ffff => Self::SoftReserved,
            other => Self::Other(other),
        }
    }

    /// Whether this is usable RAM.
    pub const fn is_ram(self) -> bool {
        matches!(self, Self::Ram)
    }

    /// The weight of the kind where two ranges overlap: the heavier wins.
    /// RAM is the lightest, so every reservation wins over it.
    pub(crate) const fn precedence(self) -> u8 {
        match self {
            Self::Ram => 0,
            Self::AcpiData => 1,
            Self::Other(_) => 2,
            Self::Reserved => 3,
            Self::SoftReserved => 4,
            Self::Persistent => 5,
            Self::AcpiNvs => 6,
            Self::Unusable => 7,
        }
    }
}

impl fmt::Display for RangeKind {
    /// Lower-case, dash-separated names: `ram`, `reserved`, `acpi-data`,
    /// `acpi-nvs`, `unusable`, `persistent`, `soft-reserved`, `type-N`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ram => formatter.write_str("ram"),
            Self::Reserved => formatter.write_str("reserved"),
            Self::AcpiData => formatter.write_str("acpi-data"),
            Self::AcpiNvs => formatter.write_str("acpi-nvs"),
            Self::Unusable => formatter.write_str("unusable"),
            Self::Persistent => formatter.write_str("persistent"),
            Self::SoftReserved => formatter.write_str("soft-reserved"),
            Self::Other(number) => write!(formatter, "type-{number}"),
        }
    }
}

/// A half-open range `[start, end)` of physical addresses of one kind.
///
/// In a normalised map, RAM ranges carry the node that owns them and other
/// ranges carry `None`.
///
/// ```
/// use bootmem::memory_map::{MemoryRange, RangeKind};
/// use bootmem::PhysicalAddress;
/// let range = MemoryRange::new(PhysicalAddress::new(0x1000), PhysicalAddress::new(0x3000), RangeKind::Ram);
/// assert_eq!(range.size(), 0x2000);
/// assert!(range.contains(PhysicalAddress::new(0x2fff)));
/// assert!(!range.contains(PhysicalAddress::new(0x3000)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryRange {
    /// The first byte.
    pub start: PhysicalAddress,
    /// The byte past the last one (exclusive end).
    pub end: PhysicalAddress,
    /// What the range holds.
    pub kind: RangeKind,
    /// The node owning the range (RAM of a normalised map only).
    pub node: Option<NodeId>,
}

impl MemoryRange {
    /// A range with no node.
    pub const fn new(start: PhysicalAddress, end: PhysicalAddress, kind: RangeKind) -> Self {
        Self {
            start,
            end,
            kind,
            node: None,
        }
    }

    /// The number of bytes, zero when `end` is not above `start`.
    pub const fn size(&self) -> u64 {
        self.as_physical_range().size()
    }

    /// Whether `address` lies in the range.
    pub const fn contains(&self, address: PhysicalAddress) -> bool {
        self.as_physical_range().contains(address)
    }

    /// The bytes of the range (empty at `start` when `end` lies below it).
    pub const fn as_physical_range(&self) -> PhysicalRange {
        match PhysicalRange::new(self.start, self.end) {
            Some(range) => range,
            None => match PhysicalRange::new(self.start, self.start) {
                Some(empty) => empty,
                None => PhysicalRange::EMPTY,
            },
        }
    }

    pub(crate) const EMPTY: Self =
        Self::new(PhysicalAddress::ZERO, PhysicalAddress::ZERO, RangeKind::Ram);
}

/// A NUMA affinity: the addresses `[start, end)` belong to `node` (an SRAT
/// memory affinity entry, a device tree `numa-node-id`, a line of Linux's
/// `Early memory node ranges`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeAffinity {
    /// The first byte.
    pub start: PhysicalAddress,
    /// The byte past the last one.
    pub end: PhysicalAddress,
    /// The node the addresses belong to.
    pub node: NodeId,
}

impl NodeAffinity {
    /// The bytes of the affinity (empty at `start` when `end` lies below it).
    pub const fn as_physical_range(&self) -> PhysicalRange {
        MemoryRange::new(self.start, self.end, RangeKind::Ram).as_physical_range()
    }

    pub(crate) const EMPTY: Self = Self {
        start: PhysicalAddress::ZERO,
        end: PhysicalAddress::ZERO,
        node: NodeId::new(0),
    };
}
