//! The soak's own record of every page (reserved or free), kept from what each call must do, to check the allocator against.
//!
//! It knows the rules of free and reserve (rounding, the walk over adjacent
//! nodes, double frees, `-EBUSY`, bitmap pages that stay reserved), so it
//! predicts their outcome exactly; of allocations it knows what any correct
//! placement must satisfy, not where the search puts a block.

use std::ops::Range;

/// One node as the soak sees it.
pub struct ShadowNode {
    pub id: u32,
    pub frames: Range<u64>,
    pub reserved: Vec<bool>,
    /// Where this node's bitmap pages lie (they stay reserved, deviation 7).
    pub bitmap: Range<u64>,
    /// The byte end of the last allocation placed on this node.
    pub last_end: Option<u64>,
}

/// A frame range cut into the pieces of adjacent nodes: `(node index, frames)`.
pub type Pieces = Vec<(usize, Range<u64>)>;

/// Every node's pages, in address order, and the free-page count.
pub struct Shadow {
    pub page: u64,
    pub nodes: Vec<ShadowNode>,
    pub free: u64,
}

impl Shadow {
    /// Nodes `(id, frames, bitmap frames)` with every page reserved.
    pub fn new(page: u64, mut layout: Vec<(u32, Range<u64>, Range<u64>)>) -> Self {
        layout.sort_by_key(|(_, frames, _)| frames.start);
        let nodes = layout
            .into_iter()
            .map(|(id, frames, bitmap)| ShadowNode {
                id,
                reserved: vec![true; (frames.end - frames.start) as usize],
                frames,
                bitmap,
                last_end: None,
            })
            .collect();
        Self {
            page,
            nodes,
            free: 0,
        }
    }

    /// The index of the node covering `frame`.
    pub fn node_at(&self, frame: u64) -> Option<usize> {
        self.nodes
            .iter()
            .position(|node| node.frames.contains(&frame))
    }

    /// The index of node `id`.
    pub fn node_named(&self, id: u32) -> Option<usize> {
        self.nodes.iter().position(|node| node.id == id)
    }

    pub fn is_reserved(&self, frame: u64) -> Option<bool> {
        let node = &self.nodes[self.node_at(frame)?];
        Some(node.reserved[(frame - node.frames.start) as usize])
    }

    fn set(&mut self, frame: u64, reserved: bool) {
        let index = self
            .node_at(frame)
            .expect("the frame was checked to be in a node");
        let node = &mut self.nodes[index];
        let slot = &mut node.reserved[(frame - node.frames.start) as usize];
        if *slot != reserved {
            *slot = reserved;
            if reserved {
                self.free -= 1;
            } else {
                self.free += 1;
            }
        }
    }

    fn is_bitmap_page(&self, frame: u64) -> bool {
        self.nodes.iter().any(|node| node.bitmap.contains(&frame))
    }

    /// The walk of `free_bootmem` / `reserve_bootmem` over `[first, last)`:
    /// `None` when it must be a `BUG` (start in no node, past the last
    /// node, across a hole).
    pub fn spanning(&self, first: u64, last: u64) -> Option<Pieces> {
        let mut index = self.node_at(first)?;
        let mut pieces = Vec::new();
        let mut position = first;
        loop {
            let node = &self.nodes[index];
            let end = node.frames.end.min(last);
            pieces.push((index, position..end));
            if end == last || last < position {
                return Some(pieces);
            }
            let next = self.nodes.get(index + 1)?;
            if next.frames.start != node.frames.end {
                return None;
            }
            position = node.frames.end;
            index += 1;
        }
    }

    /// The `_node` variant: only the node's bounds are checked.
    pub fn on_node(&self, id: u32, first: u64, last: u64) -> Option<Pieces> {
        let index = self.node_named(id)?;
        let frames = &self.nodes[index].frames;
        (first >= frames.start && last <= frames.end).then(|| vec![(index, first..last)])
    }

    /// Frees the pieces, or returns `false` (a `BUG`) when a page in them
    /// is already free; bitmap pages stay reserved.
    pub fn free(&mut self, pieces: &Pieces) -> bool {
        let frames = || pieces.iter().flat_map(|(_, frames)| frames.clone());
        if frames().any(|frame| self.is_reserved(frame) == Some(false)) {
            return false;
        }
        for frame in frames().collect::<Vec<_>>() {
            if !self.is_bitmap_page(frame) {
                self.set(frame, false);
            }
        }
        true
    }

    /// Reserves the pieces; `-16` and no change when `exclusive` meets a
    /// reserved page.
    pub fn reserve(&mut self, pieces: &Pieces, exclusive: bool) -> i32 {
        let frames: Vec<u64> = pieces
            .iter()
            .flat_map(|(_, frames)| frames.clone())
            .collect();
        if exclusive
            && frames
                .iter()
                .any(|frame| self.is_reserved(*frame) == Some(true))
        {
            return -16;
        }
        for frame in frames {
            self.set(frame, true);
        }
        0
    }

    /// Marks an allocation's pages reserved and records its end on its node.
    pub fn allocate(&mut self, address: u64, size: u64) {
        let frames = address / self.page..(address + size).div_ceil(self.page);
        for frame in frames.clone() {
            self.set(frame, true);
        }
        let index = self.node_at(frames.start).expect("checked to be in a node");
        self.nodes[index].last_end = Some(address + size);
    }

    /// Whether some node has `pages` free pages in a row starting on a
    /// multiple of `step`, all below frame `below`.
    pub fn has_room(&self, pages: u64, step: u64, below: u64) -> bool {
        self.nodes.iter().any(|node| {
            let end = node.frames.end.min(below);
            let mut run_start = None;
            for frame in node.frames.start..end {
                if node.reserved[(frame - node.frames.start) as usize] {
                    run_start = None;
                    continue;
                }
                let start = *run_start.get_or_insert(frame);
                // The first multiple of `step` inside the run.
                let aligned = start.div_ceil(step) * step;
                if frame + 1 >= aligned.saturating_add(pages) && aligned <= frame {
                    return true;
                }
            }
            false
        })
    }
}
