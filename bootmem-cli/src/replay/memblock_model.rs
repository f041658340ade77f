//! A host-side model of Linux memblock's placement: region lists and the first-fit search.
//!
//! memblock keeps two sorted lists of ranges, `memory` (what the kernel may
//! use) and `reserved` (what is taken); free memory is never stored but
//! computed as memory minus reserved. This model follows, in our own code,
//! the functions of `mm/memblock.c` that decide where a block goes; the
//! rules are the same from Linux 3.13 (when the `memblock_virt_alloc*`
//! requests and their debug lines appeared) to 6.x:
//!
//! - **Region lists** (`memblock_add_range`, `memblock_remove_range`):
//!   adding inserts only the parts not yet covered, then merges neighbours
//!   that touch and carry the same node and flags; removing cuts the range
//!   out, splitting regions at its ends. `reserved` is kept merged
//!   regardless of node and flags: only its gaps matter to placement.
//! - **Free ranges** (`__next_mem_range` / `__next_mem_range_rev`, through
//!   `for_each_free_mem_range[_reverse]`): each memory region intersected
//!   with the gaps of `reserved`, region by region, so a block never
//!   straddles two memory regions. A region is skipped when the search names
//!   a node and the region is on another one, when it is `NOMAP` or
//!   `DRIVER_MANAGED`, when it is `HOTPLUG` and the kernel runs with
//!   `movable_node`, or when mirrored memory is required and it is not
//!   `MIRROR` (`should_skip_region`).
//! - **The search** (`memblock_find_in_range_node`): an `end` of
//!   `MEMBLOCK_ALLOC_ACCESSIBLE` (0) or `MEMBLOCK_ALLOC_NOLEAKTRACE` (1) means
//!   the current limit; the first page is never handed out
//!   (`start = max(start, PAGE_SIZE)`); then `__memblock_find_range_top_down`
//!   takes the highest aligned fit in the highest free range, or, after
//!   `memblock_set_bottom_up(true)`, `__memblock_find_range_bottom_up` the
//!   lowest. From 3.13 until early 5.x a bottom-up search started no lower
//!   than the kernel's end and fell back to top-down (with a warning) when
//!   nothing fitted there; later kernels dropped both. Rounding is
//!   mask-based, as memblock's `round_down` / `round_up`.
//! - **The request** ([`Entry`]): see there for how each API generation
//!   narrows the range, falls back to other nodes and drops its lower bound.

/// `MEMBLOCK_ALLOC_ANYWHERE`: no ceiling at all.
pub const ALLOC_ANYWHERE: u64 = u64::MAX;

/// `MEMBLOCK_HOTPLUG`: memory the firmware says may be hot-removed.
pub const FLAG_HOTPLUG: u64 = 0x1;

/// `MEMBLOCK_MIRROR`: memory the firmware mirrors.
pub const FLAG_MIRROR: u64 = 0x2;

/// `MEMBLOCK_NOMAP`: memory kept out of the linear map, never allocated from.
pub const FLAG_NOMAP: u64 = 0x4;

/// `MEMBLOCK_DRIVER_MANAGED`: memory a driver added, never allocated from.
pub const FLAG_DRIVER_MANAGED: u64 = 0x8;

/// A half-open range of physical addresses `[start, end)`, never inverted,
/// as memblock handles them: built by cutting at the top of the address
/// space (`memblock_cap_size`) where `bootmem::PhysicalRange` refuses, and
/// printed with inclusive ends as memblock prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    start: u64,
    end: u64,
}

impl Span {
    /// `[start, end)`; `None` when `end < start`.
    pub const fn new(start: u64, end: u64) -> Option<Self> {
        if end < start {
            None
        } else {
            Some(Self { start, end })
        }
    }

    /// `[start, start + size)`, cut at the top of the address space as
    /// memblock's `memblock_cap_size` does.
    pub const fn from_start_and_size(start: u64, size: u64) -> Self {
        Self {
            start,
            end: start.saturating_add(size),
        }
    }

