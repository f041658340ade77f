//! `free_all_bootmem` hands the blocks out where the allocator lies: on a small stack, with a release function that calls back into the library.

use bootmem_capi::*;
use core::ffi::{c_ulong, c_void};
use std::alloc::{alloc_zeroed, Layout};

/// Bytes of stack the teardown runs on. The teardown once moved the
/// 64-node allocator (about 16 KB) out of its lock and on through the
/// hand-off, and needed more than 96 KiB of stack in a release build; it
/// now runs in 16 KiB there (in 12 KiB, 2026-12-05). An unoptimised
/// build's frames are larger and copy the allocator more than once: it
/// needed between 60 and 64 KiB then, so it gets 96 KiB. Both builds run
/// in CI (`scripts/test-adopt`).
const STACK_BYTES: usize = if cfg!(debug_assertions) {
    96 << 10
} else {
    16 << 10
};

/// What the release function saw.
#[derive(Default)]
struct Seen {
    blocks: u64,
    pages: c_ulong,
    /// Allocations made from the release function that returned `NULL`.
    refused_allocations: u64,
    /// `bootmem_set_direct_map` calls from it that returned `-EBUSY`.
    busy_restarts: u64,
    /// Frees from it that returned `-EINVAL`.
    refused_frees: u64,
}

/// Counts each block and calls back into the library, which must answer
/// at once as torn down (a spin lock taken again would never return).
unsafe extern "C" fn release(pfn: u64, order: u32, context: *mut c_void) {
    // SAFETY: the test passes a `Seen` it owns for the teardown's length.
    let seen = unsafe { &mut *context.cast::<Seen>() };
    seen.blocks += 1;
    seen.pages += 1 << order;
    if alloc_bootmem_nopanic(64).is_null() {
        seen.refused_allocations += 1;
    }
    // SAFETY: refused during a teardown, so nothing is mapped anew.
    if unsafe { bootmem_set_direct_map(0) } == -BOOTMEM_EBUSY {
        seen.busy_restarts += 1;
    }
    if free_bootmem(pfn << 12, 4096) == -BOOTMEM_EINVAL {
        seen.refused_frees += 1;
    }
}

#[test]
fn the_teardown_runs_on_a_small_stack_and_its_release_function_may_call_back() {
    let layout = Layout::from_size_align(32 << 20, 4096).unwrap();
    // SAFETY: a non-zero size.
    let ram = unsafe { alloc_zeroed(layout) };
    assert!(!ram.is_null());
    // SAFETY: physical [0, 32 MiB) is `ram`, never freed, used by nothing else.
    assert_eq!(unsafe { bootmem_set_direct_map(ram as u64) }, 0);
    // SAFETY: the bitmap's page, frame 1, is inside `ram`.
    assert!(unsafe { init_bootmem_node(0, 1, 0, 0x2000) } > 0);
    assert_eq!(free_bootmem(0, 32 << 20), 0);
    assert_eq!(reserve_bootmem(0, 4096, BOOTMEM_EXCLUSIVE), 0);
    assert!(!alloc_bootmem(100).is_null());

    let teardown = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(|| {
            let mut seen = Seen::default();
            let context = (&mut seen as *mut Seen).cast::<c_void>();
            // SAFETY: `release` takes the `Seen` behind `context`.
            let pages = unsafe { bootmem_free_all_with(Some(release), context) };
            (pages, seen)
        })
        .unwrap();
    let (pages, seen) = teardown.join().expect("the teardown fits its stack");

    // Every page but page 0 (reserved) and the table's page, the bitmap's included.
    assert_eq!(pages, 0x2000 - 2);
    assert_eq!(seen.pages, pages);
    assert!(seen.blocks > 1);
    assert_eq!(seen.refused_allocations, seen.blocks);
    assert_eq!(seen.busy_restarts, seen.blocks);
    assert_eq!(seen.refused_frees, seen.blocks);

    // Torn down afterwards, until a restart, which works again.
    assert!(alloc_bootmem_nopanic(64).is_null());
    // SAFETY: no release function is called.
    assert_eq!(
        unsafe { bootmem_free_all_with(None, core::ptr::null_mut()) },
        0
    );
    // SAFETY: `ram` as at the start; nothing uses it since the teardown.
    assert_eq!(unsafe { bootmem_set_direct_map(ram as u64) }, 0);
    // SAFETY: as at the start.
    assert!(unsafe { init_bootmem_node(0, 1, 0, 0x2000) } > 0);
    assert_eq!(free_bootmem(0, 32 << 20), 0);
    assert!(!alloc_bootmem_nopanic(64).is_null());
}
