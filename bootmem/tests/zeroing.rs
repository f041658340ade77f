//! The allocator zeroes what it hands out, through `PhysicalMemory`, on real host memory.
//!
//! A buffer stands for physical memory: `OffsetMapped` maps physical
//! address `p` to `buffer + p`. Every byte starts at 0xAA; after each
//! allocation exactly its `size` bytes must be zero and every other byte
//! untouched (Linux zeroes the block, not the rest of its last page).
//! Runs under Miri too (`cargo +nightly miri test -p bootmem --test zeroing`).

use bootmem::linux::Bootmem;
use bootmem::memory::OffsetMapped;
use bootmem::Configuration;

const PAGE: u64 = 4096;
const PAGES: u64 = 8;

/// Allocates through an `OffsetMapped` view of `memory` and checks every
/// byte after each call.
#[test]
fn every_allocation_is_zeroed_exactly_through_physical_memory() {
    let mut memory = vec![0xaau8; (PAGES * PAGE) as usize];
    let base = memory.as_mut_ptr() as u64;
    // SAFETY: the allocator's only node covers physical 0..PAGES pages,
    // which map onto `memory` (alive and not otherwise touched until the
    // allocator is gone); the bitmap lives in its own vector.
    let physical = unsafe { OffsetMapped::with_offset(base) };
    let configuration = Configuration {
        dma_limit: bootmem::PhysicalAddress::new(PAGE),
        ..Configuration::X86_64
    };
    let mut bootmem: Bootmem<Vec<u64>, OffsetMapped, 1> = Bootmem::new(configuration, physical);
    let storage = vec![0; bootmem::node_storage_words(PAGES) as usize];
    bootmem
        .init_bootmem_node(0, 0x1000, 0, PAGES, storage)
        .unwrap();
    bootmem.free_bootmem(0, PAGES * PAGE).unwrap();

    let mut expected = vec![0xaau8; memory.len()];
    for size in [100u64, 64, 5000, 1, PAGE] {
        let address = bootmem.alloc_bootmem(size).unwrap().as_u64();
        expected[address as usize..(address + size) as usize].fill(0);
        // SAFETY: reading the buffer the allocator zeroed through its raw
        // pointer; no write is in flight.
        let seen = unsafe { core::slice::from_raw_parts(base as *const u8, memory.len()) };
        assert_eq!(
            seen,
            &expected[..],
            "after allocating {size} bytes at {address:#x}"
        );
    }
    // A failed call zeroes nothing.
    assert_eq!(bootmem.alloc_bootmem_nopanic(PAGES * PAGE), Ok(None));
    drop(bootmem);
    assert_eq!(memory, expected);
}
