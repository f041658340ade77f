//! The x86_64 UEFI bootmem kernel: OVMF loads it, it reads the firmware's memory map, leaves boot services and boots on bootmem.
//!
//! Before `ExitBootServices` the kernel only asks the firmware for what it
//! needs later: where its image lies and its command line
//! (`kernel_common::uefi`). Then it exits boot services, takes the CPU over
//! ([`cpu`]: its own stack, GDT, exception table and identity map, because
//! the firmware's lie in boot services memory that bootmem is about to
//! hand out), and boots on the UEFI memory map.

#![no_std]
#![no_main]

mod cpu;

use bootmem::Configuration;
use kernel_common::println;
use kernel_common::uefi::LeftBootServices;
use uefi::Status;

#[uefi::entry]
fn main() -> Status {
    kernel_common::x86_64::init_console();
    println!();
    println!("bootmem x86_64 kernel (UEFI)");
    // SAFETY: called once, first thing; this kernel calls no boot service
    // after it.
    let state = unsafe { kernel_common::uefi::leave_boot_services() };
    // SAFETY: boot services are gone, so nothing else runs on this CPU;
    // `state` stays where it is on the firmware's stack until
    // `after_boot_services` has moved it out, before anything can reuse
    // that memory.
    unsafe { cpu::take_over(state) }
}

/// Runs on the kernel's own stack, page tables, GDT and IDT, with
/// interrupts off.
pub fn after_boot_services(state: LeftBootServices) -> ! {
    // ISA DMA memory: the first 16 MiB.
    kernel_common::uefi::boot(
        state,
        "x86_64 UEFI",
        Configuration::X86_64,
        0x100_0000,
        cpu::IDENTITY_MAPPED_END,
    )
}
