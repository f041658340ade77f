//! The allocation functions: `alloc_bootmem*`, `__alloc_bootmem*` and `___alloc_bootmem*`, panicking and `_nopanic`.
//!
//! Each returns the block's virtual address (`physical + offset`, see
//! `bootmem_set_direct_map`), zeroed. The `_nopanic` functions return `NULL`
//! when memory runs out and also for a call Linux would `BUG()` on (a zero
//! size, an alignment that is not a power of two, an unknown node, a call
//! after `free_all_bootmem`). The others call the panic handler and abort
//! in both cases, as Linux panics or `BUG()`s.

use core::ffi::{c_int, c_ulong, c_void};
use core::fmt;
use core::ptr::null_mut;

use bootmem::linux::NoPanicResult;
use bootmem::AllocationError;

use crate::fatal::fatal;
use crate::state::{pointer, with_allocator_and_offset, Allocator};

/// What one allocation attempt came to.
enum Outcome {
    Block(*mut c_void),
    Shortage,
    Misuse(Misuse),
}

/// A call Linux would `BUG()` on.
enum Misuse {
    TornDown,
    NegativeNode(c_int),
    Arguments(AllocationError),
}

impl fmt::Display for Misuse {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TornDown => formatter.write_str("BUG: bootmem called after free_all_bootmem"),
            Self::NegativeNode(nid) => write!(formatter, "BUG: node {nid} does not exist"),
            Self::Arguments(error) => write!(formatter, "BUG: {error}"),
        }
    }
}

/// Runs `call` on the global allocator under the lock.
fn attempt(call: impl FnOnce(&mut Allocator) -> NoPanicResult) -> Outcome {
    with_allocator_and_offset(|allocator, offset| match call(allocator) {
        Ok(Some(address)) => Outcome::Block(pointer(offset, address.as_u64())),
        Ok(None) => Outcome::Shortage,
        Err(error) => Outcome::Misuse(Misuse::Arguments(error)),
    })
    .unwrap_or(Outcome::Misuse(Misuse::TornDown))
}

/// As [`attempt`], for a call on node `nid`; a negative node is a misuse.
fn attempt_on(nid: c_int, call: impl FnOnce(u32, &mut Allocator) -> NoPanicResult) -> Outcome {
    match u32::try_from(nid) {
        Ok(node) => attempt(|allocator| call(node, allocator)),
        Err(_) => Outcome::Misuse(Misuse::NegativeNode(nid)),
    }
}

/// `NULL` for anything but a block.
fn or_null(outcome: Outcome) -> *mut c_void {
    match outcome {
        Outcome::Block(pointer) => pointer,
        Outcome::Shortage | Outcome::Misuse(_) => null_mut(),
    }
}

/// The block, or the panic handler and an abort (the lock is released by then).
fn or_panic(size: c_ulong, outcome: Outcome) -> *mut c_void {
    match outcome {
        Outcome::Block(pointer) => pointer,
        Outcome::Shortage => fatal(&format_args!("bootmem alloc of {size} bytes failed!")),
        Outcome::Misuse(misuse) => fatal(&misuse),
    }
}

/// The default goal of the allocations that are not `_low`: the end of ISA DMA memory.
fn dma_goal(allocator: &Allocator) -> u64 {
    allocator.allocator().configuration().dma_limit.as_u64()
}

// --- The functions of mm/bootmem.c -----------------------------------------

/// `___alloc_bootmem_nopanic(size, align, goal, limit)`: every node at the
/// goal, then from 0, below `limit` (0: no limit).
#[no_mangle]
pub extern "C" fn ___alloc_bootmem_nopanic(
    size: c_ulong,
    align: c_ulong,
    goal: c_ulong,
    limit: c_ulong,
) -> *mut c_void {
    or_null(attempt(|bootmem| {
        bootmem.___alloc_bootmem_nopanic(size as u64, align as u64, goal as u64, limit as u64)
    }))
}

/// `___alloc_bootmem(size, align, goal, limit)`: as
/// [`___alloc_bootmem_nopanic`], but panics when nothing fits.
#[no_mangle]
pub extern "C" fn ___alloc_bootmem(
    size: c_ulong,
    align: c_ulong,
    goal: c_ulong,
    limit: c_ulong,
) -> *mut c_void {
    or_panic(
        size,
        attempt(|bootmem| {
            bootmem.___alloc_bootmem_nopanic(size as u64, align as u64, goal as u64, limit as u64)
        }),
    )
}

/// `__alloc_bootmem_nopanic(size, align, goal)`: any node, no limit.
#[no_mangle]
pub extern "C" fn __alloc_bootmem_nopanic(
    size: c_ulong,
    align: c_ulong,
    goal: c_ulong,
) -> *mut c_void {
    ___alloc_bootmem_nopanic(size, align, goal, 0)
}

