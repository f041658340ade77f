//! Early allocations that generic code makes on every architecture: sparse memory maps, per-CPU areas, the log buffer, hashes, swiotlb, the device tree.

use super::kinds::RegionKind;
use super::sequence::{Boot, Nodes, Panicked, Request, MIB};
use super::simulate::Machine;
use super::sizes;
use crate::render::size::size;

/// The section geometry of a `SPARSEMEM_VMEMMAP` architecture.
pub struct Sparse {
    /// `SECTION_SIZE_BITS`.
    pub section_bits: u32,
    /// `pageblock_order`.
    pub pageblock_order: u32,
    /// `sizeof(struct page)`.
    pub struct_page: u64,
    /// `__pa(MAX_DMA_ADDRESS)`.
    pub goal: u64,
    /// Why that goal.
    pub goal_reason: &'static str,
}

/// `sparse_init` -> `sparse_init_nid` (mm/sparse.c, v4.19), per node with
/// memory: its usemaps (`memblock_virt_alloc_node_nopanic` ->
/// `__alloc_bootmem_node_nopanic`), then its vmemmap buffer
/// (`sparse_buffer_init`: `memblock_virt_alloc_try_nid_raw` ->
/// `___alloc_bootmem_node_nopanic` from `__pa(MAX_DMA_ADDRESS)`).
///
/// # Errors
///
/// [`Panicked`] never: a node without room for its usemaps or memory map
/// loses those sections, as `sparse_init_nid` says.
pub fn sparse(boot: &mut Boot, machine: &Machine<'_>, geometry: Sparse) -> Result<(), Panicked> {
    let page_shift = boot.configuration.page_size.shift();
    let usemap = sizes::usemap_bytes_per_section(
        geometry.section_bits,
        page_shift,
        geometry.pageblock_order,
    );
    let map =
        sizes::vmemmap_bytes_per_section(geometry.section_bits, page_shift, geometry.struct_page);
    for &(node, _) in &machine.nodes {
        let nid = node.as_u32();
        let sections = sizes::present_sections(&boot.map, node, geometry.section_bits);
        if sections == 0 {
            continue;
        }
        let lost = format!("sparse_init_nid: node[{nid}] usemap allocation failed: its {sections} sections are not present, their memory is lost");
        let got = boot.allocate(
            Request::new(
                "__alloc_bootmem_node_nopanic",
                "sparse_init_nid, sparse_early_usemaps_alloc_pgdat_section (mm/sparse.c)",
                RegionKind::Usemap,
                format!(
                    "node {nid} usemaps ({sections} sections of {} MiB)",
                    1u64 << (geometry.section_bits - 20)
                ),
                usemap * sections,
                boot.configuration.cache_line_bytes,
            )
            .goal(geometry.goal, geometry.goal_reason)
            .nodes(Nodes::Prefer(nid))
            .or_else(lost),
        )?;
        if got.is_none() {
            continue;
        }
        let buffer = boot.allocate(
            Request::new(
                "___alloc_bootmem_node_nopanic",
                "sparse_init_nid, sparse_buffer_init (mm/sparse.c)",
                RegionKind::StructPages,
                format!("node {nid} struct page array (vmemmap for {sections} sections)"),
                map * sections,
                boot.page(),
            )
            .goal(geometry.goal, geometry.goal_reason)
            .nodes(Nodes::Prefer(nid))
            .or_else(format!("node {nid}: no room for one buffer: vmemmap_populate allocates each section's memory map in 2 MiB blocks instead (vmemmap_alloc_block)")),
        )?;
        if buffer.is_none() {
            vmemmap_blocks(boot, nid, sections, map, &geometry)?;
        }
    }
    Ok(())
}

/// `vmemmap_populate` -> `vmemmap_alloc_block` (mm/sparse-vmemmap.c) when
/// the node's buffer found no room: each section's memory map in 2 MiB,
/// 2 MiB-aligned blocks (`memblock_virt_alloc_try_nid_raw`); a section
/// whose block finds no room is not present ("memory map backing failed").
fn vmemmap_blocks(
    boot: &mut Boot,
    nid: u32,
    sections: u64,
    map: u64,
    geometry: &Sparse,
) -> Result<(), Panicked> {
    const BLOCK: u64 = 2 * MIB;
    const MOST: u64 = 1024;
    let blocks = sections * map.div_ceil(BLOCK);
    for index in 0..blocks.min(MOST) {
        boot.allocate(
            Request::new(
                "___alloc_bootmem_node_nopanic",
                "vmemmap_populate, vmemmap_alloc_block (mm/sparse-vmemmap.c)",
                RegionKind::StructPages,
                format!("node {nid} struct pages, vmemmap block {} of {blocks}", index + 1),
                BLOCK,
                BLOCK,
            )
            .goal(geometry.goal, geometry.goal_reason)
            .nodes(Nodes::Prefer(nid))
            .or_else(format!("sparse_init_nid: node[{nid}] memory map backing failed. Some memory will not be available.")),
        )?;
    }
    if blocks > MOST {
        boot.note(format!(
            "node {nid}: the simulation makes the first {MOST} of {blocks} vmemmap blocks one by one"
        ));
    }
    Ok(())
}

