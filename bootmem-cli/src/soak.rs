//! `bootmem soak`: millions of random Linux-named calls over several nodes, the invariants checked after every one.
//!
//! The allocator is driven through `bootmem::linux::Bootmem` with a
//! seeded random mix of allocations of every node policy (with goals,
//! limits, alignments and, rarely, misuse), frees of live blocks and of
//! random ranges, and shared and exclusive reservations, some of them
//! across adjacent nodes or into a hole. After every call:
//!
//! - the result is the one the rules demand: `BUG` exactly for misuse, a
//!   range leaving the nodes or crossing a hole, or a double free; `-16`
//!   exactly when an exclusive reservation meets a reserved page; `NULL` or
//!   `PANIC` only when no node has room for the request;
//! - a returned block is aligned, lies in one node and below its limit,
//!   overlaps no live block, and takes only free pages (or the partly used
//!   page the same node's previous allocation ended in);
//! - the pages the call marked are those the soak's own record says, and
//!   reserved + free pages equal the registered pages;
//! - a call that failed changed nothing: for `BUG` and `-16` the
//!   allocator's whole state (bitmaps, hints, last ends) is compared with
//!   its state before the call.
//!
//! Every 4096 calls every page is compared with the record, and at the end
//! the hand-off must cover exactly the free pages and the bitmap pages,
//! each block naturally aligned, no page twice.

mod shadow;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;

use bootmem::linux::{Bootmem, NoPanicResult};
use bootmem::memory::NoZeroing;
use bootmem::{Configuration, PageFrameNumber, PhysicalAddress};

use shadow::{Pieces, Shadow};

/// Arguments of `bootmem soak`.
#[derive(clap::Args)]
pub struct SoakArguments {
    /// Number of calls to make.
    #[arg(long, default_value_t = 100_000)]
    pub ops: u64,
    /// Seed of the random call sequence (the same seed gives the same calls).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

const PAGE: u64 = 4096;
/// How often every page is compared with the record.
const FULL_CHECK_EVERY: u64 = 4096;

type Machine = Bootmem<Vec<u64>, NoZeroing, 8>;

/// The nodes `(id, frames, bitmap frame)`: node 0 starts on a word
/// boundary and holds its own bitmap, node 1 follows it directly and ends
/// off a word, then a hole, node 2 starting off a word, node 3 right after
/// it (registered first).
const LAYOUT: [(u32, u64, u64, u64); 4] = [
    (3, 0x3000, 0x3800, 0x9000),
    (0, 0x100, 0x1100, 0x10ff),
    (1, 0x1100, 0x2123, 0x9001),
    (2, 0x2205, 0x3000, 0x9002),
];

fn configuration() -> Configuration {
    Configuration {
        dma_limit: PhysicalAddress::new(0x800 * PAGE),
        low_address_limit: PhysicalAddress::new(0x2800 * PAGE + 0x123),
        dma32_end: PageFrameNumber::new(0x2000),
        ..Configuration::X86_64
    }
}

/// SplitMix64: a tiny generator whose sequence for a seed never changes
/// (a soak failure is reproduced by its seed alone, whatever crate versions).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What the soak counted.
#[derive(Default)]
struct Tally {
    outcomes: BTreeMap<&'static str, u64>,
    peak_live: usize,
    full_checks: u64,
    state_comparisons: u64,
}

impl Tally {
    fn count(&mut self, name: &'static str) {
        *self.outcomes.entry(name).or_default() += 1;
    }
}

/// The allocator, the record, the live blocks, the random source.
struct Soak {
    bootmem: Machine,
    shadow: Shadow,
    /// Live blocks: start address -> end address.
    live: BTreeMap<u64, u64>,
    /// Reservations made, to be freed again: address, size.
    reservations: Vec<(u64, u64)>,
    random: Random,
    tally: Tally,
    registered: u64,
}

/// An allocation request and what any correct answer must honour.
struct Request {
    name: &'static str,
    nid: Option<u32>,
    size: u64,
    align: u64,
    goal: u64,
    /// The limit passed to the call (0: none).
    passed_limit: u64,
    /// The limit that holds for the whole call (0: none).
    limit: u64,
    /// Whether the library must refuse it as misuse.
    misuse: bool,
}

/// A fingerprint of the allocator's whole state, hints included.
fn fingerprint(bootmem: &Machine) -> u64 {
    struct HashWriter(std::collections::hash_map::DefaultHasher);
    impl std::fmt::Write for HashWriter {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            text.hash(&mut self.0);
            Ok(())
        }
    }
    let mut writer = HashWriter(std::collections::hash_map::DefaultHasher::new());
    let _ = write!(writer, "{:?}", bootmem.allocator());
    writer.0.finish()
}

