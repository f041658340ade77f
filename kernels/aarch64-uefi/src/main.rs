//! The aarch64 UEFI bootmem kernel: AAVMF loads it on QEMU virt, it reads the firmware's memory map, leaves boot services and boots on bootmem.
//!
//! The same path as the x86_64 UEFI kernel (`kernel_common::uefi`); only
//! taking the CPU over differs ([`cpu`]): exceptions masked, the kernel's
//! own vectors, identity map and stack.

#![no_std]
#![no_main]

mod cpu;

use kernel_common::println;
use kernel_common::uefi::LeftBootServices;
use uefi::Status;

#[uefi::entry]
fn main() -> Status {
    kernel_common::aarch64::init_console();
    println!();
    println!("bootmem aarch64 kernel (UEFI)");
    // SAFETY: called once, first thing; this kernel calls no boot service
    // after it.
    let state = unsafe { kernel_common::uefi::leave_boot_services() };
    // SAFETY: boot services are gone, so nothing else runs on this CPU;
    // `state` stays where it is on the firmware's stack until
    // `after_boot_services` has moved it out, before anything can reuse
    // that memory.
    unsafe { cpu::take_over(state) }
}

/// Runs on the kernel's own stack, page tables and vectors, with
/// exceptions masked.
pub fn after_boot_services(state: LeftBootServices) -> ! {
    // No ISA DMA here: "low" means the first 16 MiB of virt's RAM.
    const RAM_START: u64 = 0x4000_0000;
    kernel_common::uefi::boot(
        state,
        "aarch64 UEFI",
        kernel_common::aarch64::CONFIGURATION,
        RAM_START + 0x100_0000,
        cpu::IDENTITY_MAPPED_END,
    )
}
