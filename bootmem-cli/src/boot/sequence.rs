//! The boot sequence itself: node set-up, reservations, a v4.19 x86-64 series of bootmem calls, the hand-off.

use std::collections::BTreeMap;

use bootmem::linux::{Bootmem, NoPanicResult, BOOTMEM_DEFAULT};
use bootmem::memory::NoZeroing;
use bootmem::{BlockKind, Configuration, NodeId};

use crate::parse::{CommandMemoryMap, FirmwareMap};

/// How many nodes with memory a simulated machine may have.
pub const MAX_BOOT_NODES: usize = 64;

type SimulatedBootmem = Bootmem<Vec<u64>, NoZeroing, MAX_BOOT_NODES>;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// `sizeof(struct page)` on x86-64.
const STRUCT_PAGE_BYTES: u64 = 64;
/// `sizeof(pg_data_t)` rounded to pages, roughly v4.19 x86-64 with 5 zones.
const NODE_DATA_BYTES: u64 = 0x2a000;
/// The real-mode trampoline's size, `real_mode_size` in v4.19.
const TRAMPOLINE_BYTES: u64 = 0x6000;
/// `CONFIG_X86_RESERVE_LOW`: the low memory the kernel never uses.
const RESERVE_LOW_BYTES: u64 = 64 * KIB;

/// The configurable parts of the boot.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Where the kernel image lies; chosen by [`simulate`] when `None`.
    pub kernel_address: Option<u64>,
    /// The kernel image's size.
    pub kernel_size: u64,
    /// Where the initrd lies; chosen by [`simulate`] when `None`.
    pub initrd_address: Option<u64>,
    /// The initrd's size, 0 for none.
    pub initrd_size: u64,
    /// CPUs per node.
    pub cpus_per_node: u64,
    /// Bytes of one per-CPU unit.
    pub percpu_unit: u64,
    /// Bytes of the log buffer.
    pub log_buffer: u64,
    /// Bytes of the swiotlb bounce buffer, 0 for none.
    pub bounce_buffer: u64,
}

/// What a region of the picture and the report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RegionKind {
    /// Memory the kernel keeps from the start (low memory).
    LowMemory,
    /// The kernel image.
    Kernel,
    /// The initial RAM disk.
    Initrd,
    /// A node's bootmem bitmap.
    Bitmap,
    /// Early page tables.
    PageTables,
    /// The real-mode trampoline.
    Trampoline,
    /// The swiotlb bounce buffer.
    BounceBuffer,
    /// A node's `pglist_data`.
    NodeData,
    /// A node's `struct page` array.
    StructPages,
    /// Per-CPU areas.
    PerCpu,
    /// The kernel log buffer.
    LogBuffer,
    /// A large system hash table.
    HashTable,
}

impl RegionKind {
    /// The name used in JSON and in the picture's classes.
    pub const fn name(self) -> &'static str {
        match self {
            Self::LowMemory => "low-memory",
            Self::Kernel => "kernel",
            Self::Initrd => "initrd",
            Self::Bitmap => "bitmap",
            Self::PageTables => "page-tables",
            Self::Trampoline => "trampoline",
            Self::BounceBuffer => "bounce-buffer",
            Self::NodeData => "node-data",
            Self::StructPages => "struct-pages",
            Self::PerCpu => "per-cpu",
            Self::LogBuffer => "log-buffer",
            Self::HashTable => "hash-table",
        }
    }

    /// A short description for the legend.
    pub const fn description(self) -> &'static str {
        match self {
            Self::LowMemory => "low 64 KiB (reserved)",
            Self::Kernel => "kernel image",
            Self::Initrd => "initrd",
            Self::Bitmap => "bootmem bitmap",
            Self::PageTables => "early page tables",
            Self::Trampoline => "real-mode trampoline",
            Self::BounceBuffer => "swiotlb bounce buffer",
            Self::NodeData => "pglist_data",
            Self::StructPages => "struct page array",
            Self::PerCpu => "per-CPU areas",
            Self::LogBuffer => "log buffer",
            Self::HashTable => "hash tables",
        }
    }
}

