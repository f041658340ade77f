//! From a normalised memory map to a ready allocator in one call: bitmaps placed, nodes registered, RAM freed, the rest reserved.
//!
//! Every kernel does the same before its first allocation (Linux's
//! `setup_arch` and `initmem_init`): size each node's bitmap, find room for
//! it, register the node, free the node's RAM, and keep reserved what is not
//! RAM or is already in use. [`set_up`] does it from a
//! [`MemoryMap`] and the list of ranges the caller knows are in use (its
//! image, the initrd, the boot protocol's structures, a device tree blob).
//!
//! The set-up is planned and checked in full before anything is built: a
//! map that cannot be set up gets a [`SetupError`] naming the node and the
//! reason, and the storage closure is not called.
//!
//! ```
//! use bootmem::memory::NoZeroing;
//! use bootmem::memory_map::MemoryMapBuilder;
//! use bootmem::setup::set_up;
//! use bootmem::{AllocationRequest, BootAllocator, Configuration, PageSize, PhysicalAddress, PhysicalRange};
//!
//! let address = PhysicalAddress::new;
//! let mut builder = MemoryMapBuilder::<16, 2>::new();
//! builder.add_ram(address(0), address(0x9_f000))?;
//! builder.add_reserved(address(0xf_0000), address(0x10_0000))?;
//! builder.add_ram(address(0x10_0000), address(0x800_0000))?; // 128 MiB
//! let map = builder.build(PageSize::SIZE_4KIB)?;
//!
//! // The kernel image is in use; the bitmap goes at the top of RAM.
//! let kernel = PhysicalRange::new(address(0x20_0000), address(0x40_0000)).unwrap();
//! let (mut allocator, summary): (BootAllocator<Vec<u64>, NoZeroing, 2>, _) =
//!     set_up(&map, Configuration::X86_64, NoZeroing, &[kernel], |_node, range| {
//!         vec![0; (range.size() / 8) as usize]
//!     })?;
//! let node = &summary.nodes()[0];
//! assert_eq!(node.bitmap.unwrap().end(), address(0x800_0000));
//! println!("{summary}");
//!
//! let request = AllocationRequest::new(4096).aligned(4096).goal(address(0x20_0000));
//! let block = allocator.allocate(&request)?;
//! assert_eq!(block, address(0x40_0000)); // the first free page above the goal: past the kernel
//! assert_eq!(allocator.is_reserved(bootmem::PageFrameNumber::new(0x200)), Some(true)); // the kernel
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod placement;
mod summary;

#[cfg(test)]
mod tests;

pub use error::SetupError;
pub use summary::{NodeSetup, SetupSummary};

use crate::address::PhysicalRange;
use crate::allocator::{BootAllocator, ReserveMode};
use crate::bitmap::{node_storage_bytes, node_storage_words};
use crate::config::Configuration;
use crate::list::FixedList;
use crate::memory::PhysicalMemory;
use crate::memory_map::MemoryMap;
use crate::node_id::NodeId;

