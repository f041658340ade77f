//! arm64's v4.19 early allocations: `arm64_memblock_init`, `paging_init`, `bootmem_init`, then `start_kernel`'s.
//!
//! arm64 has no ISA DMA zone: `MAX_DMA_ADDRESS` is `PAGE_OFFSET`, so the
//! default goal `__pa(MAX_DMA_ADDRESS)` is the start of RAM
//! (`memstart_addr`). Its 32-bit DMA zone (`ZONE_DMA` in v4.19) is the first
//! 4 GiB of the 4 GiB-aligned window that holds the start of RAM
//! (`max_zone_dma_phys`, arch/arm64/mm/init.c), so a server whose RAM all
//! lies above 4 GiB still has one: `ARCH_LOW_ADDRESS_LIMIT` is its end.
//! The memblock calls map to bootmem calls as on x86-64 (see `x86_64`).

use bootmem::{Configuration, PageFrameNumber, PageSize, PhysicalAddress};

use super::common;
use super::kinds::RegionKind;
use super::sequence::{Boot, Nodes, Panicked, Request, GIB, KIB, MIB};
use super::simulate::{Machine, Rules};
use crate::parse::CommandMemoryMap;
use crate::render::size::size;

/// arm64's facts.
pub const RULES: Rules = Rules {
    kernel_size: 32 * MIB,
    // "a 2 MiB aligned base ... text_offset bytes" (Documentation/arm64/booting.txt).
    kernel_align: 2 * MIB,
    kernel_preferred: None,
    kernel_offset: 0x8_0000,
    initrd_ceiling: None,
    cpus_per_node: 8,
    // "percpu: Embedded 23 pages/cpu ... u94208" on a defconfig kernel.
    percpu_unit: 92 * KIB,
    device_tree: true,
};

const GOAL_REASON: &str =
    "__pa(MAX_DMA_ADDRESS) is the start of RAM on arm64 (no ISA DMA zone): effectively no goal";
/// `sizeof(struct page)`.
const STRUCT_PAGE: u64 = 64;
/// `roundup(sizeof(pg_data_t), SMP_CACHE_BYTES)` for a defconfig kernel (`NODES_SHIFT` 2).
const NODE_DATA_BYTES: u64 = 0x1c00;
/// `SECTION_SIZE_BITS` (arch/arm64/include/asm/sparsemem.h): 1 GiB sections.
const SECTION_BITS: u32 = 30;
/// `pageblock_order` with 4 KiB pages (`HUGETLB_PAGE_ORDER`).
const PAGEBLOCK_ORDER: u32 = 9;
/// `CONFIG_CMA_SIZE_MBYTES` of the defconfig.
const CMA_DEFAULT: u64 = 16 * MIB;
/// `sizeof(struct resource)`.
const RESOURCE_BYTES: u64 = 64;

/// `memstart_addr`: the start of RAM rounded down to `ARM64_MEMSTART_ALIGN` (1 GiB).
fn memstart(map: &CommandMemoryMap) -> u64 {
    map.ram_ranges()
        .next()
        .map_or(0, |range| range.start.as_u64() & !(GIB - 1))
}

/// `arm64_dma_phys_limit` = `max_zone_dma_phys()`: 4 GiB past the start of
/// RAM's 4 GiB window, at most the end of RAM.
pub fn dma_phys_limit(map: &CommandMemoryMap) -> u64 {
    let window = memstart(map) & !(4 * GIB - 1);
    let end = map.end_of_ram().as_u64() << map.page_size().shift();
    (window + 4 * GIB).min(end)
}

/// arm64's allocator constants for this machine.
pub fn configuration(map: &CommandMemoryMap) -> Configuration {
    Configuration {
        page_size: PageSize::SIZE_4KIB,
        cache_line_bytes: 64,
        dma_limit: PhysicalAddress::new(memstart(map)),
        low_address_limit: PhysicalAddress::new(dma_phys_limit(map).saturating_sub(1)),
        dma32_end: PageFrameNumber::new(0x10_0000),
    }
}

