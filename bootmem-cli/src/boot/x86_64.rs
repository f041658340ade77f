//! x86-64's v4.19 early allocations, in `setup_arch` and `start_kernel` order, sized from the machine.
//!
//! v4.19's x86 boots on memblock; each memblock call below is made through
//! the bootmem call that `include/linux/bootmem.h` maps it to when
//! `CONFIG_NO_BOOTMEM` is off (`memblock_virt_alloc_try_nid_nopanic` ->
//! `___alloc_bootmem_node_nopanic`, `memblock_virt_alloc_low_nopanic` ->
//! `__alloc_bootmem_low_nopanic` ...); the physical-only calls
//! (`memblock_find_in_range`, `memblock_alloc_try_nid`) use the bootmem call
//! with the same goal, limit and node. The default goal, `BOOTMEM_LOW_LIMIT`
//! = `__pa(MAX_DMA_ADDRESS)`, is 16 MiB.

use bootmem::{Configuration, PageFrameNumber, PageSize, PhysicalAddress};

use super::kinds::RegionKind;
use super::sequence::{Boot, Nodes, Panicked, Request, GIB, KIB, MIB};
use super::setup::InUse;
use super::simulate::{Machine, Rules};
use crate::parse::CommandMemoryMap;

/// x86-64's facts.
pub const RULES: Rules = Rules {
    kernel_size: 32 * MIB,
    kernel_align: 2 * MIB,
    // CONFIG_PHYSICAL_START.
    kernel_preferred: Some(16 * MIB),
    kernel_offset: 0,
    // The boot protocol's initrd_addr_max.
    initrd_ceiling: Some(4 * GIB),
    cpus_per_node: 16,
    // "percpu: Embedded 45 pages/cpu ... u262144": 2 MiB atoms hold 8 units of 256 KiB.
    percpu_unit: 256 * KIB,
    device_tree: false,
};

/// `MAX_DMA_ADDRESS`: 16 MiB, the default goal.
const DMA_GOAL: u64 = 16 * MIB;
const DMA_GOAL_REASON: &str =
    "BOOTMEM_LOW_LIMIT, __pa(MAX_DMA_ADDRESS): ordinary allocations stay out of ISA DMA memory";
/// `sizeof(struct page)`.
const STRUCT_PAGE: u64 = 64;
/// `roundup(sizeof(pg_data_t), PAGE_SIZE)`, about v4.19 x86-64 with `MAX_NUMNODES` 1024.
const NODE_DATA_BYTES: u64 = 0x2a000;
/// `SECTION_SIZE_BITS` (arch/x86/include/asm/sparsemem.h): 128 MiB sections.
const SECTION_BITS: u32 = 27;
/// `pageblock_order` = `HUGETLB_PAGE_ORDER`: 2 MiB blocks.
const PAGEBLOCK_ORDER: u32 = 9;
/// The real-mode blob's size (arch/x86/realmode/rm), about 24 KiB.
const TRAMPOLINE_BYTES: u64 = 0x6000;
/// `IO_TLB_DEFAULT_SIZE`: 64 MiB of 2 KiB slabs.
const SWIOTLB_BYTES: u64 = 64 * MIB;
/// `CRASH_ALIGN` and `CRASH_ADDR_LOW_MAX` (arch/x86/kernel/setup.c).
const CRASH_ALIGN: u64 = 16 * MIB;
const CRASH_LOW_MAX: u64 = 896 * MIB;

/// x86-64's allocator constants.
pub fn configuration() -> Configuration {
    Configuration {
        page_size: PageSize::SIZE_4KIB,
        cache_line_bytes: 64,
        dma_limit: PhysicalAddress::new(DMA_GOAL),
        low_address_limit: PhysicalAddress::new(0xffff_ffff),
        dma32_end: PageFrameNumber::new(0x10_0000),
    }
}

/// What x86 keeps before bootmem starts: the low 64 KiB
/// (`trim_low_memory_range`, `CONFIG_X86_RESERVE_LOW`) and the BIOS area from
/// the EBDA to 1 MiB (`reserve_bios_regions`, arch/x86/kernel/ebda.c).
pub fn low_reservations(map: &CommandMemoryMap) -> Vec<InUse> {
    let mut kept = vec![InUse {
        start: 0,
        end: 64 * KIB,
        kind: RegionKind::LowMemory,
        purpose: "low 64 KiB (X86_RESERVE_LOW)".to_string(),
        source: "trim_low_memory_range (arch/x86/kernel/setup.c)",
        why: "The BIOS may scribble on the first 64 KiB: the kernel never uses it.".to_string(),
    }];
    // The BIOS area starts at the first non-RAM byte above 128 KiB, at most 640 KiB.
    let ebda = map
        .ranges()
        .iter()
        .filter(|range| !range.kind.is_ram())
        .map(|range| range.start.as_u64())
        .find(|&start| (128 * KIB..MIB).contains(&start))
        .unwrap_or(640 * KIB)
        .min(640 * KIB);
    kept.push(InUse {
        start: ebda,
        end: MIB,
        kind: RegionKind::LowMemory,
        purpose: "BIOS area, EBDA to 1 MiB".to_string(),
        source: "reserve_bios_regions (arch/x86/kernel/ebda.c)",
        why: format!("From the extended BIOS data area ({ebda:#x}) to 1 MiB belongs to the BIOS."),
    });
    kept
}

