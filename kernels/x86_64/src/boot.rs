//! The PVH entry: the ELF note QEMU looks for, and the 32-bit code that builds an identity map and enters long mode.
//!
//! QEMU's PVH loader jumps to `pvh_start` in 32-bit protected mode with paging
//! off and `%ebx` holding the physical address of `hvm_start_info`. This code
//! identity-maps the first [`IDENTITY_MAP_GIB`] GiB with 2 MiB pages, turns
//! on long mode, and calls `rust_start(start_info)` on a 64 KiB stack.

/// GiB of physical memory identity-mapped at boot. The 64 GiB guest's RAM
/// ends at 66 GiB on q35 (2 GiB below 4 GiB, the rest above), so 128 GiB
/// covers every configuration; the tables cost 4 KiB per GiB of `.bss`.
pub const IDENTITY_MAP_GIB: usize = 128;

core::arch::global_asm!(
    r#"
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                     /* namesz: "Xen\0" */
    .long 8                     /* descsz: QEMU 7.2 reads a 64-bit entry */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .quad pvh_start
    .balign 4

    .section .text.entry, "ax"
    .code32
    .global pvh_start
pvh_start:
    cli
    cld
    mov %ebx, %ebp              /* keep hvm_start_info; rep stos uses edi */
    mov $boot_stack_top, %esp

    /* Clear the page tables (PML4, PDPT and the page directories). */
    mov $page_tables_start, %edi
    mov $page_tables_end, %ecx
    sub %edi, %ecx
    shr $2, %ecx
    xor %eax, %eax
    rep stosl

    /* PML4[0] -> PDPT */
    mov $pdpt, %eax
    or $0x3, %eax
    mov %eax, pml4

    /* PDPT[i] -> page directory i, for each identity-mapped GiB */
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $12, %eax
    add $page_directories, %eax
    or $0x3, %eax
    mov %eax, pdpt(,%ecx,8)
    inc %ecx
    cmp ${gib}, %ecx
    jb 1b

    /* Page directory entry j maps 2 MiB page j: present, writable, large. */
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, page_directories(,%ecx,8)
    mov %ecx, %eax
    shr $11, %eax
    mov %eax, page_directories+4(,%ecx,8)
    inc %ecx
    cmp ${entries}, %ecx
    jb 2b

    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx       /* EFER */
    rdmsr
    or $0x100, %eax             /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax        /* PG | PE */
    mov %eax, %cr0

    lgdt boot_gdt_pointer
    ljmp $0x08, $long_mode_entry

    .code64
long_mode_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp
    mov %ebp, %edi              /* zero-extends: rust_start(start_info) */
    call rust_start
3:  hlt
    jmp 3b

    .section .rodata.boot_gdt, "a"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdt_end:
    .global boot_gdt_pointer
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .bss.page_tables, "aw", @nobits
    .balign 4096
page_tables_start:
pml4:
    .skip 4096
pdpt:
    .skip 4096
page_directories:
    .skip 4096 * {gib}
page_tables_end:

    .section .bss.boot_stack, "aw", @nobits
    .balign 16
    .global boot_stack_bottom
boot_stack_bottom:
    .skip 256 * 1024
    .global boot_stack_top
boot_stack_top:
    "#,
    gib = const IDENTITY_MAP_GIB,
    entries = const IDENTITY_MAP_GIB * 512,
    options(att_syntax)
);
