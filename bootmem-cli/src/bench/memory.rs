//! Bitmap memory for the benchmarks, mapped as a kernel maps it: in large pages where the host allows.
//!
//! A kernel reads its bitmaps through the direct map, which x86_64,
//! arm64 and riscv64 kernels build from 2 MiB and 1 GiB pages, so walking
//! a TiB's bitmap costs no TLB miss per 4 KiB. A process's heap is mapped
//! in 4 KiB pages unless it asks: on Linux, where transparent huge pages
//! are offered on request (`madvise` mode, the common default), every
//! buffer here asks for them before it is first touched. The limits
//! (reading and writing the bitmap once) use the same memory, so the
//! ratios compare like with like. Elsewhere, or where the host says no,
//! the buffers are plain heap memory and nothing else changes.

/// `count` words, each `value`, in memory the host was asked to map with
/// large pages.
pub fn words(count: usize, value: u64) -> Vec<u64> {
    let mut words = Vec::with_capacity(count);
    ask_for_large_pages(words.as_mut_ptr(), count * size_of::<u64>());
    words.resize(count, value);
    words
}

/// Asks Linux to back `[start, start + bytes)` with transparent huge
/// pages (`MADV_HUGEPAGE`), rounded inward to whole 4 KiB pages. Advice
/// only: a refusal changes nothing but speed.
#[cfg(target_os = "linux")]
fn ask_for_large_pages(start: *mut u64, bytes: usize) {
    const SMALL_PAGE: usize = 4096;
    let first = (start as usize).next_multiple_of(SMALL_PAGE);
    let end = (start as usize + bytes) / SMALL_PAGE * SMALL_PAGE;
    if end > first {
        // SAFETY: `madvise` with `MADV_HUGEPAGE` only changes how the
        // kernel backs pages of this process's own allocation (the range
        // lies inside it, page-aligned); it moves and frees nothing, and
        // an error return is harmless.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn ask_for_large_pages(_start: *mut u64, _bytes: usize) {}

#[cfg(test)]
mod tests {
    #[test]
    fn words_hold_the_value_asked_for() {
        let words = super::words(5 << 18, 7);
        assert_eq!(words.len(), 5 << 18);
        assert!(words.iter().all(|&word| word == 7));
        assert!(super::words(0, 1).is_empty());
    }
}
