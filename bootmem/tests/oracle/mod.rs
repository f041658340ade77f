//! An independent model of v4.19 bootmem with the contract's eleven deviations: one `bool` per page.
//!
//! Written from `script-format.md` and `linux-bootmem-v4.19.md` alone. It
//! shares no code with the library: no search, no rounding helper, no node
//! walk, no registry. Every rule is spelled out on plain `u64`s, the slow
//! and obvious way, so that a test comparing the two catches a mistake in
//! either. Each test file that compiles this module uses only part of it.
#![allow(dead_code)]

pub mod calls;
pub mod harness;

/// The machine constants the model needs, as plain numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    /// `PAGE_SIZE` in bytes (a power of two).
    pub page: u64,
    /// `SMP_CACHE_BYTES`.
    pub cache_line: u64,
    /// `BOOTMEM_LOW_LIMIT`: the default goal of the non-`_low` macros.
    pub dma_limit: u64,
    /// `ARCH_LOW_ADDRESS_LIMIT`.
    pub low_limit: u64,
    /// `MAX_DMA32_PFN`.
    pub dma32_end_pfn: u64,
}

impl Machine {
    fn shift(&self) -> u32 {
        self.page.trailing_zeros()
    }
    /// `PFN_DOWN(x)`.
    pub fn pfn_down(&self, address: u64) -> u64 {
        address / self.page
    }
    /// `PFN_UP(x)`, without the overflow of `x + PAGE_SIZE - 1`.
    pub fn pfn_up(&self, address: u64) -> u64 {
        address / self.page + u64::from(address % self.page != 0)
    }
    /// `bootmap_bytes(pages)`: one bit a page, rounded up to whole 8-byte words.
    pub fn bitmap_bytes(pages: u64) -> u64 {
        pages.div_ceil(64) * 8
    }
    /// `bootmem_bootmap_pages(pages)`.
    pub fn bitmap_pages(&self, pages: u64) -> u64 {
        Self::bitmap_bytes(pages).div_ceil(self.page)
    }
    /// The `__alloc_bootmem_node_high` margin of deviation 5: 128 MiB in pages.
    fn high_margin_pages(&self) -> u64 {
        (128u64 << 20) >> self.shift()
    }
}

/// One registered node: its frames, one flag per page, Linux's two cursors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: u32,
    /// `node_min_pfn`.
    pub start: u64,
    /// `node_low_pfn` (exclusive).
    pub end: u64,
    /// `true` = reserved, index = page - start.
    pub reserved: Vec<bool>,
    /// `last_end_off`: node-relative byte end of the last allocation.
    pub last_end_offset: u64,
    /// `hint_idx`: node-relative page where the next search starts.
    pub hint: u64,
    /// The node's bitmap pages `[mapstart, mapstart + bitmap_pages)`.
    pub bitmap: (u64, u64),
}

impl Node {
    fn contains(&self, pfn: u64) -> bool {
        self.start <= pfn && pfn < self.end
    }
}

/// What an allocation call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allocation {
    /// A block at this physical address.
    Address(u64),
    /// Linux's `NULL` (a `_nopanic` call found no room).
    Null,
    /// The panicking call found no room: `bootmem alloc of SIZE bytes failed!`.
    Panic,
    /// Linux would `BUG()`: nothing changed.
    Bug,
}

/// A Linux-named call's node policy (`script-format.md`, spec §4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// `___alloc_bootmem_nopanic`: every node at the goal, then at 0; limit kept.
    AnyNode { limit: u64 },
    /// `___alloc_bootmem_node_nopanic`: node, all, node at 0, all at 0; a
    /// limit that `goal + size` passes is dropped.
    Node { nid: u32, limit: u64 },
    /// `__alloc_bootmem_node_high`.
    High { nid: u32 },
}

/// The whole model: machine constants and nodes in ascending start order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    pub machine: Machine,
    pub nodes: Vec<Node>,
}

/// A plain `Err` for "Linux would BUG()".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bug;

impl Model {
    pub fn new(machine: Machine) -> Self {
        Self {
            machine,
            nodes: Vec::new(),
        }
    }

    fn position_of(&self, nid: u32) -> Result<usize, Bug> {
        self.nodes.iter().position(|node| node.id == nid).ok_or(Bug)
    }

    /// Whether `pfn` is a bitmap page of some registered node (deviation 7).
    fn is_bitmap_page(&self, pfn: u64) -> bool {
        self.nodes
            .iter()
            .any(|node| node.bitmap.0 <= pfn && pfn < node.bitmap.1)
    }

