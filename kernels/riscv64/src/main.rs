//! The riscv64 bootmem kernel: QEMU virt behind OpenSBI, memory, NUMA and reservations from the device tree.
//!
//! `boot.rs` installs the trap handler and calls [`rust_start`] with the hart
//! id and the device tree; this file gathers the firmware's description and
//! hands it to the shared boot path in `kernel_common`.

#![no_std]
#![no_main]

mod boot;
mod uart;

use bootmem::{Configuration, PageFrameNumber, PhysicalAddress};
use kernel_common::{println, BootDescription, FirmwareMap, KernelRegions, Platform, Region};

extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// RISC-V has no ISA DMA zone: ordinary allocations may start anywhere
/// (goal 0), and the `_low` ones stay below 4 GiB (DMA32), as on arm64.
const RISCV64: Configuration = Configuration {
    dma_limit: PhysicalAddress::new(0),
    low_address_limit: PhysicalAddress::new(0xffff_ffff),
    dma32_end: PageFrameNumber::new(0x10_0000),
    ..Configuration::X86_64
};

/// Entered from `boot.rs` in S-mode, with `hart` and `device_tree` as OpenSBI passed them.
#[no_mangle]
extern "C" fn rust_start(hart: usize, device_tree: usize) -> ! {
    kernel_common::register(Platform {
        write: uart::write,
        exit: uart::exit,
    });
    println!();
    println!(
        "bootmem riscv64 kernel (virt, OpenSBI), boot hart {hart}, device tree @ {device_tree:#x}"
    );

    let mut firmware = FirmwareMap::new();
    let mut kernel_regions = KernelRegions::new();
    let image_start = (&raw const __kernel_start) as u64;
    let image_end = (&raw const __kernel_end) as u64;
    kernel_regions.push(Region::new("kernel image", image_start, image_end));
    // SAFETY: OpenSBI passes the physical address of a device tree blob in
    // a1; paging is off, so it is readable as it is.
    let tree = unsafe {
        kernel_common::firmware::read_device_tree(
            device_tree as u64,
            &mut firmware,
            &mut kernel_regions,
        )
    };

    kernel_common::boot(BootDescription {
        machine: "riscv64 virt",
        configuration: RISCV64,
        firmware,
        kernel_regions,
        // No ISA DMA here: "low" means the first 16 MiB of RAM.
        low_test_limit: tree.lowest_ram + 0x100_0000,
        command_line: tree.command_line,
    })
}

/// Every trap is unexpected in this kernel: report it and fail.
#[no_mangle]
extern "C" fn riscv_trap(cause: usize, instruction: usize, value: usize) -> ! {
    kernel_common::exit::fail(format_args!(
        "trap scause={cause:#x} sepc={instruction:#x} stval={value:#x}"
    ))
}
