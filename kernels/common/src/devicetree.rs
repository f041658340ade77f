//! The firmware's description from a flattened device tree: every `/memory` node with its `numa-node-id`, `/reserved-memory`, `/memreserve/`, and the blob itself.
//!
//! What goes into the map is what `bootmem map` reads from the same blob:
//! RAM (with its node) from the memory nodes, reservations from
//! `/reserved-memory` and `/memreserve/`. The blob is the kernel's to
//! reserve, so it goes into the kernel regions.

use bootmem::{NodeId, PhysicalAddress};
use fdt::node::FdtNode;
use fdt::Fdt;

use crate::description::{FirmwareMap, KernelRegions, Region};
use crate::exit::fail;
use crate::println;

/// What the caller learns beyond the map.
#[derive(Clone, Copy, Debug)]
pub struct DeviceTreeSummary {
    /// The lowest RAM address of any memory node.
    pub lowest_ram: u64,
    /// The blob's size in bytes.
    pub size: u64,
    /// `/chosen/bootargs` (QEMU's `-append`), empty if none.
    pub command_line: &'static str,
}

fn disabled(node: &FdtNode<'_, '_>) -> bool {
    node.property("status")
        .and_then(|status| status.as_str())
        .is_some_and(|status| status != "okay" && status != "ok")
}

fn numa_node(node: &FdtNode<'_, '_>) -> Option<NodeId> {
    node.property("numa-node-id")
        .and_then(|property| property.as_usize())
        .map(|id| NodeId::new(id as u32))
}

/// Reads the device tree at `address` into `firmware` and `regions`.
///
/// # Safety
///
/// `address` must be the physical address of a device tree blob that is
/// readable where it lies (identity-mapped or paging off), and stays there.
pub unsafe fn read(
    address: u64,
    firmware: &mut FirmwareMap,
    regions: &mut KernelRegions,
) -> DeviceTreeSummary {
    // SAFETY: the caller vouches for the blob; the crate checks its magic and reads its size from the header.
    let tree: Fdt<'static> = match unsafe { Fdt::from_ptr(address as *const u8) } {
        Ok(tree) => tree,
        Err(error) => fail(format_args!("device tree at {address:#x}: {error:?}")),
    };
    let size = tree.total_size() as u64;
    println!("device tree @ {address:#x}, {size:#x} bytes");
    regions.push(Region::boot_information(
        "device tree",
        address,
        address + size,
    ));

    let mut lowest_ram = u64::MAX;
    for node in tree.find_all_nodes("/memory") {
        if disabled(&node) {
            continue;
        }
        let numa = numa_node(&node);
        let Some(reg) = node.reg() else { continue };
        for region in reg {
            let start = region.starting_address as u64;
            let length = region.size.unwrap_or(0) as u64;
            let Some(end) = start.checked_add(length) else {
                fail(format_args!(
                    "{}: {start:#x} + {length:#x} runs past 2^64",
                    node.name
                ));
            };
            println!(
                "  {} {start:#018x}-{end:#018x} node {:?}",
                node.name,
                numa.map(NodeId::as_u32)
            );
            let (start, end) = (PhysicalAddress::new(start), PhysicalAddress::new(end));
            let added = match numa {
                Some(node_id) => firmware.add_ram_on_node(start, end, node_id),
                None => firmware.add_ram(start, end),
            };
            if let Err(error) = added {
                fail(format_args!("{}: {error}", node.name));
            }
            if length > 0 {
                lowest_ram = lowest_ram.min(start.as_u64());
            }
        }
        if let Some(node_id) = numa {
            // A node of zero-sized memory is memoryless, but still a node.
            if let Err(error) = firmware.declare_node(node_id) {
                fail(format_args!("{}: {error}", node.name));
            }
        }
    }
    if lowest_ram == u64::MAX {
        fail(format_args!("the device tree has no memory"));
    }

    if let Some(cpus) = tree.find_node("/cpus") {
        for cpu in cpus.children() {
            if let Some(node_id) = numa_node(&cpu) {
                if let Err(error) = firmware.declare_node(node_id) {
                    fail(format_args!("{}: {error}", cpu.name));
                }
            }
        }
    }

    if let Some(reserved) = tree.find_node("/reserved-memory") {
        for child in reserved.children() {
            if disabled(&child) {
                continue;
            }
            let no_map = child.property("no-map").is_some();
            for region in child.reg().into_iter().flatten() {
                let start = region.starting_address as u64;
                let end = start.saturating_add(region.size.unwrap_or(0) as u64);
                println!(
                    "  reserved-memory {} {start:#018x}-{end:#018x}{}",
                    child.name,
                    if no_map { " no-map" } else { "" }
                );
                if let Err(error) =
                    firmware.add_reserved(PhysicalAddress::new(start), PhysicalAddress::new(end))
                {
                    fail(format_args!("{}: {error}", child.name));
                }
            }
        }
    }
    for reservation in tree.memory_reservations() {
        let start = reservation.address() as u64;
        let end = start.saturating_add(reservation.size() as u64);
        println!("  memreserve {start:#018x}-{end:#018x}");
        if let Err(error) =
            firmware.add_reserved(PhysicalAddress::new(start), PhysicalAddress::new(end))
        {
            fail(format_args!("/memreserve/: {error}"));
        }
    }
    let command_line = tree
        .find_node("/chosen")
        .and_then(|chosen| chosen.property("bootargs"))
        .and_then(|bootargs| core::str::from_utf8(bootargs.value).ok())
        .map_or("", |text| text.trim_end_matches('\0'));
    DeviceTreeSummary {
        lowest_ram,
        size,
        command_line,
    }
}