/// The per-CPU first chunk's rules on one architecture.
pub struct PerCpu {
    /// The unit of one CPU.
    pub unit: u64,
    /// The allocation atom (`PMD_SIZE` on x86-64, a page elsewhere).
    pub atom: u64,
    /// Which nodes a group may use.
    pub nodes: fn(u32) -> Nodes,
    /// The bootmem call.
    pub call: &'static str,
    /// The Linux function.
    pub source: &'static str,
    /// The goal, `__pa(MAX_DMA_ADDRESS)`.
    pub goal: u64,
    /// Why.
    pub goal_reason: &'static str,
}

/// `pcpu_embed_first_chunk` (mm/percpu.c): one group of units per node.
///
/// # Errors
///
/// [`Panicked`] when a group finds no room ("Failed to initialize percpu areas.").
pub fn per_cpu(boot: &mut Boot, machine: &Machine<'_>, rules: PerCpu) -> Result<(), Panicked> {
    let cpus = machine.cpus_per_node();
    let mut first_cpu = 0;
    for &(node, _) in &machine.nodes {
        let nid = node.as_u32();
        let bytes = sizes::percpu_group_bytes(cpus, rules.unit, rules.atom).unwrap_or(u64::MAX);
        let last = first_cpu + cpus - 1;
        boot.allocate(
            Request::new(
                rules.call,
                rules.source,
                RegionKind::PerCpu,
                format!(
                    "per-CPU first chunk, CPUs {first_cpu}-{last} ({} units)",
                    size(rules.unit)
                ),
                bytes,
                rules.atom,
            )
            .goal(rules.goal, rules.goal_reason)
            .nodes((rules.nodes)(nid)),
        )?;
        first_cpu = last + 1;
    }
    Ok(())
}

/// `setup_log_buf` (kernel/printk/printk.c): `memblock_virt_alloc` ->
/// `__alloc_bootmem` of the new length, when there is one.
///
/// # Errors
///
/// [`Panicked`] when it finds no room (`__alloc_bootmem` panics).
pub fn log_buffer(
    boot: &mut Boot,
    machine: &Machine<'_>,
    goal: u64,
    goal_reason: &'static str,
) -> Result<(), Panicked> {
    let Some(bytes) = machine.log_buffer() else {
        boot.note(format!(
            "log buffer: {} possible CPUs need no more than the static 128 KiB __log_buf, so setup_log_buf allocates nothing",
            machine.cpus()
        ));
        return Ok(());
    };
    boot.allocate(
        Request::new(
            "__alloc_bootmem",
            "setup_log_buf (kernel/printk/printk.c)",
            RegionKind::LogBuffer,
            format!("log buffer ({})", size(bytes)),
            bytes,
            8,
        )
        .goal(goal, goal_reason),
    )?;
    Ok(())
}

/// `vfs_caches_init_early` (fs/dcache.c, fs/inode.c) on a kernel without
/// NUMA: the dentry and inode hashes through `alloc_large_system_hash`
/// with `HASH_EARLY` (`memblock_virt_alloc_nopanic` -> `__alloc_bootmem_nopanic`).
///
/// # Errors
///
/// [`Panicked`] when a table finds no room ("Failed to allocate ... hash table").
pub fn early_hashes(
    boot: &mut Boot,
    machine: &Machine<'_>,
    goal: u64,
    goal_reason: &'static str,
) -> Result<(), Panicked> {
    let shift = boot.configuration.page_size.shift();
    for (table, scale) in [("Dentry cache", 13), ("Inode-cache", 14)] {
        let bytes = sizes::hash_table_bytes(machine.ram_pages(), shift, 8, scale);
        boot.allocate(
            Request::new(
                "__alloc_bootmem_nopanic",
                "alloc_large_system_hash (mm/page_alloc.c), from vfs_caches_init_early",
                RegionKind::HashTable,
                format!("{table} hash table ({} entries)", bytes / 8),
                bytes,
                boot.configuration.cache_line_bytes,
            )
            .goal(goal, goal_reason),
        )?;
    }
    Ok(())
}

