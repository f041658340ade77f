//! The kernel's global descriptor table: a null entry, 64-bit code at 0x08 and data at 0x10, loaded and put into every segment register.

use core::arch::asm;
use core::mem::size_of;

/// The code segment selector the exception gates name.
pub const CODE_SELECTOR: u16 = 0x08;
/// The data segment selector.
const DATA_SELECTOR: u16 = 0x10;

/// Null, 64-bit code (present, ring 0, long mode), data (present, writable).
static GDT: [u64; 3] = [0, 0x00af_9a00_0000_ffff, 0x00cf_9200_0000_ffff];

#[repr(C, packed)]
struct DescriptorTablePointer {
    limit: u16,
    base: u64,
}

/// Loads [`GDT`] and reloads CS (with a far return) and the data segments.
pub fn load() {
    let pointer = DescriptorTablePointer {
        limit: (size_of::<[u64; 3]>() - 1) as u16,
        base: GDT.as_ptr() as u64,
    };
    // SAFETY: the GDT is static and its code and data descriptors are the
    // flat 64-bit segments the CPU already runs with, so reloading CS and the
    // data segments from it changes nothing but where the descriptors live.
    // The far return pops exactly the two words pushed before it.
    unsafe {
        asm!(
            "lgdt [{pointer}]",
            "push {code}",
            "lea {scratch}, [rip + 2f]",
            "push {scratch}",
            "retfq",
            "2:",
            "mov ds, {data:x}",
            "mov es, {data:x}",
            "mov ss, {data:x}",
            "mov fs, {data:x}",
            "mov gs, {data:x}",
            pointer = in(reg) &pointer,
            code = const CODE_SELECTOR as u64,
            data = in(reg) u64::from(DATA_SELECTOR),
            scratch = out(reg) _,
            options(preserves_flags),
        );
    }
}
