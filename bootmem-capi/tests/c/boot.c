/* A small boot sequence written in C against libbootmem_capi.a and bootmem.h.
 *
 * Physical memory is simulated: 64 MiB of host memory, reached at a fixed
 * offset (the host address of its first byte) as a kernel reaches its RAM
 * through the direct map. Run by tests/c_program.rs:
 *   boot           the sequence; prints "boot: ok, N checks", exits 0
 *   boot panic     alloc_bootmem runs out: the panic handler runs (exit 42)
 *   boot abort     the same without a handler: the process aborts
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootmem.h"

#define RAM_BYTES (64ul << 20)
#define PAGE 4096ul

static int checks;
static unsigned char *ram;

#define CHECK(condition)                                                        \
    do {                                                                        \
        checks++;                                                               \
        if (!(condition)) {                                                     \
            printf("boot.c:%d: check failed: %s\n", __LINE__, #condition);      \
            exit(1);                                                            \
        }                                                                       \
    } while (0)

/* The physical address of a pointer bootmem returned. */
static unsigned long physical(void *pointer) {
    return (unsigned long)((unsigned char *)pointer - ram);
}

static void on_panic(const char *message) {
    printf("panic handler: %s\n", message);
    fflush(stdout);
    _exit(42);
}

struct teardown_count {
    unsigned long pages;
    unsigned long blocks;
};

static void count_block(uint64_t pfn, uint32_t order, void *context) {
    struct teardown_count *count = context;
    (void)pfn;
    count->pages += 1ul << order;
    count->blocks++;
}

static int all_zero(const unsigned char *bytes, size_t size) {
    for (size_t i = 0; i < size; i++)
        if (bytes[i] != 0)
            return 0;
    return 1;
}

/* One node of 64 MiB, its bitmap in RAM at 1 MiB, as Linux's init_bootmem. */
static void one_node(void) {
    CHECK(bootmem_set_direct_map((uint64_t)(uintptr_t)ram) == 0);
    unsigned long bitmap_bytes = init_bootmem_node(0, 0x100, 0, RAM_BYTES / PAGE);
    CHECK(bitmap_bytes >= RAM_BYTES / PAGE / 8);
    CHECK(bootmem_bootmap_pages(RAM_BYTES / PAGE) * PAGE >= bitmap_bytes);
    CHECK(free_bootmem(0, RAM_BYTES) == 0);
}

static void single_node_boot(void) {
    one_node();
    CHECK(init_bootmem_node(0, 0x200, 0, 16) == 0);           /* node 0 exists */
    CHECK(init_bootmem_node(1, 0x200, 1ul << 60, ~0ul) == 0);  /* past 2^64 in bytes */
    CHECK(init_bootmem_node(1, ~0ul, 0x10000, 0x10010) == 0);  /* bitmap past 2^64 */
    CHECK(init_bootmem_node(-1, 0x200, 0x10000, 0x10010) == 0); /* no such node */
    CHECK(init_bootmem_node(1, 0x200, 0x10010, 0x10000) == 0); /* inverted */
    CHECK(free_bootmem(0x200000, PAGE) == -EINVAL);           /* already free */
    CHECK(free_bootmem(RAM_BYTES, PAGE) == -EINVAL);          /* outside the node */

    CHECK(reserve_bootmem(0, PAGE, BOOTMEM_EXCLUSIVE) == 0);  /* page 0 */
    CHECK(reserve_bootmem(0, PAGE, BOOTMEM_EXCLUSIVE) == -EBUSY);
    CHECK(reserve_bootmem(0, PAGE, BOOTMEM_DEFAULT) == 0);
    CHECK(reserve_bootmem(0x100000, PAGE, BOOTMEM_EXCLUSIVE) == -EBUSY); /* the bitmap */
    CHECK(reserve_bootmem(0x200000, 0x200000, BOOTMEM_EXCLUSIVE) == 0);  /* "the kernel" */
    CHECK(reserve_bootmem(1ul << 40, PAGE, 0) == -EINVAL);

    void *table = alloc_bootmem(100);              /* cache-line aligned, from 16 MiB */
    CHECK(table != NULL && physical(table) == 0x1000000);
    CHECK(all_zero(table, 100));
    void *next = alloc_bootmem(100);               /* packed after it, 64-byte aligned */
    CHECK(physical(next) == 0x1000080);
    void *pages = alloc_bootmem_pages(3 * PAGE);
    CHECK(physical(pages) == 0x1001000);
    CHECK(all_zero(pages, 3 * PAGE));
    void *low = alloc_bootmem_low_pages(PAGE);     /* goal 0, but the hint is past 16 MiB */
    CHECK(physical(low) == 0x1004000);
    void *aligned = __alloc_bootmem(PAGE, 0x200000, 0);
    CHECK(physical(aligned) % 0x200000 == 0);
    void *node_first = __alloc_bootmem_node_nopanic(0, 64, 64, 0x2000000);
    CHECK(physical(node_first) == 0x2000000);

    CHECK(alloc_bootmem_nopanic(1ul << 30) == NULL);          /* no room */
    CHECK(alloc_bootmem_nopanic(0) == NULL);                  /* misuse */
    CHECK(__alloc_bootmem_nopanic(64, 3, 0) == NULL);         /* alignment not a power of two */
    CHECK(__alloc_bootmem_node_nopanic(5, 64, 64, 0) == NULL); /* no node 5 */
    CHECK(___alloc_bootmem_nopanic(PAGE, PAGE, 0, 0x1000000) != NULL); /* below 16 MiB */

    CHECK(free_bootmem(physical(pages), 3 * PAGE) == 0);
    CHECK(free_bootmem(physical(pages), 3 * PAGE) == -EINVAL); /* double free */

    /* Page 0, the 2 MiB kernel, the pages of table/next, low, aligned,
     * node_first and the block below 16 MiB stay reserved; the bitmap's page
     * is released with the rest. */
    struct teardown_count count = {0, 0};
    unsigned long released = bootmem_free_all_with(count_block, &count);
    CHECK(released == RAM_BYTES / PAGE - 1 - 512 - 1 - 1 - 1 - 1 - 1);
    CHECK(count.pages == released && count.blocks > 0);

    CHECK(alloc_bootmem_nopanic(64) == NULL);                 /* torn down */
    CHECK(free_bootmem(0, PAGE) == -EINVAL);
    CHECK(reserve_bootmem(0, PAGE, 0) == -EINVAL);
    CHECK(free_all_bootmem() == 0);
}