impl Soak {
    fn new(seed: u64) -> Result<Self, String> {
        let mut bootmem = Machine::new(configuration(), NoZeroing);
        let mut layout = Vec::new();
        for (id, start, end, map) in LAYOUT {
            let storage = vec![0; bootmem::node_storage_words(end - start) as usize];
            bootmem
                .init_bootmem_node(id, map, start, end, storage)
                .map_err(|error| format!("registering node {id}: {error}"))?;
            let bitmap_pages = bootmem.bootmem_bootmap_pages(end - start);
            layout.push((id, start..end, map..map + bitmap_pages));
        }
        let mut shadow = Shadow::new(PAGE, layout);
        for (_, start, end, _) in LAYOUT {
            bootmem
                .free_bootmem(start * PAGE, (end - start) * PAGE)
                .map_err(|error| format!("freeing RAM: {error}"))?;
            let pieces = shadow.spanning(start, end).ok_or("layout")?;
            shadow.free(&pieces);
        }
        let registered = LAYOUT.iter().map(|(_, start, end, _)| end - start).sum();
        Ok(Self {
            bootmem,
            shadow,
            live: BTreeMap::new(),
            reservations: Vec::new(),
            random: Random(seed),
            tally: Tally::default(),
            registered,
        })
    }

    /// One random call, checked.
    fn step(&mut self) -> Result<(), String> {
        // Fewer allocations while memory is short, so the soak keeps room.
        let allocations = if self.shadow.free * 4 < self.registered {
            30
        } else {
            45
        };
        let roll = self.random.below(100);
        match roll {
            _ if roll < allocations => self.allocate(),
            0..=74 if !self.live.is_empty() => self.free_live(),
            75..=86 if !self.reservations.is_empty() => self.free_reservation(),
            0..=88 => self.free_random(),
            _ => self.reserve(),
        }?;
        self.tally.peak_live = self.tally.peak_live.max(self.live.len());
        self.check_counts()
    }

    fn check_counts(&self) -> Result<(), String> {
        let free = self.bootmem.allocator().free_pages();
        if free != self.shadow.free {
            return Err(format!(
                "{free} free pages, the record says {}",
                self.shadow.free
            ));
        }
        let nodes: u64 = self
            .bootmem
            .allocator()
            .nodes()
            .map(|node| node.end.as_u64() - node.start.as_u64())
            .sum();
        let reserved: u64 = self
            .shadow
            .nodes
            .iter()
            .map(|node| node.reserved.iter().filter(|r| **r).count() as u64)
            .sum();
        if nodes != self.registered || reserved + free != self.registered {
            return Err(format!(
                "reserved {reserved} + free {free} != registered {}",
                self.registered
            ));
        }
        Ok(())
    }

    /// Every page against the record.
    fn full_check(&mut self) -> Result<(), String> {
        self.tally.full_checks += 1;
        for node in &self.shadow.nodes {
            for frame in node.frames.clone() {
                let expected = node.reserved[(frame - node.frames.start) as usize];
                let got = self
                    .bootmem
                    .allocator()
                    .is_reserved(PageFrameNumber::new(frame));
                if got != Some(expected) {
                    return Err(format!(
                        "page {frame:#x} is {got:?}, the record says {expected}"
                    ));
                }
            }
        }
        Ok(())
    }

    fn random_node(&mut self) -> u32 {
        if self.random.chance(1) {
            return 7; // not registered: misuse
        }
        LAYOUT[self.random.below(4) as usize].0
    }

    fn random_size(&mut self) -> u64 {
        match self.random.below(10) {
            0..=3 => 1 + self.random.below(256),
            4..=6 => 1 + self.random.below(PAGE),
            7 | 8 => {
                PAGE * (1 + self.random.below(8)) + self.random.below(2) * self.random.below(PAGE)
            }
            _ => PAGE * (1 + self.random.below(256)),
        }
    }

