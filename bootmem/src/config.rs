//! The machine constants bootmem depends on, with the x86-64 values as defaults.
//!
//! Linux fixes these at compile time per architecture (`PAGE_SIZE`,
//! `SMP_CACHE_BYTES`, `MAX_DMA_ADDRESS`, `ARCH_LOW_ADDRESS_LIMIT`,
//! `MAX_DMA32_PFN`); here they are one value chosen when the allocator is made.

use crate::address::{PageFrameNumber, PageSize, PhysicalAddress};

/// The constants of one machine.
///
/// ```
/// use bootmem::{Configuration, PageSize, PhysicalAddress};
/// let x86 = Configuration::X86_64;
/// assert_eq!(x86.page_size, PageSize::SIZE_4KIB);
/// assert_eq!(x86.cache_line_bytes, 64);
/// assert_eq!(x86.dma_limit, PhysicalAddress::new(0x100_0000));
///
/// // An s390-like machine whose low memory ends at 2 GiB:
/// let s390 = Configuration { low_address_limit: PhysicalAddress::new(0x7fff_ffff), ..Configuration::X86_64 };
/// assert_eq!(s390.page_size.bytes(), 4096);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Configuration {
    /// Bytes in a page (`PAGE_SIZE`).
    pub page_size: PageSize,
    /// The cache line (`SMP_CACHE_BYTES`): the default alignment of small allocations.
    pub cache_line_bytes: u64,
    /// The end of ISA DMA memory (`__pa(MAX_DMA_ADDRESS)`, Linux's
    /// `BOOTMEM_LOW_LIMIT`): the default goal of every allocation that is not a
    /// `_low` one, so ordinary allocations stay out of DMA memory.
    pub dma_limit: PhysicalAddress,
    /// The limit of the `_low` allocations (`ARCH_LOW_ADDRESS_LIMIT`), an
    /// exclusive byte address truncated to a page like every limit.
    pub low_address_limit: PhysicalAddress,
    /// The first page frame above 32-bit DMA memory (`MAX_DMA32_PFN`); only
    /// [`NodePreference::PreferAboveDma32`](crate::NodePreference::PreferAboveDma32) uses it.
    pub dma32_end: PageFrameNumber,
}

impl Configuration {
    /// x86-64: 4 KiB pages, 64-byte cache lines, DMA below 16 MiB, low memory
    /// below 4 GiB, DMA32 up to page frame 0x100000.
    pub const X86_64: Self = Self {
        page_size: PageSize::SIZE_4KIB,
        cache_line_bytes: 64,
        dma_limit: PhysicalAddress::new(0x100_0000),
        low_address_limit: PhysicalAddress::new(0xffff_ffff),
        dma32_end: PageFrameNumber::new(0x10_0000),
    };
}

impl Default for Configuration {
    fn default() -> Self {
        Self::X86_64
    }
}
