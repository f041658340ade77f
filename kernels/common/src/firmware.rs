//! The firmware's description through `bootmem-firmware`: a device tree blob, the ACPI SRAT; what each added, for the log.

#[cfg(feature = "acpi")]
use core::ptr::NonNull;

#[cfg(feature = "acpi")]
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
#[cfg(any(feature = "acpi", feature = "devicetree"))]
use bootmem_firmware::Policy;
use bootmem_firmware::{FirmwareError, Summary};

#[cfg(any(feature = "acpi", feature = "devicetree"))]
use crate::description::FirmwareMap;
#[cfg(feature = "devicetree")]
use crate::description::{KernelRegions, Region};
use crate::exit::fail;
use crate::println;

/// Fails the boot with the reader's error (it names the entry or offset).
pub fn added(source: &str, result: Result<Summary, FirmwareError>) -> Summary {
    match result {
        Ok(summary) => {
            println!(
                "{source}: {} entries, {} ranges and {} NUMA affinities added, {} nodes declared",
                summary.entries, summary.ranges, summary.affinities, summary.nodes
            );
            summary
        }
        Err(error) => fail(format_args!("{source}: {error}")),
    }
}

/// What a kernel learns from its device tree beyond the map.
#[cfg(feature = "devicetree")]
#[derive(Clone, Copy, Debug)]
pub struct DeviceTreeFacts {
    /// The lowest RAM address of any memory node.
    pub lowest_ram: u64,
    /// `/chosen/bootargs` (QEMU's `-append`), empty if none.
    pub command_line: &'static str,
}

/// Bytes of a device tree blob the kernels trust to be readable at its
/// address: QEMU's blobs are a few KiB, padded to 1 MiB on aarch64.
#[cfg(feature = "devicetree")]
const DEVICE_TREE_LIMIT: usize = 1 << 20;

/// Reads the device tree at `address` into `firmware` (memory, nodes,
/// `/reserved-memory`, `/memreserve/`), and the blob itself into `regions`
/// as boot information: nothing in the tree reserves it.
///
/// # Safety
///
/// `address` must be the physical address of a device tree blob, readable
/// where it lies (identity-mapped or paging off) for at least its size, and
/// unchanged for the rest of the boot.
#[cfg(feature = "devicetree")]
pub unsafe fn read_device_tree(
    address: u64,
    firmware: &mut FirmwareMap,
    regions: &mut KernelRegions,
) -> DeviceTreeFacts {
    use bootmem_firmware::devicetree;
    // SAFETY: the caller vouches for the blob; `blob_at` reads its header
    // and no more than its `totalsize` bytes.
    let blob = match unsafe { devicetree::blob_at(address as usize, DEVICE_TREE_LIMIT) } {
        Ok(blob) => blob,
        Err(error) => fail(format_args!("device tree at {address:#x}: {error}")),
    };
    let size = blob.len() as u64;
    println!("device tree @ {address:#x}, {size:#x} bytes");
    regions.push(Region::boot_information(
        "device tree",
        address,
        address + size,
    ));
    let summary = match devicetree::add(blob, firmware, Policy::Strict) {
        Ok(summary) => summary,
        Err(error) => fail(format_args!("device tree at {address:#x}: {error}")),
    };
    added("device tree", Ok(summary.added));
    println!(
        "  /reserved-memory: {} no-map, {} mapped, {} pools; /memreserve/: {}",
        summary.no_map_ranges,
        summary.mapped_reserved_ranges,
        summary.dynamic_pools,
        summary.memreserve_ranges
    );
    let Some(lowest_ram) = summary.lowest_ram else {
        fail(format_args!("the device tree has no memory"));
    };
    DeviceTreeFacts {
        lowest_ram,
        command_line: summary.command_line,
    }
}

/// Physical memory is identity-mapped, so mapping a table is taking its address.
#[cfg(feature = "acpi")]
#[derive(Clone, Copy, Debug)]
struct IdentityMapping;

#[cfg(feature = "acpi")]
impl AcpiHandler for IdentityMapping {
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let Some(virtual_start) = NonNull::new(physical_address as *mut T) else {
            fail(format_args!("ACPI asked to map address 0"));
        };
        // SAFETY: every kernel identity-maps the memory the firmware's
        // tables lie in (the caller of `read_srat` promises it), so the
        // virtual address is the physical one; the acpi crate vouches for
        // the table's extent.
        unsafe { PhysicalMapping::new(physical_address, virtual_start, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// Adds the SRAT's memory affinities (and the nodes its processor
/// affinities name) to `firmware`; nothing when `rsdp` is 0 or the machine
/// has no SRAT (one node).
///
/// # Safety
///
/// `rsdp` is 0 or the physical address of the firmware's RSDP, and it and
/// every table it leads to are identity-mapped.
#[cfg(feature = "acpi")]
pub unsafe fn read_srat(rsdp: u64, firmware: &mut FirmwareMap) {
    if rsdp == 0 {
        println!("ACPI: no RSDP, one node");
        return;
    }
    // SAFETY: the caller vouches for the RSDP and the identity map.
    let tables = match unsafe { AcpiTables::from_rsdp(IdentityMapping, rsdp as usize) } {
        Ok(tables) => tables,
        Err(error) => fail(format_args!("ACPI tables at {rsdp:#x}: {error:?}")),
    };
    println!("ACPI: revision {}, RSDP @ {rsdp:#x}", tables.revision());
    added(
        "SRAT",
        bootmem_firmware::srat::add_from_tables(&tables, firmware, Policy::Strict),
    );
}
