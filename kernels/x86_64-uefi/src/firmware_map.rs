//! The UEFI memory map into the firmware map: each descriptor's type to a range kind, neighbours of one kind merged.
//!
//! Types: loader and boot services code and data, conventional and
//! unaccepted memory are RAM once boot services are gone; ACPI reclaim
//! memory is ACPI data, ACPI NVS and persistent memory keep their kinds,
//! unusable memory is unusable, everything else (runtime services, MMIO,
//! reserved, PAL code) is reserved: the mapping `bootmem map` applies to
//! the EFI lines of a Linux boot log.

use bootmem::memory_map::RangeKind;
use bootmem::PhysicalAddress;
use kernel_common::{println, FirmwareMap};
use uefi::mem::memory_map::{MemoryMap, MemoryType};

/// UEFI pages are 4 KiB whatever the kernel's page size.
const UEFI_PAGE: u64 = 4096;

fn kind(memory_type: MemoryType) -> RangeKind {
    match memory_type {
        MemoryType::LOADER_CODE
        | MemoryType::LOADER_DATA
        | MemoryType::BOOT_SERVICES_CODE
        | MemoryType::BOOT_SERVICES_DATA
        | MemoryType::CONVENTIONAL
        | MemoryType::UNACCEPTED => RangeKind::Ram,
        MemoryType::UNUSABLE => RangeKind::Unusable,
        MemoryType::ACPI_RECLAIM => RangeKind::AcpiData,
        MemoryType::ACPI_NON_VOLATILE => RangeKind::AcpiNvs,
        MemoryType::PERSISTENT_MEMORY => RangeKind::Persistent,
        _ => RangeKind::Reserved,
    }
}

/// Adds every descriptor of `map` to `firmware`.
pub fn read(map: &impl MemoryMap, firmware: &mut FirmwareMap) {
    println!("UEFI memory map: {} descriptors", map.len());
    let mut pending: Option<(u64, u64, RangeKind)> = None;
    for (index, descriptor) in map.entries().enumerate() {
        let start = descriptor.phys_start;
        let Some(end) = descriptor
            .page_count
            .checked_mul(UEFI_PAGE)
            .and_then(|bytes| start.checked_add(bytes))
        else {
            kernel_common::exit::fail(format_args!(
                "UEFI descriptor {index}: {start:#x} + {} pages runs past 2^64",
                descriptor.page_count
            ));
        };
        let kind = kind(descriptor.ty);
        pending = match pending {
            Some((low, high, previous)) if high == start && previous == kind => {
                Some((low, end, kind))
            }
            Some(range) => {
                add(firmware, range);
                Some((start, end, kind))
            }
            None => Some((start, end, kind)),
        };
    }
    if let Some(range) = pending {
        add(firmware, range);
    }
}

fn add(firmware: &mut FirmwareMap, (start, end, kind): (u64, u64, RangeKind)) {
    println!("  {start:#018x}-{end:#018x} {kind}");
    if let Err(error) =
        firmware.add_range(PhysicalAddress::new(start), PhysicalAddress::new(end), kind)
    {
        kernel_common::exit::fail(format_args!("UEFI memory map {start:#x}-{end:#x}: {error}"));
    }
}
