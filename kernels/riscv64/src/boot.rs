//! The entry OpenSBI jumps to: trap vector first, then a stack, a clean `.bss`, and `rust_start(hartid, dtb)`.

core::arch::global_asm!(
    r#"
    .section .text.entry, "ax"
    .global _start
_start:
    /* OpenSBI leaves stvec pointing here: a trap before this line would
       re-enter _start with garbage. Point it at the handler first. */
    la t0, trap_entry
    csrw stvec, t0
    csrw sie, zero
    la sp, boot_stack_top

    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, (t0)
    addi t0, t0, 8
    j 1b
2:
    /* a0 = hart id, a1 = device tree, as OpenSBI passes them. */
    call rust_start
3:  wfi
    j 3b

    .section .text.trap, "ax"
    .balign 4
    .global trap_entry
trap_entry:
    /* Whatever the fault, report it from a stack of our own. */
    la sp, trap_stack_top
    csrr a0, scause
    csrr a1, sepc
    csrr a2, stval
    call riscv_trap
4:  wfi
    j 4b

    .section .bss.stacks, "aw", @nobits
    .balign 16
boot_stack_bottom:
    .skip 256 * 1024
    .global boot_stack_top
boot_stack_top:
    .skip 16 * 1024
trap_stack_top:
    "#
);