    /// The first byte.
    pub const fn start(&self) -> u64 {
        self.start
    }

    /// One past the last byte.
    pub const fn end(&self) -> u64 {
        self.end
    }

    /// Bytes covered.
    pub const fn size(&self) -> u64 {
        self.end - self.start
    }

    /// Whether it covers nothing.
    pub const fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether the two share a byte.
    pub const fn overlaps(&self, other: &Self) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Whether `other` lies wholly inside.
    pub const fn contains_span(&self, other: &Self) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The common part, if not empty.
    pub fn intersection(&self, other: &Self) -> Option<Self> {
        let span = Self::new(self.start.max(other.start), self.end.min(other.end))?;
        (!span.is_empty()).then_some(span)
    }
}

impl std::fmt::Display for Span {
    /// `[first-last]` with an inclusive end, as memblock prints ranges.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "[{:#x}-{:#x}]",
            self.start,
            self.end.wrapping_sub(1)
        )
    }
}

/// One region of `memory`: its range, node (when known) and flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// The range.
    pub span: Span,
    /// Its node; `None` until the log or the map tells one.
    pub node: Option<u32>,
    /// memblock's region flags (`MEMBLOCK_MIRROR`, `MEMBLOCK_NOMAP`, ...).
    pub flags: u64,
}

/// A sorted list of disjoint regions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegionList {
    regions: Vec<Region>,
}

impl RegionList {
    /// The regions in address order.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The parts of `span` no region covers.
    pub fn uncovered(&self, span: Span) -> Vec<Span> {
        let mut gaps = Vec::new();
        let mut cursor = span.start;
        for region in &self.regions {
            if region.span.end <= cursor || region.span.start >= span.end {
                continue;
            }
            if region.span.start > cursor {
                gaps.push(Span {
                    start: cursor,
                    end: region.span.start,
                });
            }
            cursor = cursor.max(region.span.end);
        }
        if cursor < span.end {
            gaps.push(Span {
                start: cursor,
                end: span.end,
            });
        }
        gaps
    }

    /// Adds `span` as `memblock_add_range` does: only its uncovered parts
    /// are inserted, with `node` and `flags`; touching regions with equal
    /// node and flags merge.
    pub fn add(&mut self, span: Span, node: Option<u32>, flags: u64) {
        if span.is_empty() {
            return;
        }
        for gap in self.uncovered(span) {
            self.regions.push(Region {
                span: gap,
                node,
                flags,
            });
        }
        self.regions.sort_by_key(|region| region.span.start);
        self.merge();
    }

    /// Removes `span` as `memblock_remove_range` does.
    pub fn remove(&mut self, span: Span) {
        if span.is_empty() {
            return;
        }
        let mut kept = Vec::with_capacity(self.regions.len() + 1);
        for region in self.regions.drain(..) {
            if !region.span.overlaps(&span) {
                kept.push(region);
                continue;
            }
            for piece in [
                Span::new(region.span.start, span.start),
                Span::new(span.end, region.span.end),
            ]
            .into_iter()
            .flatten()
            .filter(|piece| !piece.is_empty())
            {
                kept.push(Region {
                    span: piece,
                    ..region
                });
            }
        }
        self.regions = kept;
    }

    /// Gives the parts inside `span` of regions without a node the node
    /// `node` (`memblock_set_node`, for what the log leaves unsaid).
    pub fn set_missing_node(&mut self, span: Span, node: u32) {
        let mut split = Vec::with_capacity(self.regions.len() + 2);
        for region in self.regions.drain(..) {
            let inside = region.span.intersection(&span);
            match (region.node, inside) {
                (None, Some(inside)) => {
                    for (piece, piece_node) in [
                        (Span::new(region.span.start, inside.start), None),
                        (Some(inside), Some(node)),
                        (Span::new(inside.end, region.span.end), None),
                    ] {
                        if let Some(piece) = piece.filter(|piece| !piece.is_empty()) {
                            split.push(Region {
                                span: piece,
                                node: piece_node,
                                flags: region.flags,
                            });
                        }
                    }
                }
                _ => split.push(region),
            }
        }
        self.regions = split;
        self.merge();
    }