/// The whole arm64 sequence.
///
/// # Errors
///
/// [`Panicked`] where v4.19 would panic.
pub fn sequence(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    let goal = memstart(machine.map);
    let dma_limit = dma_phys_limit(machine.map);
    if machine.start_of_ram() >= 4 * GIB {
        boot.note(format!(
            "no RAM below 4 GiB: arm64's DMA zone is the 4 GiB window that holds the start of RAM (max_zone_dma_phys), here up to {dma_limit:#x}; the crash kernel, CMA and swiotlb go there"
        ));
    }
    memblock_init(boot, machine, dma_limit)?;
    paging_init(boot, machine)?;
    common::unflatten_device_tree(boot, machine, goal, GOAL_REASON)?;
    bootmem_init(boot, machine, goal)?;
    request_standard_resources(boot, machine, dma_limit)?;
    start_kernel(boot, machine, goal, dma_limit)
}

/// `arm64_memblock_init` (arch/arm64/mm/init.c): `reserve_crashkernel`,
/// then `dma_contiguous_reserve(arm64_dma_phys_limit)`.
fn memblock_init(boot: &mut Boot, machine: &Machine<'_>, dma_limit: u64) -> Result<(), Panicked> {
    if let Some((bytes, fixed)) = machine.crash_kernel() {
        let bytes = bytes.div_ceil(boot.page()) * boot.page();
        match fixed {
            Some(address) => common::reserve_fixed_crash_kernel(
                boot,
                address,
                bytes,
                "reserve_crashkernel (arch/arm64/mm/init.c)",
            ),
            None => {
                boot.allocate(
                    Request::new(
                        "___alloc_bootmem_nopanic",
                        "reserve_crashkernel, memblock_find_in_range (arch/arm64/mm/init.c)",
                        RegionKind::CrashKernel,
                        "crash kernel (crashkernel=, in the DMA zone)",
                        bytes,
                        2 * MIB,
                    )
                    .limit(dma_limit)
                    .or_else(format!(
                        "cannot allocate crashkernel (size:{bytes:#x}): kdump is off"
                    )),
                )?;
            }
        }
    }
    if machine.kernel_options.device_tree_cma {
        boot.note("CMA: the device tree's linux,cma node already placed the area (reserved memory), so dma_contiguous_reserve allocates none");
        return Ok(());
    }
    let bytes = machine.cma(CMA_DEFAULT);
    if bytes == 0 {
        return Ok(());
    }
    if machine.layout.cma.or(machine.kernel_options.cma).is_none()
        && bytes > machine.map.ram_bytes() / 4
    {
        boot.note(format!(
            "CMA: the default {} is more than a quarter of RAM here; a board this small sets CONFIG_CMA_SIZE_MBYTES lower, so none is reserved",
            size(bytes)
        ));
        return Ok(());
    }
    boot.allocate(
        Request::new(
            "___alloc_bootmem_nopanic",
            "dma_contiguous_reserve, cma_declare_contiguous (drivers/base/dma-contiguous.c, mm/cma.c)",
            RegionKind::Cma,
            format!("CMA area ({}, in the DMA zone)", size(bytes)),
            bytes.div_ceil(4 * MIB) * 4 * MIB,
            4 * MIB,
        )
        .limit(dma_limit)
        .or_else("cma: Failed to reserve the area: the kernel runs without CMA"),
    )?;
    Ok(())
}

/// `paging_init` -> `map_kernel`, `map_mem` (arch/arm64/mm/mmu.c): each
/// table page through `early_pgtable_alloc` -> `memblock_alloc(PAGE_SIZE,
/// PAGE_SIZE)`: a PUD page per 512 GiB, a PMD page at each end of each
/// RAM range that is not 1 GiB-aligned, and the kernel's segments (text,
/// rodata, init, data) with a PTE page each.
fn paging_init(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    let page = boot.page();
    let span = machine.end_of_ram() - machine.start_of_ram();
    let mut tables = span.div_ceil(512 * GIB).max(1);
    for range in machine.map.ram_ranges() {
        tables +=
            u64::from(range.start.as_u64() % GIB != 0) + u64::from(range.end.as_u64() % GIB != 0);
    }
    tables += 4;
    for index in 0..tables.min(64) {
        boot.allocate(Request::new(
            "___alloc_bootmem_nopanic",
            "paging_init, early_pgtable_alloc (arch/arm64/mm/mmu.c)",
            RegionKind::PageTables,
            format!("page table page {} of {tables}", index + 1),
            page,
            page,
        ))?;
    }
    Ok(())
}

