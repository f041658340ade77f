//! The x86_64 UEFI bootmem kernel: OVMF loads it, it reads the firmware's memory map, leaves boot services and boots on bootmem.
//!
//! Before `ExitBootServices` the kernel only asks the firmware for what it
//! needs later: where its image lies and its command line. Then it exits
//! boot services, takes the CPU over ([`cpu`]: its own stack, GDT,
//! exception table and identity map, because the firmware's lie in boot
//! services memory that bootmem is about to hand out), turns the UEFI
//! memory map into the firmware map and hands everything to the shared
//! boot path in `kernel_common`.

#![no_std]
#![no_main]

mod command_line;
mod cpu;
mod firmware_map;

use bootmem::{Configuration, PhysicalAddress};
use kernel_common::{println, BootDescription, FirmwareMap, KernelRegions, Region};
use uefi::boot;
use uefi::mem::memory_map::{MemoryMap, MemoryMapOwned};
use uefi::proto::loaded_image::LoadedImage;
use uefi::Status;

/// What the kernel carries across `ExitBootServices` and the stack switch.
pub struct LeftBootServices {
    /// The firmware's final memory map (in loader data the kernel reserves).
    memory_map: MemoryMapOwned,
    /// Where the firmware loaded this image.
    image: Region,
    /// The kernel command line (see [`command_line`]).
    command_line: &'static str,
}

#[uefi::entry]
fn main() -> Status {
    kernel_common::x86_64::init_console();
    println!();
    println!("bootmem x86_64 kernel (UEFI)");
    let image = match image_region() {
        Ok(image) => image,
        Err(error) => kernel_common::exit::fail(format_args!("the loaded image protocol: {error}")),
    };
    let command_line = command_line::read();
    println!(
        "image @ {:#x}-{:#x}, command line {command_line:?}; exiting boot services",
        image.start, image.end
    );
    // SAFETY: nothing obtained from boot services outlives this call: the
    // protocols opened above were closed when their scopes ended, and the
    // kernel never calls boot services again.
    let memory_map = unsafe { boot::exit_boot_services(None) };
    let state = LeftBootServices {
        memory_map,
        image,
        command_line,
    };
    // SAFETY: boot services are gone, so nothing else runs on this CPU;
    // `state` stays where it is on the firmware's stack until
    // `after_boot_services` has moved it out, before anything can reuse
    // that memory.
    unsafe { cpu::take_over(state) }
}

/// Where the firmware loaded this image, from the loaded image protocol.
fn image_region() -> uefi::Result<Region> {
    let loaded = boot::open_protocol_exclusive::<LoadedImage>(boot::image_handle())?;
    let (base, size) = loaded.info();
    let start = base as u64;
    Ok(Region::new(
        "kernel image",
        start,
        start.saturating_add(size),
    ))
}

/// Runs on the kernel's own stack, page tables, GDT and IDT, with
/// interrupts off: builds the boot description and boots.
pub fn after_boot_services(state: LeftBootServices) -> ! {
    let LeftBootServices {
        memory_map,
        image,
        command_line,
    } = state;
    let mut firmware = FirmwareMap::new();
    let mut kernel_regions = KernelRegions::new();
    // Page 0: the real-mode vectors, and a zero address means "none" in too many places.
    kernel_regions.push(Region::new("page 0", 0, 0x1000));
    kernel_regions.push(image);
    let buffer = memory_map.buffer();
    let buffer_start = buffer.as_ptr() as u64;
    // Copied into the firmware map below: boot information.
    kernel_regions.push(Region::boot_information(
        "UEFI memory map",
        buffer_start,
        buffer_start + buffer.len() as u64,
    ));
    firmware_map::read(&memory_map, &mut firmware);
    // The map's buffer stays reserved and is never freed: boot services,
    // which would free it, are gone.
    core::mem::forget(memory_map);

    kernel_common::boot(BootDescription {
        machine: "x86_64 UEFI",
        configuration: Configuration::X86_64,
        firmware,
        kernel_regions,
        // ISA DMA memory: the first 16 MiB.
        low_test_limit: PhysicalAddress::new(0x100_0000).as_u64(),
        command_line,
    })
}