    fn random_address(&mut self) -> u64 {
        let (_, start, end, _) = LAYOUT[self.random.below(4) as usize];
        let frame = match self.random.below(4) {
            0 => [start, end, end - 1, start + 1][self.random.below(4) as usize],
            _ => start + self.random.below(end - start),
        };
        frame * PAGE + [0, 0, 1, PAGE / 2, PAGE - 1][self.random.below(5) as usize]
    }

    fn random_request(&mut self) -> Request {
        let size = if self.random.chance(1) {
            [0, u64::MAX][self.random.below(2) as usize]
        } else {
            self.random_size()
        };
        let align: u64 = match self.random.below(100) {
            0 => 0,
            1 => 3,
            _ => 1 << self.random.below(15),
        };
        let goal = if self.random.chance(40) {
            0
        } else {
            self.random_address()
        };
        let nid = self.random_node();
        let limit_draw = self.random.chance(50);
        let (low, high) = (configuration().low_address_limit.as_u64(), 0x3800 * PAGE);
        let basic_misuse =
            size == 0 || !align.is_power_of_two() || goal.checked_add(size).is_none();
        let goal_end = goal.saturating_add(size);
        let request =
            |name, nid: Option<u32>, (passed_limit, limit): (u64, u64), misuse: bool| Request {
                name,
                nid,
                size,
                align,
                goal,
                passed_limit,
                limit,
                misuse: basic_misuse || misuse || nid.is_some_and(|id| id == 7),
            };
        match self.random.below(6) {
            0 => request("__alloc_bootmem_nopanic", None, (0, 0), false),
            1 => {
                let limit = if limit_draw {
                    goal_end.saturating_add(self.random.below(high))
                } else {
                    0
                };
                request(
                    "___alloc_bootmem_nopanic",
                    None,
                    (limit, limit),
                    limit != 0 && goal_end > limit,
                )
            }
            2 => request(
                "__alloc_bootmem_low_nopanic",
                None,
                (0, low),
                goal_end > low,
            ),
            3 => {
                let limit = if limit_draw {
                    self.random.below(high)
                } else {
                    0
                };
                let kept = if goal_end > limit { 0 } else { limit };
                request(
                    "___alloc_bootmem_node_nopanic",
                    Some(nid),
                    (limit, kept),
                    false,
                )
            }
            4 => request(
                "__alloc_bootmem_node_high_nopanic",
                Some(nid),
                (0, 0),
                false,
            ),
            _ => request("__alloc_bootmem_node", Some(nid), (0, 0), false),
        }
    }

    #[allow(clippy::used_underscore_items)]
    fn call(&mut self, request: &Request) -> Result<NoPanicResult, ()> {
        let Request {
            size,
            align,
            goal,
            passed_limit,
            ..
        } = *request;
        let bootmem = &mut self.bootmem;
        let nid = request.nid.unwrap_or(0);
        Ok(match request.name {
            "__alloc_bootmem_nopanic" => bootmem.__alloc_bootmem_nopanic(size, align, goal),
            "___alloc_bootmem_nopanic" => {
                bootmem.___alloc_bootmem_nopanic(size, align, goal, passed_limit)
            }
            "__alloc_bootmem_low_nopanic" => bootmem.__alloc_bootmem_low_nopanic(size, align, goal),
            "___alloc_bootmem_node_nopanic" => {
                bootmem.___alloc_bootmem_node_nopanic(nid, size, align, goal, passed_limit)
            }
            "__alloc_bootmem_node_high_nopanic" => {
                bootmem.__alloc_bootmem_node_high_nopanic(nid, size, align, goal)
            }
            _ => match catch_unwind(AssertUnwindSafe(|| {
                bootmem.__alloc_bootmem_node(nid, size, align, goal)
            })) {
                Ok(result) => result.map(Some),
                Err(_) => return Err(()),
            },
        })
    }