/// `__alloc_bootmem(size, align, goal)`: any node, no limit; panics when nothing fits.
#[no_mangle]
pub extern "C" fn __alloc_bootmem(size: c_ulong, align: c_ulong, goal: c_ulong) -> *mut c_void {
    ___alloc_bootmem(size, align, goal, 0)
}

/// `__alloc_bootmem_low_nopanic(size, align, goal)`: below the low address limit (4 GiB).
#[no_mangle]
pub extern "C" fn __alloc_bootmem_low_nopanic(
    size: c_ulong,
    align: c_ulong,
    goal: c_ulong,
) -> *mut c_void {
    or_null(attempt(|bootmem| {
        bootmem.__alloc_bootmem_low_nopanic(size as u64, align as u64, goal as u64)
    }))
}

/// `__alloc_bootmem_low(size, align, goal)`: below the low address limit; panics when nothing fits.
#[no_mangle]
pub extern "C" fn __alloc_bootmem_low(size: c_ulong, align: c_ulong, goal: c_ulong) -> *mut c_void {
    or_panic(
        size,
        attempt(|bootmem| {
            bootmem.__alloc_bootmem_low_nopanic(size as u64, align as u64, goal as u64)
        }),
    )
}

/// `___alloc_bootmem_node_nopanic(pgdat, size, align, goal, limit)`: node
/// `nid` first, then every node; a limit `goal + size` passes is dropped.
#[no_mangle]
pub extern "C" fn ___alloc_bootmem_node_nopanic(
    nid: c_int,
    size: c_ulong,
    align: c_ulong,
    goal: c_ulong,
    limit: c_ulong,
) -> *mut c_void {
    or_null(attempt_on(nid, |node, bootmem| {
        bootmem.___alloc_bootmem_node_nopanic(
            node,
            size as u64,
            align as u64,
            goal as u64,
            limit as u64,
        )
    }))
}

/// `___alloc_bootmem_node(pgdat, size, align, goal, limit)`; panics when nothing fits.
#[no_mangle]
pub extern "C" fn ___alloc_bootmem_node(
    nid: c_int,
    size: c_ulong,
    align: c_ulong,
    goal: c_ulong,
    limit: c_ulong,
) -> *mut c_void {
    or_panic(
        size,
        attempt_on(nid, |node, bootmem| {
            bootmem.___alloc_bootmem_node_nopanic(
                node,
                size as u64,
                align as u64,
                goal as u64,
                limit as u64,
            )
        }),
    )
}

/// `__alloc_bootmem_node_nopanic(pgdat, size, align, goal)`.
#[no_mangle]
pub extern "C" fn __alloc_bootmem_node_nopanic(
    nid: c_int,
    size: c_ulong,
    align: c_ulong,
    goal: c_ulong,
) -> *mut c_void {
    ___alloc_bootmem_node_nopanic(nid, size, align, goal, 0)
}

/// `__alloc_bootmem_node(pgdat, size, align, goal)`; panics when nothing fits.
#[no_mangle]
pub extern "C" fn __alloc_bootmem_node(
    nid: c_int,
    size: c_ulong,
    align: c_ulong,
    goal: c_ulong,
) -> *mut c_void {
    ___alloc_bootmem_node(nid, size, align, goal, 0)
}

/// `__alloc_bootmem_node_high(pgdat, size, align, goal)`: node `nid` above
/// 4 GiB first when it reaches 128 MiB past it; panics when nothing fits.
#[no_mangle]
pub extern "C" fn __alloc_bootmem_node_high(
    nid: c_int,
    size: c_ulong,
    align: c_ulong,
    goal: c_ulong,
) -> *mut c_void {
    or_panic(
        size,
        attempt_on(nid, |node, bootmem| {
            bootmem.__alloc_bootmem_node_high_nopanic(node, size as u64, align as u64, goal as u64)
        }),
    )
}

/// `__alloc_bootmem_low_node(pgdat, size, align, goal)`: node first, below
/// the low address limit; panics when nothing fits.
#[no_mangle]
pub extern "C" fn __alloc_bootmem_low_node(
    nid: c_int,
    size: c_ulong,
    align: c_ulong,
    goal: c_ulong,
) -> *mut c_void {
    or_panic(
        size,
        attempt_on(nid, |node, bootmem| {
            bootmem.__alloc_bootmem_low_node_nopanic(node, size as u64, align as u64, goal as u64)
        }),
    )
}

// --- The macros of include/linux/bootmem.h, as functions ---------------------

/// `alloc_bootmem(x)`: cache-line aligned, at or above 16 MiB first; panics when nothing fits.
#[no_mangle]
pub extern "C" fn alloc_bootmem(size: c_ulong) -> *mut c_void {
    or_panic(
        size,
        attempt(|bootmem| bootmem.alloc_bootmem_nopanic(size as u64)),
    )
}

