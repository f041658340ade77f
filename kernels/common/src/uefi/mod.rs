//! What the UEFI kernels share: asking the firmware for the image and the command line, leaving boot services, and the memory map as the boot description.
//!
//! An architecture's UEFI kernel calls [`leave_boot_services`] from its
//! entry point, takes the CPU over (its own stack, page tables, exception
//! vectors: the firmware's lie in boot services memory, which bootmem is
//! about to hand out) and calls [`boot`] from there.

mod command_line;

use bootmem::Configuration;
use bootmem_firmware::Policy;
use uefi::boot;
use uefi::mem::memory_map::{MemoryMap, MemoryMapOwned};
use uefi::proto::loaded_image::LoadedImage;
use uefi::table::cfg::ConfigTableEntry;

use crate::description::{BootDescription, FirmwareMap, KernelRegions, Region};
use crate::println;

/// What the kernel carries across `ExitBootServices` and the stack switch.
pub struct LeftBootServices {
    /// The firmware's final memory map (in loader data the kernel reserves).
    memory_map: MemoryMapOwned,
    /// Where the firmware loaded this image.
    image: Region,
    /// The kernel command line (the file `\EFI\BOOT\CMDLINE.TXT`, else the
    /// load options when they are text).
    command_line: &'static str,
    /// The ACPI RSDP from the configuration table (0 if none).
    rsdp: u64,
}

/// Asks the firmware where the image lies and for the command line, then
/// exits boot services and returns what the kernel needs afterwards.
///
/// # Safety
///
/// Call it once, from the entry point, with nothing obtained from boot
/// services still in use: afterwards no boot service may be called.
pub unsafe fn leave_boot_services() -> LeftBootServices {
    let image = match image_region() {
        Ok(image) => image,
        Err(error) => crate::exit::fail(format_args!("the loaded image protocol: {error}")),
    };
    let command_line = command_line::read();
    let rsdp = acpi_root();
    println!(
        "image @ {:#x}-{:#x}, command line {command_line:?}; exiting boot services",
        image.start, image.end
    );
    // SAFETY: the caller promises nothing from boot services outlives this
    // call; the protocols opened above were closed when their scopes ended.
    let memory_map = unsafe { boot::exit_boot_services(None) };
    LeftBootServices {
        memory_map,
        image,
        command_line,
        rsdp,
    }
}

/// The RSDP's address from the configuration table (ACPI 2.0 first), 0 if
/// the firmware publishes none.
fn acpi_root() -> u64 {
    uefi::system::with_config_table(|entries| {
        [ConfigTableEntry::ACPI2_GUID, ConfigTableEntry::ACPI_GUID]
            .iter()
            .find_map(|guid| entries.iter().find(|entry| entry.guid == *guid))
            .map_or(0, |entry| entry.address as u64)
    })
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

/// Builds the boot description from the memory map and boots (see
/// [`crate::boot`]). Call it on the kernel's own stack and page tables,
/// which map the physical addresses below `identity_mapped_end` 1:1.
pub fn boot(
    state: LeftBootServices,
    machine: &'static str,
    configuration: Configuration,
    low_test_limit: u64,
    identity_mapped_end: u64,
) -> ! {
    let LeftBootServices {
        memory_map,
        image,
        command_line,
        rsdp,
    } = state;
    let mut firmware = FirmwareMap::new();
    let mut kernel_regions = KernelRegions::new();
    // Page 0: a zero address means "none" in too many places (and holds
    // the real-mode vectors on x86).
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
    crate::firmware::added(
        "UEFI memory map",
        bootmem_firmware::uefi::add(&memory_map, &mut firmware, Policy::Strict),
    );
    let end_of_ram = firmware
        .added_ranges()
        .iter()
        .filter(|range| range.kind.is_ram())
        .map(|range| range.end.as_u64())
        .max()
        .unwrap_or(0);
    if end_of_ram > identity_mapped_end {
        crate::exit::fail(format_args!(
            "RAM reaches {end_of_ram:#x}, past the kernel's identity map ({identity_mapped_end:#x})"
        ));
    }
    // SAFETY: the RSDP comes from the firmware's configuration table; the
    // ACPI tables lie in ACPI memory, which the kernel's identity map covers.
    unsafe { crate::firmware::read_srat(rsdp, &mut firmware) };
    // The map's buffer stays reserved and is never freed: boot services,
    // which would free it, are gone.
    core::mem::forget(memory_map);

    crate::boot(BootDescription {
        machine,
        configuration,
        firmware,
        kernel_regions,
        low_test_limit,
        command_line,
    })
}