/// `swiotlb_init` (kernel/dma/swiotlb.c): the bounce buffer below
/// `ARCH_LOW_ADDRESS_LIMIT` (`memblock_virt_alloc_low_nopanic` ->
/// `__alloc_bootmem_low_nopanic`), then its slot list and original-address
/// table (`memblock_virt_alloc` -> `__alloc_bootmem`).
///
/// # Errors
///
/// [`Panicked`] when the tables find no room after the buffer did.
pub fn swiotlb(
    boot: &mut Boot,
    bytes: u64,
    goal: u64,
    goal_reason: &'static str,
) -> Result<(), Panicked> {
    let page = boot.page();
    let bytes = bytes.div_ceil(page) * page;
    let limit = boot
        .configuration
        .low_address_limit
        .as_u64()
        .saturating_add(1);
    let buffer = boot.allocate(
        Request::new(
            "__alloc_bootmem_low_nopanic",
            "swiotlb_init (kernel/dma/swiotlb.c)",
            RegionKind::BounceBuffer,
            format!("swiotlb bounce buffer (below {limit:#x})"),
            bytes,
            page,
        )
        .limit(limit)
        .or_else("software IO TLB: Cannot allocate buffer: no_iotlb_memory, so devices that cannot reach all RAM fail their DMA mappings"),
    )?;
    if buffer.is_none() {
        return Ok(());
    }
    let slabs = bytes >> 11;
    for (what, entry) in [("slot list", 4), ("original addresses", 8)] {
        boot.allocate(
            Request::new(
                "__alloc_bootmem",
                "swiotlb_init_with_tbl (kernel/dma/swiotlb.c)",
                RegionKind::BounceBuffer,
                format!("swiotlb {what} ({slabs} slabs)"),
                (slabs * entry).div_ceil(page) * page,
                page,
            )
            .goal(goal, goal_reason),
        )?;
    }
    Ok(())
}

/// `unflatten_device_tree` (drivers/of/fdt.c): the tree of `device_node`s,
/// through `early_init_dt_alloc_memory_arch` -> `memblock_virt_alloc` ->
/// `__alloc_bootmem`; about twice the blob (names and properties are copied).
///
/// # Errors
///
/// [`Panicked`] when it finds no room.
pub fn unflatten_device_tree(
    boot: &mut Boot,
    machine: &Machine<'_>,
    goal: u64,
    goal_reason: &'static str,
) -> Result<(), Panicked> {
    if machine.blob_bytes == 0 {
        return Ok(());
    }
    boot.allocate(
        Request::new(
            "__alloc_bootmem",
            "unflatten_device_tree, early_init_dt_alloc_memory_arch (drivers/of/fdt.c)",
            RegionKind::DeviceTree,
            "unflattened device tree (about twice the blob)",
            2 * machine.blob_bytes,
            8,
        )
        .goal(goal, goal_reason),
    )?;
    Ok(())
}

/// `crashkernel=SIZE@OFFSET`: reserved where asked when every page there is
/// free, otherwise the kernel says why and goes on without it.
pub fn reserve_fixed_crash_kernel(boot: &mut Boot, address: u64, bytes: u64, source: &'static str) {
    let page = boot.page();
    let start = address & !(page - 1);
    let Some(end) = start.checked_add(bytes) else {
        boot.note("crashkernel reservation failed - the range passes 2^64");
        return;
    };
    let free = (start / page..end / page).all(|frame| {
        boot.bootmem
            .allocator()
            .is_reserved(bootmem::PageFrameNumber::new(frame))
            == Some(false)
    });
    if !free {
        boot.note(format!(
            "crashkernel reservation failed - memory is in use: [{start:#x}, {end:#x}) is not all free RAM"
        ));
        return;
    }
    if let Err(error) = boot.reserve(
        start,
        end,
        RegionKind::CrashKernel,
        "crash kernel (crashkernel=SIZE@OFFSET)",
        source,
        format!("crashkernel= names the address {start:#x}: the kernel reserves exactly there."),
    ) {
        boot.note(format!("crashkernel reservation failed - {error}"));
    }
}
