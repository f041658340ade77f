//! Shared by the bare-metal kernels (PVH, UEFI, device tree): consoles, exit, firmware readers' glue, early memory set-up on bootmem, self-test and hand-off.
//!
//! Each architecture's kernel registers its serial port and exit device
//! ([`register`]), reads its firmware's description into a
//! [`BootDescription`] and calls [`boot`], which never returns: it prints a
//! summary and a `PASS` line and exits with [`Status::Pass`], or prints
//! `FAIL: ...` and exits with [`Status::Fail`].

#![no_std]

extern crate alloc;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
pub mod console;
mod description;
pub mod early;
pub mod exit;
pub mod firmware;
mod handoff;
mod heap;
mod ledger;
mod pattern;
mod selftest;
#[cfg(feature = "uefi")]
pub mod uefi;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use ledger::Ledger;

pub use console::{register, Platform};
pub use description::{
    BootDescription, FirmwareMap, KernelRegions, Region, Regions, MAX_NODES, MAX_RANGES,
};
pub use exit::Status;
pub use spin;

/// Bytes of kernel heap carved out of bootmem for the page allocator's lists.
const HEAP_BYTES: u64 = 1 << 20;

/// Sets up bootmem from `description`, tests it, hands every free page to the
/// page allocator, and stops the machine with the verdict.
pub fn boot(description: BootDescription) -> ! {
    println!("machine: {}", description.machine);
    match requested_test(description.command_line) {
        Some("fault") => deliberate_fault(),
        // For the harness's own test: a PASS line followed by a fault or a
        // hang must not read as a pass.
        Some("pass-then-fault") => {
            println!("PASS");
            deliberate_fault();
        }
        Some("pass-then-hang") => {
            println!("PASS");
            loop {
                core::hint::spin_loop();
            }
        }
        _ => {}
    }
    let configuration = description.configuration;
    let map = match description.firmware.build(configuration.page_size) {
        Ok(map) => map,
        Err(error) => exit::fail(format_args!("normalising the memory map: {error}")),
    };
    println!("normalised map:");
    for range in map.ranges() {
        match range.node {
            Some(node) => println!(
                "  {:#018x}-{:#018x} {} node {}",
                range.start.as_u64(),
                range.end.as_u64(),
                range.kind,
                node.as_u32()
            ),
            None => println!(
                "  {:#018x}-{:#018x} {}",
                range.start.as_u64(),
                range.end.as_u64(),
                range.kind
            ),
        }
    }

    let mut ledger = Ledger::new(configuration.page_size.shift());
    let forget = requested_test(description.command_line) == Some("forget-reservation");
    let mut early = early::set_up_bootmem(&description, &map, &mut ledger, forget);
    let live = selftest::run(&description, &map, &mut early.bootmem, &mut ledger);

    let heap = match early.bootmem.alloc_bootmem_pages(HEAP_BYTES) {
        Ok(address) => address.as_u64(),
        Err(error) => exit::fail(format_args!("alloc_bootmem_pages(heap): {error}")),
    };
    ledger.allocate("kernel heap", heap, heap + HEAP_BYTES);
    // SAFETY: bootmem just allocated the heap; it is identity-mapped RAM,
    // never freed, and only the global allocator uses it.
    unsafe { heap::init(heap, HEAP_BYTES) };
    println!("kernel heap: {HEAP_BYTES:#x} bytes at {heap:#x}, from alloc_bootmem_pages");

    let duplicate = requested_test(description.command_line) == Some("double-hand-off");
    let report = handoff::hand_off(early, &map, &mut ledger, duplicate);
    // The hand-off must not have touched what is still allocated.
    live.verify_all();

    let registered = map.nodes().iter().filter(|span| span.ram_bytes > 0).count();
    println!(
        "summary: {} | {} MiB RAM | {} test allocations live ({} bytes) | {} pages handed to the page allocator (expected {}) | {} sample pages checked | page allocator lists {} heap bytes",
        description.machine,
        map.ram_bytes() >> 20,
        live.as_slice().len(),
        live.bytes(),
        report.released,
        report.expected,
        report.sampled,
        report.heap_bytes
    );
    println!("bootmem nodes: {registered}");
    println!("PASS");
    exit::exit(Status::Pass)
}

/// The value of `bootmem.test=` on the command line, if given.
pub(crate) fn requested_test(command_line: &str) -> Option<&str> {
    command_line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("bootmem.test="))
}

/// Reads an address no RAM or device answers, so that the architecture's
/// fault handler must stop the machine with FAIL.
fn deliberate_fault() -> ! {
    /// Past every identity map and every RAM of the configurations tested.
    const NOWHERE: usize = 0x0dea_dbee_f000;
    println!("bootmem.test=fault: reading {NOWHERE:#x}");
    // SAFETY: none: this read faults on purpose, and the fault handler stops
    // the machine before anything uses the value.
    let value = unsafe { core::ptr::read_volatile(NOWHERE as *const u64) };
    exit::fail(format_args!(
        "reading {NOWHERE:#x} did not fault (read {value:#x})"
    ))
}
