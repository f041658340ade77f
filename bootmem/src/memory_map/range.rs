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

#[cfg(test)]
mod tests {
    use super::*;

    fn address(value: u64) -> PhysicalAddress {
        PhysicalAddress::new(value)
    }

    #[test]
    fn e820_types_map_to_their_kinds_and_names() {
        let cases = [
            (1, RangeKind::Ram, "ram"),
            (2, RangeKind::Reserved, "reserved"),
            (3, RangeKind::AcpiData, "acpi-data"),
            (4, RangeKind::AcpiNvs, "acpi-nvs"),
            (5, RangeKind::Unusable, "unusable"),
            (7, RangeKind::Persistent, "persistent"),
            (12, RangeKind::Persistent, "persistent"),
            (0xefff_ffff, RangeKind::SoftReserved, "soft-reserved"),
            (6, RangeKind::Other(6), "type-6"),
            (20, RangeKind::Other(20), "type-20"),
        ];
        for (number, kind, name) in cases {
            assert_eq!(RangeKind::from_e820_type(number), kind, "type {number}");
            assert_eq!(std::format!("{kind}"), name);
            assert_eq!(kind.is_ram(), number == 1, "type {number}");
        }
    }

    #[test]
    fn only_ram_yields_to_every_other_kind() {
        let others = [
            RangeKind::Reserved,
            RangeKind::AcpiData,
            RangeKind::AcpiNvs,
            RangeKind::Unusable,
            RangeKind::Persistent,
            RangeKind::SoftReserved,
            RangeKind::Other(20),
        ];
        for other in others {
            assert!(RangeKind::Ram.precedence() < other.precedence(), "{other}");
        }
        assert!(RangeKind::Unusable.precedence() > RangeKind::Reserved.precedence());
    }

    #[test]
    fn a_range_measures_and_contains_its_bytes() {
        let range = MemoryRange::new(address(0x1000), address(0x3000), RangeKind::Reserved);
        assert_eq!(range.size(), 0x2000);
        assert!(range.contains(address(0x1000)));
        assert!(range.contains(address(0x2fff)));
        assert!(!range.contains(address(0x3000)));
        assert!(!range.contains(address(0xfff)));
        assert_eq!(
            range.as_physical_range(),
            PhysicalRange::new(address(0x1000), address(0x3000)).unwrap()
        );
    }

    #[test]
    fn an_inverted_range_is_empty_at_its_start() {
        let inverted = MemoryRange::new(address(0x3000), address(0x1000), RangeKind::Ram);
        assert_eq!(inverted.size(), 0);
        assert!(!inverted.contains(address(0x3000)));
        let empty = inverted.as_physical_range();
        assert!(empty.is_empty());
        assert_eq!(empty.start(), address(0x3000));
    }

    #[test]
    fn an_affinity_covers_its_bytes() {
        let affinity = NodeAffinity {
            start: address(0x10_0000),
            end: address(0x20_0000),
            node: NodeId::new(1),
        };
        assert_eq!(
            affinity.as_physical_range(),
            PhysicalRange::new(address(0x10_0000), address(0x20_0000)).unwrap()
        );
        let inverted = NodeAffinity {
            start: address(0x20_0000),
            end: address(0x10_0000),
            node: NodeId::new(1),
        };
        assert!(inverted.as_physical_range().is_empty());
        assert_eq!(inverted.as_physical_range().start(), address(0x20_0000));
    }
}
