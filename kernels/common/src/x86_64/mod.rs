//! What the two x86_64 kernels (PVH and UEFI) share: the COM1 console, their own GDT, and an exception table that fails readably.

pub mod descriptors;
pub mod exceptions;
pub mod serial;

/// Makes COM1 the console and the isa-debug-exit port the exit device.
pub fn init_console() {
    serial::init();
    crate::register(crate::Platform {
        write: serial::write,
        exit: serial::exit,
    });
}

/// Loads the kernel's GDT (code 0x08, data 0x10) and its exception table.
///
/// After UEFI's `ExitBootServices` the firmware's GDT and IDT lie in boot
/// services memory, which the kernel hands out, so the UEFI kernel calls
/// this (with interrupts off) before it touches memory it does not own; the
/// PVH kernel calls it first thing. Before `ExitBootServices` it must not be
/// called: the firmware's interrupt handlers and selectors would be gone.
pub fn init_cpu() {
    descriptors::load();
    exceptions::init();
}
