//! Optional adapters to the ecosystem's traits, each behind its own feature.
//!
//! | feature | module | what it gives |
//! |---|---|---|
//! | `x86_64` | [`x86_64`] | the `x86_64` crate's `FrameAllocator` for 4 KiB, 2 MiB and 1 GiB frames; conversions between its `PhysAddr`/`PhysFrame` and this crate's types |
//! | `lock_api` | [`lock`] | [`LockedBootAllocator`](lock::LockedBootAllocator): the allocator behind any `lock_api` mutex, built in a `static` for SMP bring-up |
//! | `heap` | [`heap`] | `GlobalAlloc` over the locked allocator's sub-page allocations: an early heap for `alloc::vec::Vec` before the real one |
//! | `allocator-api2` | [`heap`] | the same early heap as an `allocator_api2::alloc::Allocator` |
//!
//! None of them is on by default; the core library needs none of them.

#[cfg(feature = "heap")]
#[cfg_attr(docsrs, doc(cfg(feature = "heap")))]
pub mod heap;
#[cfg(feature = "lock_api")]
#[cfg_attr(docsrs, doc(cfg(feature = "lock_api")))]
pub mod lock;
#[cfg(feature = "x86_64")]
#[cfg_attr(docsrs, doc(cfg(feature = "x86_64")))]
pub mod x86_64;
