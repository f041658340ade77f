//! Exception vectors for EL1 whose 16 entries all print the exception and stop the machine with FAIL.
//!
//! Position-independent (`adrp`/`add`, no literal pools), so the same
//! table works linked at 0x40200000 (ELF) and loaded anywhere (UEFI).

use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;

/// Bytes of the stack the handler switches to (the faulting stack may be
/// the cause).
const STACK_BYTES: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack(UnsafeCell<[u8; STACK_BYTES]>);

// SAFETY: only the exception handler uses the stack, and it never returns,
// so at most one user exists at a time.
unsafe impl Sync for Stack {}

static EXCEPTION_STACK: Stack = Stack(UnsafeCell::new([0; STACK_BYTES]));

global_asm!(
    r#"
    .macro vector index
    .balign 0x80
    mov x0, #\index
    b bootmem_exception_common
    .endm

    .balign 0x800
    .global bootmem_exception_vectors
bootmem_exception_vectors:
    vector 0
    vector 1
    vector 2
    vector 3
    vector 4
    vector 5
    vector 6
    vector 7
    vector 8
    vector 9
    vector 10
    vector 11
    vector 12
    vector 13
    vector 14
    vector 15

bootmem_exception_common:
    adrp x1, {stack}
    add x1, x1, :lo12:{stack}
    mov x2, #{stack_bytes}
    add x1, x1, x2
    mov sp, x1
    mrs x1, esr_el1
    mrs x2, elr_el1
    mrs x3, far_el1
    bl {handler}
1:  wfe
    b 1b
    "#,
    stack = sym EXCEPTION_STACK,
    stack_bytes = const STACK_BYTES,
    handler = sym aarch64_exception,
);

extern "C" {
    /// The 2 KiB-aligned table of 16 vectors above.
    static bootmem_exception_vectors: u8;
}

/// Points `VBAR_EL1` at the vectors above.
pub fn install() {
    let vectors = (&raw const bootmem_exception_vectors) as u64;
    // SAFETY: the table is 2 KiB aligned and every entry stops the machine
    // through `aarch64_exception`, which never returns.
    unsafe { asm!("msr vbar_el1, {}", "isb", in(reg) vectors, options(nostack)) };
}

/// Every exception is unexpected in these kernels: report it and fail.
extern "C" fn aarch64_exception(vector: u64, syndrome: u64, link: u64, fault_address: u64) -> ! {
    crate::exit::fail(format_args!(
        "exception vector {vector} esr_el1={syndrome:#x} elr_el1={link:#x} far_el1={fault_address:#x}"
    ))
}
