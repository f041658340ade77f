//! The EL1 entry: exception vectors (kernel_common's), floating point, an identity map with the MMU on, a stack, a clean `.bss`, then `rust_start`.
//!
//! The map is one level-1 table of 1 GiB blocks over the first 512 GiB:
//! the first GiB (the virt machine's devices: PL011, GIC, ...) as device
//! memory, the rest (RAM from 0x40000000) as normal write-back memory, so
//! that atomics and unaligned accesses behave as on any RAM.

core::arch::global_asm!(
    r#"
    .section .text.entry, "ax"
    .global _start
_start:
    /* Faults from here on are reported, not silent hangs. */
    ldr x1, =bootmem_exception_vectors
    msr vbar_el1, x1
    /* The target uses FP/SIMD registers: trap none of them (CPACR_EL1.FPEN). */
    mrs x1, cpacr_el1
    orr x1, x1, #(3 << 20)
    msr cpacr_el1, x1
    isb
    ldr x1, =boot_stack_top
    mov sp, x1

    ldr x1, =__bss_start
    ldr x2, =__bss_end
1:  cmp x1, x2
    b.hs 2f
    str xzr, [x1], #8
    b 1b
2:
    /* Level-1 table: entry i maps [i GiB, i+1 GiB). */
    ldr x1, =level1_table
    mov x2, #0
3:  lsl x3, x2, #30
    orr x3, x3, #0x1            /* block descriptor */
    orr x3, x3, #(1 << 10)      /* access flag */
    cbz x2, 4f
    orr x3, x3, #(3 << 8)       /* inner shareable */
    orr x3, x3, #(1 << 2)       /* AttrIndx 1: normal write-back */
4:  str x3, [x1, x2, lsl #3]
    add x2, x2, #1
    cmp x2, #512
    b.lo 3b

    /* MAIR: attr0 device nGnRnE, attr1 normal write-back read/write-allocate. */
    mov x1, #0xff00
    msr mair_el1, x1
    /* TCR: T0SZ=25 (39-bit, level-1 start), IRGN0/ORGN0 write-back, SH0 inner,
       TG0 4 KiB, EPD1 (no TTBR1 walks), IPS 40-bit. */
    ldr x1, =((25 << 0) | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | (1 << 23) | (2 << 32))
    msr tcr_el1, x1
    ldr x1, =level1_table
    msr ttbr0_el1, x1
    isb
    tlbi vmalle1
    dsb ish
    isb
    mrs x1, sctlr_el1
    orr x1, x1, #(1 << 0)       /* M: MMU on */
    orr x1, x1, #(1 << 2)       /* C: data cache */
    orr x1, x1, #(1 << 12)      /* I: instruction cache */
    msr sctlr_el1, x1
    isb

    /* x0 is 0 for an ELF image: the device tree is at the start of RAM. */
    ldr x0, =0x40000000
    bl rust_start
5:  wfe
    b 5b

    .section .bss.level1_table, "aw", @nobits
    .balign 4096
level1_table:
    .skip 4096

    .section .bss.stacks, "aw", @nobits
    .balign 16
    .skip 256 * 1024
boot_stack_top:
    "#
);
