//! A half-open range of physical bytes whose end never lies below its start.

use core::fmt;

use super::frame_range::FrameRange;
use super::{PageSize, PhysicalAddress};

/// The bytes `[start, end)` of physical memory.
///
/// The constructors refuse an end below the start and an end past 2^64, so
/// every value is a well-formed range; an empty range (`start == end`) is
/// allowed and overlaps nothing.
///
/// ```
/// use bootmem::{PageSize, PhysicalAddress, PhysicalRange};
/// let address = PhysicalAddress::new;
/// let kernel = PhysicalRange::new(address(0x100_0000), address(0x180_0800)).unwrap();
/// assert_eq!(kernel.size(), 0x80_0800);
/// assert!(kernel.contains(address(0x100_0000)) && !kernel.contains(address(0x180_0800)));
///
/// // Frees round inward, reservations outward.
/// let page = PageSize::SIZE_4KIB;
/// assert_eq!(kernel.frames_inside(page).len(), 0x800);
/// assert_eq!(kernel.frames_touched(page).len(), 0x801);
///
/// let low = PhysicalRange::from_start_and_size(address(0), 0x140_0000).unwrap();
/// assert_eq!(kernel.intersection(&low), PhysicalRange::new(address(0x100_0000), address(0x140_0000)));
/// assert_eq!(PhysicalRange::new(address(2), address(1)), None);
/// assert_eq!(PhysicalRange::from_start_and_size(address(u64::MAX), 1), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PhysicalRange {
    start: PhysicalAddress,
    end: PhysicalAddress,
}

impl PhysicalRange {
    /// The empty range at address zero.
    pub const EMPTY: Self = Self {
        start: PhysicalAddress::ZERO,
        end: PhysicalAddress::ZERO,
    };

    /// `[start, end)`, or `None` when `end` lies below `start`.
    pub const fn new(start: PhysicalAddress, end: PhysicalAddress) -> Option<Self> {
        if end.as_u64() < start.as_u64() {
            None
        } else {
            Some(Self { start, end })
        }
    }

    /// `[start, start + size)`, or `None` when the end would reach 2^64.
    pub const fn from_start_and_size(start: PhysicalAddress, size: u64) -> Option<Self> {
        match start.end_of_range(size) {
            Some(end) => Some(Self { start, end }),
            None => None,
        }
    }

    /// The first byte.
    pub const fn start(&self) -> PhysicalAddress {
        self.start
    }

    /// The byte past the last one (exclusive end).
    pub const fn end(&self) -> PhysicalAddress {
        self.end
    }

    /// Bytes in the range.
    pub const fn size(&self) -> u64 {
        self.end.as_u64() - self.start.as_u64()
    }

    /// Whether the range holds no byte.
    pub const fn is_empty(&self) -> bool {
        self.start.as_u64() == self.end.as_u64()
    }

    /// Whether `address` lies in the range.
    pub const fn contains(&self, address: PhysicalAddress) -> bool {
        self.start.as_u64() <= address.as_u64() && address.as_u64() < self.end.as_u64()
    }

    /// Whether the two ranges share at least one byte (an empty range shares none).
    pub const fn overlaps(&self, other: &Self) -> bool {
        !self.is_empty()
            && !other.is_empty()
            && self.start.as_u64() < other.end.as_u64()
            && other.start.as_u64() < self.end.as_u64()
    }

    /// The bytes both ranges hold, or `None` when they share none.
    pub fn intersection(&self, other: &Self) -> Option<Self> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start < end).then_some(Self { start, end })
    }

    /// Whether every byte of `other` lies in `self` (an empty `other` lies
    /// in every range whose bounds enclose its address).
    pub const fn encloses(&self, other: &Self) -> bool {
        self.start.as_u64() <= other.start.as_u64() && other.end.as_u64() <= self.end.as_u64()
    }

    /// The frames wholly inside the range, as a free rounds it:
    /// `[PFN_UP(start), PFN_DOWN(end))`. A range that holds no whole page
    /// gives the empty range at `PFN_UP(start)`.
    pub const fn frames_inside(&self, page: PageSize) -> FrameRange {
        let first = page.frame_at_or_above(self.start);
        let past = page.frame_containing(self.end);
        if past.as_u64() < first.as_u64() {
            FrameRange::empty_at(first)
        } else {
            FrameRange::from_ordered(first, past)
        }
    }

    /// The frames the range touches, as a reservation rounds it:
    /// `[PFN_DOWN(start), PFN_UP(end))`.
    pub const fn frames_touched(&self, page: PageSize) -> FrameRange {
        // PFN_UP(end) >= PFN_DOWN(end) >= PFN_DOWN(start).
        FrameRange::from_ordered(
            page.frame_containing(self.start),
            page.frame_at_or_above(self.end),
        )
    }
}