    /// Merges touching regions with equal node and flags.
    fn merge(&mut self) {
        let mut merged: Vec<Region> = Vec::with_capacity(self.regions.len());
        for region in self.regions.drain(..) {
            match merged.last_mut() {
                Some(last)
                    if last.span.end == region.span.start
                        && last.node == region.node
                        && last.flags == region.flags =>
                {
                    last.span.end = region.span.end;
                }
                _ => merged.push(region),
            }
        }
        self.regions = merged;
    }

    /// Replaces every region (a `MEMBLOCK configuration:` dump).
    pub fn replace(&mut self, regions: &[Region]) {
        self.regions.clear();
        for region in regions {
            self.add(region.span, region.node, region.flags);
        }
    }

    /// Whether any region carries `flag`.
    pub fn any_flagged(&self, flag: u64) -> bool {
        self.regions.iter().any(|region| region.flags & flag != 0)
    }

    /// The region holding `address`, if any.
    pub fn region_at(&self, address: u64) -> Option<&Region> {
        self.regions
            .iter()
            .find(|region| region.span.start <= address && address < region.span.end)
    }

    /// The first region overlapping `span`, if any.
    pub fn first_overlap(&self, span: Span) -> Option<&Region> {
        self.regions
            .iter()
            .find(|region| region.span.overlaps(&span))
    }
}

/// Which way the search walks (`memblock_set_bottom_up`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// From the highest free address down: memblock's default.
    TopDown,
    /// From the lowest free address up.
    BottomUp,
}

impl Direction {
    /// The other direction.
    pub const fn flipped(self) -> Self {
        match self {
            Self::TopDown => Self::BottomUp,
            Self::BottomUp => Self::TopDown,
        }
    }
}

/// How a request's parameters reach the search, per API generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// The virtual-address requests: `memblock_virt_alloc_try_nid*` (3.13 to
    /// 4.19, through `memblock_virt_alloc_internal`), `memblock_alloc_try_nid*`
    /// (4.20 on, through `memblock_alloc_internal`) and
    /// `memblock_alloc_exact_nid_raw` (late 5.x on). `align=0` means
    /// `SMP_CACHE_BYTES`. The ceiling is `min(max_addr, current limit)`; the
    /// call tries its node, then (unless `exact_node`) any node (inline in
    /// `memblock_virt_alloc_internal`, in `memblock_alloc_range_nid` from
    /// 5.x); if that fails and `from` is not 0, it tries all that again from
    /// 0: the lower bound is a preference, the upper one is not. A node no
    /// memory is on (`MAX_NUMNODES` in old callers) finds nothing and falls
    /// back to any node, as memblock's `NUMA_NO_NODE` conversion does.
    /// Physical requests of these kernels (`memblock_alloc_base`,
    /// `memblock_phys_alloc_try_nid`) print no request line: the log shows
    /// them as reservations only.
    Virtual {
        /// `memblock_alloc_exact_nid_raw`: never another node.
        exact_node: bool,
    },
    /// `memblock_phys_alloc_range` (5.x, 6.x): `[from, max_addr)` as given (a
    /// `max_addr` of 0 or 1 is the current limit, anything else is not
    /// capped), any node, no second try from 0.
    PhysicalRange,
}

/// One allocation request, with what the log printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// Bytes.
    pub size: u64,
    /// The alignment as printed (0: `SMP_CACHE_BYTES`).
    pub align: u64,
    /// The node, `None` for `NUMA_NO_NODE` (or a node no memory is on).
    pub node: Option<u32>,
    /// `from=`.
    pub minimum: u64,
    /// `max_addr=`.
    pub maximum: u64,
    /// How the request reaches the search.
    pub entry: Entry,
}

