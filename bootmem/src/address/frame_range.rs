//! A half-open range of page frames whose end never lies below its start.

use core::fmt;

use super::physical_range::PhysicalRange;
use super::{PageFrameNumber, PageSize};

/// The page frames `[start, end)`; iterating it yields each frame.
///
/// ```
/// use bootmem::{FrameRange, PageFrameNumber, PageSize, PhysicalAddress};
/// let frame = PageFrameNumber::new;
/// let node = FrameRange::new(frame(0x100), frame(0x300)).unwrap();
/// assert_eq!(node.len(), 0x200);
/// let bitmap = FrameRange::new(frame(0x2ff), frame(0x301)).unwrap();
/// assert!(node.overlaps(&bitmap));
/// assert_eq!(node.intersection(&bitmap), FrameRange::new(frame(0x2ff), frame(0x300)));
/// assert_eq!(bitmap.iter().map(|frame| frame.as_u64()).collect::<Vec<_>>(), [0x2ff, 0x300]);
/// let bytes = node.to_physical(PageSize::SIZE_4KIB).unwrap();
/// assert_eq!((bytes.start(), bytes.end()), (PhysicalAddress::new(0x10_0000), PhysicalAddress::new(0x30_0000)));
/// assert_eq!(FrameRange::new(frame(2), frame(1)), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FrameRange {
    start: PageFrameNumber,
    end: PageFrameNumber,
}

impl FrameRange {
    /// `[start, end)`, or `None` when `end` lies below `start`.
    pub const fn new(start: PageFrameNumber, end: PageFrameNumber) -> Option<Self> {
        if end.as_u64() < start.as_u64() {
            None
        } else {
            Some(Self { start, end })
        }
    }

    /// `[start, start + pages)`, or `None` when the end does not fit in 64 bits.
    pub const fn from_start_and_len(start: PageFrameNumber, pages: u64) -> Option<Self> {
        match start.checked_add(pages) {
            Some(end) => Some(Self { start, end }),
            None => None,
        }
    }

    /// The empty range at `frame`.
    pub const fn empty_at(frame: PageFrameNumber) -> Self {
        Self {
            start: frame,
            end: frame,
        }
    }

    /// `[start, end)` where the caller knows `start <= end`.
    pub(crate) const fn from_ordered(start: PageFrameNumber, end: PageFrameNumber) -> Self {
        debug_assert!(start.as_u64() <= end.as_u64());
        Self { start, end }
    }

    /// The first frame.
    pub const fn start(&self) -> PageFrameNumber {
        self.start
    }

    /// The frame past the last one (exclusive end).
    pub const fn end(&self) -> PageFrameNumber {
        self.end
    }

    /// Frames in the range.
    pub const fn len(&self) -> u64 {
        self.end.as_u64() - self.start.as_u64()
    }

    /// Whether the range holds no frame.
    pub const fn is_empty(&self) -> bool {
        self.start.as_u64() == self.end.as_u64()
    }

    /// Whether `frame` lies in the range.
    pub const fn contains(&self, frame: PageFrameNumber) -> bool {
        self.start.as_u64() <= frame.as_u64() && frame.as_u64() < self.end.as_u64()
    }

    /// Whether the two ranges share at least one frame (an empty range shares none).
    pub const fn overlaps(&self, other: &Self) -> bool {
        !self.is_empty()
            && !other.is_empty()
            && self.start.as_u64() < other.end.as_u64()
            && other.start.as_u64() < self.end.as_u64()
    }

    /// Whether every frame of `other` lies in `self`, judged by its bounds.
    pub const fn encloses(&self, other: &Self) -> bool {
        self.start.as_u64() <= other.start.as_u64() && other.end.as_u64() <= self.end.as_u64()
    }

    /// The frames both ranges hold, or `None` when they share none.
    pub fn intersection(&self, other: &Self) -> Option<Self> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start < end).then_some(Self { start, end })
    }

    /// The part of `self` inside `other`, possibly empty (never inverted):
    /// the piece of a walk over several nodes that falls in one of them.
    pub fn clipped_to(&self, other: &Self) -> Self {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end).max(start);
        Self { start, end }
    }

    /// Each frame, in ascending order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = PageFrameNumber> + Clone {
        (self.start.as_u64()..self.end.as_u64()).map(PageFrameNumber::new)
    }

    /// The bytes of the frames, or `None` when the end address reaches 2^64.
    pub const fn to_physical(&self, page: PageSize) -> Option<PhysicalRange> {
        match (page.start_of(self.start), page.start_of(self.end)) {
            (Some(start), Some(end)) => PhysicalRange::new(start, end),
            _ => None,
        }
    }
}

impl IntoIterator for FrameRange {
    type Item = PageFrameNumber;
    type IntoIter = core::iter::Map<core::ops::Range<u64>, fn(u64) -> PageFrameNumber>;