    fn allocate(&mut self) -> Result<(), String> {
        let request = self.random_request();
        let before = request.misuse.then(|| fingerprint(&self.bootmem));
        let free_before = self.shadow.free;
        let result = self.call(&request);
        let describe = || {
            format!(
                "{}(size {:#x}, align {:#x}, goal {:#x}, limit {:#x})",
                request.name, request.size, request.align, request.goal, request.limit
            )
        };
        match result {
            Err(()) | Ok(Ok(None)) => {
                if request.misuse {
                    return Err(format!("{}: no BUG for misuse", describe()));
                }
                self.tally
                    .count(if result.is_err() { "PANIC" } else { "NULL" });
                if self.bootmem.allocator().free_pages() != free_before {
                    return Err(format!("{}: failed but changed the free pages", describe()));
                }
                let pages = request.size.div_ceil(PAGE);
                let step = (request.align / PAGE).max(1);
                let below = if request.limit == 0 {
                    u64::MAX
                } else {
                    request.limit / PAGE
                };
                if self.shadow.has_room(pages, step, below) {
                    return Err(format!("{}: no block, but a node has room", describe()));
                }
                Ok(())
            }
            Ok(Err(error)) => {
                if !request.misuse {
                    return Err(format!("{}: BUG ({error}) for a valid request", describe()));
                }
                self.tally.count("allocation BUG");
                self.tally.state_comparisons += 1;
                if before != Some(fingerprint(&self.bootmem)) {
                    return Err(format!("{}: BUG changed the allocator", describe()));
                }
                Ok(())
            }
            Ok(Ok(Some(address))) => {
                if request.misuse {
                    return Err(format!("{}: misuse returned {address:#x}", describe()));
                }
                self.tally.count("allocated");
                self.check_block(&request, address.as_u64())
                    .map_err(|error| format!("{}: {error}", describe()))
            }
        }
    }

    /// What every correct block satisfies; then records it.
    fn check_block(&mut self, request: &Request, address: u64) -> Result<(), String> {
        let size = request.size;
        let end = address
            .checked_add(size)
            .ok_or("the block wraps past 2^64")?;
        if address % request.align != 0 {
            return Err(format!("{address:#x} is not aligned"));
        }
        let frames = address / PAGE..end.div_ceil(PAGE);
        let node = self
            .shadow
            .node_at(frames.start)
            .ok_or(format!("{address:#x} is in no node"))?;
        if frames.end > self.shadow.nodes[node].frames.end {
            return Err(format!("{address:#x}+{size:#x} leaves its node"));
        }
        // A limit is truncated to its page; one below a page limits nothing
        // in the per-node search (v4.19's `lpfn == 0`).
        let limit_frame = request.limit / PAGE;
        if limit_frame != 0 && frames.end > limit_frame {
            return Err(format!("{address:#x}+{size:#x} passes the limit"));
        }
        for frame in frames.clone() {
            if self.shadow.is_reserved(frame) == Some(true) {
                let merged = frame == frames.start
                    && address % PAGE != 0
                    && self.shadow.nodes[node]
                        .last_end
                        .is_some_and(|last| last <= address && (last - 1) / PAGE == frame);
                if !merged {
                    return Err(format!(
                        "{address:#x}+{size:#x} takes reserved page {frame:#x}"
                    ));
                }
            }
        }
        if let Some((&start, &stop)) = self.live.range(..end).next_back() {
            if stop > address {
                return Err(format!(
                    "{address:#x}+{size:#x} overlaps live block {start:#x}..{stop:#x}"
                ));
            }
        }
        self.live.insert(address, end);
        self.shadow.allocate(address, size);
        for frame in frames {
            if self
                .bootmem
                .allocator()
                .is_reserved(PageFrameNumber::new(frame))
                != Some(true)
            {
                return Err(format!(
                    "page {frame:#x} of {address:#x}+{size:#x} is not reserved"
                ));
            }
        }
        Ok(())
    }

    /// Frees a live block: mostly every page it touches (as a caller
    /// giving back its pages does, which also ends any block sharing its
    /// partly used pages), sometimes its exact bytes (partly used pages
    /// then stay reserved, as in Linux).
    fn free_live(&mut self) -> Result<(), String> {
        // The first block at or after a random address (or the first of all).
        let from = self.random_address();
        let (&start, &end) = self
            .live
            .range(from..)
            .next()
            .or_else(|| self.live.iter().next())
            .ok_or("no live block")?;
        self.live.remove(&start);
        let on_node = self.random.chance(30);
        if self.random.chance(10) {
            self.free_range(start, end - start, on_node)
        } else {
            let first = start / PAGE * PAGE;
            self.free_range(first, end.div_ceil(PAGE) * PAGE - first, on_node)
        }
    }

