//! The x86_64 bootmem kernel: PVH boot under QEMU q35, memory from `hvm_start_info`, NUMA from the SRAT.
//!
//! `boot.rs` enters long mode and calls [`rust_start`]; this file gathers
//! the firmware's description and hands it to the shared boot path in
//! `kernel_common`, which sets up bootmem, runs the self-test and hands the
//! free pages to the page allocator.

#![no_std]
#![no_main]

mod boot;
mod pvh;

use bootmem::{Configuration, PhysicalAddress};
use kernel_common::{println, BootDescription, FirmwareMap, KernelRegions, Region};

extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// Entered from `boot.rs` in long mode with the low 128 GiB identity-mapped.
#[no_mangle]
extern "C" fn rust_start(start_info: u32) -> ! {
    kernel_common::x86_64::init_console();
    kernel_common::x86_64::init_cpu();
    println!();
    println!("bootmem x86_64 kernel (PVH)");

    let mut firmware = FirmwareMap::new();
    let mut kernel_regions = KernelRegions::new();
    // Page 0 holds the real-mode interrupt vectors and BIOS data, and a
    // zero physical address doubles as "none" in too many places.
    kernel_regions.push(Region::new("page 0", 0, 0x1000));
    let image_start = (&raw const __kernel_start) as u64;
    let image_end = (&raw const __kernel_end) as u64;
    kernel_regions.push(Region::new("kernel image", image_start, image_end));
    let info = pvh::read(u64::from(start_info), &mut firmware, &mut kernel_regions);
    // SAFETY: the RSDP comes from the PVH boot information, and boot.rs
    // identity-maps the low 128 GiB, where QEMU's ACPI tables lie.
    unsafe { kernel_common::firmware::read_srat(info.rsdp, &mut firmware) };

    kernel_common::boot(BootDescription {
        machine: "x86_64 PVH",
        configuration: Configuration::X86_64,
        firmware,
        kernel_regions,
        // ISA DMA memory: the first 16 MiB.
        low_test_limit: PhysicalAddress::new(0x100_0000).as_u64(),
        command_line: info.command_line,
    })
}