/// The parameters a log cannot always tell, with the model's current guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parameters {
    /// `memblock.current_limit`.
    pub current_limit: u64,
    /// `memblock_bottom_up()`.
    pub direction: Direction,
    /// What `align=0` means: the architecture's `SMP_CACHE_BYTES`.
    pub default_align: u64,
    /// `PAGE_SIZE`: the first page is never handed out.
    pub page_size: u64,
    /// Where bottom-up searches start at the lowest: `None` on recent kernels;
    /// the kernel's end from 3.13 until early 5.x, when a bottom-up search also fell
    /// back to top-down if nothing fitted above the kernel.
    pub bottom_up_floor: Option<u64>,
    /// `movable_node` on the command line: hot-pluggable memory is not
    /// allocated from.
    pub movable_node: bool,
}

impl Default for Parameters {
    fn default() -> Self {
        Self {
            current_limit: ALLOC_ANYWHERE,
            direction: Direction::TopDown,
            default_align: 64,
            page_size: 4096,
            bottom_up_floor: None,
            movable_node: false,
        }
    }
}

/// Which try of a request found the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// The first try: its node (or any), from its `from=`.
    None,
    /// Another node than the one named.
    OtherNode,
    /// From address 0 instead of `from=`.
    FromZero,
    /// Both.
    OtherNodeFromZero,
}

/// Where the model puts a block and by which try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// The block's first byte.
    pub address: u64,
    /// Which try found it.
    pub fallback: Fallback,
    /// Whether mirrored memory had to be given up.
    pub without_mirror: bool,
}

/// memblock's two lists.
#[derive(Clone, Debug, Default)]
pub struct Memblock {
    /// `memblock.memory`.
    pub memory: RegionList,
    /// `memblock.reserved`.
    pub reserved: RegionList,
}

/// Rounds down to a multiple of `align` by mask, as memblock's `round_down`.
const fn round_down(value: u64, align: u64) -> u64 {
    value & !align.wrapping_sub(1)
}

/// Rounds up to a multiple of `align` by mask, `None` past 2^64.
fn round_up(value: u64, align: u64) -> Option<u64> {
    let mask = align.wrapping_sub(1);
    value.checked_add(mask).map(|sum| sum & !mask)
}

impl Memblock {
    /// Free ranges in address order: each usable memory region minus the
    /// reserved ranges (`for_each_free_mem_range`).
    pub fn free_ranges(&self, node: Option<u32>, mirror: bool, movable_node: bool) -> Vec<Span> {
        let mut free = Vec::new();
        for region in self.memory.regions() {
            let skip = (node.is_some() && region.node != node)
                || (movable_node && region.flags & FLAG_HOTPLUG != 0)
                || region.flags & (FLAG_NOMAP | FLAG_DRIVER_MANAGED) != 0
                || (mirror && region.flags & FLAG_MIRROR == 0);
            if skip {
                continue;
            }
            let mut cursor = region.span.start;
            // Reserved regions are sorted and disjoint: start at the first
            // one ending inside this memory region, stop past its end.
            let reserved = self.reserved.regions();
            let first = reserved.partition_point(|taken| taken.span.end <= cursor);
            for taken in &reserved[first..] {
                if taken.span.start >= region.span.end {
                    break;
                }
                if taken.span.start > cursor {
                    free.push(Span {
                        start: cursor,
                        end: taken.span.start,
                    });
                }
                cursor = cursor.max(taken.span.end);
            }
            if cursor < region.span.end {
                free.push(Span {
                    start: cursor,
                    end: region.span.end,
                });
            }
        }
        free
    }