impl fmt::Debug for PhysicalRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "PhysicalRange({:#x}..{:#x})",
            self.start, self.end
        )
    }
}

impl fmt::Display for PhysicalRange {
    /// `[0x1000, 0x3000)`: the exclusive end is written as such.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "[{:#x}, {:#x})", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: u64, end: u64) -> PhysicalRange {
        PhysicalRange::new(PhysicalAddress::new(start), PhysicalAddress::new(end)).unwrap()
    }

    #[test]
    fn constructors_refuse_inverted_and_wrapping_ranges() {
        assert_eq!(
            PhysicalRange::new(PhysicalAddress::new(5), PhysicalAddress::new(4)),
            None
        );
        assert!(range(4, 4).is_empty());
        assert_eq!(
            PhysicalRange::from_start_and_size(PhysicalAddress::new(u64::MAX - 1), 1),
            Some(range(u64::MAX - 1, u64::MAX))
        );
        assert_eq!(
            PhysicalRange::from_start_and_size(PhysicalAddress::new(u64::MAX - 1), 2),
            None
        );
    }

    #[test]
    fn overlap_and_intersection_agree() {
        let a = range(0x1000, 0x3000);
        assert!(a.overlaps(&range(0x2fff, 0x4000)));
        assert!(!a.overlaps(&range(0x3000, 0x4000)));
        assert!(!a.overlaps(&range(0x2000, 0x2000)));
        assert_eq!(a.intersection(&range(0x3000, 0x4000)), None);
        assert_eq!(
            a.intersection(&range(0, 0x1800)),
            Some(range(0x1000, 0x1800))
        );
        assert_eq!(a.intersection(&range(0, u64::MAX)), Some(a));
        assert!(a.encloses(&range(0x1000, 0x3000)));
        assert!(!a.encloses(&range(0xfff, 0x3000)));
    }

    #[test]
    fn rounding_inward_and_outward() {
        let page = PageSize::SIZE_4KIB;
        let unaligned = range(0x1800, 0x4800);
        assert_eq!(
            (
                unaligned.frames_inside(page).start().as_u64(),
                unaligned.frames_inside(page).end().as_u64()
            ),
            (2, 4)
        );
        assert_eq!(
            (
                unaligned.frames_touched(page).start().as_u64(),
                unaligned.frames_touched(page).end().as_u64()
            ),
            (1, 5)
        );
        // Inside one page: empty at PFN_UP(start), never inverted.
        let within = range(0x1800, 0x1900).frames_inside(page);
        assert!(within.is_empty());
        assert_eq!(within.start().as_u64(), 2);
        // The top page of the address space.
        let top = range(u64::MAX - 0xfff, u64::MAX);
        assert_eq!(top.frames_touched(page).len(), 1);
        assert!(top.frames_inside(page).is_empty());
    }

    #[test]
    fn display_names_the_exclusive_end() {
        assert_eq!(
            std::format!("{}", range(0x1000, 0x3000)),
            "[0x1000, 0x3000)"
        );
    }

    #[test]
    fn the_debug_form_names_the_type_and_both_bounds() {
        assert_eq!(
            std::format!("{:?}", range(0x1000, 0x3000)),
            "PhysicalRange(0x1000..0x3000)"
        );
    }

    #[test]
    fn a_range_contains_its_start_but_not_its_end() {
        let a = range(0x1000, 0x3000);
        assert!(a.contains(PhysicalAddress::new(0x1000)));
        assert!(a.contains(PhysicalAddress::new(0x2fff)));
        assert!(!a.contains(PhysicalAddress::new(0xfff)));
        assert!(!a.contains(PhysicalAddress::new(0x3000)));
        assert!(!range(0x1000, 0x1000).contains(PhysicalAddress::new(0x1000)));
        assert_eq!(a.size(), 0x2000);
    }

    #[test]
    fn overlap_is_symmetric_and_an_empty_range_overlaps_nothing() {
        let a = range(0x1000, 0x3000);
        let b = range(0x3000, 0x4000);
        let c = range(0x2fff, 0x4000);
        let empty = range(0x2000, 0x2000);
        assert!(!b.overlaps(&a));
        assert!(c.overlaps(&a));
        assert!(!empty.overlaps(&a));
        assert!(!a.overlaps(&empty));
        assert!(!empty.overlaps(&empty));
    }
}
