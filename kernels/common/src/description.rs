//! What an architecture's discovery code hands to the shared boot path: the firmware's map and the kernel's own regions.

use bootmem::memory_map::MemoryMapBuilder;
use bootmem::Configuration;

/// Ranges (and, separately, NUMA affinities) a firmware map may hold:
/// OVMF's UEFI memory map has some 120 descriptors, each added as it is.
pub const MAX_RANGES: usize = 256;
/// NUMA nodes a machine may have.
pub const MAX_NODES: usize = 8;

/// The firmware's memory map before normalisation: what `bootmem map` reads
/// from an e820 table, SRAT or device tree.
pub type FirmwareMap = MemoryMapBuilder<MAX_RANGES, MAX_NODES>;

/// A physical range `[start, end)` with a name for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// What the range holds ("kernel image", "device tree", ...).
    pub label: &'static str,
    /// First byte.
    pub start: u64,
    /// Byte past the end.
    pub end: u64,
    /// Whether this is boot information the kernel has finished reading
    /// (copied out) before bootmem is set up: the one region
    /// `bootmem.test=forget-reservation` may leave unreserved, because an
    /// allocation there overwrites nothing the kernel still needs.
    pub boot_information: bool,
}

impl Region {
    /// The range `[start, end)` named `label`.
    pub const fn new(label: &'static str, start: u64, end: u64) -> Self {
        Self {
            label,
            start,
            end,
            boot_information: false,
        }
    }

    /// Boot information `[start, end)` named `label`, read and copied out
    /// before the set-up (see [`boot_information`](Self::boot_information)).
    pub const fn boot_information(label: &'static str, start: u64, end: u64) -> Self {
        Self {
            label,
            start,
            end,
            boot_information: true,
        }
    }

    /// Bytes in the range.
    pub const fn size(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

/// A short, fixed-capacity list of regions (no heap exists yet at boot).
#[derive(Clone, Copy, Debug)]
pub struct Regions<const N: usize> {
    items: [Region; N],
    count: usize,
}

impl<const N: usize> Default for Regions<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Regions<N> {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            items: [Region::new("", 0, 0); N],
            count: 0,
        }
    }

    /// Appends a region; fails the boot when the list is full.
    pub fn push(&mut self, region: Region) {
        match self.items.get_mut(self.count) {
            Some(slot) => {
                *slot = region;
                self.count += 1;
            }
            None => crate::exit::fail(format_args!(
                "more than {N} regions (adding {})",
                region.label
            )),
        }
    }

    /// The regions, in the order pushed.
    pub fn as_slice(&self) -> &[Region] {
        &self.items[..self.count]
    }
}

/// Regions the kernel itself must reserve, because no firmware table names them.
pub type KernelRegions = Regions<16>;

/// Everything the shared boot path needs from an architecture.
pub struct BootDescription {
    /// The machine, for the log ("x86_64 PVH", "riscv64 virt", ...).
    pub machine: &'static str,
    /// The allocator's constants for this architecture.
    pub configuration: Configuration,
    /// The firmware's map, RAM and reservations and NUMA affinities, as read.
    pub firmware: FirmwareMap,
    /// What the kernel knows and the map does not: page 0, its image, the
    /// boot information or device tree blob.
    pub kernel_regions: KernelRegions,
    /// The exclusive limit the self-test's low allocation must land under.
    pub low_test_limit: u64,
    /// The kernel command line (empty if none). `bootmem.test=MODE` makes
    /// the kernel fail on purpose, to prove that the failure never reads as
    /// a pass: `fault` (an unmapped read), `oom` (an allocation larger than
    /// RAM), `forget-reservation` (bootmem is not told of the boot
    /// information, so an allocation lands on it), `double-hand-off` (the
    /// hand-off gives one block twice).
    pub command_line: &'static str,
}