    /// `memblock_find_in_range_node`: the block's address, or `None`.
    #[allow(clippy::too_many_arguments)]
    pub fn find_in_range_node(
        &self,
        size: u64,
        align: u64,
        start: u64,
        end: u64,
        node: Option<u32>,
        mirror: bool,
        parameters: &Parameters,
    ) -> Option<u64> {
        let end = if end <= 1 {
            parameters.current_limit
        } else {
            end
        };
        let start = start.max(parameters.page_size);
        let end = end.max(start);
        let free = self.free_ranges(node, mirror, parameters.movable_node);
        let top_down = |start: u64| {
            free.iter().rev().find_map(|range| {
                let (low, high) = (range.start.clamp(start, end), range.end.clamp(start, end));
                let candidate = round_down(high.checked_sub(size)?, align);
                (candidate >= low).then_some(candidate)
            })
        };
        let bottom_up = |start: u64| {
            free.iter().find_map(|range| {
                let (low, high) = (range.start.clamp(start, end), range.end.clamp(start, end));
                let candidate = round_up(low, align)?;
                (candidate < high && high - candidate >= size).then_some(candidate)
            })
        };
        match (parameters.direction, parameters.bottom_up_floor) {
            (Direction::TopDown, _) => top_down(start),
            (Direction::BottomUp, None) => bottom_up(start),
            // 3.13 to early 5.x: bottom-up only above the kernel's end, and
            // top-down (after a warning) when that fails.
            (Direction::BottomUp, Some(floor)) if end > floor => {
                bottom_up(start.max(floor)).or_else(|| top_down(start))
            }
            (Direction::BottomUp, Some(_)) => top_down(start),
        }
    }

    /// The free range (of any node) holding `address`, if it is free.
    pub fn free_range_at(&self, address: u64) -> Option<Span> {
        self.free_ranges(None, false, false)
            .into_iter()
            .find(|range| range.start <= address && address < range.end)
    }

    /// `memblock_alloc_range_nid` without the reservation: the node, then
    /// any node (unless exact), each first with mirrored memory when the
    /// machine has some.
    fn range_nid(
        &self,
        call: &Call,
        align: u64,
        start: u64,
        end: u64,
        parameters: &Parameters,
    ) -> Option<(u64, bool, bool)> {
        let exact = matches!(call.entry, Entry::Virtual { exact_node: true });
        let has_mirror = self.memory.any_flagged(FLAG_MIRROR);
        let mirror_choices: &[bool] = if has_mirror { &[true, false] } else { &[false] };
        for &mirror in mirror_choices {
            let find = |node| {
                self.find_in_range_node(call.size, align, start, end, node, mirror, parameters)
            };
            if let Some(address) = find(call.node) {
                return Some((address, false, !mirror && has_mirror));
            }
            if call.node.is_some() && !exact {
                if let Some(address) = find(None) {
                    return Some((address, true, !mirror && has_mirror));
                }
            }
        }
        None
    }

    /// Where memblock would place `call` under `parameters` (see [`Entry`]).
    pub fn place(&self, call: &Call, parameters: &Parameters) -> Option<Found> {
        if call.size == 0 {
            return None;
        }
        let align = if call.align == 0 {
            parameters.default_align
        } else {
            call.align
        };
        let found = |(address, other_node, without_mirror), from_zero| Found {
            address,
            fallback: match (other_node, from_zero) {
                (false, false) => Fallback::None,
                (true, false) => Fallback::OtherNode,
                (false, true) => Fallback::FromZero,
                (true, true) => Fallback::OtherNodeFromZero,
            },
            without_mirror,
        };
        match call.entry {
            Entry::PhysicalRange => self
                .range_nid(call, align, call.minimum, call.maximum, parameters)
                .map(|result| found(result, false)),
            Entry::Virtual { .. } => {
                let ceiling = match call.maximum {
                    0 | 1 => parameters.current_limit,
                    maximum => maximum.min(parameters.current_limit),
                };
                if let Some(result) = self.range_nid(call, align, call.minimum, ceiling, parameters)
                {
                    return Some(found(result, false));
                }
                if call.minimum == 0 {
                    return None;
                }
                self.range_nid(call, align, 0, ceiling, parameters)
                    .map(|result| found(result, true))
            }
        }
    }

