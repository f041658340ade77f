//! What the two x86_64 kernels (PVH and UEFI) share: the COM1 console, their own GDT, and an exception table that fails readably.

pub mod descriptors;
pub mod exceptions;
pub mod serial;

/// Makes the CPU state the kernel's own: COM1 as the console and exit
/// device, the kernel's GDT (code 0x08, data 0x10) and its exception table.
///
/// After UEFI's `ExitBootServices` the firmware's GDT and IDT lie in boot
/// services memory, which the kernel hands out; the PVH kernel's GDT is in
/// its image. Both load these before they touch memory they do not own.
pub fn init() {
    serial::init();
    crate::register(crate::Platform {
        write: serial::write,
        exit: serial::exit,
    });
    descriptors::load();
    exceptions::init();
}