/// `alloc_bootmem_nopanic(x)`.
#[no_mangle]
pub extern "C" fn alloc_bootmem_nopanic(size: c_ulong) -> *mut c_void {
    or_null(attempt(|bootmem| {
        bootmem.alloc_bootmem_nopanic(size as u64)
    }))
}

/// `alloc_bootmem_align(x, align)`; panics when nothing fits.
#[no_mangle]
pub extern "C" fn alloc_bootmem_align(size: c_ulong, align: c_ulong) -> *mut c_void {
    or_panic(
        size,
        attempt(|bootmem| {
            let goal = dma_goal(bootmem);
            bootmem.__alloc_bootmem_nopanic(size as u64, align as u64, goal)
        }),
    )
}

/// `alloc_bootmem_pages(x)`: page aligned, at or above 16 MiB first; panics when nothing fits.
#[no_mangle]
pub extern "C" fn alloc_bootmem_pages(size: c_ulong) -> *mut c_void {
    or_panic(
        size,
        attempt(|bootmem| bootmem.alloc_bootmem_pages_nopanic(size as u64)),
    )
}

/// `alloc_bootmem_pages_nopanic(x)`.
#[no_mangle]
pub extern "C" fn alloc_bootmem_pages_nopanic(size: c_ulong) -> *mut c_void {
    or_null(attempt(|bootmem| {
        bootmem.alloc_bootmem_pages_nopanic(size as u64)
    }))
}

/// `alloc_bootmem_node(pgdat, x)`; panics when nothing fits.
#[no_mangle]
pub extern "C" fn alloc_bootmem_node(nid: c_int, size: c_ulong) -> *mut c_void {
    or_panic(
        size,
        attempt_on(nid, |node, bootmem| {
            bootmem.alloc_bootmem_node_nopanic(node, size as u64)
        }),
    )
}

/// `alloc_bootmem_node_nopanic(pgdat, x)`.
#[no_mangle]
pub extern "C" fn alloc_bootmem_node_nopanic(nid: c_int, size: c_ulong) -> *mut c_void {
    or_null(attempt_on(nid, |node, bootmem| {
        bootmem.alloc_bootmem_node_nopanic(node, size as u64)
    }))
}

/// `alloc_bootmem_pages_node(pgdat, x)`; panics when nothing fits.
#[no_mangle]
pub extern "C" fn alloc_bootmem_pages_node(nid: c_int, size: c_ulong) -> *mut c_void {
    or_panic(
        size,
        attempt_on(nid, |node, bootmem| {
            bootmem.alloc_bootmem_pages_node_nopanic(node, size as u64)
        }),
    )
}

/// `alloc_bootmem_pages_node_nopanic(pgdat, x)`.
#[no_mangle]
pub extern "C" fn alloc_bootmem_pages_node_nopanic(nid: c_int, size: c_ulong) -> *mut c_void {
    or_null(attempt_on(nid, |node, bootmem| {
        bootmem.alloc_bootmem_pages_node_nopanic(node, size as u64)
    }))
}

/// `alloc_bootmem_low(x)`: cache-line aligned, from 0, below 4 GiB; panics when nothing fits.
#[no_mangle]
pub extern "C" fn alloc_bootmem_low(size: c_ulong) -> *mut c_void {
    or_panic(
        size,
        attempt(|bootmem| bootmem.alloc_bootmem_low_nopanic(size as u64)),
    )
}

/// `alloc_bootmem_low_pages(x)`: page aligned, from 0, below 4 GiB; panics when nothing fits.
#[no_mangle]
pub extern "C" fn alloc_bootmem_low_pages(size: c_ulong) -> *mut c_void {
    or_panic(
        size,
        attempt(|bootmem| bootmem.alloc_bootmem_low_pages_nopanic(size as u64)),
    )
}

/// `alloc_bootmem_low_pages_nopanic(x)`.
#[no_mangle]
pub extern "C" fn alloc_bootmem_low_pages_nopanic(size: c_ulong) -> *mut c_void {
    or_null(attempt(|bootmem| {
        bootmem.alloc_bootmem_low_pages_nopanic(size as u64)
    }))
}

/// `alloc_bootmem_low_pages_node(pgdat, x)`; panics when nothing fits.
#[no_mangle]
pub extern "C" fn alloc_bootmem_low_pages_node(nid: c_int, size: c_ulong) -> *mut c_void {
    or_panic(
        size,
        attempt_on(nid, |node, bootmem| {
            let page = bootmem.allocator().configuration().page_size.bytes();
            bootmem.__alloc_bootmem_low_node_nopanic(node, size as u64, page, 0)
        }),
    )
}
