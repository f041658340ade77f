//! The sizes Linux v4.19 computes from the machine for its early allocations, shared by every architecture.

use super::sequence::MIB;
use crate::parse::CommandMemoryMap;

/// `NR_PAGEBLOCK_BITS`: migrate type and skip bits of one page block (include/linux/pageblock-flags.h).
const PAGEBLOCK_BITS: u64 = 4;

/// `alloc_large_system_hash`'s sizing (mm/page_alloc.c, v4.19, `HASH_EARLY`
/// with no fixed count): one entry per `2^scale` bytes of the kernel's
/// pages (counted in whole MiB when pages are smaller), rounded up to a
/// power of two, at most 1/16 of memory.
pub fn hash_table_bytes(ram_pages: u64, page_shift: u32, bucket_bytes: u64, scale: u32) -> u64 {
    let page_bytes = 1u64 << page_shift;
    let mut entries = ram_pages;
    if page_shift < 20 {
        let round = MIB / page_bytes;
        entries = entries.div_ceil(round) * round;
    }
    if scale > page_shift {
        entries >>= scale - page_shift;
    } else {
        entries <<= page_shift - scale;
    }
    let entries = entries.max(1).next_power_of_two();
    let most = ((ram_pages << page_shift) >> 4) / bucket_bytes;
    let most = most.clamp(1, 0x8000_0000);
    let entries = if entries > most {
        1u64 << (63 - most.leading_zeros())
    } else {
        entries
    };
    entries * bucket_bytes
}

/// The memory sections of `2^section_bits` bytes that hold RAM of `node`
/// (`memblocks_present` in mm/sparse.c marks each such section present).
pub fn present_sections(map: &CommandMemoryMap, node: bootmem::NodeId, section_bits: u32) -> u64 {
    let mut sections: Vec<u64> = map
        .ram_ranges()
        .filter(|range| range.node == Some(node))
        .flat_map(|range| {
            let first = range.start.as_u64() >> section_bits;
            let last = (range.end.as_u64() - 1) >> section_bits;
            first..=last
        })
        .collect();
    sections.sort_unstable();
    sections.dedup();
    sections.len() as u64
}

/// `usemap_size()` (mm/sparse.c): the page-block flags of one section,
/// in whole `unsigned long`s.
pub fn usemap_bytes_per_section(section_bits: u32, page_shift: u32, pageblock_order: u32) -> u64 {
    let blocks = 1u64 << (section_bits - page_shift - pageblock_order);
    (blocks * PAGEBLOCK_BITS).div_ceil(64) * 8
}

/// `section_map_size()` with `SPARSEMEM_VMEMMAP` (mm/sparse.c): one
/// section's `struct page`s, rounded up to a 2 MiB PMD.
pub fn vmemmap_bytes_per_section(section_bits: u32, page_shift: u32, struct_page: u64) -> u64 {
    let bytes = (1u64 << (section_bits - page_shift)) * struct_page;
    bytes.div_ceil(2 * MIB) * 2 * MIB
}

/// `usemapsize()` (mm/page_alloc.c, FLATMEM): one zone's page-block flags,
/// from its first page (rounded down to a page block) to its end, in whole longs.
pub fn zone_usemap_bytes(zone_start_pfn: u64, zone_pages: u64, pageblock_order: u32) -> u64 {
    let block = 1u64 << pageblock_order;
    let pages = zone_pages + (zone_start_pfn & (block - 1));
    let bits = pages.div_ceil(block) * PAGEBLOCK_BITS;
    bits.div_ceil(64) * 8
}

/// `setup_log_buf` with `log_buf_add_cpu` (kernel/printk/printk.c): the
/// static buffer (`CONFIG_LOG_BUF_SHIFT` 17: 128 KiB) is replaced by an early
/// allocation only when the extra 4 KiB per possible CPU beyond the first
/// exceeds half of it; the new length is the sum rounded up to a power of two.
pub fn log_buffer_bytes(cpus: u64) -> Option<u64> {
    const LOG_BUF: u64 = 1 << 17;
    const PER_CPU: u64 = 1 << 12;
    let extra = cpus.saturating_sub(1) * PER_CPU;
    (extra > LOG_BUF / 2).then(|| (LOG_BUF + extra).next_power_of_two())
}

/// `pcpu_embed_first_chunk` (mm/percpu.c): one node's group of units,
/// `cpus` rounded up to the units one atom holds.
pub fn percpu_group_bytes(cpus: u64, unit: u64, atom: u64) -> Option<u64> {
    let units_per_atom = (atom / unit).max(1);
    cpus.div_ceil(units_per_atom)
        .checked_mul(units_per_atom)?
        .checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tables_are_sized_as_linux_sizes_them() {
        // 64 GiB of 4 KiB pages: Linux prints 8388608 dentry and 4194304 inode entries.
        let pages = (64u64 << 30) >> 12;
        assert_eq!(hash_table_bytes(pages, 12, 8, 13), 8_388_608 * 8);
        assert_eq!(hash_table_bytes(pages, 12, 8, 14), 4_194_304 * 8);
        // Rounded up to a power of two, capped at 1/16 of memory.
        assert_eq!(hash_table_bytes(3 * 256, 12, 8, 13), 512 * 8);
        assert_eq!(hash_table_bytes(16, 12, 8, 0), (16 * 4096 / 16) / 8 * 8);
    }

    #[test]
    fn sparse_sizes_follow_the_section_geometry() {
        // x86-64: 128 MiB sections, 512-page blocks: 64 blocks * 4 bits = 32 bytes.
        assert_eq!(usemap_bytes_per_section(27, 12, 9), 32);
        // arm64: 1 GiB sections: 512 blocks * 4 bits = 256 bytes.
        assert_eq!(usemap_bytes_per_section(30, 12, 9), 256);
        assert_eq!(vmemmap_bytes_per_section(27, 12, 64), 2 << 20);
        assert_eq!(vmemmap_bytes_per_section(30, 12, 64), 16 << 20);
        // FLATMEM: 1024-page blocks; a zone of 3 blocks and a bit needs one long.
        assert_eq!(zone_usemap_bytes(0, 3 * 1024 + 1, 10), 8);
        assert_eq!(zone_usemap_bytes(0, 17 * 1024, 10), 16);
    }

    #[test]
    fn log_and_percpu_sizes() {
        assert_eq!(log_buffer_bytes(4), None);
        assert_eq!(log_buffer_bytes(64), Some(512 << 10));
        assert_eq!(percpu_group_bytes(16, 256 << 10, 2 << 20), Some(4 << 20));
        assert_eq!(percpu_group_bytes(3, 256 << 10, 2 << 20), Some(2 << 20));
        assert_eq!(percpu_group_bytes(3, 92 << 10, 4096), Some(3 * (92 << 10)));
    }
}
