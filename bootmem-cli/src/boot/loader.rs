//! What the bootloader did before the kernel ran: where the kernel image, the initrd and the device tree blob lie, and what else is in use.

use super::arch::Architecture;
use super::kinds::RegionKind;
use super::sequence::{all_ram, place_highest, place_lowest, ram_ranges, GIB, MIB};
use super::setup::InUse;
use super::simulate::{Layout, Rules};
use super::x86_64;
use crate::parse::CommandMemoryMap;

/// A page-aligned `[start, start + bytes)`, or an error past 2^64.
fn span(start: u64, bytes: u64, page: u64, what: &str) -> Result<(u64, u64), String> {
    let end = start
        .checked_add(bytes)
        .and_then(|end| end.checked_add(page - 1))
        .ok_or_else(|| format!("the {what} ends past 2^64"))?;
    Ok((start & !(page - 1), end & !(page - 1)))
}

/// Where the bootloader loads the kernel: the preferred address when that
/// is RAM, else the first aligned RAM `offset` above the start of a range.
pub fn place_kernel(
    name: &str,
    ram: &[(u64, u64)],
    rules: &Rules,
    layout: &Layout,
    page: u64,
) -> Result<(u64, u64), String> {
    // A small or fragmented machine gets a smaller kernel (a board's own
    // build), never more than an eighth of RAM or half its largest range.
    let largest = ram
        .iter()
        .map(|(start, end)| end - start)
        .max()
        .unwrap_or(0);
    let default_size =
        (rules.kernel_size.min(ram_total(ram) / 8).min(largest / 2) & !(page - 1)).max(page);
    let bytes = layout.kernel_size.unwrap_or(default_size);
    if bytes == 0 {
        return Err("the kernel image cannot be empty (--kernel-size 0)".to_string());
    }
    let start = match layout.kernel_address {
        Some(address) => address,
        None => rules
            .kernel_preferred
            .filter(|&start| {
                start
                    .checked_add(bytes)
                    .is_some_and(|end| all_ram(ram, start, end))
            })
            .or_else(|| {
                ram.iter().find_map(|&(low, high)| {
                    let base = low.checked_add(rules.kernel_align - 1)? & !(rules.kernel_align - 1);
                    let start = base.checked_add(rules.kernel_offset)?;
                    (start.checked_add(bytes)? <= high).then_some(start)
                })
            })
            .or_else(|| place_lowest(ram, bytes, 0, &[], page))
            .ok_or_else(|| format!("{name}: no RAM range holds a {bytes}-byte kernel image"))?,
    };
    let (start, end) = span(start, bytes, page, "kernel image")?;
    if !all_ram(ram, start, end) {
        return Err(format!(
            "{name}: the kernel image [{start:#x}, {end:#x}) is not all RAM (see --kernel-address)"
        ));
    }
    Ok((start, end))
}

fn ram_total(ram: &[(u64, u64)]) -> u64 {
    ram.iter().map(|(start, end)| end - start).sum()
}

/// Where the bootloader puts the initrd: as high as it fits (below the
/// architecture's ceiling when there is one), clear of the kernel.
pub fn place_initrd(
    name: &str,
    ram: &[(u64, u64)],
    rules: &Rules,
    layout: &Layout,
    kernel: (u64, u64),
    page: u64,
    notes: &mut Vec<String>,
) -> Result<Option<(u64, u64)>, String> {
    // A small or fragmented machine gets a smaller initrd.
    let largest = ram
        .iter()
        .map(|(start, end)| end - start)
        .max()
        .unwrap_or(0);
    let default_size = (64 * MIB).min(ram_total(ram) / 8).min(largest / 4) & !(page - 1);
    let bytes = layout.initrd_size.unwrap_or(default_size);
    if bytes == 0 {
        return Ok(None);
    }
    let avoid = [(0, 64 << 10), kernel];
    let start = match layout.initrd_address {
        Some(address) => address,
        None => {
            let aligned = bytes
                .checked_add(page - 1)
                .ok_or("the initrd is too large")?
                & !(page - 1);
            let ceiling = rules.initrd_ceiling.unwrap_or(u64::MAX);
            let below = place_highest(ram, aligned, ceiling, &avoid, page);
            let anywhere = place_highest(ram, aligned, u64::MAX, &avoid, page);
            match (below, anywhere) {
                (Some(start), _) => start,
                // x86: only its 4 GiB ceiling; 32-bit ARM keeps its lowmem one.
                (None, Some(start)) if ceiling == 4 * GIB => {
                    notes.push(format!(
                        "no RAM below 4 GiB holds the initrd: a 64-bit kernel that sets XLF_CAN_BE_LOADED_ABOVE_4G lets the bootloader put it at {start:#x}"
                    ));
                    start
                }
                _ if layout.initrd_size.is_none() => {
                    notes.push(format!(
                        "no room for a {bytes}-byte initrd{}: booting without one",
                        if ceiling == u64::MAX {
                            String::new()
                        } else {
                            format!(" below {ceiling:#x}")
                        }
                    ));
                    return Ok(None);
                }
                _ => return Err(format!("{name}: no room for a {bytes}-byte initrd in RAM")),
            }
        }
    };
    let (start, end) = span(start, bytes, page, "initrd")?;
    if !all_ram(ram, start, end) {
        return Err(format!(
            "{name}: the initrd [{start:#x}, {end:#x}) is not all RAM (see --initrd-address)"
        ));
    }
    Ok(Some((start, end)))
}