/// Sets up an allocator over `map`: for every node with RAM, places its
/// bitmap storage ([`node_storage_bytes`] of the node's pages, in whole
/// pages) at the top of the node's own RAM clear of `in_use`, asks `storage`
/// to turn that range into storage, registers the node (the storage's pages
/// stay reserved), frees the node's RAM, then reserves every non-RAM range
/// of the map and every range of `in_use`, each clipped to the nodes.
/// Memoryless nodes are not registered; the summary lists them.
///
/// `storage` is called once per node with RAM, in node order, after the
/// whole map has been checked; it must return at least
/// [`node_storage_words`] of the node's pages (the range's size in words
/// always suffices). In a kernel it maps the range (`&'static mut [u64]`
/// through the kernel's view of physical memory); on a host it allocates.
///
/// ```
/// use bootmem::linux::Bootmem;
/// use bootmem::memory::NoZeroing;
/// use bootmem::memory_map::MemoryMapBuilder;
/// use bootmem::{setup, Configuration, PageSize, PhysicalAddress, PhysicalRange};
///
/// // The firmware's map: 1 GiB of RAM with the legacy hole below 1 MiB.
/// let address = PhysicalAddress::new;
/// let mut builder = MemoryMapBuilder::<32, 4>::new();
/// builder.add_ram(address(0), address(0x9_fc00))?;
/// builder.add_reserved(address(0x9_fc00), address(0x10_0000))?;
/// builder.add_ram(address(0x10_0000), address(0x4000_0000))?;
/// let map = builder.build(PageSize::SIZE_4KIB)?;
///
/// // What the kernel knows is in use: page 0 and its own image.
/// let in_use = [
///     PhysicalRange::new(address(0), address(0x1000)).unwrap(),
///     PhysicalRange::new(address(0x100_0000), address(0x180_0000)).unwrap(),
/// ];
/// // A kernel maps each bitmap range (`&'static mut [u64]`); a host allocates.
/// let (allocator, summary) = setup::set_up(&map, Configuration::X86_64, NoZeroing, &in_use, |_node, range| {
///     vec![0u64; (range.size() / 8) as usize]
/// })?;
/// print!("{summary}"); // one line per node: frames, RAM, where the bitmap went, what was reserved
/// assert_eq!(summary.nodes()[0].bitmap.unwrap().end(), address(0x4000_0000)); // the top of RAM
///
/// let mut bootmem: Bootmem<_, _, 4> = Bootmem::from_allocator(allocator);
/// let table = bootmem.alloc_bootmem(100)?; // at or above 16 MiB, clear of the kernel
/// assert_eq!(table.as_u64(), 0x180_0000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// A [`SetupError`] naming the node and the reason; nothing is built.
pub fn set_up<Storage, Memory, const MAX_NODES: usize, const RANGES: usize, const NODES: usize>(
    map: &MemoryMap<RANGES, NODES>,
    configuration: Configuration,
    memory: Memory,
    in_use: &[PhysicalRange],
    storage: impl FnMut(NodeId, PhysicalRange) -> Storage,
) -> Result<
    (
        BootAllocator<Storage, Memory, MAX_NODES>,
        SetupSummary<MAX_NODES>,
    ),
    SetupError,
>
where
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    if map.page_size() != configuration.page_size {
        return Err(SetupError::PageSizeMismatch {
            map: map.page_size(),
            configuration: configuration.page_size,
        });
    }
    let mut summary = plan::<MAX_NODES, RANGES, NODES>(map, in_use)?;
    let storages = make_storage(&summary, storage)?;
    let mut allocator = BootAllocator::new(configuration, memory);
    register(&mut allocator, &summary, storages)?;
    free_ram(&mut allocator, map)?;
    let non_ram = map
        .ranges()
        .iter()
        .filter(|range| !range.kind.is_ram())
        .map(|range| range.as_physical_range());
    reserve_clipped(&mut allocator, &mut summary, non_ram)?;
    reserve_clipped(&mut allocator, &mut summary, in_use.iter().copied())?;
    count_reserved(&allocator, &mut summary);
    Ok((allocator, summary))
}

/// Checks the whole map and decides every node's bitmap placement.
fn plan<const MAX_NODES: usize, const RANGES: usize, const NODES: usize>(
    map: &MemoryMap<RANGES, NODES>,
    in_use: &[PhysicalRange],
) -> Result<SetupSummary<MAX_NODES>, SetupError> {
    let nodes = map.nodes();
    if nodes.len() > MAX_NODES {
        return Err(SetupError::TooManyNodes {
            nodes: nodes.len(),
            capacity: MAX_NODES,
        });
    }
    if nodes.iter().all(|span| span.is_memoryless()) {
        return Err(SetupError::NoRam);
    }
    let mut summary = SetupSummary::new();
    for span in nodes {
        summary.push(NodeSetup {
            node: span.node,
            frames: span.frames(),
            ram_bytes: span.ram_bytes,
            ..NodeSetup::EMPTY
        });
    }
    check_disjoint(summary.nodes())?;
    let page = map.page_size();
    for setup in summary.nodes_mut() {
        if setup.ram_bytes == 0 {
            continue;
        }
        let bytes = node_storage_bytes(setup.frames.len());
        let whole_pages = page.pages_for(bytes).saturating_mul(page.bytes());
        setup.bitmap = Some(placement::place_bitmap(
            map,
            setup.node,
            whole_pages,
            in_use,
        )?);
    }
    Ok(summary)
}

/// Refuses nodes whose spans overlap (interleaved RAM).
fn check_disjoint(nodes: &[NodeSetup]) -> Result<(), SetupError> {
    for (index, later) in nodes.iter().enumerate() {
        if let Some(earlier) = nodes[..index]
            .iter()
            .find(|earlier| earlier.frames.overlaps(&later.frames))
        {
            return Err(SetupError::NodesOverlap {
                first: earlier.node,
                second: later.node,
            });
        }
    }
    Ok(())
}