    /// Drops the live blocks that lost a page to a free of frames `[first, last)`.
    fn forget_blocks_freed(&mut self, first: u64, last: u64) {
        let touched: Vec<u64> = self
            .live
            .range(..last.saturating_mul(PAGE))
            .rev()
            .take_while(|(_, end)| **end > first * PAGE)
            .filter(|(start, end)| {
                (**start / PAGE..end.div_ceil(PAGE))
                    .any(|frame| self.shadow.is_reserved(frame) != Some(true))
            })
            .map(|(start, _)| *start)
            .collect();
        for start in touched {
            self.live.remove(&start);
        }
    }

    fn free_reservation(&mut self) -> Result<(), String> {
        let index = self.random.below(self.reservations.len() as u64) as usize;
        let (address, size) = self.reservations.swap_remove(index);
        let on_node = self.random.chance(30);
        self.free_range(address, size, on_node)
    }

    fn free_random(&mut self) -> Result<(), String> {
        let address = self.random_address();
        let size = self.random.below(4 * PAGE);
        let on_node = self.random.chance(30);
        self.free_range(address, size, on_node)
    }

    /// The pieces of a range as the call rounds it, or `None` for a `BUG`.
    fn pieces(&self, first: u64, last: u64, nid: Option<u32>) -> Option<Pieces> {
        match nid {
            Some(id) => self.shadow.on_node(id, first, last),
            None => self.shadow.spanning(first, last),
        }
    }

    fn free_range(&mut self, address: u64, size: u64, on_node: bool) -> Result<(), String> {
        let nid = on_node.then(|| {
            self.shadow
                .node_at(address.div_ceil(PAGE))
                .map_or(7, |index| self.shadow.nodes[index].id)
        });
        let (first, last) = (address.div_ceil(PAGE), (address + size) / PAGE);
        let before = fingerprint(&self.bootmem);
        let result = match nid {
            Some(id) => self.bootmem.free_bootmem_node(id, address, size),
            None => self.bootmem.free_bootmem(address, size),
        };
        let expected = self
            .pieces(first, last, nid)
            .filter(|pieces| self.shadow.free(pieces));
        match (result, expected) {
            (Ok(()), Some(_)) => {
                self.tally.count("free ok");
                self.forget_blocks_freed(first, last);
                Ok(())
            }
            (Err(_), None) => {
                self.tally.count("free BUG");
                self.tally.state_comparisons += 1;
                if fingerprint(&self.bootmem) != before {
                    return Err(format!("free({address:#x}, {size:#x}) BUG changed the allocator"));
                }
                Ok(())
            }
            (result, _) => Err(format!("free({address:#x}, {size:#x}, node {nid:?}) gave {result:?}, the rules say otherwise")),
        }
    }

    fn reserve(&mut self) -> Result<(), String> {
        let address = self.random_address();
        let size = self.random.below(8 * PAGE);
        let exclusive = self.random.chance(50);
        let nid = self.random.chance(25).then(|| {
            self.shadow
                .node_at(address / PAGE)
                .map_or(7, |index| self.shadow.nodes[index].id)
        });
        let (first, last) = (address / PAGE, (address + size).div_ceil(PAGE));
        let before = fingerprint(&self.bootmem);
        let flags = u32::from(exclusive);
        let result = match nid {
            Some(id) => self.bootmem.reserve_bootmem_node(id, address, size, flags),
            None => self.bootmem.reserve_bootmem(address, size, flags),
        };
        let expected = self
            .pieces(first, last, nid)
            .map(|pieces| self.shadow.reserve(&pieces, exclusive));
        match (result, expected) {
            (Ok(0), Some(0)) => {
                self.tally.count("reserve 0");
                self.reservations.push((address, size));
                Ok(())
            }
            (Ok(-16), Some(-16)) | (Err(_), None) => {
                self.tally.count(if expected.is_some() { "reserve -EBUSY" } else { "reserve BUG" });
                self.tally.state_comparisons += 1;
                if fingerprint(&self.bootmem) != before {
                    return Err(format!("reserve({address:#x}, {size:#x}) failed and changed the allocator"));
                }
                Ok(())
            }
            (result, expected) => Err(format!(
                "reserve({address:#x}, {size:#x}, flags {flags}, node {nid:?}) gave {result:?}, the rules say {expected:?}"
            )),
        }
    }

