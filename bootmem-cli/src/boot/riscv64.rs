//! riscv64's v4.19 early allocations: `setup_bootmem`, `paging_init`'s sparse memory map, the device tree, swiotlb, then `start_kernel`'s.
//!
//! v4.19's RISC-V port is young: its page tables are static arrays in the
//! image (`setup_vm`), it has no NUMA (one static `contig_page_data`, no
//! `pglist_data` to allocate), no CMA call and no kexec, and its
//! `MAX_DMA_ADDRESS` is `PAGE_OFFSET`, so the default goal is the start of
//! RAM. `setup_arch` (arch/riscv/kernel/setup.c) calls `swiotlb_init(1)`
//! unconditionally; the bounce buffer must lie below 4 GiB.

use bootmem::{Configuration, PageFrameNumber, PageSize, PhysicalAddress};

use super::common;
use super::sequence::{Boot, Nodes, Panicked, GIB, KIB, MIB};
use super::simulate::{Machine, Rules};
use crate::parse::CommandMemoryMap;

/// riscv64's facts.
pub const RULES: Rules = Rules {
    kernel_size: 16 * MIB,
    // The kernel runs from a 2 MiB-aligned base (the first 2 MiB hold OpenSBI when it is RAM).
    kernel_align: 2 * MIB,
    kernel_preferred: None,
    kernel_offset: 0,
    initrd_ceiling: None,
    cpus_per_node: 4,
    // "percpu: Embedded 30 pages/cpu ... u122880" on a riscv64 board.
    percpu_unit: 120 * KIB,
    device_tree: true,
};

const GOAL_REASON: &str =
    "__pa(MAX_DMA_ADDRESS) is the start of RAM on riscv (no ISA DMA zone): effectively no goal";
/// `sizeof(struct page)`.
const STRUCT_PAGE: u64 = 64;
/// `SECTION_SIZE_BITS` (arch/riscv/include/asm/sparsemem.h): 128 MiB sections.
const SECTION_BITS: u32 = 27;
/// `pageblock_order` without huge pages: `MAX_ORDER - 1`.
const PAGEBLOCK_ORDER: u32 = 10;

/// The start of RAM (`va_pa_offset`'s physical side).
fn start_of_ram(map: &CommandMemoryMap) -> u64 {
    map.ram_ranges()
        .next()
        .map_or(0, |range| range.start.as_u64())
}

/// riscv64's allocator constants for this machine.
pub fn configuration(map: &CommandMemoryMap) -> Configuration {
    Configuration {
        page_size: PageSize::SIZE_4KIB,
        cache_line_bytes: 64,
        dma_limit: PhysicalAddress::new(start_of_ram(map)),
        low_address_limit: PhysicalAddress::new(0xffff_ffff),
        dma32_end: PageFrameNumber::new(0x10_0000),
    }
}

/// The whole riscv64 sequence.
///
/// # Errors
///
/// [`Panicked`] where v4.19 would panic.
pub fn sequence(boot: &mut Boot, machine: &Machine<'_>) -> Result<(), Panicked> {
    let goal = start_of_ram(machine.map);
    if goal >= 4 * GIB {
        boot.note("no RAM below 4 GiB: ZONE_DMA32 is empty, so 32-bit DMA devices depend on swiotlb, whose buffer must lie below 4 GiB too");
    }
    if machine.crash_kernel().is_some() {
        boot.note("crashkernel= is ignored: v4.19's riscv has no kexec");
    }
    if machine.layout.cma.or(machine.kernel_options.cma).is_some() {
        boot.note("cma= is ignored: v4.19's riscv setup_arch never calls dma_contiguous_reserve (a device tree linux,cma node still works)");
    }
    // paging_init (arch/riscv/mm/init.c): memblocks_present, sparse_init.
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
    )?;
    common::unflatten_device_tree(boot, machine, goal, GOAL_REASON)?;
    let bounce = machine.layout.bounce_buffer.unwrap_or(64 * MIB);
    if bounce > 0 {
        common::swiotlb(boot, bounce, goal, GOAL_REASON)?;
    }
    // start_kernel: setup_per_cpu_areas (mm/percpu.c, generic): pcpu_dfl_fc_alloc ->
    // memblock_virt_alloc_from_nopanic -> __alloc_bootmem_nopanic, any node.
    common::per_cpu(
        boot,
        machine,
        common::PerCpu {
            unit: machine.percpu_unit().max(boot.page()).div_ceil(boot.page()) * boot.page(),
            atom: boot.page(),
            nodes: |_| Nodes::Any,
            call: "__alloc_bootmem_nopanic",
            source: "setup_per_cpu_areas, pcpu_dfl_fc_alloc (mm/percpu.c)",
            goal,
            goal_reason: GOAL_REASON,
        },
    )?;
    common::log_buffer(boot, machine, goal, GOAL_REASON)?;
    // No NUMA: hashdist is 0 and the hashes are early.
    common::early_hashes(boot, machine, goal, GOAL_REASON)
}