/// The direct map's page tables (`init_mem_mapping`, arch/x86/mm/init.c):
/// with 2 MiB mappings one page of PMDs per GiB, one of PUDs per 512 GiB, and one more.
fn page_table_bytes(end_of_ram: u64) -> u64 {
    (end_of_ram.div_ceil(GIB) + end_of_ram.div_ceil(512 * GIB) + 1) * 4096
}

/// The whole x86-64 sequence.
///
/// # Errors
///
/// [`Panicked`] where v4.19 would panic.
pub fn sequence(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    let page = boot.page();
    dma_zones(boot, machine);
    // reserve_real_mode (arch/x86/realmode/init.c): memblock_find_in_range(0, 1 MiB).
    boot.allocate(
        Request::new(
            "___alloc_bootmem_nopanic",
            "reserve_real_mode (arch/x86/realmode/init.c)",
            RegionKind::Trampoline,
            "real-mode trampoline (below 1 MiB)",
            TRAMPOLINE_BYTES,
            page,
        )
        .limit(MIB)
        .or_else("No sub-1M memory is available for the trampoline: v4.19 panics later in setup_real_mode (\"Real mode trampoline was not allocated\"); the simulation goes on"),
    )?;
    // init_mem_mapping -> alloc_low_pages (arch/x86/mm/init.c).
    boot.allocate(Request::new(
        "___alloc_bootmem_nopanic",
        "init_mem_mapping, alloc_low_pages (arch/x86/mm/init.c)",
        RegionKind::PageTables,
        "direct-map page tables (2 MiB pages)",
        page_table_bytes(machine.end_of_ram()),
        page,
    ))?;
    numa(boot, machine)?;
    cma(boot, machine)?;
    crash_kernel(boot, machine)?;
    sparse(boot, machine)?;
    start_kernel(boot, machine)
}

/// What the kernel does when its DMA zones are empty (`zone_sizes_init`, arch/x86/mm/init.c).
fn dma_zones(boot: &mut Boot, machine: &Machine<'_>) {
    let below = |limit: u64| {
        machine
            .map
            .ram_ranges()
            .any(|range| range.start.as_u64() < limit)
    };
    if !below(DMA_GOAL) {
        boot.note("no RAM below 16 MiB: ZONE_DMA is empty, so GFP_DMA (ISA DMA) allocations fail; the 16 MiB goal of every ordinary allocation lies below all RAM and the search starts at each node's first page");
    }
    if !below(4 * GIB) {
        boot.note("no RAM below 4 GiB: ZONE_DMA32 is empty too, so 32-bit DMA devices depend on swiotlb's bounce buffer, which itself needs memory below 4 GiB");
    }
}

/// `initmem_init` -> `numa_init` (arch/x86/mm/numa.c): the distance table
/// when there are nodes to measure, then each node's `pglist_data`.
fn numa(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    let page = boot.page();
    if machine.nodes.len() > 1 {
        let count = machine
            .nodes
            .iter()
            .map(|(node, _)| u64::from(node.as_u32()) + 1)
            .max()
            .unwrap_or(1);
        boot.allocate(
            Request::new(
                "___alloc_bootmem_nopanic",
                "numa_alloc_distance (arch/x86/mm/numa.c)",
                RegionKind::NumaDistance,
                format!("NUMA distance table ({count} x {count})"),
                (count * count).div_ceil(page) * page,
                page,
            )
            .or_else(
                "Warning: can't allocate distance table!: every distance reads LOCAL or REMOTE",
            ),
        )?;
    }
    for &(node, _) in &machine.nodes {
        let nid = node.as_u32();
        boot.allocate(
            Request::new(
                "___alloc_bootmem_node_nopanic",
                "alloc_node_data, memblock_alloc_try_nid (arch/x86/mm/numa.c)",
                RegionKind::NodeData,
                format!("NODE_DATA({nid}) pglist_data"),
                NODE_DATA_BYTES,
                64,
            )
            .nodes(Nodes::Prefer(nid)),
        )?;
    }
    Ok(())
}

/// `dma_contiguous_reserve` (drivers/base/dma-contiguous.c): only with `cma=`
/// (x86's `CONFIG_CMA_SIZE_MBYTES` is 0), aligned to 4 MiB (`MAX_ORDER` blocks).
fn cma(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    let bytes = machine.cma(0);
    if bytes == 0 {
        return Ok(());
    }
    boot.allocate(
        Request::new(
            "___alloc_bootmem_nopanic",
            "dma_contiguous_reserve, cma_declare_contiguous (mm/cma.c)",
            RegionKind::Cma,
            format!("CMA area (cma={})", crate::render::size::size(bytes)),
            bytes.div_ceil(4 * MIB) * 4 * MIB,
            4 * MIB,
        )
        .or_else("cma: Failed to reserve the area: the kernel runs without CMA"),
    )?;
    Ok(())
}