/// Everything in use when bootmem starts, for set-up to reserve: x86's low
/// memory, 32-bit ARM's first-level page table, the kernel, the initrd and
/// the device tree blob (its size, or 64 KiB when the input was no blob);
/// with the blob's size (0 when the architecture reads none).
pub fn in_use(
    architecture: Architecture,
    map: &CommandMemoryMap,
    bootmem_map: &CommandMemoryMap,
    rules: &Rules,
    blob_bytes: u64,
    kernel: (u64, u64),
    initrd: Option<(u64, u64)>,
) -> (Vec<InUse>, u64) {
    let page = bootmem_map.page_size().bytes();
    let mut in_use = Vec::new();
    let source = match architecture {
        Architecture::X86_64 => "setup_arch (arch/x86/kernel/setup.c)",
        Architecture::Arm64 => "arm64_memblock_init (arch/arm64/mm/init.c)",
        Architecture::Riscv64 => "setup_bootmem (arch/riscv/kernel/setup.c)",
        Architecture::Arm => "arm_memblock_init (arch/arm/mm/init.c)",
    };
    if architecture == Architecture::X86_64 {
        in_use.extend(x86_64::low_reservations(map));
    }
    if architecture == Architecture::Arm && kernel.0 >= 16 << 10 {
        in_use.push(InUse {
            start: kernel.0 - (16 << 10),
            end: kernel.0,
            kind: RegionKind::PageTables,
            purpose: "swapper_pg_dir (first-level page table)".to_string(),
            source: "arm_mm_memblock_reserve (arch/arm/mm/mmu.c)",
            why: "The 16 KiB first-level table lies just below the kernel (TEXT_OFFSET leaves room for it).".to_string(),
        });
    }
    in_use.push(InUse {
        start: kernel.0,
        end: kernel.1,
        kind: RegionKind::Kernel,
        purpose: "kernel image (text, data, bss)".to_string(),
        source,
        why: format!(
            "The bootloader loaded the kernel at {:#x}; the kernel reserves its own image first.",
            kernel.0
        ),
    });
    if let Some((start, end)) = initrd {
        in_use.push(InUse {
            start,
            end,
            kind: RegionKind::Initrd,
            purpose: "initrd".to_string(),
            source,
            why: format!("The bootloader put the initrd as high as it fits{}; the kernel reserves it until it is unpacked.", rules.initrd_ceiling.map_or(String::new(), |ceiling| format!(" below {ceiling:#x}"))),
        });
    }
    let blob_bytes = if rules.device_tree {
        if blob_bytes > 0 {
            blob_bytes
        } else {
            64 << 10
        }
    } else {
        0
    };
    if blob_bytes > 0 {
        let avoid: Vec<(u64, u64)> = in_use
            .iter()
            .map(|range| (range.start, range.end))
            .collect();
        let aligned = blob_bytes.div_ceil(page) * page;
        if let Some(start) = place_lowest(
            &ram_ranges(bootmem_map, None),
            aligned,
            kernel.1,
            &avoid,
            page,
        ) {
            in_use.push(InUse {
                start,
                end: start + aligned,
                kind: RegionKind::DeviceTreeBlob,
                purpose: "device tree blob".to_string(),
                source: "early_init_fdt_reserve_self (drivers/of/fdt.c)",
                why: format!("The bootloader passed a {blob_bytes}-byte blob just above the kernel; the kernel reserves it before reading it."),
            });
        }
    }
    (in_use, blob_bytes)
}