    /// Tears down: the blocks must cover exactly the free and bitmap pages.
    fn hand_off(self) -> Result<String, String> {
        let mut expected: Vec<u64> = Vec::new();
        for node in &self.shadow.nodes {
            let free = node
                .frames
                .clone()
                .filter(|frame| !node.reserved[(frame - node.frames.start) as usize]);
            expected.extend(free);
        }
        let bitmap_pages: u64 = self
            .shadow
            .nodes
            .iter()
            .map(|node| node.bitmap.end - node.bitmap.start)
            .sum();
        expected.extend(
            self.shadow
                .nodes
                .iter()
                .flat_map(|node| node.bitmap.clone()),
        );
        let mut pages = Vec::new();
        let mut blocks = 0u64;
        let mut misaligned = 0u64;
        let released = self.bootmem.free_all_bootmem(|block| {
            blocks += 1;
            let start = block.start.as_u64();
            misaligned += u64::from(start % block.pages() != 0);
            pages.extend(start..start + block.pages());
        });
        pages.sort_unstable();
        expected.sort_unstable();
        if misaligned != 0 {
            return Err(format!(
                "hand-off: {misaligned} blocks not naturally aligned"
            ));
        }
        if pages.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err("hand-off: a page handed out twice".to_owned());
        }
        if pages != expected || released != pages.len() as u64 {
            return Err(format!(
                "hand-off: {} pages (count {released}), the record says {}",
                pages.len(),
                expected.len()
            ));
        }
        Ok(format!(
            "hand-off: {blocks} blocks cover exactly the {} free pages and {bitmap_pages} bitmap pages, naturally aligned, none twice",
            self.shadow.free
        ))
    }
}

/// Silences the expected `bootmem alloc of N bytes failed!` panics.
fn quiet_expected_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map_or("", String::as_str);
        if !message.starts_with("bootmem alloc of ") {
            default(info);
        }
    }));
}

/// Runs `bootmem soak`.
pub fn run(arguments: &SoakArguments) -> ExitCode {
    quiet_expected_panics();
    let mut soak = match Soak::new(arguments.seed) {
        Ok(soak) => soak,
        Err(error) => {
            eprintln!("error: soak set-up: {error}");
            return ExitCode::from(1);
        }
    };
    let pages = soak.registered;
    println!("soak: {} calls, seed {}, {} nodes of {pages} pages (two adjacent pairs, a hole, misaligned edges)", arguments.ops, arguments.seed, LAYOUT.len());
    for call in 1..=arguments.ops {
        let checked = soak.step().and_then(|()| {
            if call % FULL_CHECK_EVERY == 0 {
                soak.full_check()
            } else {
                Ok(())
            }
        });
        if let Err(error) = checked {
            eprintln!("error: soak seed {} call {call}: {error}", arguments.seed);
            return ExitCode::from(1);
        }
    }
    if let Err(error) = soak.full_check() {
        eprintln!("error: soak seed {} at the end: {error}", arguments.seed);
        return ExitCode::from(1);
    }
    let tally = std::mem::take(&mut soak.tally);
    let mut line = String::new();
    for (name, count) in &tally.outcomes {
        let _ = write!(line, " {name} {count};");
    }
    println!("calls:{line}");
    println!("checked after every call: the result the rules demand (BUG, -16, NULL/PANIC only without room), blocks aligned, in one node, under their limit, on free pages, overlapping no live block (peak {} live); reserved + free = {pages} registered pages", tally.peak_live);
    println!("failed calls changed nothing: whole-state comparisons {}; every page compared with the record {} times", tally.state_comparisons, tally.full_checks);
    match soak.hand_off() {
        Ok(summary) => {
            println!("{summary}");
            println!("soak: clean");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: soak seed {}: {error}", arguments.seed);
            ExitCode::from(1)
        }
    }
}