/// A reservation or an allocation: `[start, end)` bytes.
#[derive(Clone, Debug)]
pub struct Region {
    /// First byte.
    pub start: u64,
    /// Exclusive end.
    pub end: u64,
    /// The node it lies on, if any.
    pub node: Option<u32>,
    /// What it is.
    pub kind: RegionKind,
    /// What it is for, in words.
    pub purpose: String,
    /// The bootmem call that made it.
    pub call: &'static str,
}

impl Region {
    /// Its size in bytes.
    pub const fn size(&self) -> u64 {
        self.end - self.start
    }
}

/// One node's use of memory just before the hand-off.
#[derive(Clone, Debug)]
pub struct NodeUse {
    /// The node.
    pub node: u32,
    /// Its RAM.
    pub ram_bytes: u64,
    /// Bytes of its RAM reserved (bitmap, kernel, initrd, low memory).
    pub reserved_bytes: u64,
    /// Bytes allocated on it.
    pub allocated_bytes: u64,
    /// Allocations on it.
    pub allocations: u64,
    /// Its free pages.
    pub free_pages: u64,
}

/// What one node handed to the page allocator.
#[derive(Clone, Debug, Default)]
pub struct NodeHandOff {
    /// The node.
    pub node: u32,
    /// Free blocks by order.
    pub blocks_by_order: BTreeMap<u32, u64>,
    /// Bitmap pages released.
    pub bitmap_pages: u64,
    /// All pages released.
    pub pages: u64,
}

/// The hand-off summary.
#[derive(Clone, Debug, Default)]
pub struct HandOffSummary {
    /// Pages released, as `free_all_bootmem` returns.
    pub total_pages: u64,
    /// Of which free memory.
    pub free_pages: u64,
    /// Of which bitmap pages.
    pub bitmap_pages: u64,
    /// By node.
    pub nodes: Vec<NodeHandOff>,
}

/// A whole simulated boot.
#[derive(Clone, Debug)]
pub struct Simulation {
    /// The map's name.
    pub name: String,
    /// The firmware map as read.
    pub firmware: FirmwareMap,
    /// The normalised map.
    pub map: Box<CommandMemoryMap>,
    /// Reservations, in order.
    pub reservations: Vec<Region>,
    /// Allocations, in order.
    pub allocations: Vec<Region>,
    /// Per-node use before the hand-off.
    pub node_use: Vec<NodeUse>,
    /// The hand-off.
    pub handoff: HandOffSummary,
    /// What the boot did differently from the full sequence, and why.
    pub notes: Vec<String>,
}

/// The RAM ranges of the map as `(start, end)`, optionally of one node.
fn ram_ranges(map: &CommandMemoryMap, node: Option<NodeId>) -> Vec<(u64, u64)> {
    map.ram_ranges()
        .filter(|range| node.is_none() || range.node == node)
        .map(|range| (range.start.as_u64(), range.end.as_u64()))
        .collect()
}

/// The highest `bytes`-sized, page-aligned piece of `ranges` below `ceiling`
/// that overlaps none of `avoid`.
fn place_highest(
    ranges: &[(u64, u64)],
    bytes: u64,
    ceiling: u64,
    avoid: &[(u64, u64)],
    page: u64,
) -> Option<u64> {
    for &(low, high) in ranges.iter().rev() {
        let mut high = high.min(ceiling);
        while high >= low.checked_add(bytes)? {
            let start = (high - bytes) & !(page - 1);
            if start < low {
                break;
            }
            match avoid
                .iter()
                .filter(|&&(first, end)| first < start + bytes && start < end)
                .map(|&(first, _)| first)
                .min()
            {
                None => return Some(start),
                Some(blocker) => high = blocker & !(page - 1),
            }
        }
    }
    None
}