/// Calls `storage` for every planned bitmap, then checks each result's size.
fn make_storage<Storage: AsRef<[u64]>, const MAX_NODES: usize>(
    summary: &SetupSummary<MAX_NODES>,
    mut storage: impl FnMut(NodeId, PhysicalRange) -> Storage,
) -> Result<FixedList<Option<Storage>, MAX_NODES>, SetupError> {
    let mut storages = FixedList::from_slots([const { None }; MAX_NODES]);
    for setup in summary.nodes() {
        let made = setup.bitmap.map(|range| storage(setup.node, range));
        // The summary holds at most MAX_NODES nodes.
        let _ = storages.push(made);
    }
    for (setup, made) in summary.nodes().iter().zip(storages.iter()) {
        let Some(made) = made else { continue };
        let needed_words = node_storage_words(setup.frames.len());
        let given_words = made.as_ref().len() as u64;
        if given_words < needed_words {
            return Err(SetupError::StorageTooSmall {
                node: setup.node,
                needed_words,
                given_words,
            });
        }
    }
    Ok(storages)
}

/// Registers every node with RAM over its span, its bitmap at its planned pages.
fn register<Storage, Memory, const MAX_NODES: usize>(
    allocator: &mut BootAllocator<Storage, Memory, MAX_NODES>,
    summary: &SetupSummary<MAX_NODES>,
    storages: FixedList<Option<Storage>, MAX_NODES>,
) -> Result<(), SetupError>
where
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    let page = allocator.configuration().page_size;
    let slots = storages.into_slots();
    for (setup, made) in summary.nodes().iter().zip(slots) {
        let (Some(bitmap), Some(made)) = (setup.bitmap, made) else {
            continue;
        };
        allocator
            .register_node(
                setup.node,
                setup.frames.into(),
                made,
                Some(bitmap.frames_touched(page)),
            )
            .map_err(|error| SetupError::Registration {
                node: setup.node,
                error,
            })?;
    }
    Ok(())
}

/// Frees every RAM range of the map (its bitmap pages stay reserved).
fn free_ram<Storage, Memory, const MAX_NODES: usize, const RANGES: usize, const NODES: usize>(
    allocator: &mut BootAllocator<Storage, Memory, MAX_NODES>,
    map: &MemoryMap<RANGES, NODES>,
) -> Result<(), SetupError>
where
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    for range in map.ram_ranges() {
        let physical = range.as_physical_range();
        allocator
            .free(physical.start(), physical.size())
            .map_err(|error| SetupError::Range {
                node: range.node.unwrap_or_default(),
                range: physical,
                error,
            })?;
    }
    Ok(())
}

/// Reserves each of `ranges`, clipped to each registered node, and counts
/// the pieces per node.
fn reserve_clipped<Storage, Memory, const MAX_NODES: usize>(
    allocator: &mut BootAllocator<Storage, Memory, MAX_NODES>,
    summary: &mut SetupSummary<MAX_NODES>,
    ranges: impl Iterator<Item = PhysicalRange>,
) -> Result<(), SetupError>
where
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    let page = allocator.configuration().page_size;
    for range in ranges {
        for setup in summary.nodes_mut().iter_mut() {
            if setup.is_memoryless() {
                continue;
            }
            let Some(node_bytes) = setup.frames.to_physical(page) else {
                continue;
            };
            let Some(piece) = range.intersection(&node_bytes) else {
                continue;
            };
            allocator
                .reserve_on_node(setup.node, piece.start(), piece.size(), ReserveMode::Shared)
                .map_err(|error| SetupError::Range {
                    node: setup.node,
                    range: piece,
                    error,
                })?;
            setup.reserved_ranges = setup.reserved_ranges.saturating_add(1);
        }
    }
    Ok(())
}

/// Fills in each node's reserved bytes besides its bitmap.
fn count_reserved<Storage, Memory, const MAX_NODES: usize>(
    allocator: &BootAllocator<Storage, Memory, MAX_NODES>,
    summary: &mut SetupSummary<MAX_NODES>,
) where
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    Memory: PhysicalMemory,
{
    let page = allocator.configuration().page_size;
    for setup in summary.nodes_mut() {
        let Some(bitmap) = setup.bitmap else { continue };
        let free_pages = allocator
            .nodes()
            .find(|node| node.node == setup.node)
            .map_or(0, |node| node.free_pages);
        let bitmap_pages = bitmap.frames_touched(page).len();
        let reserved_pages = setup
            .frames
            .len()
            .saturating_sub(free_pages)
            .saturating_sub(bitmap_pages);
        setup.reserved_bytes = reserved_pages.saturating_mul(page.bytes());
    }
}