    /// `init_bootmem_node`: returns the bitmap size in bytes.
    pub fn register(&mut self, nid: u32, mapstart: u64, start: u64, end: u64) -> Result<u64, Bug> {
        if start >= end || end.checked_mul(self.machine.page).is_none() {
            return Err(Bug);
        }
        let overlaps = self
            .nodes
            .iter()
            .any(|node| node.start < end && start < node.end);
        if overlaps || self.nodes.iter().any(|node| node.id == nid) {
            return Err(Bug);
        }
        let pages = end - start;
        let bitmap_end = mapstart.saturating_add(self.machine.bitmap_pages(pages));
        let node = Node {
            id: nid,
            start,
            end,
            reserved: vec![true; pages as usize],
            last_end_offset: 0,
            hint: 0,
            bitmap: (mapstart, bitmap_end),
        };
        let position = self.nodes.iter().take_while(|n| n.start <= start).count();
        self.nodes.insert(position, node);
        for node in &mut self.nodes {
            for pfn in mapstart.max(node.start)..bitmap_end.min(node.end) {
                node.reserved[(pfn - node.start) as usize] = true;
            }
        }
        Ok(Machine::bitmap_bytes(pages))
    }

    /// `mark_bootmem`'s walk: the pieces `(position, from, to)` of
    /// `[first, last)` over adjacent nodes, or `Bug` when the start is in no
    /// node, the range runs past the last node or crosses a hole.
    fn spanning_pieces(&self, first: u64, last: u64) -> Result<Vec<(usize, u64, u64)>, Bug> {
        let mut pieces = Vec::new();
        let mut position = first;
        for (index, node) in self.nodes.iter().enumerate() {
            if !node.contains(position) {
                if position != first {
                    return Err(Bug);
                }
                continue;
            }
            let max = node.end.min(last);
            pieces.push((index, position, max));
            if max == last {
                return Ok(pieces);
            }
            position = node.end;
        }
        Err(Bug)
    }

    /// `mark_bootmem_node`'s bounds check.
    fn node_piece(&self, nid: u32, first: u64, last: u64) -> Result<Vec<(usize, u64, u64)>, Bug> {
        let position = self.position_of(nid)?;
        let node = &self.nodes[position];
        if first < node.start || last > node.end {
            return Err(Bug);
        }
        Ok(vec![(position, first, last)])
    }

    fn free_pieces(&mut self, pieces: &[(usize, u64, u64)]) -> Result<(), Bug> {
        for &(position, from, to) in pieces {
            let node = &self.nodes[position];
            if (from..to).any(|pfn| !node.reserved[(pfn - node.start) as usize]) {
                return Err(Bug);
            }
        }
        for &(position, from, to) in pieces {
            let protected: Vec<bool> = (from..to).map(|pfn| self.is_bitmap_page(pfn)).collect();
            let node = &mut self.nodes[position];
            node.hint = node.hint.min(from - node.start);
            for (pfn, keep) in (from..to).zip(protected) {
                if !keep {
                    node.reserved[(pfn - node.start) as usize] = false;
                }
            }
        }
        Ok(())
    }

    fn reserve_pieces(&mut self, pieces: &[(usize, u64, u64)], flags: u32) -> Result<i32, Bug> {
        if flags & 1 != 0 {
            for &(position, from, to) in pieces {
                let node = &self.nodes[position];
                if (from..to).any(|pfn| node.reserved[(pfn - node.start) as usize]) {
                    return Ok(-16);
                }
            }
        }
        for &(position, from, to) in pieces {
            let node = &mut self.nodes[position];
            for pfn in from..to {
                node.reserved[(pfn - node.start) as usize] = true;
            }
        }
        Ok(0)
    }

    /// The whole pages inside `[address, address + size)`.
    fn inside(&self, address: u64, size: u64) -> Result<(u64, u64), Bug> {
        let end = address.checked_add(size).ok_or(Bug)?;
        Ok((self.machine.pfn_up(address), self.machine.pfn_down(end)))
    }

    /// The pages `[address, address + size)` touches.
    fn touched(&self, address: u64, size: u64) -> Result<(u64, u64), Bug> {
        let end = address.checked_add(size).ok_or(Bug)?;
        Ok((self.machine.pfn_down(address), self.machine.pfn_up(end)))
    }

    /// `free_bootmem`.
    pub fn free(&mut self, address: u64, size: u64) -> Result<(), Bug> {
        let (first, last) = self.inside(address, size)?;
        let pieces = self.spanning_pieces(first, last)?;
        self.free_pieces(&pieces)
    }

    /// `free_bootmem_node`.
    pub fn free_node(&mut self, nid: u32, address: u64, size: u64) -> Result<(), Bug> {
        self.position_of(nid)?;
        let (first, last) = self.inside(address, size)?;
        let pieces = self.node_piece(nid, first, last)?;
        self.free_pieces(&pieces)
    }

