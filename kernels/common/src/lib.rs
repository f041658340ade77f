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
    let test = requested_test(description.command_line);
    if test == Some("fault") {
        deliberate_fault();
    }
    let map = match description
        .firmware
        .build(description.configuration.page_size)
    {
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
        println!(
            "reserve {:#x}-{:#x} {}",
            region.start, region.end, region.label
        );
    }
    println!("bootmem nodes: {}", map.nodes().len());
    println!("PASS");
    exit::exit(Status::Pass)
}

/// The value of `bootmem.test=` on the command line, if given.
fn requested_test(command_line: &str) -> Option<&str> {
    command_line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("bootmem.test="))
}

/// Reads an address no RAM or device answers, so that the architecture's
/// fault handler must stop the machine with FAIL.
fn deliberate_fault() -> ! {
    /// Past every identity map and every RAM of the configurations tested.
    const NOWHERE: usize = 0xdead_beef_000;
    println!("bootmem.test=fault: reading {NOWHERE:#x}");
    // SAFETY: none: this read faults on purpose, and the fault handler stops
    // the machine before anything uses the value.
    let value = unsafe { core::ptr::read_volatile(NOWHERE as *const u64) };
    exit::fail(format_args!(
        "reading {NOWHERE:#x} did not fault (read {value:#x})"
    ))
}
