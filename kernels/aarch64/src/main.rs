//! The aarch64 bootmem kernel: QEMU virt at EL1, PL011 serial, memory, NUMA and reservations from the device tree at the start of RAM.
//!
//! `boot.rs` installs the vectors, enables floating point and the MMU, and
//! calls [`rust_start`]; this file gathers the firmware's description and
//! hands it to the shared boot path in `kernel_common`.

#![no_std]
#![no_main]

mod boot;

use kernel_common::{println, BootDescription, FirmwareMap, KernelRegions, Region};

extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// Entered from `boot.rs` at EL1 with the MMU on and `device_tree` at the start of RAM.
#[no_mangle]
extern "C" fn rust_start(device_tree: usize) -> ! {
    kernel_common::aarch64::init_console();
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
        kernel_common::firmware::read_device_tree(
            device_tree as u64,
            &mut firmware,
            &mut kernel_regions,
        )
    };

    kernel_common::boot(BootDescription {
        machine: "aarch64 virt",
        configuration: kernel_common::aarch64::CONFIGURATION,
        firmware,
        kernel_regions,
        // No ISA DMA here: "low" means the first 16 MiB of RAM.
        low_test_limit: tree.lowest_ram + 0x100_0000,
        command_line: tree.command_line,
    })
}
