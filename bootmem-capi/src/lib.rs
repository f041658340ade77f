//! A C ABI for bootmem: Linux's bootmem functions over one global allocator, for kernels written in C.
//!
//! Build the static library (`cargo build -p bootmem-capi --release` gives
//! `target/release/libbootmem_capi.a`), include `include/bootmem.h` and
//! call the functions as a v4.19 kernel would. For a kernel, build it
//! freestanding: `--no-default-features` (no `std` feature) makes the crate
//! `no_std`, with its own panic handler, for a target such as
//! `x86_64-unknown-none`; it then needs no C library. The differences from
//! Linux:
//!
//! - node arguments are node numbers (`int nid`), not `pg_data_t *`;
//! - the `alloc_bootmem*` macros of Linux's header are functions;
//! - physical memory is reached at a fixed offset set by
//!   [`bootmem_set_direct_map`] (identity until then): that is where the
//!   bitmaps of [`init_bootmem_node`] live and where blocks are zeroed, and
//!   allocations return `physical + offset` as Linux returns `phys_to_virt`;
//! - frees return `int`: 0, or `-EINVAL` for a call Linux would `BUG()` on;
//! - every call Linux would `BUG()` on changes nothing and returns `-EINVAL`,
//!   0 or `NULL` (see each function); the panicking allocations call the
//!   handler set with [`bootmem_set_panic_handler`] and then abort.
//!
//! Placement is the `bootmem` crate's: v4.19's, with its documented
//! deviations. All calls take a spin lock, so several CPUs may call them.
//!
//! ```c
//! #include "bootmem.h"
//! bootmem_set_direct_map(0);                          /* RAM identity-mapped */
//! init_bootmem_node(0, 0x100, 0, 0x10000);            /* 256 MiB, bitmap at 1 MiB */
//! free_bootmem(0, 256ul << 20);
//! reserve_bootmem(0, 4096, BOOTMEM_EXCLUSIVE);
//! void *table = alloc_bootmem(100);                   /* at 16 MiB, zeroed */
//! unsigned long pages = free_all_bootmem();
//! ```
//!
//! The same from Rust, over 32 MiB of simulated RAM:
//!
//! ```
//! use bootmem_capi::*;
//! use std::alloc::{alloc_zeroed, Layout};
//!
//! let ram = unsafe { alloc_zeroed(Layout::from_size_align(32 << 20, 4096).unwrap()) };
//! // SAFETY: physical [0, 32 MiB) is `ram`, never freed, used by nothing else.
//! unsafe { bootmem_set_direct_map(ram as u64) };
//! // SAFETY: the bitmap's page, frame 1, is inside `ram`.
//! assert!(unsafe { init_bootmem_node(0, 1, 0, 0x2000) } > 0);
//! assert_eq!(free_bootmem(0, 32 << 20), 0);
//! assert_eq!(reserve_bootmem(0, 4096, BOOTMEM_EXCLUSIVE), 0);
//! assert_eq!(reserve_bootmem(0x1000, 1, BOOTMEM_EXCLUSIVE), -BOOTMEM_EBUSY); // the bitmap
//! let table = alloc_bootmem(100);
//! assert_eq!(table as usize - ram as usize, 16 << 20); // the default goal
//! assert!(alloc_bootmem_nopanic(64 << 20).is_null());
//! assert_eq!(free_bootmem(1 << 40, 4096), -BOOTMEM_EINVAL);
//! assert_eq!(free_all_bootmem(), 0x2000 - 2); // all but page 0 and the table's page
//! ```
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(clippy::missing_safety_doc)]
// every unsafe function has a "# Safety" section below
// `c_ulong` is `u64` on LP64 targets but `u32` on others: the `as u64` casts are needed there.
#![allow(clippy::unnecessary_cast)]

#[cfg(feature = "std")]
extern crate std;

mod allocate;
mod fatal;
mod ranges;
mod state;

pub use allocate::*;
pub use fatal::{bootmem_set_panic_handler, BootmemPanicHandler};
pub use ranges::*;
pub use state::bootmem_set_direct_map;

/// `BOOTMEM_DEFAULT`: a reservation may overlap pages already reserved.
pub const BOOTMEM_DEFAULT: i32 = 0;
/// `BOOTMEM_EXCLUSIVE`: a reservation fails with `-EBUSY` on a reserved page.
pub const BOOTMEM_EXCLUSIVE: i32 = 1;
/// Linux's `EBUSY`: [`reserve_bootmem`] returns its negative.
pub const BOOTMEM_EBUSY: i32 = 16;
/// Linux's `EINVAL`: calls Linux would `BUG()` on return its negative.
pub const BOOTMEM_EINVAL: i32 = 22;
/// The most NUMA nodes the global allocator holds.
pub const BOOTMEM_MAX_NODES: usize = 64;
