//! Taking the CPU over from the firmware after `ExitBootServices`: interrupts off, the kernel's own stack, GDT, exception table and identity map.
//!
//! The firmware's stack, page tables, GDT and IDT lie in boot services
//! memory, which is free RAM once boot services are gone: bootmem hands it
//! out, the self-test writes over it. So before anything allocates, the
//! kernel moves onto structures in its own image (loader code, reserved).

use core::arch::asm;
use core::cell::UnsafeCell;

use kernel_common::uefi::LeftBootServices;

/// GiB identity-mapped with 2 MiB pages: every configuration the tests boot
/// keeps its RAM below this (4 KiB of page directory per GiB).
const IDENTITY_MAP_GIB: usize = 64;
/// The first physical address the identity map does not cover.
pub const IDENTITY_MAPPED_END: u64 = (IDENTITY_MAP_GIB as u64) << 30;
/// Bytes of the kernel's stack.
const STACK_BYTES: usize = 256 * 1024;

/// One 4 KiB page-table page.
#[repr(C, align(4096))]
struct Table([u64; 512]);

/// PML4, one PDPT (512 GiB) and a page directory per identity-mapped GiB.
#[repr(C)]
struct PageTables {
    pml4: Table,
    pdpt: Table,
    directories: [Table; IDENTITY_MAP_GIB],
}

#[repr(C, align(16))]
struct Stack([u8; STACK_BYTES]);

/// Memory only [`take_over`] touches, once, before anything else runs.
struct Private<T>(UnsafeCell<T>);

// SAFETY: only `take_over` reaches the contents, on the one CPU that runs,
// once, with interrupts off.
unsafe impl<T> Sync for Private<T> {}

static PAGE_TABLES: Private<PageTables> = Private(UnsafeCell::new(PageTables {
    pml4: Table([0; 512]),
    pdpt: Table([0; 512]),
    directories: [const { Table([0; 512]) }; IDENTITY_MAP_GIB],
}));

static STACK: Private<Stack> = Private(UnsafeCell::new(Stack([0; STACK_BYTES])));

/// Present and writable.
const PRESENT_WRITABLE: u64 = 0x3;
/// A 2 MiB page in a page directory entry.
const LARGE_PAGE: u64 = 0x80;

/// Fills the tables with an identity map of the first [`IDENTITY_MAP_GIB`]
/// GiB and returns the PML4's physical address.
fn build_identity_map() -> u64 {
    let tables = PAGE_TABLES.0.get();
    // SAFETY: only this function touches the tables, once; the firmware
    // identity-maps the image, so addresses of statics are physical.
    let tables = unsafe { &mut *tables };
    for (gib, directory) in tables.directories.iter_mut().enumerate() {
        for (index, entry) in directory.0.iter_mut().enumerate() {
            let address = ((gib * 512 + index) as u64) << 21;
            *entry = address | PRESENT_WRITABLE | LARGE_PAGE;
        }
        tables.pdpt.0[gib] = (&raw const *directory) as u64 | PRESENT_WRITABLE;
    }
    tables.pml4.0[0] = (&raw const tables.pdpt) as u64 | PRESENT_WRITABLE;
    (&raw const tables.pml4) as u64
}

/// Turns interrupts off, loads the kernel's GDT, IDT and page tables,
/// switches to the kernel's stack and continues in
/// [`crate::after_boot_services`] with `state`.
///
/// # Safety
///
/// Boot services must be gone, and this is called once.
pub unsafe fn take_over(state: LeftBootServices) -> ! {
    // SAFETY: boot services are gone (the caller's promise), so no firmware
    // interrupt handler is left to run.
    unsafe { asm!("cli", options(nomem, nostack)) };
    kernel_common::x86_64::init_cpu();
    let pml4 = build_identity_map();
    // SAFETY: the new tables map the first 64 GiB 1:1, as the firmware's do
    // for everything this code, its data and its stack use, so every
    // address stays valid across the switch.
    unsafe { asm!("mov cr3, {}", in(reg) pml4, options(nostack, preserves_flags)) };
    let top = STACK.0.get() as u64 + STACK_BYTES as u64;
    let mut state = core::mem::MaybeUninit::new(state);
    // SAFETY: the stack is the kernel's own (in its image), 16-byte aligned
    // at the top, and used by nothing else; `continue_on_new_stack` never
    // returns, so nothing comes back to the old stack, and it moves `state`
    // out before anything can reuse the old stack's memory.
    unsafe {
        asm!(
            "mov rsp, {top}",
            "call {next}",
            "ud2",
            top = in(reg) top,
            next = sym continue_on_new_stack,
            in("rdi") state.as_mut_ptr(),
            options(noreturn),
        )
    }
}

/// The first function on the kernel's stack (System V: `state` in rdi).
extern "sysv64" fn continue_on_new_stack(state: *mut LeftBootServices) -> ! {
    // SAFETY: `take_over` passes a pointer to an initialised value that it
    // never touches again; reading it moves it onto this stack.
    let state = unsafe { state.read() };
    crate::after_boot_services(state)
}