/// `bootmem_init` (arch/arm64/mm/init.c): `arm64_numa_init` (the distance
/// table, then each node's `pglist_data` in `setup_node_data`,
/// arch/arm64/mm/numa.c), then `sparse_init`.
fn bootmem_init(boot: &mut Boot, machine: &Machine<'_>, goal: u64) -> Result<(), Panicked> {
    let page = boot.page();
    let count = machine
        .nodes
        .iter()
        .map(|(node, _)| u64::from(node.as_u32()) + 1)
        .max()
        .unwrap_or(1);
    boot.allocate(
        Request::new(
            "___alloc_bootmem_nopanic",
            "numa_alloc_distance (arch/arm64/mm/numa.c)",
            RegionKind::NumaDistance,
            format!("NUMA distance table ({count} x {count})"),
            (count * count).div_ceil(page) * page,
            page,
        )
        .or_else(
            "NUMA: the distance table has no room: numa_init fails and the kernel fakes one node",
        ),
    )?;
    for &(node, _) in &machine.nodes {
        let nid = node.as_u32();
        boot.allocate(
            Request::new(
                "___alloc_bootmem_node_nopanic",
                "setup_node_data, memblock_alloc_try_nid (arch/arm64/mm/numa.c)",
                RegionKind::NodeData,
                format!("NODE_DATA({nid}) pglist_data"),
                NODE_DATA_BYTES,
                64,
            )
            .nodes(Nodes::Prefer(nid)),
        )?;
    }
    common::sparse(
        boot,
        machine,
        common::Sparse {
            section_bits: SECTION_BITS,
            pageblock_order: PAGEBLOCK_ORDER,
            struct_page: STRUCT_PAGE,
            goal,
            goal_reason: GOAL_REASON,
        },
    )
}

/// `request_standard_resources` (arch/arm64/kernel/setup.c): one
/// `struct resource` per memory region through `alloc_bootmem_low`.
fn request_standard_resources(
    boot: &mut Boot,
    machine: &Machine<'_>,
    dma_limit: u64,
) -> Result<(), Panicked> {
    let regions = machine.map.ram_ranges().count().min(64);
    for index in 0..regions {
        boot.allocate(
            Request::new(
                "__alloc_bootmem_low",
                "request_standard_resources (arch/arm64/kernel/setup.c)",
                RegionKind::Resource,
                format!("struct resource for memory region {index}"),
                RESOURCE_BYTES,
                64,
            )
            .limit(dma_limit),
        )?;
    }
    Ok(())
}

/// `start_kernel`: per-CPU areas (arch/arm64/mm/numa.c `setup_per_cpu_areas`,
/// `pcpu_fc_alloc` -> `memblock_virt_alloc_try_nid` ->
/// `__alloc_bootmem_node_high`, which without `MAX_DMA32_PFN` is the plain
/// node call), the log buffer, then `mem_init`'s swiotlb when RAM passes
/// the DMA zone.
fn start_kernel(
    boot: &mut Boot,
    machine: &Machine<'_>,
    goal: u64,
    dma_limit: u64,
) -> Result<(), Panicked> {
    common::per_cpu(
        boot,
        machine,
        common::PerCpu {
            unit: machine.percpu_unit().max(boot.page()).div_ceil(boot.page()) * boot.page(),
            atom: boot.page(),
            nodes: Nodes::Prefer,
            call: "__alloc_bootmem_node_high",
            source: "setup_per_cpu_areas, pcpu_fc_alloc (arch/arm64/mm/numa.c)",
            goal,
            goal_reason: GOAL_REASON,
        },
    )?;
    common::log_buffer(boot, machine, goal, GOAL_REASON)?;
    boot.note("Dentry cache and Inode-cache hashes: hashdist=1 (CONFIG_NUMA on 64-bit), so they come from vmalloc after the hand-off");
    let bounce = machine
        .layout
        .bounce_buffer
        .unwrap_or(if machine.end_of_ram() > dma_limit {
            64 * MIB
        } else {
            0
        });
    if bounce == 0 {
        boot.note("swiotlb: all RAM lies in the DMA zone, so mem_init sets up no bounce buffer");
        return Ok(());
    }
    common::swiotlb(boot, bounce, goal, GOAL_REASON)
}
