//! NUMA from the ACPI SRAT (PVH and UEFI kernels): the `acpi` crate finds and checks the table, this file reads its affinity entries.

use core::ptr::NonNull;

use crate::{println, FirmwareMap};
use acpi::sdt::{SdtHeader, Signature};
use acpi::{AcpiHandler, AcpiTable, AcpiTables, PhysicalMapping};
use bootmem::{NodeId, PhysicalAddress};

/// Physical memory is identity-mapped (boot.rs), so mapping a table is taking its address.
#[derive(Clone, Copy, Debug)]
struct IdentityMapping;

impl AcpiHandler for IdentityMapping {
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let Some(virtual_start) = NonNull::new(physical_address as *mut T) else {
            crate::exit::fail(format_args!("ACPI asked to map address 0"));
        };
        // SAFETY: every kernel identity-maps the memory the firmware's
        // tables lie in (the caller of `read` promises it), so the virtual
        // address is the physical one; the acpi crate vouches for the
        // table's extent.
        unsafe { PhysicalMapping::new(physical_address, virtual_start, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// The fixed part of the System Resource Affinity Table; the affinity
/// structures follow it up to the header's length.
#[repr(C, packed)]
struct Srat {
    header: SdtHeader,
    table_revision: u32,
    reserved: u64,
}

// SAFETY: `Srat` starts with the standard header, and SIGNATURE is the SRAT's.
unsafe impl AcpiTable for Srat {
    const SIGNATURE: Signature = Signature::SRAT;

    fn header(&self) -> &SdtHeader {
        &self.header
    }
}

fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    bytes
        .get(offset..offset + 4)
        .and_then(|field| field.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn read_u64_halves(bytes: &[u8], offset: usize) -> u64 {
    u64::from(read_u32(bytes, offset)) | (u64::from(read_u32(bytes, offset + 4)) << 32)
}

/// Adds the SRAT's memory affinities to `firmware`, and declares the nodes
/// its processor affinities name. Returns the number of memory affinities,
/// 0 when the machine has no SRAT (one node).
///
/// # Safety
///
/// `rsdp` is 0 or the physical address of the firmware's RSDP, and it and
/// every table it leads to are identity-mapped.
pub unsafe fn read(rsdp: u64, firmware: &mut FirmwareMap) -> usize {
    if rsdp == 0 {
        println!("ACPI: no RSDP, one node");
        return 0;
    }
    // SAFETY: the caller vouches for the RSDP and the identity map.
    let tables = match unsafe { AcpiTables::from_rsdp(IdentityMapping, rsdp as usize) } {
        Ok(tables) => tables,
        Err(error) => crate::exit::fail(format_args!("ACPI tables at {rsdp:#x}: {error:?}")),
    };
    let srat = match tables.find_table::<Srat>() {
        Ok(srat) => srat,
        Err(_) => {
            println!("ACPI: revision {}, no SRAT, one node", tables.revision());
            return 0;
        }
    };
    let length = srat.region_length();
    // SAFETY: the acpi crate mapped (and checksummed) `length` bytes of the table.
    let bytes =
        unsafe { core::slice::from_raw_parts(srat.virtual_start().as_ptr().cast::<u8>(), length) };
    println!(
        "ACPI: revision {}, SRAT @ {:#x}, {length} bytes",
        tables.revision(),
        srat.physical_start()
    );
    let mut offset = core::mem::size_of::<Srat>();
    let mut memory_affinities = 0;
    while offset + 2 <= length {
        let kind = bytes[offset];
        let entry_length = usize::from(bytes[offset + 1]);
        if entry_length < 2 || offset + entry_length > length {
            crate::exit::fail(format_args!(
                "SRAT entry at offset {offset} has length {entry_length}"
            ));
        }
        let entry = &bytes[offset..offset + entry_length];
        match kind {
            // Processor local APIC affinity: the domain's low byte at 2, the rest at 9..12.
            0 if entry_length >= 16 && read_u32(entry, 4) & 1 != 0 => {
                let domain = u32::from(entry[2])
                    | (u32::from(entry[9]) << 8)
                    | (u32::from(entry[10]) << 16)
                    | (u32::from(entry[11]) << 24);
                println!("  SRAT cpu apic_id={} node={domain}", entry[3]);
                declare(firmware, domain);
            }
            // Memory affinity.
            1 if entry_length >= 40 && read_u32(entry, 28) & 1 != 0 => {
                let domain = read_u32(entry, 2);
                let base = read_u64_halves(entry, 8);
                let size = read_u64_halves(entry, 16);
                let end = base.saturating_add(size);
                println!("  SRAT mem node={domain} {base:#018x}-{end:#018x}");
                if let Err(error) = firmware.add_node_affinity(
                    PhysicalAddress::new(base),
                    PhysicalAddress::new(end),
                    NodeId::new(domain),
                ) {
                    crate::exit::fail(format_args!("SRAT memory affinity: {error}"));
                }
                memory_affinities += 1;
            }
            // Processor x2APIC affinity.
            2 if entry_length >= 24 && read_u32(entry, 12) & 1 != 0 => {
                let domain = read_u32(entry, 4);
                println!("  SRAT cpu x2apic_id={} node={domain}", read_u32(entry, 8));
                declare(firmware, domain);
            }
            _ => {}
        }
        offset += entry_length;
    }
    memory_affinities
}

fn declare(firmware: &mut FirmwareMap, domain: u32) {
    if let Err(error) = firmware.declare_node(NodeId::new(domain)) {
        crate::exit::fail(format_args!("SRAT node {domain}: {error}"));
    }
}
