//! The aarch64 bootmem kernel: QEMU virt at EL1, PL011 serial, memory, NUMA and reservations from the device tree at the start of RAM.
//!
//! `boot.rs` installs the vectors, enables floating point and the MMU, and
//! calls [`rust_start`]; this file gathers the firmware's description and
//! hands it to the shared boot path in `kernel_common`.

#![no_std]
#![no_main]

mod boot;
mod pl011;

use bootmem::{Configuration, PageFrameNumber, PhysicalAddress};
use kernel_common::{println, BootDescription, FirmwareMap, KernelRegions, Platform, Region};

extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// arm64 has no ISA DMA zone: ordinary allocations may start anywhere
/// (goal 0), and the `_low` ones stay below 4 GiB (its DMA32 limit).
const AARCH64: Configuration = Configuration {
    dma_limit: PhysicalAddress::new(0),
    low_address_limit: PhysicalAddress::new(0xffff_ffff),
    dma32_end: PageFrameNumber::new(0x10_0000),
    ..Configuration::X86_64
};

/// Entered from `boot.rs` at EL1 with the MMU on and `device_tree` at the start of RAM.
#[no_mangle]
extern "C" fn rust_start(device_tree: usize) -> ! {
    kernel_common::register(Platform {
        write: pl011::write,
        exit: pl011::exit,
    });
    println!();
    println!("bootmem aarch64 kernel (virt, EL1), device tree @ {device_tree:#x}");

    let mut firmware = FirmwareMap::new();
    let mut kernel_regions = KernelRegions::new();
    let image_start = (&raw const __kernel_start) as u64;
    let image_end = (&raw const __kernel_end) as u64;
    kernel_regions.push(Region::new("kernel image", image_start, image_end));
    // SAFETY: QEMU virt places the device tree blob at the start of RAM for
    // an ELF kernel; the identity map covers it.
    let tree = unsafe {
        kernel_common::devicetree::read(device_tree as u64, &mut firmware, &mut kernel_regions)
    };

    kernel_common::boot(BootDescription {
        machine: "aarch64 virt",
        configuration: AARCH64,
        firmware,
        kernel_regions,
        // No ISA DMA here: "low" means the first 16 MiB of RAM.
        low_test_limit: tree.lowest_ram + 0x100_0000,
        command_line: tree.command_line,
    })
}

/// Every exception is unexpected in this kernel: report it and fail.
#[no_mangle]
extern "C" fn aarch64_exception(vector: u64, syndrome: u64, link: u64, fault_address: u64) -> ! {
    kernel_common::exit::fail(format_args!(
        "exception vector {vector} esr_el1={syndrome:#x} elr_el1={link:#x} far_el1={fault_address:#x}"
    ))
}
