//! Taking the CPU over from the firmware after `ExitBootServices`: exceptions masked, the kernel's own vectors, identity map and stack.
//!
//! The firmware's stack, translation tables and vectors lie in boot
//! services memory, which is free RAM once boot services are gone: bootmem
//! hands it out, the self-test writes over it. So before anything
//! allocates, the kernel moves onto structures in its own image.
//!
//! The new map is a level-1 table of 1 GiB blocks over the first 512 GiB
//! (under a level-0 table when the firmware's 4 KiB-granule regime starts
//! walks at level 0): the first GiB (virt's devices) as device memory, the
//! rest as normal write-back memory. The MMU stays on and the firmware's
//! translation regime (`TCR_EL1`, `MAIR_EL1`) stays as it is: writing
//! `TCR_EL1` takes effect at once, under the old tables, so only
//! `TTBR0_EL1` changes. Both maps send every address the kernel uses to
//! itself, as the same kind of memory.

use core::arch::asm;
use core::cell::UnsafeCell;

use kernel_common::uefi::LeftBootServices;

/// The first physical address the identity map (512 blocks of 1 GiB) does
/// not cover.
pub const IDENTITY_MAPPED_END: u64 = 512 << 30;

/// Bytes of the kernel's stack.
const STACK_BYTES: usize = 256 * 1024;

#[repr(C, align(4096))]
struct Table([u64; 512]);

#[repr(C, align(16))]
struct Stack([u8; STACK_BYTES]);

/// Memory only [`take_over`] touches, once, before anything else runs.
struct Private<T>(UnsafeCell<T>);

// SAFETY: only `take_over` reaches the contents, on the one CPU that runs,
// once, with exceptions masked.
unsafe impl<T> Sync for Private<T> {}

static LEVEL0: Private<Table> = Private(UnsafeCell::new(Table([0; 512])));
static LEVEL1: Private<Table> = Private(UnsafeCell::new(Table([0; 512])));
static STACK: Private<Stack> = Private(UnsafeCell::new(Stack([0; STACK_BYTES])));

/// Block descriptor, access flag.
const BLOCK: u64 = 0x1 | (1 << 10);
/// A next-level table descriptor.
const TABLE: u64 = 0x3;
/// Inner shareable.
const INNER_SHAREABLE: u64 = 3 << 8;
/// MAIR encodings: normal write-back (read/write-allocate), device nGnRnE.
const NORMAL_WRITE_BACK: u64 = 0xff;
const DEVICE: u64 = 0x00;

/// What the firmware's translation regime says about the new tables.
struct Regime {
    /// Walks start at level 0 (a VA wider than 39 bits).
    starts_at_level_0: bool,
    /// The MAIR index of normal write-back memory.
    normal: u64,
    /// The MAIR index of device memory.
    device: u64,
}

/// Reads `TCR_EL1` and `MAIR_EL1`; fails unless the regime is one the
/// tables fit (4 KiB granule, walks from level 0 or 1, both memory kinds
/// in MAIR).
fn firmware_regime() -> Regime {
    let (tcr, mair): (u64, u64);
    // SAFETY: reading system registers has no side effect.
    unsafe {
        asm!(
            "mrs {tcr}, tcr_el1",
            "mrs {mair}, mair_el1",
            tcr = out(reg) tcr,
            mair = out(reg) mair,
            options(nomem, nostack, preserves_flags),
        )
    };
    let size_offset = tcr & 0x3f;
    let granule = (tcr >> 14) & 3;
    let index_of = |encoding: u64| (0..8).find(|index| (mair >> (index * 8)) & 0xff == encoding);
    let (Some(normal), Some(device)) = (index_of(NORMAL_WRITE_BACK), index_of(DEVICE)) else {
        kernel_common::exit::fail(format_args!(
            "MAIR_EL1 {mair:#x} lacks normal write-back or device memory"
        ));
    };
    if granule != 0 || !(16..=33).contains(&size_offset) {
        kernel_common::exit::fail(format_args!(
            "TCR_EL1 {tcr:#x}: only a 4 KiB granule with T0SZ 16 to 33 is handled"
        ));
    }
    Regime {
        starts_at_level_0: size_offset <= 24,
        normal,
        device,
    }
}

/// Fills the tables for `regime` and returns the root's address.
fn build_identity_map(regime: &Regime) -> u64 {
    // SAFETY: only this function touches the tables, once; the firmware
    // identity-maps the image, so addresses of statics are physical.
    let (level0, level1) = unsafe { (&mut *LEVEL0.0.get(), &mut *LEVEL1.0.get()) };
    for (gib, entry) in level1.0.iter_mut().enumerate() {
        let attributes = if gib == 0 {
            BLOCK | (regime.device << 2)
        } else {
            BLOCK | INNER_SHAREABLE | (regime.normal << 2)
        };
        *entry = ((gib as u64) << 30) | attributes;
    }
    let level1_address = level1.0.as_ptr() as u64;
    if regime.starts_at_level_0 {
        level0.0[0] = level1_address | TABLE;
        level0.0.as_ptr() as u64
    } else {
        level1_address
    }
}

/// The exception level the CPU runs at.
fn current_exception_level() -> u64 {
    let level: u64;
    // SAFETY: reading CurrentEL has no side effect.
    unsafe { asm!("mrs {}, CurrentEL", out(reg) level, options(nomem, nostack, preserves_flags)) };
    (level >> 2) & 3
}

/// Masks exceptions, installs the kernel's vectors and identity map,
/// switches to the kernel's stack and continues in
/// [`crate::after_boot_services`] with `state`.
///
/// # Safety
///
/// Boot services must be gone, and this is called once.
pub unsafe fn take_over(state: LeftBootServices) -> ! {
    // SAFETY: boot services are gone (the caller's promise): no firmware
    // interrupt handler is left to run.
    unsafe { asm!("msr daifset, #0xf", options(nomem, nostack)) };
    kernel_common::aarch64::exceptions::install();
    let level = current_exception_level();
    if level != 1 {
        kernel_common::exit::fail(format_args!(
            "the firmware left the kernel at EL{level}; it runs at EL1 (QEMU virt without virtualization=on)"
        ));
    }
    let regime = firmware_regime();
    let root = build_identity_map(&regime);
    // SAFETY: under the firmware's unchanged regime the new tables send
    // every address this code, its data, its stack and the UART use to
    // itself as the same kind of memory; the barriers make the tables
    // visible to the walker first and drop the firmware's cached
    // translations after.
    unsafe {
        asm!(
            "dsb ish",
            "msr ttbr0_el1, {root}",
            "isb",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            root = in(reg) root,
            options(nostack),
        )
    };
    let top = STACK.0.get() as u64 + STACK_BYTES as u64;
    let mut state = core::mem::MaybeUninit::new(state);
    // SAFETY: the stack is the kernel's own (in its image), 16-byte aligned
    // at the top, and used by nothing else; `continue_on_new_stack` never
    // returns, so nothing comes back to the old stack, and it moves `state`
    // out before anything can reuse the old stack's memory.
    unsafe {
        asm!(
            "mov sp, {top}",
            "bl {next}",
            "brk #1",
            top = in(reg) top,
            next = sym continue_on_new_stack,
            in("x0") state.as_mut_ptr(),
            options(noreturn),
        )
    }
}

/// The first function on the kernel's stack (`state` in x0).
extern "C" fn continue_on_new_stack(state: *mut LeftBootServices) -> ! {
    // SAFETY: `take_over` passes a pointer to an initialised value that it
    // never touches again; reading it moves it onto this stack.
    let state = unsafe { state.read() };
    crate::after_boot_services(state)
}