    /// `reserve_bootmem`: 0 or -16.
    pub fn reserve(&mut self, address: u64, size: u64, flags: u32) -> Result<i32, Bug> {
        let (first, last) = self.touched(address, size)?;
        let pieces = self.spanning_pieces(first, last)?;
        self.reserve_pieces(&pieces, flags)
    }

    /// `reserve_bootmem_node`: 0 or -16.
    pub fn reserve_node(
        &mut self,
        nid: u32,
        address: u64,
        size: u64,
        flags: u32,
    ) -> Result<i32, Bug> {
        self.position_of(nid)?;
        let (first, last) = self.touched(address, size)?;
        let pieces = self.node_piece(nid, first, last)?;
        self.reserve_pieces(&pieces, flags)
    }

    /// An allocation with its arguments checked up front (deviations 1, 8, 9).
    pub fn allocate(&mut self, policy: Policy, size: u64, align: u64, goal: u64) -> Allocation {
        if let Policy::Node { nid, .. } | Policy::High { nid } = policy {
            if self.position_of(nid).is_err() {
                return Allocation::Bug;
            }
        }
        if size == 0 || !align.is_power_of_two() {
            return Allocation::Bug;
        }
        let Some(goal_end) = goal.checked_add(size) else {
            return Allocation::Bug;
        };
        let found = match policy {
            Policy::AnyNode { limit } => {
                if limit != 0 && goal_end > limit {
                    return Allocation::Bug;
                }
                self.any_node_dropping_goal(size, align, goal, limit)
            }
            Policy::Node { nid, limit } => self.node_first(nid, size, align, goal, limit),
            Policy::High { nid } => self.node_high(nid, size, align, goal),
        };
        found.map_or(Allocation::Null, Allocation::Address)
    }

    /// `___alloc_bootmem_nopanic`: all nodes at the goal, then all at 0.
    fn any_node_dropping_goal(
        &mut self,
        size: u64,
        align: u64,
        goal: u64,
        limit: u64,
    ) -> Option<u64> {
        self.every_node(size, align, goal, limit).or_else(|| {
            (goal != 0)
                .then(|| self.every_node(size, align, 0, limit))
                .flatten()
        })
    }

    /// `alloc_bootmem_core`: the ascending walk with its skip and stop rules.
    fn every_node(&mut self, size: u64, align: u64, goal: u64, limit: u64) -> Option<u64> {
        for position in 0..self.nodes.len() {
            let (start, end) = (self.nodes[position].start, self.nodes[position].end);
            if goal != 0 && end <= self.machine.pfn_down(goal) {
                continue;
            }
            if limit != 0 && start >= self.machine.pfn_down(limit) {
                break;
            }
            if let Some(address) = self.one_node(position, size, align, goal, limit) {
                return Some(address);
            }
        }
        None
    }

    /// `___alloc_bootmem_node_nopanic`.
    fn node_first(
        &mut self,
        nid: u32,
        size: u64,
        align: u64,
        goal: u64,
        limit: u64,
    ) -> Option<u64> {
        let position = self.position_of(nid).ok()?;
        let mut goal = goal;
        let mut limit = limit;
        loop {
            if limit != 0 && goal + size > limit {
                limit = 0;
            }
            if let Some(address) = self.one_node(position, size, align, goal, limit) {
                return Some(address);
            }
            if let Some(address) = self.every_node(size, align, goal, limit) {
                return Some(address);
            }
            if goal == 0 {
                return None;
            }
            goal = 0;
        }
    }

    /// `__alloc_bootmem_node_high` with the 128 MiB margin of deviation 5.
    fn node_high(&mut self, nid: u32, size: u64, align: u64, goal: u64) -> Option<u64> {
        let position = self.position_of(nid).ok()?;
        let machine = self.machine;
        let end = self.nodes[position].end;
        let threshold = machine
            .dma32_end_pfn
            .saturating_add(machine.high_margin_pages());
        if end > threshold && machine.pfn_down(goal) < machine.dma32_end_pfn {
            if let Some(high_goal) = machine.dma32_end_pfn.checked_mul(machine.page) {
                if let Some(address) = self.one_node(position, size, align, high_goal, 0) {
                    return Some(address);
                }
            }
        }
        self.node_first(nid, size, align, goal, 0)
    }

    /// `ALIGN(x, a)` for a power of two, saturating instead of wrapping.
    fn align_up(value: u64, alignment: u64) -> u64 {
        match value.checked_add(alignment - 1) {
            Some(sum) => sum & !(alignment - 1),
            None => !(alignment - 1),
        }
    }