    /// Whether the current limit bounds `call` (so that a lower or higher
    /// limit could move it).
    pub fn limit_applies(call: &Call) -> bool {
        match call.entry {
            Entry::Virtual { .. } => true,
            Entry::PhysicalRange => call.maximum <= 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: u64, end: u64) -> Span {
        Span::new(start, end).unwrap()
    }

    fn machine() -> Memblock {
        let mut memblock = Memblock::default();
        memblock.memory.add(span(0x1000, 0x9f000), Some(0), 0);
        memblock
            .memory
            .add(span(0x10_0000, 0x8000_0000), Some(0), 0);
        memblock
            .memory
            .add(span(0x8000_0000, 0x1_0000_0000), Some(1), 0);
        memblock
            .reserved
            .add(span(0x0100_0000, 0x0200_0000), None, 0);
        memblock
            .reserved
            .add(span(0xffff_f000, 0x1_0000_0000), None, 0);
        memblock
    }

    fn call(size: u64, align: u64, node: Option<u32>, minimum: u64, maximum: u64) -> Call {
        Call {
            size,
            align,
            node,
            minimum,
            maximum,
            entry: Entry::Virtual { exact_node: false },
        }
    }

    #[test]
    fn region_lists_merge_only_equal_neighbours_and_split_on_remove() {
        let memblock = machine();
        // Node 0's two regions do not touch; node 1 touches node 0 but differs.
        assert_eq!(memblock.memory.regions().len(), 3);
        let mut memory = memblock.memory.clone();
        memory.add(span(0x9f000, 0x10_0000), Some(0), 0);
        assert_eq!(memory.regions().len(), 2);
        memory.remove(span(0x2000, 0x3000));
        assert_eq!(memory.regions()[0].span, span(0x1000, 0x2000));
        assert_eq!(memory.regions()[1].span, span(0x3000, 0x8000_0000));
        // Adding over existing memory keeps the old node.
        memory.add(span(0x7000_0000, 0x9000_0000), Some(5), 0);
        assert_eq!(memory.region_at(0x8800_0000).unwrap().node, Some(1));
    }

    #[test]
    fn top_down_takes_the_highest_aligned_fit_under_the_limit() {
        let memblock = machine();
        let parameters = Parameters::default();
        // The top page is reserved: the next 4 KiB page down.
        let found = memblock.place(&call(4096, 4096, None, 0, 0), &parameters);
        assert_eq!(found.unwrap().address, 0xffff_e000);
        // 100 bytes at 64: 0xfffff000 - 100 rounded down to 64.
        let found = memblock.place(&call(100, 0, None, 0, 0), &parameters);
        assert_eq!(found.unwrap().address, 0xffff_ef80);
        let limited = Parameters {
            current_limit: 0x4000_0000,
            ..parameters
        };
        let found = memblock.place(&call(4096, 4096, None, 0, 0), &limited);
        assert_eq!(found.unwrap().address, 0x3fff_f000);
        // An explicit max_addr above the limit is capped by it.
        let found = memblock.place(&call(4096, 4096, None, 0, 0x8000_0000), &limited);
        assert_eq!(found.unwrap().address, 0x3fff_f000);
    }

    #[test]
    fn bottom_up_skips_the_first_page_and_reserved_memory() {
        let memblock = machine();
        let parameters = Parameters {
            direction: Direction::BottomUp,
            ..Parameters::default()
        };
        let found = memblock.place(&call(0x1000, 0x1000, None, 0, 0), &parameters);
        assert_eq!(found.unwrap().address, 0x1000);
        let found = memblock.place(&call(0x1000, 0x1000, None, 0x100_0000, 0), &parameters);
        assert_eq!(found.unwrap().address, 0x0200_0000);
    }

    #[test]
    fn old_bottom_up_starts_above_the_kernel_and_falls_back_to_top_down() {
        let memblock = machine();
        let parameters = Parameters {
            direction: Direction::BottomUp,
            bottom_up_floor: Some(0x0200_0000),
            ..Parameters::default()
        };
        let found = memblock.place(&call(0x1000, 0x1000, None, 0, 0), &parameters);
        assert_eq!(found.unwrap().address, 0x0200_0000);
        // Nothing fits between the floor and a 0x0200_1000 ceiling: top-down
        // over the whole range instead.
        let found = memblock.place(&call(0x2000, 0x1000, None, 0, 0x0200_1000), &parameters);
        assert_eq!(found.unwrap().address, 0xff_e000);
        // A ceiling at or below the floor: top-down straight away.
        let found = memblock.place(&call(0x1000, 0x1000, None, 0, 0x0100_0000), &parameters);
        assert_eq!(found.unwrap().address, 0xff_f000);
    }

    #[test]
    fn nodes_fall_back_unless_exact_and_from_is_dropped_last() {
        let mut memblock = machine();
        let parameters = Parameters::default();
        // Fill node 1.
        memblock
            .reserved
            .add(span(0x8000_0000, 0x1_0000_0000), None, 0);
        let found = memblock
            .place(&call(4096, 4096, Some(1), 0, 0), &parameters)
            .unwrap();
        assert_eq!(
            (found.address, found.fallback),
            (0x7fff_f000, Fallback::OtherNode)
        );
        let exact = Call {
            entry: Entry::Virtual { exact_node: true },
            ..call(4096, 4096, Some(1), 0, 0)
        };
        assert_eq!(memblock.place(&exact, &parameters), None);
        // Nothing fits above 2 GiB any more: from= is given up.
        let found = memblock
            .place(&call(4096, 4096, None, 0x8000_0000, 0), &parameters)
            .unwrap();
        assert_eq!(
            (found.address, found.fallback),
            (0x7fff_f000, Fallback::FromZero)
        );
        // The physical call keeps its range and its minimum.
        let physical = Call {
            entry: Entry::PhysicalRange,
            ..call(4096, 4096, None, 0x8000_0000, 0)
        };
        assert_eq!(memblock.place(&physical, &parameters), None);
    }

    #[test]
    fn nomap_is_never_used_and_mirror_is_preferred() {
        let mut memblock = Memblock::default();
        memblock
            .memory
            .add(span(0x10_0000, 0x20_0000), None, FLAG_MIRROR);
        memblock
            .memory
            .add(span(0x20_0000, 0x30_0000), None, FLAG_NOMAP);
        memblock.memory.add(span(0x30_0000, 0x40_0000), None, 0);
        let found = memblock
            .place(&call(4096, 4096, None, 0, 0), &Parameters::default())
            .unwrap();
        assert_eq!((found.address, found.without_mirror), (0x1f_f000, false));
        memblock.reserved.add(span(0x10_0000, 0x20_0000), None, 0);
        let found = memblock
            .place(&call(4096, 4096, None, 0, 0), &Parameters::default())
            .unwrap();
        assert_eq!((found.address, found.without_mirror), (0x3f_f000, true));
    }

    #[test]
    fn hotplug_memory_is_skipped_only_with_movable_node() {
        let mut memblock = Memblock::default();
        memblock.memory.add(span(0x10_0000, 0x20_0000), None, 0);
        memblock
            .memory
            .add(span(0x20_0000, 0x30_0000), None, FLAG_HOTPLUG);
        let request = call(4096, 4096, None, 0, 0);
        let plain = Parameters::default();
        assert_eq!(memblock.place(&request, &plain).unwrap().address, 0x2f_f000);
        let movable = Parameters {
            movable_node: true,
            ..plain
        };
        assert_eq!(
            memblock.place(&request, &movable).unwrap().address,
            0x1f_f000
        );
    }

    #[test]
    fn set_missing_node_splits_only_unknown_regions() {
        let mut memory = RegionList::default();
        memory.add(span(0, 0x4000), None, 0);
        memory.add(span(0x8000, 0x9000), Some(3), 0);
        memory.set_missing_node(span(0x2000, 0x9000), 1);
        let nodes: Vec<_> = memory
            .regions()
            .iter()
            .map(|region| (region.span, region.node))
            .collect();
        assert_eq!(
            nodes,
            [
                (span(0, 0x2000), None),
                (span(0x2000, 0x4000), Some(1)),
                (span(0x8000, 0x9000), Some(3)),
            ]
        );
    }
}
