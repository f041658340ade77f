//! An interrupt descriptor table whose 32 exception gates print the fault and stop the machine with FAIL.
//!
//! Without it a fault becomes a triple fault, which QEMU (with `-no-reboot`)
//! turns into exit status 0: not a pass, but not a readable failure either.

use core::arch::{asm, global_asm};
use core::mem::size_of;

use spin::Once;

/// Exceptions the CPU defines (vectors 0 to 31).
const EXCEPTIONS: usize = 32;
/// Bytes between two stubs: each is at most 9 bytes (two pushes and a
/// jump), padded, so that stub `v` lies at `v * STUB_SIZE` from the first
/// and no table of addresses (and no relocation) is needed: the same code
/// works linked at 1 MiB (PVH) and loaded anywhere (UEFI).
const STUB_SIZE: usize = 16;

global_asm!(
    r#"
    .macro exception_stub vector, has_error_code
    .balign {stub_size}
    .if \has_error_code == 0
    push $0
    .endif
    push $\vector
    jmp exception_common
    .endm

    .balign {stub_size}
    .global bootmem_exception_stubs
bootmem_exception_stubs:
    exception_stub 0, 0
    exception_stub 1, 0
    exception_stub 2, 0
    exception_stub 3, 0
    exception_stub 4, 0
    exception_stub 5, 0
    exception_stub 6, 0
    exception_stub 7, 0
    exception_stub 8, 1
    exception_stub 9, 0
    exception_stub 10, 1
    exception_stub 11, 1
    exception_stub 12, 1
    exception_stub 13, 1
    exception_stub 14, 1
    exception_stub 15, 0
    exception_stub 16, 0
    exception_stub 17, 1
    exception_stub 18, 0
    exception_stub 19, 0
    exception_stub 20, 0
    exception_stub 21, 1
    exception_stub 22, 0
    exception_stub 23, 0
    exception_stub 24, 0
    exception_stub 25, 0
    exception_stub 26, 0
    exception_stub 27, 0
    exception_stub 28, 0
    exception_stub 29, 1
    exception_stub 30, 1
    exception_stub 31, 0

exception_common:
    mov (%rsp), %rdi            /* vector */
    mov 8(%rsp), %rsi           /* error code (0 when the CPU pushes none) */
    mov 16(%rsp), %rdx          /* faulting rip */
    and $-16, %rsp
    call bootmem_x86_exception
1:  hlt
    jmp 1b
    "#,
    stub_size = const STUB_SIZE,
    options(att_syntax)
);

extern "C" {
    /// The first of the 32 stubs, each [`STUB_SIZE`] bytes apart.
    static bootmem_exception_stubs: u8;
}

/// One 64-bit interrupt gate.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    interrupt_stack: u8,
    attributes: u8,
    offset_middle: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    fn interrupt(handler: u64) -> Self {
        Self {
            offset_low: handler as u16,
            selector: super::descriptors::CODE_SELECTOR,
            interrupt_stack: 0,
            attributes: 0x8e, // present, ring 0, 64-bit interrupt gate
            offset_middle: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, packed)]
struct DescriptorTablePointer {
    limit: u16,
    base: u64,
}

static TABLE: Once<[Gate; EXCEPTIONS]> = Once::new();

/// Loads the exception table.
pub fn init() {
    let table = TABLE.call_once(|| {
        let first = (&raw const bootmem_exception_stubs) as u64;
        let mut gates = [Gate::default(); EXCEPTIONS];
        for (vector, gate) in gates.iter_mut().enumerate() {
            *gate = Gate::interrupt(first + (vector * STUB_SIZE) as u64);
        }
        gates
    });
    let pointer = DescriptorTablePointer {
        limit: (size_of::<[Gate; EXCEPTIONS]>() - 1) as u16,
        base: table.as_ptr() as u64,
    };
    // SAFETY: the table is static and every gate points at a stub above that never returns.
    unsafe { asm!("lidt [{}]", in(reg) &pointer, options(readonly, nostack, preserves_flags)) };
}

const NAMES: [&str; 21] = [
    "divide error",
    "debug",
    "non-maskable interrupt",
    "breakpoint",
    "overflow",
    "bound range exceeded",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor segment overrun",
    "invalid TSS",
    "segment not present",
    "stack-segment fault",
    "general protection fault",
    "page fault",
    "reserved",
    "x87 floating-point",
    "alignment check",
    "machine check",
    "SIMD floating-point",
    "virtualization",
];

/// Called by `exception_common` with the System V convention on both
/// targets (the UEFI target's own "C" convention is Microsoft's).
#[no_mangle]
extern "sysv64" fn bootmem_x86_exception(vector: u64, error_code: u64, instruction: u64) -> ! {
    let fault_address: u64;
    // SAFETY: reading CR2 has no side effect.
    unsafe {
        asm!("mov {}, cr2", out(reg) fault_address, options(nomem, nostack, preserves_flags))
    };
    let name = NAMES.get(vector as usize).copied().unwrap_or("reserved");
    crate::exit::fail(format_args!(
        "exception {vector} ({name}) error_code={error_code:#x} rip={instruction:#x} cr2={fault_address:#x}"
    ))
}