    /// `alloc_bootmem_bdata`: one node's search, placement and sub-page merge.
    fn one_node(
        &mut self,
        position: usize,
        size: u64,
        align: u64,
        goal: u64,
        limit: u64,
    ) -> Option<u64> {
        let machine = self.machine;
        let node = &self.nodes[position];
        let (low, mut high) = (node.start, node.end);
        let limit_pfn = machine.pfn_down(limit);
        if limit_pfn != 0 && high > limit_pfn {
            high = limit_pfn;
        }
        if high <= low {
            return None;
        }
        let step = (align / machine.page).max(1);
        let goal_pfn = machine.pfn_down(goal);
        let requested = if goal_pfn != 0 && low < goal_pfn && goal_pfn < high {
            Self::align_up(goal_pfn, step)
        } else {
            Self::align_up(low, step)
        };
        let pages = machine.pfn_up(size);
        let found = if node.hint > requested.saturating_sub(low) && requested >= low {
            let from_hint = Self::align_up(low + node.hint, step);
            self.first_fit(position, from_hint, high, pages, step)
                .or_else(|| self.first_fit(position, requested, high, pages, step))
        } else {
            self.first_fit(position, requested, high, pages, step)
        }?;
        Some(self.place(position, found, size, align))
    }

    /// The lowest absolute frame at or above `from`, a multiple of `step`,
    /// that starts `pages` free pages ending at or below `high`.
    fn first_fit(
        &self,
        position: usize,
        from: u64,
        high: u64,
        pages: u64,
        step: u64,
    ) -> Option<u64> {
        let node = &self.nodes[position];
        let mut candidate = Self::align_up(from, step);
        while candidate < high && candidate.checked_add(pages)? <= high {
            let all_free = (candidate..candidate + pages)
                .all(|pfn| !node.reserved[(pfn - node.start) as usize]);
            if all_free {
                return Some(candidate);
            }
            candidate = candidate.checked_add(step)?;
        }
        None
    }

    /// Places a block on the free run at absolute frame `found`, merging
    /// into the previous allocation's partly used page when it is still
    /// reserved and right before the run (deviation 2); reserves its pages.
    fn place(&mut self, position: usize, found: u64, size: u64, align: u64) -> u64 {
        let page = self.machine.page;
        let node = &mut self.nodes[position];
        let base = node.start * page;
        let index = found - node.start;
        let last_page = node.last_end_offset / page;
        let partial = node.last_end_offset % page != 0;
        let still_reserved = node
            .reserved
            .get(last_page as usize)
            .copied()
            .unwrap_or(false);
        let start_offset = if partial && last_page + 1 == index && still_reserved {
            Self::align_up(base + node.last_end_offset, align) - base
        } else {
            index * page
        };
        let merge = start_offset / page < index;
        let end_offset = start_offset + size;
        node.last_end_offset = end_offset;
        node.hint = end_offset.div_ceil(page);
        let first = start_offset / page + u64::from(merge);
        for page_index in first..end_offset.div_ceil(page) {
            assert!(
                !node.reserved[page_index as usize],
                "model: placement over a reserved page"
            );
            node.reserved[page_index as usize] = true;
        }
        base + start_offset
    }

    /// Free pages over all nodes.
    pub fn free_pages(&self) -> u64 {
        self.nodes
            .iter()
            .map(|node| node.reserved.iter().filter(|reserved| !**reserved).count() as u64)
            .sum()
    }

    /// Whether `pfn` is reserved, or `None` outside every node.
    pub fn is_reserved(&self, pfn: u64) -> Option<bool> {
        self.nodes
            .iter()
            .find(|node| node.contains(pfn))
            .map(|node| node.reserved[(pfn - node.start) as usize])
    }

    /// Reserved frames of every node as ascending half-open runs, adjacent
    /// runs merged across nodes.
    pub fn reserved_runs(&self) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for node in &self.nodes {
            for (index, reserved) in node.reserved.iter().enumerate() {
                let pfn = node.start + index as u64;
                if !reserved {
                    continue;
                }
                match runs.last_mut() {
                    Some(run) if run.1 == pfn => run.1 += 1,
                    _ => runs.push((pfn, pfn + 1)),
                }
            }
        }
        runs
    }

    /// The pages `free_all_bootmem` hands out, as `(frame, is_bitmap)`:
    /// every free page of every node, then every node's bitmap pages.
    pub fn hand_off_pages(&self) -> Vec<(u64, bool)> {
        let mut pages = Vec::new();
        for node in &self.nodes {
            for (index, reserved) in node.reserved.iter().enumerate() {
                if !reserved {
                    pages.push((node.start + index as u64, false));
                }
            }
        }
        for node in &self.nodes {
            pages.extend((node.bitmap.0..node.bitmap.1).map(|frame| (frame, true)));
        }
        pages
    }

    /// `free_all_bootmem`'s count.
    pub fn released(&self) -> u64 {
        self.hand_off_pages().len() as u64
    }
}
