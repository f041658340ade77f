//! Early memory on bootmem: the library's `set_up` over the normalised map and the kernel's own regions, and the kernel's ledger of what it reserved.
//!
//! [`bootmem::setup::set_up`] places each node's bitmap at the top of the
//! node's own RAM clear of the kernel's regions, registers the nodes, frees
//! the RAM and reserves the rest of the map and the kernel's regions. This
//! file turns the kernel's regions into the ranges in use, gives the
//! library the bitmap storage through the identity map, and writes every
//! reservation into the ledger the self-test and the hand-off check.

use bootmem::linux::Bootmem;
use bootmem::memory::IdentityMapped;
use bootmem::memory_map::MemoryMap;
use bootmem::setup::set_up;
use bootmem::{FrameRange, NodeId, PhysicalAddress, PhysicalRange};

use crate::description::{BootDescription, KernelRegions, Region, MAX_NODES, MAX_RANGES};
use crate::exit::fail;
use crate::ledger::Ledger;
use crate::{print, println};

/// The allocator every kernel uses: bitmaps in physical pages reached
/// through the identity map, up to [`MAX_NODES`] nodes.
pub type KernelBootmem = Bootmem<&'static mut [u64], IdentityMapped, MAX_NODES>;

/// The normalised map the kernels work from.
pub type NormalisedMap = MemoryMap<MAX_RANGES, MAX_NODES>;

/// Where one node's bitmap storage went.
#[derive(Clone, Copy, Debug)]
pub struct NodeBitmap {
    /// The node.
    pub node: NodeId,
    /// The frames the storage occupies.
    pub frames: FrameRange,
}

/// The result of the set-up: the allocator and where the bitmaps went.
pub struct EarlyMemory {
    /// The allocator, ready for `alloc_bootmem*`.
    pub bootmem: KernelBootmem,
    /// Each node's bitmap, in the order of the map's nodes (`None` for a
    /// memoryless node).
    pub bitmaps: [Option<NodeBitmap>; MAX_NODES],
}

/// A region as the library's range; a region that ends before it starts
/// fails the boot.
fn physical_range(region: &Region) -> PhysicalRange {
    let (start, end) = (
        PhysicalAddress::new(region.start),
        PhysicalAddress::new(region.end),
    );
    PhysicalRange::new(start, end).unwrap_or_else(|| {
        fail(format_args!(
            "{}: ends at {:#x}, before its start {:#x}",
            region.label, region.end, region.start
        ))
    })
}

/// The ranges the kernel tells bootmem are in use. With
/// `forget_boot_information` (`bootmem.test=forget-reservation`) the boot
/// information is left out, as a kernel that missed it would.
fn in_use(regions: &KernelRegions, forget_boot_information: bool) -> ([PhysicalRange; 16], usize) {
    let mut ranges = [PhysicalRange::EMPTY; 16];
    let mut count = 0;
    for region in regions.as_slice() {
        if forget_boot_information && region.boot_information {
            println!(
                "bootmem.test=forget-reservation: {:#x}-{:#x} {} not given to bootmem",
                region.start, region.end, region.label
            );
            continue;
        }
        ranges[count] = physical_range(region);
        count += 1;
    }
    (ranges, count)
}

/// Sets bootmem up with the library's `set_up` and writes the kernel's
/// regions (clipped to the nodes, as bootmem reserves them) into `ledger`.
pub fn set_up_bootmem(
    description: &BootDescription,
    map: &NormalisedMap,
    ledger: &mut Ledger,
    forget_boot_information: bool,
) -> EarlyMemory {
    let (ranges, count) = in_use(&description.kernel_regions, forget_boot_information);
    // SAFETY: every kernel identity-maps all of its RAM (physical address ==
    // virtual address) before it calls `boot`.
    let memory = unsafe { IdentityMapped::identity() };
    let storage = |_node: NodeId, range: PhysicalRange| -> &'static mut [u64] {
        // SAFETY: `set_up` chose `range`: whole pages of this node's RAM,
        // identity-mapped, clear of every kernel region, firmware
        // reservation and other node's storage. Nothing else refers to it;
        // bootmem keeps its pages reserved until `free_all_bootmem`
        // consumes the allocator (and the storage with it).
        unsafe {
            core::slice::from_raw_parts_mut(
                range.start().as_u64() as *mut u64,
                (range.size() / 8) as usize,
            )
        }
    };
    let (allocator, summary) = match set_up::<_, _, MAX_NODES, MAX_RANGES, MAX_NODES>(
        map,
        description.configuration,
        memory,
        &ranges[..count],
        storage,
    ) {
        Ok(done) => done,
        Err(error) => fail(format_args!("bootmem::setup::set_up: {error}")),
    };
    print!("{summary}");

    let shift = description.configuration.page_size.shift();
    let mut bitmaps = [None; MAX_NODES];
    for (slot, node) in bitmaps.iter_mut().zip(summary.nodes()) {
        *slot = node.bitmap.map(|range| NodeBitmap {
            node: node.node,
            frames: range.frames_touched(description.configuration.page_size),
        });
    }
    for region in description.kernel_regions.as_slice() {
        for span in map.nodes().iter().filter(|span| span.ram_bytes > 0) {
            let node_start = span.start.as_u64() << shift;
            let node_end = span.end.as_u64() << shift;
            let (start, end) = (region.start.max(node_start), region.end.min(node_end));
            if start < end {
                ledger.reserve(region.label, start, end);
                println!("in use {start:#x}-{end:#x} {}", region.label);
            }
        }
    }
    EarlyMemory {
        bootmem: Bootmem::from_allocator(allocator),
        bitmaps,
    }
}
