//! One node of a normalised memory map: the page frames it spans and the RAM it owns.

use crate::address::{FrameRange, PageFrameNumber, PageSize, PhysicalAddress};
use crate::node_id::NodeId;

/// A node's span, sized from its RAM only.
///
/// `start` is the frame of the node's first RAM page and `end` the frame
/// past its last one, so a reservation far above RAM (QEMU's window at
/// 1 TiB, say) never grows the bitmap. A memoryless node has `start ==
/// end == 0` and no RAM.
///
/// ```
/// use bootmem::memory_map::NodeSpan;
/// use bootmem::{NodeId, PageFrameNumber};
/// let span = NodeSpan::new(NodeId::new(1), PageFrameNumber::new(0x100), PageFrameNumber::new(0x300), 0x1000 * 0x200);
/// assert_eq!(span.pages(), 0x200);
/// assert_eq!(span.bitmap_bytes(), 0x40);
/// assert!(!span.is_memoryless());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeSpan {
    /// The node.
    pub node: NodeId,
    /// The frame of the first RAM page.
    pub start: PageFrameNumber,
    /// The frame past the last RAM page.
    pub end: PageFrameNumber,
    /// The bytes of RAM the node owns (whole pages).
    pub ram_bytes: u64,
}

impl NodeSpan {
    /// A span from its parts.
    pub const fn new(
        node: NodeId,
        start: PageFrameNumber,
        end: PageFrameNumber,
        ram_bytes: u64,
    ) -> Self {
        Self {
            node,
            start,
            end,
            ram_bytes,
        }
    }

    /// A node with no memory.
    pub const fn memoryless(node: NodeId) -> Self {
        Self::new(node, PageFrameNumber::new(0), PageFrameNumber::new(0), 0)
    }

    /// Whether the node owns no RAM.
    pub const fn is_memoryless(&self) -> bool {
        self.ram_bytes == 0
    }

    /// Frames from `start` to `end`, holes included: the bits of the node's bitmap.
    pub const fn pages(&self) -> u64 {
        self.end.as_u64().saturating_sub(self.start.as_u64())
    }

    /// The bytes of the node's bitmap, one bit a page, rounded up to whole
    /// 64-bit words (Linux's `bootmap_bytes`).
    pub const fn bitmap_bytes(&self) -> u64 {
        self.pages().div_ceil(64) * 8
    }

    /// The frames from `start` to `end` (empty for a memoryless node).
    pub const fn frames(&self) -> FrameRange {
        match FrameRange::new(self.start, self.end) {
            Some(frames) => frames,
            None => FrameRange::empty_at(self.start),
        }
    }

    /// The first byte of the span, or `None` past 2^64.
    pub const fn start_address(&self, page_size: PageSize) -> Option<PhysicalAddress> {
        page_size.start_of(self.start)
    }

    /// The byte past the span, or `None` when it is 2^64 or more.
    pub const fn end_address(&self, page_size: PageSize) -> Option<PhysicalAddress> {
        page_size.end_of_frames_below(self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: u64, end: u64, ram_bytes: u64) -> NodeSpan {
        NodeSpan::new(
            NodeId::new(1),
            PageFrameNumber::new(start),
            PageFrameNumber::new(end),
            ram_bytes,
        )
    }

    #[test]
    fn a_span_counts_its_pages_and_bitmap_bytes_holes_included() {
        let node = span(0x100, 0x341, 0x1000 * 0x10);
        assert_eq!(node.pages(), 0x241);
        // 0x241 bits round up to 10 words of 8 bytes.
        assert_eq!(node.bitmap_bytes(), 80);
        assert!(!node.is_memoryless());
        assert_eq!(
            node.frames(),
            FrameRange::new(PageFrameNumber::new(0x100), PageFrameNumber::new(0x341)).unwrap()
        );
    }

    #[test]
    fn a_span_gives_its_addresses_until_they_pass_two_to_the_64() {
        let page = PageSize::SIZE_4KIB;
        let node = span(0x100, 0x300, 0x1000 * 0x200);
        assert_eq!(
            node.start_address(page),
            Some(PhysicalAddress::new(0x10_0000))
        );
        assert_eq!(
            node.end_address(page),
            Some(PhysicalAddress::new(0x30_0000))
        );
        let top = span((1 << 52) - 1, 1 << 52, 0x1000);
        assert_eq!(
            top.start_address(page),
            Some(PhysicalAddress::new(u64::MAX - 0xfff))
        );
        assert_eq!(top.end_address(page), None);
        assert_eq!(span(1 << 52, 1 << 52, 0).start_address(page), None);
    }

    #[test]
    fn a_memoryless_node_spans_nothing() {
        let node = NodeSpan::memoryless(NodeId::new(3));
        assert_eq!(node.node, NodeId::new(3));
        assert!(node.is_memoryless());
        assert_eq!(node.pages(), 0);
        assert_eq!(node.bitmap_bytes(), 0);
        assert!(node.frames().is_empty());
        // RAM decides, not the span: a span with no RAM bytes is memoryless.
        assert!(span(0x100, 0x200, 0).is_memoryless());
        assert!(!span(0x100, 0x200, 1).is_memoryless());
    }
}