/// Where a bootloader loads the kernel: `CONFIG_PHYSICAL_START` (16 MiB)
/// when that is RAM, else the lowest 2 MiB-aligned RAM that holds it.
fn default_kernel_address(ranges: &[(u64, u64)], bytes: u64) -> Option<u64> {
    const PHYSICAL_START: u64 = 16 * MIB;
    if PHYSICAL_START
        .checked_add(bytes)
        .is_some_and(|end| all_ram(ranges, PHYSICAL_START, end))
    {
        return Some(PHYSICAL_START);
    }
    ranges.iter().find_map(|&(low, high)| {
        let start = low.checked_add(2 * MIB - 1)? & !(2 * MIB - 1);
        (start.checked_add(bytes)? <= high).then_some(start)
    })
}

/// Whether every byte of `[start, end)` is RAM.
fn all_ram(ranges: &[(u64, u64)], start: u64, end: u64) -> bool {
    let mut position = start;
    for &(low, high) in ranges {
        if low <= position && position < high {
            position = high;
        }
        if position >= end {
            return true;
        }
    }
    position >= end
}

/// The node whose span holds `address`.
fn node_of(map: &CommandMemoryMap, address: u64) -> Option<u32> {
    let frame = address >> map.page_size().shift();
    map.nodes()
        .iter()
        .find(|span| {
            !span.is_memoryless() && span.start.as_u64() <= frame && frame < span.end.as_u64()
        })
        .map(|span| span.node.as_u32())
}

struct Boot {
    bootmem: SimulatedBootmem,
    map: Box<CommandMemoryMap>,
    reservations: Vec<Region>,
    allocations: Vec<Region>,
}

impl Boot {
    fn reserve(
        &mut self,
        start: u64,
        end: u64,
        kind: RegionKind,
        purpose: String,
    ) -> Result<(), String> {
        let size = end - start;
        match self.bootmem.reserve_bootmem(start, size, BOOTMEM_DEFAULT) {
            Ok(_) => {}
            Err(error) => {
                return Err(format!(
                    "reserve_bootmem({start:#x}, {size:#x}) for {purpose}: {error}"
                ))
            }
        }
        self.reservations.push(Region {
            start,
            end,
            node: node_of(&self.map, start),
            kind,
            purpose,
            call: "reserve_bootmem",
        });
        Ok(())
    }

    fn record(
        &mut self,
        call: &'static str,
        size: u64,
        kind: RegionKind,
        purpose: String,
        result: NoPanicResult,
    ) -> Result<u64, String> {
        match result {
            Ok(Some(address)) => {
                let start = address.as_u64();
                self.allocations.push(Region {
                    start,
                    end: start + size,
                    node: node_of(&self.map, start),
                    kind,
                    purpose,
                    call,
                });
                Ok(start)
            }
            Ok(None) => Err(format!(
                "{call}({size:#x}) for {purpose}: out of memory (the kernel would panic: bootmem alloc of {size} bytes failed!)"
            )),
            Err(error) => Err(format!("{call}({size:#x}) for {purpose}: {error}")),
        }
    }
}

/// `alloc_large_system_hash`'s sizing (v4.19, `HASH_EARLY`): entries from
/// the kernel's pages scaled by `scale`, a power of two, at most 1/16 of memory.
fn hash_table_bytes(ram_pages: u64, page_shift: u32, bucket_bytes: u64, scale: u32) -> u64 {
    let page_bytes = 1u64 << page_shift;
    let mut entries = ram_pages;
    if page_shift < 20 {
        let round = MIB / page_bytes;
        entries = entries.div_ceil(round) * round;
    }
    if scale > page_shift {
        entries >>= scale - page_shift;
    } else {
        entries <<= page_shift - scale;
    }
    let entries = entries.max(1).next_power_of_two();
    let most = ((ram_pages << page_shift) >> 4) / bucket_bytes;
    let most = most.clamp(1, 0x8000_0000);
    let entries = if entries > most {
        1u64 << (63 - most.leading_zeros())
    } else {
        entries
    };
    entries * bucket_bytes
}

