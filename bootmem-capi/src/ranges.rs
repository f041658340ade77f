//! Set-up, frees, reservations and teardown: `init_bootmem_node`, `free_bootmem`, `reserve_bootmem`, `free_all_bootmem`.

use core::ffi::{c_int, c_ulong, c_void};

use bootmem::linux::{BOOTMEM_EXCLUSIVE as EXCLUSIVE_FLAG, EBUSY};
use bootmem::{FrameRange, NodeId, PageFrameNumber};

use crate::state::{self, tear_down, Allocator};
use crate::BOOTMEM_EINVAL;

/// Runs `call` on the global allocator; `None` after teardown (or during one).
fn with_allocator<T>(call: impl FnOnce(&mut Allocator) -> T) -> Option<T> {
    state::with_allocator_and_offset(|allocator, _| call(allocator))
}

/// 0 on success, `-EINVAL` for a misuse or after teardown.
fn status<E>(result: Option<Result<(), E>>) -> c_int {
    match result {
        Some(Ok(())) => 0,
        _ => -BOOTMEM_EINVAL,
    }
}

/// The node number of `nid`, or `None` when negative.
fn node(nid: c_int) -> Option<u32> {
    u32::try_from(nid).ok()
}

/// `init_bootmem_node(NODE_DATA(nid), freepfn, startpfn, endpfn)`: registers
/// node `nid` over page frames `[startpfn, endpfn)` with its bitmap in
/// physical memory at frame `freepfn` (reached through the direct map),
/// every page reserved. The bitmap's pages stay reserved until teardown.
/// Returns the bitmap's size in bytes, or 0 when the call is refused (an
/// empty or overlapping range, a node already registered, more than
/// `BOOTMEM_MAX_NODES` nodes, a negative node, after teardown).
///
/// # Safety
///
/// `bootmem_bootmap_pages(endpfn - startpfn)` pages from `freepfn` (the
/// bitmap and its search summary; they stay reserved) must be
/// mapped writable at `physical + offset`, used by nothing else (no other
/// node's bitmap) for as long as the allocator lives.
#[no_mangle]
pub unsafe extern "C" fn init_bootmem_node(
    nid: c_int,
    freepfn: c_ulong,
    startpfn: c_ulong,
    endpfn: c_ulong,
) -> c_ulong {
    let (Some(node), Some(pages)) = (node(nid), (endpfn as u64).checked_sub(startpfn as u64))
    else {
        return 0;
    };
    // Refuse what the library would refuse before making a slice of it: a
    // node or a bitmap whose end lies past 2^64, or a bitmap larger than a
    // slice can be.
    let words = bootmem::node_storage_words(pages);
    let bytes = bootmem::node_storage_bytes(pages);
    let Some(bitmap_address) = (freepfn as u64).checked_mul(4096) else {
        return 0;
    };
    let fits = (endpfn as u64).checked_mul(4096).is_some()
        && bitmap_address.checked_add(bytes).is_some()
        && bytes <= isize::MAX as u64;
    if !fits {
        return 0;
    }
    state::with_allocator_and_offset(|allocator, offset| {
        let pointer = state::pointer(offset, bitmap_address).cast::<u64>();
        if pages == 0 || pointer.is_null() || !pointer.is_aligned() {
            return 0;
        }
        // SAFETY: the caller maps the bitmap's pages at `pointer`, writable
        // and used by nothing else for the allocator's life; the pointer is
        // non-null and aligned, and `words` is what a node of `pages` pages
        // needs.
        let storage = unsafe { core::slice::from_raw_parts_mut(pointer, words as usize) };
        // The whole storage stays reserved (not only Linux's leaf bitmap
        // pages), wherever it lies in the nodes.
        let storage_pages = bootmem_bootmap_pages(pages as c_ulong) as u64;
        let Some(location) =
            FrameRange::from_start_and_len(PageFrameNumber::new(freepfn as u64), storage_pages)
        else {
            return 0;
        };
        let frames = PageFrameNumber::new(startpfn as u64)..PageFrameNumber::new(endpfn as u64);
        allocator
            .allocator_mut()
            .register_node(NodeId::new(node), frames, storage, Some(location))
            .map_or(0, |bytes| bytes as c_ulong)
    })
    .unwrap_or(0)
}

/// `init_bootmem(start, pages)`: node 0 over frames `[0, pages)`, bitmap at frame `start`.
///
/// # Safety
///
/// As [`init_bootmem_node`].
#[no_mangle]
pub unsafe extern "C" fn init_bootmem(start: c_ulong, pages: c_ulong) -> c_ulong {
    // SAFETY: the caller's contract is `init_bootmem_node`'s.
    unsafe { init_bootmem_node(0, start, 0, pages) }
}

/// Registers node `nid` over frames `[startpfn, endpfn)` with its bitmap in
/// `words` 64-bit words at `bitmap`, outside the managed memory (a static
/// array, for example). Returns the bitmap's size in bytes, or 0 when the
/// call is refused (as [`init_bootmem_node`], or too small a bitmap).
///
/// # Safety
///
/// `bitmap` must point to `words` writable, aligned words that nothing else
/// uses for as long as the allocator lives.
#[no_mangle]
pub unsafe extern "C" fn bootmem_register_node(
    nid: c_int,
    startpfn: c_ulong,
    endpfn: c_ulong,
    bitmap: *mut u64,
    words: usize,
) -> c_ulong {
    let Some(node) = node(nid) else { return 0 };
    if bitmap.is_null() || !bitmap.is_aligned() {
        return 0;
    }
    // SAFETY: the caller gives `words` writable words at `bitmap`, for
    // this allocator alone; the pointer is non-null and aligned.
    let storage = unsafe { core::slice::from_raw_parts_mut(bitmap, words) };
    let frames = PageFrameNumber::new(startpfn as u64)..PageFrameNumber::new(endpfn as u64);
    with_allocator(|bootmem| {
        bootmem
            .allocator_mut()
            .register_node(NodeId::new(node), frames, storage, None)
    })
    .and_then(Result::ok)
    .map_or(0, |bytes| bytes as c_ulong)
}

