//! Early memory set-up, as a kernel's `setup_arch` does it: nodes from the normalised map, each bitmap in its own node's RAM, free the RAM, reserve what the kernel knows.
//!
//! The sequence is Linux's (spec §1.4):
//!
//! 1. for every node with RAM, choose where its bitmap lives (inside the
//!    node's own RAM, clear of every kernel region) and `init_bootmem_node`
//!    it: every page of the node starts reserved;
//! 2. `free_bootmem` every RAM range of the normalised map; holes and
//!    firmware reservations were never RAM there, so they stay reserved;
//! 3. `reserve_bootmem` each node's bitmap (bootmem does not reserve its
//!    own pages, and `free_all_bootmem` releases them at the end whatever
//!    their bit says: left free, they would be handed out twice);
//! 4. `reserve_bootmem` what the firmware's map does not name: page 0, the
//!    kernel image, the boot information or device tree blob.

use bootmem::linux::{Bootmem, BOOTMEM_DEFAULT};
use bootmem::memory::IdentityMapped;
use bootmem::memory_map::MemoryMap;
use bootmem::NodeId;

use crate::description::{BootDescription, Region, MAX_NODES, MAX_RANGES};
use crate::exit::fail;
use crate::ledger::Ledger;
use crate::println;

/// The allocator every kernel uses: bitmaps in physical pages reached
/// through the identity map, up to [`MAX_NODES`] nodes.
pub type KernelBootmem = Bootmem<&'static mut [u64], IdentityMapped, MAX_NODES>;

/// The normalised map the kernels work from.
pub type NormalisedMap = MemoryMap<MAX_RANGES, MAX_NODES>;

/// Where one node's bitmap went.
#[derive(Clone, Copy, Debug)]
pub struct NodeBitmap {
    /// The node.
    pub node: NodeId,
    /// First frame of the bitmap.
    pub start_frame: u64,
    /// Pages of bitmap.
    pub pages: u64,
}

/// The result of the set-up: the allocator and what the kernel knows about it.
pub struct EarlyMemory {
    /// The allocator, ready for `alloc_bootmem*`.
    pub bootmem: KernelBootmem,
    /// Each node's bitmap, in node order.
    pub bitmaps: [Option<NodeBitmap>; MAX_NODES],
}

/// The RAM ranges of `node` as `(start, end)` byte addresses, highest first.
fn ram_ranges_descending(map: &NormalisedMap, node: NodeId) -> ([(u64, u64); MAX_RANGES], usize) {
    let mut ranges = [(0, 0); MAX_RANGES];
    let mut count = 0;
    for range in map.ram_ranges_of(node) {
        ranges[count] = (range.start.as_u64(), range.end.as_u64());
        count += 1;
    }
    ranges[..count].reverse();
    (ranges, count)
}

/// The highest `bytes`-sized, page-aligned piece of `node`'s RAM that
/// overlaps none of `avoid`: where its bitmap goes.
fn place_bitmap(
    map: &NormalisedMap,
    node: NodeId,
    bytes: u64,
    avoid: &[Region],
    page: u64,
) -> Option<u64> {
    let (ranges, count) = ram_ranges_descending(map, node);
    for &(low, mut high) in &ranges[..count] {
        while high >= low + bytes {
            let start = (high - bytes) & !(page - 1);
            if start < low {
                break;
            }
            match avoid
                .iter()
                .filter(|region| region.start < start + bytes && start < region.end)
                .map(|region| region.start)
                .min()
            {
                None => return Some(start),
                // Try again below the lowest region in the way.
                Some(blocker) => high = blocker & !(page - 1),
            }
        }
    }
    None
}