static uint64_t node_bitmaps[2][1024];

static void two_node_boot(void) {
    CHECK(bootmem_set_direct_map((uint64_t)(uintptr_t)ram) == 0);
    unsigned long half = RAM_BYTES / PAGE / 2;
    CHECK(bootmem_register_node(0, 0, half, node_bitmaps[0], 1024) > 0);
    CHECK(bootmem_register_node(1, half, 2 * half, node_bitmaps[1], 1024) > 0);
    CHECK(bootmem_register_node(2, 0, 16, node_bitmaps[1], 1024) == 0);   /* overlaps node 0 */
    CHECK(bootmem_register_node(-1, 0, 16, node_bitmaps[1], 1024) == 0);  /* no such node */
    CHECK(free_bootmem(0, RAM_BYTES) == 0);                  /* across both nodes */
    CHECK(reserve_bootmem_node(1, half * PAGE, PAGE, BOOTMEM_EXCLUSIVE) == 0);
    CHECK(reserve_bootmem_node(0, half * PAGE, PAGE, 0) == -EINVAL); /* not node 0's */
    CHECK(free_bootmem_node(1, half * PAGE, PAGE) == 0);

    void *on_1 = alloc_bootmem_node(1, 128);
    CHECK(physical(on_1) == half * PAGE);
    void *on_0 = alloc_bootmem_pages_node(0, PAGE);
    CHECK(physical(on_0) == 0x1000000);
    void *high = __alloc_bootmem_node_high(1, PAGE, PAGE, 0);
    CHECK(physical(high) >= half * PAGE);
    CHECK(alloc_bootmem_node_nopanic(-3, 64) == NULL);
    CHECK(free_all_bootmem() == 2 * half - 3);
}

int main(int argc, char **argv) {
    ram = aligned_alloc(0x200000, RAM_BYTES);
    if (ram == NULL)
        return 2;
    memset(ram, 0xaa, RAM_BYTES);

    if (argc > 1 && (strcmp(argv[1], "panic") == 0 || strcmp(argv[1], "abort") == 0)) {
        if (strcmp(argv[1], "panic") == 0)
            bootmem_set_panic_handler(on_panic);
        one_node();
        alloc_bootmem(1ul << 30);
        printf("alloc_bootmem returned after running out\n");
        return 1;
    }
    single_node_boot();
    two_node_boot();
    printf("boot: ok, %d checks\n", checks);
    return 0;
}