/// `reserve_crashkernel` (arch/x86/kernel/setup.c): at the fixed address
/// when given, else 16 MiB-aligned below 896 MiB, then anywhere.
fn crash_kernel(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    let Some((bytes, fixed)) = machine.crash_kernel() else {
        return Ok(());
    };
    let bytes = bytes.div_ceil(boot.page()) * boot.page();
    if let Some(address) = fixed {
        super::common::reserve_fixed_crash_kernel(
            boot,
            address,
            bytes,
            "reserve_crashkernel (arch/x86/kernel/setup.c)",
        );
        return Ok(());
    }
    let low = boot.allocate(
        Request::new(
            "___alloc_bootmem_nopanic",
            "reserve_crashkernel (arch/x86/kernel/setup.c)",
            RegionKind::CrashKernel,
            "crash kernel (crashkernel=, below 896 MiB)",
            bytes,
            CRASH_ALIGN,
        )
        .goal(
            CRASH_ALIGN,
            "CRASH_ALIGN: the crash kernel never starts below 16 MiB",
        )
        .limit(CRASH_LOW_MAX)
        .or_else("nothing below 896 MiB: reserve_crashkernel looks above it next"),
    )?;
    if low.is_none() {
        boot.allocate(
            Request::new(
                "___alloc_bootmem_nopanic",
                "reserve_crashkernel (arch/x86/kernel/setup.c)",
                RegionKind::CrashKernel,
                "crash kernel (crashkernel=, anywhere)",
                bytes,
                CRASH_ALIGN,
            )
            .goal(
                CRASH_ALIGN,
                "CRASH_ALIGN: the crash kernel never starts below 16 MiB",
            )
            .or_else("crashkernel reservation failed - No suitable area found."),
        )?;
    }
    Ok(())
}

/// `paging_init` -> `sparse_init` (mm/sparse.c, v4.19's `sparse_init_nid`):
/// per node, the page-block flags of its present 128 MiB sections, then one
/// buffer for their vmemmap (2 MiB of `struct page` per section).
fn sparse(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    super::common::sparse(
        boot,
        machine,
        super::common::Sparse {
            section_bits: SECTION_BITS,
            pageblock_order: PAGEBLOCK_ORDER,
            struct_page: STRUCT_PAGE,
            goal: DMA_GOAL,
            goal_reason: DMA_GOAL_REASON,
        },
    )
}

/// `start_kernel` (init/main.c): per-CPU areas, the log buffer, the early
/// hashes, then `mem_init`'s swiotlb.
fn start_kernel(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    // setup_per_cpu_areas (arch/x86/kernel/setup_percpu.c): pcpu_embed_first_chunk
    // with 2 MiB atoms, each node's group through pcpu_alloc_bootmem ->
    // memblock_virt_alloc_try_nid_nopanic(size, atom, __pa(MAX_DMA_ADDRESS), nid).
    let unit = machine.percpu_unit().max(boot.page());
    super::common::per_cpu(
        boot,
        machine,
        super::common::PerCpu {
            unit,
            atom: 2 * MIB,
            nodes: |nid| Nodes::Prefer(nid),
            call: "___alloc_bootmem_node_nopanic",
            source: "setup_per_cpu_areas, pcpu_alloc_bootmem (arch/x86/kernel/setup_percpu.c)",
            goal: DMA_GOAL,
            goal_reason: DMA_GOAL_REASON,
        },
    )?;
    super::common::log_buffer(boot, machine, DMA_GOAL, DMA_GOAL_REASON)?;
    // vfs_caches_init_early: x86-64 kernels are built with CONFIG_NUMA, so
    // hashdist is 1 and the dentry and inode hashes wait for vmalloc.
    boot.note("Dentry cache and Inode-cache hashes: hashdist=1 (CONFIG_NUMA on 64-bit), so dcache_init_early and inode_init_early leave them to vfs_caches_init, which takes them from vmalloc after the hand-off");
    // mem_init -> pci_iommu_alloc -> pci_swiotlb_detect_4gb: a bounce buffer when RAM passes 4 GiB.
    let bounce = machine
        .layout
        .bounce_buffer
        .unwrap_or(if machine.end_of_ram() > 4 * GIB {
            SWIOTLB_BYTES
        } else {
            0
        });
    if bounce == 0 {
        boot.note(
            "swiotlb: no RAM above 4 GiB, so pci_swiotlb_detect_4gb sets up no bounce buffer",
        );
        return Ok(());
    }
    super::common::swiotlb(boot, bounce, DMA_GOAL, DMA_GOAL_REASON)
}