/// Registers every node, frees the RAM and reserves the kernel's regions,
/// writing each reservation into `ledger`.
pub fn set_up(
    description: &BootDescription,
    map: &NormalisedMap,
    ledger: &mut Ledger,
) -> EarlyMemory {
    let configuration = description.configuration;
    let page = configuration.page_size.bytes();
    let shift = configuration.page_size.shift();
    // SAFETY: every kernel identity-maps all of its RAM (physical address ==
    // virtual address) before it calls `boot`.
    let memory = unsafe { IdentityMapped::identity() };
    let mut bootmem = KernelBootmem::new(configuration, memory);
    let mut bitmaps = [None; MAX_NODES];

    // 1. Register the nodes, each bitmap inside the node's own RAM.
    for (slot, span) in map.nodes().iter().enumerate() {
        if span.ram_bytes == 0 {
            println!("node {}: no memory", span.node.as_u32());
            continue;
        }
        let (start, end) = (span.start.as_u64(), span.end.as_u64());
        let pages = end - start;
        // Leaf bitmap plus the summary above it, all reserved in step 3.
        let bitmap_pages = bootmem::node_storage_bytes(pages).div_ceil(1 << shift);
        let words = bootmem::node_storage_words(pages);
        let Some(address) = place_bitmap(
            map,
            span.node,
            bitmap_pages << shift,
            description.kernel_regions.as_slice(),
            page,
        ) else {
            fail(format_args!(
                "node {}: no room for a bitmap of {bitmap_pages} pages",
                span.node.as_u32()
            ));
        };
        // SAFETY: `address` is page-aligned RAM of this node, identity-mapped,
        // clear of the kernel image, the boot information and every firmware
        // reservation (place_bitmap), and of every other node's bitmap (each
        // lies in its own node). Nothing else refers to it: bootmem keeps its
        // pages reserved until `free_all_bootmem` consumes the allocator.
        let storage: &'static mut [u64] =
            unsafe { core::slice::from_raw_parts_mut(address as *mut u64, words as usize) };
        match bootmem.init_bootmem_node(span.node.as_u32(), address >> shift, start, end, storage) {
            Ok(bytes) => println!(
                "node {}: pfn {start:#x}-{end:#x} ({} MiB RAM), bitmap {bytes} bytes at {address:#x} ({bitmap_pages} pages)",
                span.node.as_u32(),
                span.ram_bytes >> 20
            ),
            Err(error) => fail(format_args!("init_bootmem_node({}): {error}", span.node.as_u32())),
        }
        bitmaps[slot] = Some(NodeBitmap {
            node: span.node,
            start_frame: address >> shift,
            pages: bitmap_pages,
        });
    }

    // 2. Free the RAM: every page of a node starts reserved.
    for range in map.ram_ranges() {
        let (start, size) = (range.start.as_u64(), range.size());
        if let Err(error) = bootmem.free_bootmem(start, size) {
            fail(format_args!("free_bootmem({start:#x}, {size:#x}): {error}"));
        }
    }

    // 3. Reserve the bitmaps themselves. They are not in the ledger: they
    //    come back to the page allocator when bootmem is torn down.
    for bitmap in bitmaps.iter().flatten() {
        let (start, size) = (bitmap.start_frame << shift, bitmap.pages << shift);
        match bootmem.reserve_bootmem(start, size, BOOTMEM_DEFAULT) {
            Ok(0) => {}
            Ok(code) => fail(format_args!(
                "reserve_bootmem(bitmap {start:#x}) returned {code}"
            )),
            Err(error) => fail(format_args!(
                "reserve_bootmem(bitmap {start:#x}, {size:#x}): {error}"
            )),
        }
    }

    // 4. Reserve what only the kernel knows of, clipped to the nodes (a
    //    region outside every node is not bootmem's to reserve).
    for region in description.kernel_regions.as_slice() {
        for span in map.nodes().iter().filter(|span| span.ram_bytes > 0) {
            let node_start = span.start.as_u64() << shift;
            let node_end = span.end.as_u64() << shift;
            let (start, end) = (region.start.max(node_start), region.end.min(node_end));
            if start >= end {
                continue;
            }
            match bootmem.reserve_bootmem(start, end - start, BOOTMEM_DEFAULT) {
                Ok(0) => {}
                Ok(code) => fail(format_args!("reserve_bootmem({start:#x}) returned {code}")),
                Err(error) => fail(format_args!(
                    "reserve_bootmem({start:#x}, {:#x}): {error}",
                    end - start
                )),
            }
            println!("reserved {start:#x}-{end:#x} {}", region.label);
            ledger.claim_bytes(region.label, start, end);
        }
    }
    EarlyMemory { bootmem, bitmaps }
}
