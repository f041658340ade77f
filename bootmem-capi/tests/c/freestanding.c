/* Links against the freestanding (no_std) static library without a C
 * library: proof that a kernel can use it. Built by scripts/test-adopt:
 *   cargo build -p bootmem-capi --no-default-features --target x86_64-unknown-none --release
 *   cc -ffreestanding -nostdlib -static ... freestanding.c libbootmem_capi.a
 * It is linked, not run (it has no operating system to return to). */
#include "bootmem.h"

static uint64_t bitmap[64];

void _start(void) {
    bootmem_set_direct_map(0);
    bootmem_register_node(0, 0, 4096, bitmap, 64);
    free_bootmem(0, 4096ul * 4096);
    void *block = alloc_bootmem_pages(4096);
    (void)block;
    (void)free_all_bootmem();
    for (;;) {
    }
}
