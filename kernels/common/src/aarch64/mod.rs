//! What the two aarch64 kernels (ELF and UEFI) share on QEMU virt: the PL011 console, the semihosting exit, the exception vectors, the allocator's constants.

pub mod exceptions;
pub mod pl011;

use bootmem::{Configuration, PageFrameNumber, PhysicalAddress};

/// arm64 has no ISA DMA zone: ordinary allocations may start anywhere
/// (goal 0), and the `_low` ones stay below 4 GiB (its DMA32 limit).
pub const CONFIGURATION: Configuration = Configuration {
    dma_limit: PhysicalAddress::new(0),
    low_address_limit: PhysicalAddress::new(0xffff_ffff),
    dma32_end: PageFrameNumber::new(0x10_0000),
    ..Configuration::X86_64
};

/// Makes the PL011 the console and semihosting the exit device.
pub fn init_console() {
    crate::register(crate::Platform {
        write: pl011::write,
        exit: pl011::exit,
    });
}
