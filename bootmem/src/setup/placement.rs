//! Where a node's bitmap storage goes: the highest free pages of the node's own RAM.

use crate::address::{PageSize, PhysicalAddress, PhysicalRange};
use crate::memory_map::MemoryMap;
use crate::node_id::NodeId;

use super::error::SetupError;

/// The highest page-aligned `bytes` (a multiple of the page size) of
/// `node`'s RAM that lie in one RAM range of the map and overlap none of
/// `in_use`.
///
/// # Errors
///
/// [`SetupError::NodeTooSmall`] when no RAM range of the node holds `bytes`,
/// [`SetupError::NoRoomForBitmap`] when the ranges in use leave no room.
pub(super) fn place_bitmap<const RANGES: usize, const NODES: usize>(
    map: &MemoryMap<RANGES, NODES>,
    node: NodeId,
    bytes: u64,
    in_use: &[PhysicalRange],
) -> Result<PhysicalRange, SetupError> {
    let page = map.page_size();
    let mut largest_ram_range = 0;
    let ram_of_node = map
        .ranges()
        .iter()
        .rev()
        .filter(|range| range.kind.is_ram() && range.node == Some(node));
    for ram in ram_of_node {
        let ram = ram.as_physical_range();
        largest_ram_range = largest_ram_range.max(ram.size());
        if let Some(found) = highest_clear_piece(ram, bytes, in_use, page) {
            return Ok(found);
        }
    }
    if largest_ram_range < bytes {
        Err(SetupError::NodeTooSmall {
            node,
            bitmap_bytes: bytes,
            largest_ram_range,
        })
    } else {
        Err(SetupError::NoRoomForBitmap {
            node,
            bitmap_bytes: bytes,
        })
    }
}

/// The highest page-aligned piece of `bytes` inside `ram` that overlaps none
/// of `in_use`. Each try that meets a range in use moves below the lowest
/// one it meets, so the loop ends after at most one try per range in use.
fn highest_clear_piece(
    ram: PhysicalRange,
    bytes: u64,
    in_use: &[PhysicalRange],
    page: PageSize,
) -> Option<PhysicalRange> {
    let mut high = ram.end();
    loop {
        let start =
            PhysicalAddress::new(high.as_u64().checked_sub(bytes)?).align_down(page.bytes());
        if start < ram.start() {
            return None;
        }
        let candidate = PhysicalRange::from_start_and_size(start, bytes)?;
        let lowest_blocker = in_use
            .iter()
            .filter(|range| range.overlaps(&candidate))
            .map(PhysicalRange::start)
            .min();
        match lowest_blocker {
            None => return Some(candidate),
            Some(blocker) => high = blocker.align_down(page.bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: u64, end: u64) -> PhysicalRange {
        PhysicalRange::new(PhysicalAddress::new(start), PhysicalAddress::new(end)).unwrap()
    }

    #[test]
    fn top_of_the_range_when_nothing_is_in_use() {
        let found = highest_clear_piece(range(0, 0x10_0000), 0x2000, &[], PageSize::SIZE_4KIB);
        assert_eq!(found, Some(range(0xf_e000, 0x10_0000)));
    }

    #[test]
    fn below_every_range_in_use_it_meets() {
        // Two ranges in use near the top, the lower one unaligned.
        let in_use = [range(0xf_f000, 0x10_0000), range(0xf_d800, 0xf_e000)];
        let found = highest_clear_piece(range(0, 0x10_0000), 0x2000, &in_use, PageSize::SIZE_4KIB);
        assert_eq!(found, Some(range(0xf_b000, 0xf_d000)));
    }

    #[test]
    fn a_piece_as_large_as_the_range_fills_it() {
        let page = PageSize::SIZE_4KIB;
        assert_eq!(
            highest_clear_piece(range(0x1000, 0x3000), 0x2000, &[], page),
            Some(range(0x1000, 0x3000))
        );
    }

    #[test]
    fn nothing_when_the_range_is_too_small_or_covered() {
        let page = PageSize::SIZE_4KIB;
        assert_eq!(
            highest_clear_piece(range(0x1000, 0x2000), 0x2000, &[], page),
            None
        );
        let in_use = [range(0, 0x10_0000)];
        assert_eq!(
            highest_clear_piece(range(0x1000, 0x8000), 0x1000, &in_use, page),
            None
        );
    }
}