/// Runs the whole boot on `firmware`.
///
/// # Errors
///
/// A map that does not normalise, more than [`MAX_BOOT_NODES`] nodes with
/// memory, a kernel or initrd outside RAM, or a machine too small for the
/// sequence (where Linux would panic).
#[allow(clippy::too_many_lines)]
pub fn simulate(name: &str, firmware: FirmwareMap, layout: &Layout) -> Result<Simulation, String> {
    let configuration = Configuration::X86_64;
    let page = configuration.page_size.bytes();
    let shift = configuration.page_size.shift();
    let map = firmware
        .normalise(configuration.page_size)
        .map_err(|error| error.in_named_file(name).to_string())?;
    let all_ram_ranges = ram_ranges(&map, None);
    let nodes_with_memory: Vec<_> = map
        .nodes()
        .iter()
        .filter(|span| !span.is_memoryless())
        .copied()
        .collect();
    if nodes_with_memory.len() > MAX_BOOT_NODES {
        return Err(format!(
            "{name}: {} nodes with memory; bootmem boot simulates at most {MAX_BOOT_NODES}",
            nodes_with_memory.len()
        ));
    }

    // Where the bootloader put the kernel and the initrd.
    let page_align_up = |value: u64| value.checked_add(page - 1).map(|value| value & !(page - 1));
    if layout.kernel_size == 0 {
        return Err("the kernel image cannot be empty (--kernel-size 0)".to_string());
    }
    let kernel_address = match layout.kernel_address {
        Some(address) => address,
        None => default_kernel_address(&all_ram_ranges, layout.kernel_size).ok_or_else(|| {
            format!(
                "{name}: no RAM range holds a {}-byte kernel image",
                layout.kernel_size
            )
        })?,
    };
    let kernel_start = kernel_address & !(page - 1);
    let kernel_end = kernel_address
        .checked_add(layout.kernel_size)
        .and_then(page_align_up)
        .ok_or("the kernel image ends past 2^64")?;
    if !all_ram(&all_ram_ranges, kernel_start, kernel_end) {
        return Err(format!(
            "{name}: the kernel image [{kernel_start:#x}, {kernel_end:#x}) is not all RAM (see --kernel-address)"
        ));
    }
    let mut avoid = vec![(0, RESERVE_LOW_BYTES), (kernel_start, kernel_end)];
    let initrd = if layout.initrd_size == 0 {
        None
    } else {
        let bytes = page_align_up(layout.initrd_size).ok_or("the initrd is too large")?;
        let start =
            match layout.initrd_address {
                Some(address) => address & !(page - 1),
                None => place_highest(&all_ram_ranges, bytes, 4 * GIB, &avoid, page).ok_or_else(
                    || format!("{name}: no room for a {bytes}-byte initrd in RAM below 4 GiB"),
                )?,
            };
        let end = start
            .checked_add(bytes)
            .ok_or("the initrd ends past 2^64")?;
        if !all_ram(&all_ram_ranges, start, end) {
            return Err(format!(
                "{name}: the initrd [{start:#x}, {end:#x}) is not all RAM (see --initrd-address)"
            ));
        }
        avoid.push((start, end));
        Some((start, end))
    };

    let mut boot = Boot {
        bootmem: Bootmem::new(configuration, NoZeroing),
        map,
        reservations: Vec::new(),
        allocations: Vec::new(),
    };

    // 1. init_bootmem_node: each bitmap at the top of its node's own RAM.
    let mut bitmaps = Vec::new();
    for span in &nodes_with_memory {
        let (start, end) = (span.start.as_u64(), span.end.as_u64());
        let pages = end - start;
        let bitmap_pages = boot.bootmem.bootmem_bootmap_pages(pages);
        let node_ranges = ram_ranges(&boot.map, Some(span.node));
        let address = place_highest(&node_ranges, bitmap_pages << shift, u64::MAX, &avoid, page)
            .ok_or_else(|| {
                format!(
                    "{name}: node {}: no room for a bitmap of {bitmap_pages} pages in its RAM",
                    span.node
                )
            })?;
        let storage = vec![
            0;
            usize::try_from(bootmem::node_storage_words(pages))
                .map_err(|_| "node too large")?
        ];
        boot.bootmem
            .init_bootmem_node(span.node.as_u32(), address >> shift, start, end, storage)
            .map_err(|error| format!("init_bootmem_node({}): {error}", span.node))?;
        bitmaps.push((span.node, address, bitmap_pages << shift));
    }

    // 2. free_bootmem every RAM range.
    for &(start, end) in &all_ram_ranges {
        boot.bootmem
            .free_bootmem(start, end - start)
            .map_err(|error| format!("free_bootmem({start:#x}, {:#x}): {error}", end - start))?;
    }

    // 3. Reserve the bitmaps, then what the kernel knows of.
    for (node, address, bytes) in bitmaps {
        boot.reserve(
            address,
            address + bytes,
            RegionKind::Bitmap,
            format!("node {node} bootmem bitmap"),
        )?;
    }
    let low_end = RESERVE_LOW_BYTES.min(boot.map.end_of_ram().as_u64() << shift);
    if low_end > 0 && node_of(&boot.map, 0).is_some() {
        boot.reserve(
            0,
            low_end,
            RegionKind::LowMemory,
            "low memory (BIOS data, X86_RESERVE_LOW)".to_string(),
        )?;
    }
    // The firmware's ranges inside the nodes: never freed, reserved again as a kernel does.
    let firmware_ranges: Vec<(u64, u64)> = boot
        .map
        .ranges()
        .iter()
        .filter(|range| !range.kind.is_ram())
        .map(|range| (range.start.as_u64(), range.end.as_u64()))
        .collect();
    for (start, end) in firmware_ranges {
        for span in &nodes_with_memory {
            let low = start.max(span.start.as_u64() << shift);
            let high = end.min(span.end.as_u64() << shift);
            if low < high {
                boot.bootmem
                    .reserve_bootmem(low, high - low, BOOTMEM_DEFAULT)
                    .map_err(|error| {
                        format!(
                            "reserve_bootmem({low:#x}, {:#x}) (firmware): {error}",
                            high - low
                        )
                    })?;
            }
        }
    }
    boot.reserve(
        kernel_start,
        kernel_end,
        RegionKind::Kernel,
        "kernel image (text, data, bss)".to_string(),
    )?;
    if let Some((start, end)) = initrd {
        boot.reserve(start, end, RegionKind::Initrd, "initrd".to_string())?;
    }

    // 4. setup_arch: trampoline below 1 MiB, then the direct map's page tables.
    //    As v4.19's reserve_real_mode, a machine without free memory below
    //    1 MiB only gets a note.
    let mut notes = Vec::new();
    let result = boot
        .bootmem
        .___alloc_bootmem_nopanic(TRAMPOLINE_BYTES, page, 0, MIB);
    if matches!(result, Ok(None)) {
        notes.push("No sub-1M memory is available for the trampoline (as Linux says): no real-mode trampoline".to_string());
    } else {
        boot.record(
            "___alloc_bootmem_nopanic",
            TRAMPOLINE_BYTES,
            RegionKind::Trampoline,
            "real-mode trampoline (below 1 MiB)".to_string(),
            result,
        )?;
    }
    let end_of_ram = boot.map.end_of_ram().as_u64() << shift;
    let page_table_bytes = (end_of_ram.div_ceil(GIB) + end_of_ram.div_ceil(512 * GIB) + 1) * page;
    let result = boot.bootmem.alloc_bootmem_pages_nopanic(page_table_bytes);
    boot.record(
        "alloc_bootmem_pages_nopanic",
        page_table_bytes,
        RegionKind::PageTables,
        "early page tables (direct map, 2 MiB pages)".to_string(),
        result,
    )?;

    // 5. initmem_init and sparse_init: each node's pglist_data and struct pages.
    for span in &nodes_with_memory {
        let nid = span.node.as_u32();
        let result = boot
            .bootmem
            .alloc_bootmem_node_nopanic(nid, NODE_DATA_BYTES);
        boot.record(
            "alloc_bootmem_node_nopanic",
            NODE_DATA_BYTES,
            RegionKind::NodeData,
            format!("NODE_DATA({nid}) pglist_data"),
            result,
        )?;
    }
    for span in &nodes_with_memory {
        let nid = span.node.as_u32();
        let bytes = span.pages() * STRUCT_PAGE_BYTES;
        let result = boot.bootmem.__alloc_bootmem_node_high_nopanic(
            nid,
            bytes,
            2 * MIB,
            configuration.dma_limit.as_u64(),
        );
        boot.record(
            "__alloc_bootmem_node_high_nopanic",
            bytes,
            RegionKind::StructPages,
            format!("node {nid} struct page array ({} pages)", span.pages()),
            result,
        )?;
    }

    // 6. start_kernel: log buffer, per-CPU areas, early hashes, swiotlb.
    let result = boot.bootmem.alloc_bootmem_nopanic(layout.log_buffer.max(1));
    boot.record(
        "alloc_bootmem_nopanic",
        layout.log_buffer.max(1),
        RegionKind::LogBuffer,
        "log buffer (log_buf_len)".to_string(),
        result,
    )?;
    let mut cpu = 0;
    for span in &nodes_with_memory {
        let nid = span.node.as_u32();
        let bytes = layout
            .cpus_per_node
            .checked_mul(layout.percpu_unit.max(page))
            .ok_or("per-CPU areas larger than 2^64 bytes")?;
        let last = cpu + layout.cpus_per_node - 1;
        let result = boot.bootmem.__alloc_bootmem_node_nopanic(
            nid,
            bytes,
            2 * MIB,
            configuration.dma_limit.as_u64(),
        );
        boot.record(
            "__alloc_bootmem_node_nopanic",
            bytes,
            RegionKind::PerCpu,
            format!("per-CPU first chunk, CPUs {cpu}-{last}"),
            result,
        )?;
        cpu = last + 1;
    }
    let ram_pages = boot.map.ram_bytes() >> shift;
    for (table, bucket, scale) in [
        ("Dentry cache", 8, 13),
        ("Inode-cache", 8, 14),
        ("Mount-cache", 16, 19),
        ("Mountpoint-cache", 8, 19),
    ] {
        let bytes = hash_table_bytes(ram_pages, shift, bucket, scale);
        let result = boot.bootmem.alloc_bootmem_nopanic(bytes);
        boot.record(
            "alloc_bootmem_nopanic",
            bytes,
            RegionKind::HashTable,
            format!("{table} hash table ({} entries)", bytes / bucket),
            result,
        )?;
    }
    if layout.bounce_buffer > 0 {
        let bytes = page_align_up(layout.bounce_buffer).ok_or("the bounce buffer is too large")?;
        let result = boot.bootmem.alloc_bootmem_low_pages_nopanic(bytes);
        boot.record(
            "alloc_bootmem_low_pages_nopanic",
            bytes,
            RegionKind::BounceBuffer,
            "swiotlb bounce buffer (below 4 GiB)".to_string(),
            result,
        )?;
    }

    // 7. Per-node use, then free_all_bootmem.
    let node_use = nodes_with_memory
        .iter()
        .map(|span| {
            let nid = span.node.as_u32();
            let on_node = |region: &&Region| region.node == Some(nid);
            let free_pages = boot
                .bootmem
                .allocator()
                .nodes()
                .find(|summary| summary.node == span.node)
                .map_or(0, |summary| summary.free_pages);
            NodeUse {
                node: nid,
                ram_bytes: span.ram_bytes,
                reserved_bytes: boot
                    .reservations
                    .iter()
                    .filter(on_node)
                    .map(Region::size)
                    .sum(),
                allocated_bytes: boot
                    .allocations
                    .iter()
                    .filter(on_node)
                    .map(Region::size)
                    .sum(),
                allocations: boot.allocations.iter().filter(on_node).count() as u64,
                free_pages,
            }
        })
        .collect();
    let mut handoff = HandOffSummary::default();
    let mut by_node: BTreeMap<u32, NodeHandOff> = BTreeMap::new();
    handoff.total_pages = boot.bootmem.free_all_bootmem(|block| {
        let nid = block.node.as_u32();
        let entry = by_node.entry(nid).or_insert_with(|| NodeHandOff {
            node: nid,
            ..NodeHandOff::default()
        });
        entry.pages += block.pages();
        match block.kind {
            BlockKind::Free => {
                *entry.blocks_by_order.entry(block.order).or_insert(0) += 1;
                handoff.free_pages += block.pages();
            }
            BlockKind::Bitmap => {
                entry.bitmap_pages += block.pages();
                handoff.bitmap_pages += block.pages();
            }
        }
    });
    handoff.nodes = by_node.into_values().collect();
    Ok(Simulation {
        name: name.to_string(),
        firmware,
        map: boot.map,
        reservations: boot.reservations,
        allocations: boot.allocations,
        node_use,
        handoff,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tables_are_sized_as_linux_sizes_them() {
        // 64 GiB of 4 KiB pages: Linux prints 8388608 dentry and 4194304 inode entries.
        let pages = (64 * GIB) >> 12;
        assert_eq!(hash_table_bytes(pages, 12, 8, 13), 8_388_608 * 8);
        assert_eq!(hash_table_bytes(pages, 12, 8, 14), 4_194_304 * 8);
        // Rounded up to a power of two, capped at 1/16 of memory.
        assert_eq!(hash_table_bytes(3 * 256, 12, 8, 13), 512 * 8);
        assert_eq!(hash_table_bytes(16, 12, 8, 0), (16 * 4096 / 16) / 8 * 8);
    }

    #[test]
    fn placement_takes_the_highest_room_clear_of_what_to_avoid() {
        let ranges = [(0x1000, 0x9_f000), (0x10_0000, 0x800_0000)];
        assert_eq!(
            place_highest(&ranges, 0x2000, u64::MAX, &[], 0x1000),
            Some(0x7ff_e000)
        );
        let avoid = [(0x7f0_0000, 0x800_0000)];
        assert_eq!(
            place_highest(&ranges, 0x2000, u64::MAX, &avoid, 0x1000),
            Some(0x7ef_e000)
        );
        assert_eq!(
            place_highest(&ranges, 0x2000, 0x20_0000, &[], 0x1000),
            Some(0x1f_e000)
        );
        assert_eq!(
            place_highest(&ranges, 0x1_0000_0000, u64::MAX, &[], 0x1000),
            None
        );
    }

    #[test]
    fn ram_coverage_and_the_default_kernel_address() {
        let ranges = [(0, 0x9_f000), (0x10_0000, 0x800_0000)];
        assert!(all_ram(&ranges, 0x100_0000, 0x300_0000));
        assert!(!all_ram(&ranges, 0x9_0000, 0x11_0000));
        assert!(!all_ram(&ranges, 0x700_0000, 0x900_0000));
        assert_eq!(default_kernel_address(&ranges, 32 * MIB), Some(16 * MIB));
        let high = [(0x4000_0000, 0x8000_0000)];
        assert_eq!(default_kernel_address(&high, 32 * MIB), Some(0x4000_0000));
        assert_eq!(default_kernel_address(&high, 2 * GIB), None);
    }
}
