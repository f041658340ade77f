//! How the allocator reaches physical memory to zero what it hands out.
//!
//! Linux zeroes every allocation through the direct map. The allocator only
//! knows physical addresses, so the user says how to reach them: through an
//! identity map, a fixed offset (a higher-half direct map), or not at all in
//! a simulation. This is one of the two places in the crate with `unsafe`
//! code; each block states why it is sound.

use crate::address::PhysicalAddress;

/// Reaches physical memory on the allocator's behalf.
///
/// The allocator calls [`zero`](Self::zero) exactly once for each block it
/// hands out, with the block's address and the size asked for, after the
/// block's pages are marked reserved and before the address is returned.
///
/// ```
/// use bootmem::memory::PhysicalMemory;
/// use bootmem::PhysicalAddress;
///
/// /// Counts the bytes a simulation would have zeroed.
/// #[derive(Default)]
/// struct Counting(u64);
/// impl PhysicalMemory for Counting {
///     fn zero(&mut self, _start: PhysicalAddress, size: u64) {
///         self.0 += size;
///     }
/// }
/// ```
pub trait PhysicalMemory {
    /// Fills `size` bytes from physical address `start` with zeros.
    fn zero(&mut self, start: PhysicalAddress, size: u64);
}

/// Touches no memory: for simulations and tests, where the addresses are
/// not backed by anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoZeroing;

impl PhysicalMemory for NoZeroing {
    fn zero(&mut self, _start: PhysicalAddress, _size: u64) {}
}

/// Physical memory mapped at a fixed virtual offset: physical address `p`
/// is reachable at virtual address `p + offset` (wrapping, so a higher-half
/// map at a "negative" offset works). An offset of 0 is an identity map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetMapped {
    offset: u64,
}

/// Identity-mapped physical memory, as early boot code usually has.
pub type IdentityMapped = OffsetMapped;

impl OffsetMapped {
    /// Physical memory reached through an identity map.
    ///
    /// # Safety
    ///
    /// Every physical address the allocator's nodes cover must be mapped
    /// writable at the same virtual address for as long as the allocator
    /// lives, and nothing else may rely on the contents of free pages.
    pub const unsafe fn identity() -> Self {
        Self { offset: 0 }
    }

    /// Physical memory reached at `offset` above its physical address.
    ///
    /// # Safety
    ///
    /// Every physical address `p` the allocator's nodes cover must be mapped
    /// writable at virtual address `p + offset` (wrapping) for as long as the
    /// allocator lives, and nothing else may rely on the contents of free
    /// pages.
    pub const unsafe fn with_offset(offset: u64) -> Self {
        Self { offset }
    }

    /// The virtual address at which `physical` is reachable.
    pub const fn virtual_address(&self, physical: PhysicalAddress) -> usize {
        physical.as_u64().wrapping_add(self.offset) as usize
    }
}

impl PhysicalMemory for OffsetMapped {
    fn zero(&mut self, start: PhysicalAddress, size: u64) {
        let pointer = self.virtual_address(start) as *mut u8;
        // SAFETY: the constructor's contract maps every node page writable at
        // `p + offset`; the allocator passes only a block it has just
        // reserved for its caller, so no other owner reads or writes it.
        unsafe { core::ptr::write_bytes(pointer, 0, size as usize) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_mapped_zeroes_exactly_the_block() {
        let mut buffer = [0xaau8; 64];
        let base = buffer.as_mut_ptr() as u64;
        // SAFETY: physical addresses 0..64 map onto `buffer`, which outlives
        // `memory`, and nothing else reads it while it is zeroed.
        let mut memory = unsafe { OffsetMapped::with_offset(base) };
        memory.zero(PhysicalAddress::new(8), 16);
        assert!(buffer[..8].iter().all(|byte| *byte == 0xaa));
        assert!(buffer[8..24].iter().all(|byte| *byte == 0));
        assert!(buffer[24..].iter().all(|byte| *byte == 0xaa));
    }
}
