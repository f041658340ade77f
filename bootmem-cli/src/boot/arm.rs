//! 32-bit ARM's v4.19 early allocations: lowmem only, a FLATMEM `mem_map` over all RAM, highmem left to the page allocator.
//!
//! With the 3 GiB/1 GiB split and the default 240 MiB of vmalloc space,
//! the kernel maps at most 768 MiB of RAM directly (`adjust_lowmem_bounds`,
//! arch/arm/mm/mmu.c: `vmalloc_min` is 0xf0000000). RAM beyond that is
//! highmem: bootmem never manages it, and every early allocation lies in
//! lowmem. `MAX_DMA_ADDRESS` is 0xffffffff, whose physical address lies
//! past lowmem, so the default goal is ignored (`alloc_bootmem_bdata`
//! starts at the node's first page): goal 0 here.

use bootmem::{Configuration, PageFrameNumber, PageSize, PhysicalAddress};

use super::common;
use super::kinds::RegionKind;
use super::sequence::{Boot, Nodes, Panicked, Request, KIB, MIB};
use super::simulate::{Machine, Rules};
use super::sizes;
use crate::parse::CommandMemoryMap;
use crate::render::size::size;

/// 32-bit ARM's facts.
pub const RULES: Rules = Rules {
    kernel_size: 8 * MIB,
    kernel_align: 2 * MIB,
    kernel_preferred: None,
    // TEXT_OFFSET: the kernel runs 32 KiB above PHYS_OFFSET, its page directory just below.
    kernel_offset: 0x8000,
    initrd_ceiling: None,
    cpus_per_node: 4,
    // "percpu: Embedded 15 pages/cpu ... u61440" on multi_v7_defconfig.
    percpu_unit: 60 * KIB,
    device_tree: true,
};

/// The most RAM the kernel maps directly.
const LOWMEM_BYTES: u64 = 768 * MIB;
/// `sizeof(struct page)` on 32-bit.
const STRUCT_PAGE: u64 = 32;
/// `MAX_ORDER_NR_PAGES`: `mem_map` covers whole 4 MiB blocks.
const MAX_ORDER_PAGES: u64 = 1024;
/// `pageblock_order` without huge pages: `MAX_ORDER - 1`.
const PAGEBLOCK_ORDER: u32 = 10;
/// multi_v7_defconfig's `CONFIG_CMA_SIZE_MBYTES`.
const CMA_DEFAULT: u64 = 64 * MIB;
/// `CRASH_ALIGN` (arch/arm/kernel/setup.c).
const CRASH_ALIGN: u64 = 128 * MIB;
/// `sizeof(struct resource)` on 32-bit.
const RESOURCE_BYTES: u64 = 32;

/// The first byte of highmem: `PHYS_OFFSET` + 768 MiB (RAM that starts
/// above 4 GiB needs LPAE, which keeps the same 768 MiB window).
pub fn lowmem_end(map: &CommandMemoryMap) -> u64 {
    let start = map
        .ram_ranges()
        .next()
        .map_or(0, |range| range.start.as_u64());
    start.saturating_add(LOWMEM_BYTES)
}

/// 32-bit ARM's allocator constants.
pub fn configuration(map: &CommandMemoryMap) -> Configuration {
    Configuration {
        page_size: PageSize::SIZE_4KIB,
        cache_line_bytes: 64,
        dma_limit: PhysicalAddress::ZERO,
        low_address_limit: PhysicalAddress::new(lowmem_end(map) - 1),
        dma32_end: PageFrameNumber::new(0x10_0000),
    }
}

/// The whole 32-bit ARM sequence.
///
/// # Errors
///
/// [`Panicked`] where v4.19 would panic.
pub fn sequence(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    let lowmem = lowmem_end(machine.map);
    memblock_init(boot, machine, lowmem)?;
    paging_init(boot, machine)?;
    bootmem_init(boot, machine, lowmem)?;
    crash_kernel(boot, machine, lowmem)?;
    for index in 0..machine.map.ram_ranges().count().min(64) {
        boot.allocate(Request::new(
            "__alloc_bootmem",
            "request_standard_resources (arch/arm/kernel/setup.c)",
            RegionKind::Resource,
            format!("struct resource for memory region {index}"),
            RESOURCE_BYTES,
            64,
        ))?;
    }
    common::unflatten_device_tree(boot, machine, 0, "")?;
    common::per_cpu(
        boot,
        machine,
        common::PerCpu {
            unit: machine.percpu_unit().max(boot.page()).div_ceil(boot.page()) * boot.page(),
            atom: boot.page(),
            nodes: |_| Nodes::Any,
            call: "__alloc_bootmem_nopanic",
            source: "setup_per_cpu_areas, pcpu_dfl_fc_alloc (mm/percpu.c)",
            goal: 0,
            goal_reason: "",
        },
    )?;
    common::log_buffer(boot, machine, 0, "")?;
    common::early_hashes(boot, machine, 0, "")?;
    boot.note(
        "swiotlb: v4.19's 32-bit ARM has none (DMA goes through the DMA mapping ops and CMA)",
    );
    Ok(())
}

