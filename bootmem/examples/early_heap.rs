//! An early heap on a host: `alloc::vec::Vec`, `String` and `Box` served by bootmem from simulated RAM.
//!
//! A kernel would write `#[global_allocator] static HEAP: LockedBootAllocator<...>`
//! and be done. A host program already has a heap that the standard library
//! uses before `main`, so this one installs a global allocator that sends
//! requests to bootmem while the "early boot" phase lasts and to the
//! system's heap otherwise, and sends each free to whoever owns the pointer.
//!
//! The simulated RAM is a static, page-aligned array reached through an
//! identity map: its host addresses are its "physical" addresses.
//!
//! Run: `cargo run -p bootmem --example early_heap --features heap,allocator-api2`

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr::addr_of_mut;
use std::sync::atomic::{AtomicBool, Ordering};

use bootmem::adapters::lock::LockedBootAllocator;
use bootmem::memory::IdentityMapped;
use bootmem::{Configuration, NodeId, PageFrameNumber, PhysicalAddress};

/// 8 MiB of simulated RAM.
const RAM_BYTES: usize = 8 << 20;
const PAGE_BYTES: u64 = 4096;
const RAM_PAGES: u64 = RAM_BYTES as u64 / PAGE_BYTES;

#[repr(C, align(4096))]
struct Ram([u8; RAM_BYTES]);

static mut RAM: Ram = Ram([0; RAM_BYTES]);
static mut BITMAP: [u64; bootmem::node_storage_words(RAM_PAGES) as usize] =
    [0; bootmem::node_storage_words(RAM_PAGES) as usize];

type EarlyHeap = LockedBootAllocator<spin::Mutex<()>, &'static mut [u64], IdentityMapped, 1>;

/// The early heap, built at compile time.
// SAFETY: the only node registered below is `RAM`, a static that nothing but
// this allocator and the blocks it hands out touches, at its own address.
static EARLY_HEAP: EarlyHeap =
    LockedBootAllocator::new(Configuration::X86_64, unsafe { IdentityMapped::identity() });

/// Whether new allocations go to the early heap.
static EARLY_BOOT: AtomicBool = AtomicBool::new(false);

fn ram_start() -> u64 {
    addr_of_mut!(RAM) as u64
}

fn in_ram(pointer: *mut u8) -> bool {
    (ram_start()..ram_start() + RAM_BYTES as u64).contains(&(pointer as u64))
}

/// bootmem during early boot, the system's heap before and after.
struct EarlyThenSystem;

// SAFETY: each block comes from one of two sound allocators and goes back
// to the one whose memory holds it.
unsafe impl GlobalAlloc for EarlyThenSystem {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if EARLY_BOOT.load(Ordering::Acquire) {
            // SAFETY: the caller's layout contract is passed on.
            unsafe { EARLY_HEAP.alloc(layout) }
        } else {
            // SAFETY: as above.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        if in_ram(pointer) {
            // SAFETY: a block inside `RAM` came from `EARLY_HEAP.alloc`.
            unsafe { EARLY_HEAP.dealloc(pointer, layout) }
        } else {
            // SAFETY: every other block came from `System`.
            unsafe { System.dealloc(pointer, layout) }
        }
    }
}

#[global_allocator]
static GLOBAL: EarlyThenSystem = EarlyThenSystem;

fn free_pages() -> u64 {
    EARLY_HEAP
        .with(|allocator| allocator.free_pages())
        .expect("not torn down yet")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // What a kernel's boot CPU does once it knows its RAM.
    let first = PageFrameNumber::new(ram_start() / PAGE_BYTES);
    let end = PageFrameNumber::new(first.as_u64() + RAM_PAGES);
    // SAFETY: the one and only reference to BITMAP, taken before anything runs.
    let bitmap: &'static mut [u64] = unsafe { &mut *addr_of_mut!(BITMAP) };
    EARLY_HEAP.with(|allocator| -> Result<(), Box<dyn std::error::Error>> {
        allocator.register_node(NodeId::new(0), first..end, bitmap, None)?;
        allocator.free(PhysicalAddress::new(ram_start()), RAM_BYTES as u64)?;
        Ok(())
    })??;
    println!(
        "early heap: {RAM_PAGES} pages of simulated RAM at {:#x}",
        ram_start()
    );

    EARLY_BOOT.store(true, Ordering::Release);
    let squares: Vec<u64> = (0..100_000u64).map(|n| n * n).collect();
    let greeting = String::from("hello from bootmem");
    let boxed = Box::new([7u8; 100]);
    let mut pairs = allocator_api2::vec::Vec::new_in(&EARLY_HEAP);
    pairs.extend((0..100u32).map(|n| (n, n + 1)));
    EARLY_BOOT.store(false, Ordering::Release);

    for (what, pointer) in [
        ("Vec<u64>", squares.as_ptr() as *mut u8),
        ("String", greeting.as_ptr() as *mut u8),
        ("Box<[u8; 100]>", boxed.as_ptr() as *mut u8),
        ("allocator_api2 Vec", pairs.as_ptr() as *mut u8),
    ] {
        assert!(in_ram(pointer), "{what} is not in the simulated RAM");
        println!("{what:>20} at RAM + {:#x}", pointer as u64 - ram_start());
    }
    assert_eq!(squares[99_999], 99_999 * 99_999);
    assert_eq!(greeting.len(), 18);
    assert_eq!(boxed.iter().map(|byte| u32::from(*byte)).sum::<u32>(), 700);
    assert_eq!(pairs[99], (99, 100));

    // Freeing gives back the whole pages inside a block, as free_bootmem does.
    let before = free_pages();
    let vector_pages = (100_000 * 8) / PAGE_BYTES; // at least this many lie wholly inside
    drop(squares);
    let after = free_pages();
    println!(
        "dropping the Vec<u64> returned {} whole pages",
        after - before
    );
    assert!(after - before >= vector_pages - 1 && after - before <= vector_pages + 1);

    let released = EARLY_HEAP.free_all().expect("first teardown").count_pages();
    println!("free_all_bootmem: {released} pages handed to the page allocator");
    assert_eq!(released, after);
    Ok(())
}