    fn into_iter(self) -> Self::IntoIter {
        (self.start.as_u64()..self.end.as_u64()).map(PageFrameNumber::new as fn(u64) -> _)
    }
}

impl From<FrameRange> for core::ops::Range<PageFrameNumber> {
    fn from(range: FrameRange) -> Self {
        range.start..range.end
    }
}

impl fmt::Debug for FrameRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "FrameRange({:#x}..{:#x})", self.start, self.end)
    }
}

impl fmt::Display for FrameRange {
    /// `[0x100, 0x300)` in frame numbers.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "[{:#x}, {:#x})", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::PhysicalAddress;
    use std::vec::Vec;

    fn frames(start: u64, end: u64) -> FrameRange {
        FrameRange::new(PageFrameNumber::new(start), PageFrameNumber::new(end)).unwrap()
    }

    #[test]
    fn length_and_membership() {
        let range = frames(3, 7);
        assert_eq!(range.len(), 4);
        assert!(range.contains(PageFrameNumber::new(3)));
        assert!(!range.contains(PageFrameNumber::new(7)));
        assert!(frames(5, 5).is_empty());
        assert_eq!(
            FrameRange::from_start_and_len(PageFrameNumber::new(u64::MAX), 1),
            None
        );
    }

    #[test]
    fn intersection_and_clipping() {
        let node = frames(0x10, 0x20);
        assert_eq!(
            node.intersection(&frames(0x18, 0x30)),
            Some(frames(0x18, 0x20))
        );
        assert_eq!(node.intersection(&frames(0x20, 0x30)), None);
        assert!(!node.overlaps(&frames(0x20, 0x30)));
        assert!(node.overlaps(&frames(0x1f, 0x30)));
        assert_eq!(frames(0x18, 0x30).clipped_to(&node), frames(0x18, 0x20));
        assert!(frames(0x30, 0x40).clipped_to(&node).is_empty());
        assert!(node.encloses(&frames(0x10, 0x20)));
        assert!(!node.encloses(&frames(0x10, 0x21)));
    }

    #[test]
    fn iteration_visits_every_frame_once() {
        let visited: Vec<u64> = frames(4, 8)
            .into_iter()
            .map(PageFrameNumber::as_u64)
            .collect();
        assert_eq!(visited, [4, 5, 6, 7]);
        assert_eq!(
            frames(4, 8).iter().next_back(),
            Some(PageFrameNumber::new(7))
        );
        assert_eq!(frames(9, 9).iter().count(), 0);
    }

    #[test]
    fn to_physical_refuses_an_end_at_two_to_the_64() {
        let page = PageSize::SIZE_4KIB;
        assert_eq!(frames(0, 1 << 52).to_physical(page), None);
        let top = frames((1 << 52) - 1, (1 << 52) - 1)
            .to_physical(page)
            .unwrap();
        assert_eq!(top.start(), PhysicalAddress::new(u64::MAX - 0xfff));
        // Round trip through the byte range.
        let range = frames(0x100, 0x180);
        assert_eq!(range.to_physical(page).unwrap().frames_inside(page), range);
    }

    #[test]
    fn a_range_from_its_start_and_length_ends_that_many_frames_later() {
        assert_eq!(
            FrameRange::from_start_and_len(PageFrameNumber::new(5), 3),
            Some(frames(5, 8))
        );
        assert_eq!(
            FrameRange::from_start_and_len(PageFrameNumber::new(u64::MAX), 0),
            Some(frames(u64::MAX, u64::MAX))
        );
    }

    #[test]
    fn an_empty_range_lies_at_its_frame() {
        let empty = FrameRange::empty_at(PageFrameNumber::new(0x40));
        assert!(empty.is_empty());
        assert_eq!(empty.start(), PageFrameNumber::new(0x40));
        assert_eq!(empty.end(), PageFrameNumber::new(0x40));
    }

    #[test]
    fn overlap_is_symmetric_and_an_empty_range_overlaps_nothing() {
        let node = frames(0x10, 0x20);
        assert!(!frames(0x20, 0x30).overlaps(&node));
        assert!(frames(0x1f, 0x30).overlaps(&node));
        assert!(!frames(0x18, 0x18).overlaps(&node));
        assert!(!node.overlaps(&frames(0x18, 0x18)));
    }

    #[test]
    fn a_range_becomes_the_standard_range_of_the_same_frames() {
        let range: core::ops::Range<PageFrameNumber> = frames(3, 9).into();
        assert_eq!(range, PageFrameNumber::new(3)..PageFrameNumber::new(9));
    }

    #[test]
    fn display_and_debug_name_both_bounds() {
        assert_eq!(std::format!("{}", frames(0x100, 0x300)), "[0x100, 0x300)");
        assert_eq!(
            std::format!("{:?}", frames(0x100, 0x300)),
            "FrameRange(0x100..0x300)"
        );
    }
}