/// `arm_memblock_init` (arch/arm/mm/init.c): `dma_contiguous_reserve(arm_dma_limit)`.
fn memblock_init(boot: &mut Boot, machine: &Machine<'_>, lowmem: u64) -> Result<(), Panicked> {
    if machine.kernel_options.device_tree_cma {
        boot.note("CMA: the device tree's linux,cma node already placed the area, so dma_contiguous_reserve allocates none");
        return Ok(());
    }
    let bytes = machine.cma(CMA_DEFAULT);
    let lowmem_bytes: u64 = machine.map.ram_bytes().min(lowmem);
    if bytes == 0 {
        return Ok(());
    }
    if bytes > lowmem_bytes / 4 {
        boot.note(format!(
            "CMA: {} is more than a quarter of lowmem here; a board this small sets CONFIG_CMA_SIZE_MBYTES lower (or cma=), so none is reserved",
            size(bytes)
        ));
        return Ok(());
    }
    boot.allocate(
        Request::new(
            "___alloc_bootmem_nopanic",
            "dma_contiguous_reserve, cma_declare_contiguous (drivers/base/dma-contiguous.c, mm/cma.c)",
            RegionKind::Cma,
            format!("CMA area ({})", size(bytes)),
            bytes.div_ceil(4 * MIB) * 4 * MIB,
            4 * MIB,
        )
        .limit(lowmem)
        .or_else("cma: Failed to reserve the area: the kernel runs without CMA"),
    )?;
    Ok(())
}

/// `paging_init` (arch/arm/mm/mmu.c): `early_alloc` (`memblock_alloc(size,
/// size)`) of the vectors page pair, the pkmap and fixmap PTE tables when
/// there is highmem, and the zero page.
fn paging_init(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    let page = boot.page();
    let highmem = machine.end_of_ram() > lowmem_end(machine.map);
    let mut tables = vec![(
        "vectors and stubs pages (devicemaps_init)",
        2 * page,
        RegionKind::Vectors,
    )];
    if highmem {
        tables.push(("pkmap page table (kmap_init)", page, RegionKind::PageTables));
    }
    tables.push((
        "fixmap page table (early_pte_alloc)",
        page,
        RegionKind::PageTables,
    ));
    tables.push(("zero page (paging_init)", page, RegionKind::Vectors));
    for (what, bytes, kind) in tables {
        boot.allocate(Request::new(
            "___alloc_bootmem_nopanic",
            "paging_init, early_alloc (arch/arm/mm/mmu.c)",
            kind,
            what,
            bytes,
            bytes,
        ))?;
    }
    Ok(())
}

/// `bootmem_init` -> `zone_sizes_init` -> `free_area_init_node`
/// (mm/page_alloc.c, FLATMEM): `alloc_node_mem_map` over the node's whole
/// span, highmem included, in `MAX_ORDER` blocks, then `setup_usemap` for
/// each zone (Normal up to the end of lowmem, HighMem above).
fn bootmem_init(boot: &mut Boot, machine: &Machine<'_>, lowmem: u64) -> Result<(), Panicked> {
    let shift = boot.configuration.page_size.shift();
    for span in machine
        .map
        .nodes()
        .iter()
        .filter(|span| !span.is_memoryless())
    {
        let nid = span.node.as_u32();
        let (start, end) = (span.start.as_u64(), span.end.as_u64());
        let first = start & !(MAX_ORDER_PAGES - 1);
        let last = end.div_ceil(MAX_ORDER_PAGES) * MAX_ORDER_PAGES;
        boot.allocate(
            Request::new(
                "__alloc_bootmem_node_nopanic",
                "alloc_node_mem_map (mm/page_alloc.c)",
                RegionKind::StructPages,
                format!(
                    "node {nid} mem_map ({} pages, highmem included)",
                    last - first
                ),
                (last - first) * STRUCT_PAGE,
                64,
            )
            .nodes(registered(boot, nid)),
        )?;
        let lowmem_pfn = lowmem >> shift;
        let mut zones = vec![("Normal", start, end.min(lowmem_pfn))];
        if end > lowmem_pfn {
            zones.push(("HighMem", start.max(lowmem_pfn), end));
        }
        for (zone, zone_start, zone_end) in zones {
            if zone_end <= zone_start {
                continue;
            }
            boot.allocate(
                Request::new(
                    "__alloc_bootmem_node_nopanic",
                    "free_area_init_core, setup_usemap (mm/page_alloc.c)",
                    RegionKind::Usemap,
                    format!("zone {zone} usemap"),
                    sizes::zone_usemap_bytes(zone_start, zone_end - zone_start, PAGEBLOCK_ORDER),
                    64,
                )
                .nodes(registered(boot, nid)),
            )?;
        }
    }
    Ok(())
}

/// The node itself when bootmem manages it, else any (a node wholly in highmem).
fn registered(boot: &Boot, nid: u32) -> Nodes {
    if boot
        .bootmem
        .allocator()
        .nodes()
        .any(|summary| summary.node.as_u32() == nid)
    {
        Nodes::Prefer(nid)
    } else {
        Nodes::Any
    }
}

/// `reserve_crashkernel` (arch/arm/kernel/setup.c): 128 MiB-aligned in lowmem.
fn crash_kernel(boot: &mut Boot, machine: &Machine<'_>, lowmem: u64) -> Result<(), Panicked> {
    let Some((bytes, fixed)) = machine.crash_kernel() else {
        return Ok(());
    };
    let bytes = bytes.div_ceil(boot.page()) * boot.page();
    if let Some(address) = fixed {
        common::reserve_fixed_crash_kernel(
            boot,
            address,
            bytes,
            "reserve_crashkernel (arch/arm/kernel/setup.c)",
        );
        return Ok(());
    }
    boot.allocate(
        Request::new(
            "___alloc_bootmem_nopanic",
            "reserve_crashkernel, memblock_find_in_range (arch/arm/kernel/setup.c)",
            RegionKind::CrashKernel,
            "crash kernel (crashkernel=, lowmem)",
            bytes,
            CRASH_ALIGN,
        )
        .limit(lowmem)
        .or_else("crashkernel reservation failed - No suitable area found."),
    )?;
    Ok(())
}