/// `bootmem_bootmap_pages(pages)`: pages of bitmap a node of `pages` pages needs.
#[no_mangle]
pub extern "C" fn bootmem_bootmap_pages(pages: c_ulong) -> c_ulong {
    let page = bootmem::Configuration::X86_64.page_size;
    page.pages_for(bootmem::node_storage_bytes(pages as u64)) as c_ulong
}

/// `free_bootmem(physaddr, size)`: frees every page wholly inside the
/// range. Returns 0, or `-EINVAL` (changing nothing) where Linux would
/// `BUG()`: a range outside the nodes or across a hole, a page already free.
#[no_mangle]
pub extern "C" fn free_bootmem(physaddr: c_ulong, size: c_ulong) -> c_int {
    status(with_allocator(|bootmem| {
        bootmem.free_bootmem(physaddr as u64, size as u64)
    }))
}

/// `free_bootmem_node(pgdat, physaddr, size)`: as [`free_bootmem`], on node `nid` only.
#[no_mangle]
pub extern "C" fn free_bootmem_node(nid: c_int, physaddr: c_ulong, size: c_ulong) -> c_int {
    let Some(node) = node(nid) else {
        return -BOOTMEM_EINVAL;
    };
    status(with_allocator(|bootmem| {
        bootmem.free_bootmem_node(node, physaddr as u64, size as u64)
    }))
}

/// 0, `-EBUSY`, or `-EINVAL` from a reservation's result.
fn reservation_status<E>(result: Option<Result<i32, E>>) -> c_int {
    match result {
        Some(Ok(code)) => code,
        _ => -BOOTMEM_EINVAL,
    }
}

/// The library's flags from the C `flags`.
fn flags_of(flags: c_int) -> u32 {
    if flags & crate::BOOTMEM_EXCLUSIVE != 0 {
        EXCLUSIVE_FLAG
    } else {
        0
    }
}

/// `reserve_bootmem(addr, size, flags)`: reserves every page the range
/// touches. Returns 0; `-EBUSY` with `BOOTMEM_EXCLUSIVE` when a page was
/// already reserved (nothing changed); `-EINVAL` where Linux would `BUG()`.
#[no_mangle]
pub extern "C" fn reserve_bootmem(addr: c_ulong, size: c_ulong, flags: c_int) -> c_int {
    debug_assert_eq!(EBUSY, -crate::BOOTMEM_EBUSY);
    reservation_status(with_allocator(|bootmem| {
        bootmem.reserve_bootmem(addr as u64, size as u64, flags_of(flags))
    }))
}

/// `reserve_bootmem_node(pgdat, addr, size, flags)`: as [`reserve_bootmem`], on node `nid` only.
#[no_mangle]
pub extern "C" fn reserve_bootmem_node(
    nid: c_int,
    addr: c_ulong,
    size: c_ulong,
    flags: c_int,
) -> c_int {
    let Some(node) = node(nid) else {
        return -BOOTMEM_EINVAL;
    };
    reservation_status(with_allocator(|bootmem| {
        bootmem.reserve_bootmem_node(node, addr as u64, size as u64, flags_of(flags))
    }))
}

/// A function that receives each block of the teardown: its first page
/// frame, its order (`2^order` pages) and the context given to
/// [`bootmem_free_all_with`].
pub type BootmemReleaseFunction =
    Option<unsafe extern "C" fn(pfn: u64, order: u32, context: *mut c_void)>;

/// `free_all_bootmem()` with a callback: hands every free page, then every
/// bitmap page, to `release` (when not `NULL`) and returns the number of
/// pages. Afterwards every call fails until `bootmem_set_direct_map` starts
/// over. Returns 0 when already torn down.
///
/// The blocks are handed out where the allocator lies, under its lock. A
/// call into the library made meanwhile, by `release` or by another CPU,
/// finds the allocator torn down (an allocation returns `NULL` or panics,
/// a free returns `-EINVAL`) and `bootmem_set_direct_map` returns
/// `-EBUSY`; none of them waits for the lock.
///
/// # Safety
///
/// `release` must be `NULL` or a function safe to call with `context`.
#[no_mangle]
pub unsafe extern "C" fn bootmem_free_all_with(
    release: BootmemReleaseFunction,
    context: *mut c_void,
) -> c_ulong {
    let released = tear_down(|block| {
        if let Some(function) = release {
            // SAFETY: the caller's contract for `release` and `context`.
            unsafe { function(block.start.as_u64(), u32::from(block.order), context) };
        }
    });
    released.unwrap_or(0) as c_ulong
}

/// `free_all_bootmem()`: tears the allocator down and returns the number
/// of pages released (free pages and bitmap pages). Returns 0 when already
/// torn down.
#[no_mangle]
pub extern "C" fn free_all_bootmem() -> c_ulong {
    // SAFETY: no function is called.
    unsafe { bootmem_free_all_with(None, core::ptr::null_mut()) }
}
