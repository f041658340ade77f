//! The self-test, through the Linux-named API: low, per-node, aligned, packed sub-page, free and re-allocate, exclusive reservation; every allocated byte written and read back.

use bootmem::NodeId;

use crate::description::BootDescription;
use crate::early::{KernelBootmem, NormalisedMap};
use crate::exit::fail;
use crate::ledger::Ledger;
use crate::pattern;
use crate::println;
use bootmem::linux::{BOOTMEM_EXCLUSIVE, EBUSY};

/// Sub-page allocations in the burst.
pub const BURST: usize = 300;
/// The aligned block: 6 MiB on a 2 MiB boundary.
const BLOCK_SIZE: u64 = 6 << 20;
const BLOCK_ALIGN: u64 = 2 << 20;
/// The block freed and allocated again.
const REUSED_SIZE: u64 = 64 << 10;
/// Allocations the test keeps alive: the burst and a few more per node.
const CAPACITY: usize = BURST + 64;

/// One live allocation and the pattern written over it.
#[derive(Clone, Copy, Debug)]
pub struct Allocation {
    /// What it is for.
    pub label: &'static str,
    /// Its physical (and, identity-mapped, virtual) address.
    pub address: u64,
    /// Its size in bytes.
    pub size: u64,
    seed: u8,
}

/// What the self-test leaves allocated, for the hand-off check.
pub struct Allocations {
    items: [Allocation; CAPACITY],
    count: usize,
}

impl Allocations {
    const fn new() -> Self {
        Self {
            items: [Allocation {
                label: "",
                address: 0,
                size: 0,
                seed: 0,
            }; CAPACITY],
            count: 0,
        }
    }

    /// The live allocations.
    pub fn as_slice(&self) -> &[Allocation] {
        &self.items[..self.count]
    }

    /// Bytes allocated in all.
    pub fn bytes(&self) -> u64 {
        self.as_slice()
            .iter()
            .map(|allocation| allocation.size)
            .sum()
    }

    /// Checks the allocation reads zero, writes its pattern, and records it
    /// (and its pages in `ledger`).
    fn keep(&mut self, ledger: &mut Ledger, label: &'static str, address: u64, size: u64) {
        let seed = (self.count as u8).wrapping_mul(7).wrapping_add(1);
        // First the ledger: an allocation over a reservation or a live
        // block fails the boot before anything is written there.
        ledger.allocate(label, address, address + size);
        // SAFETY: bootmem just handed out `[address, address + size)`, and
        // the ledger confirmed no reservation or live allocation lies there;
        // the kernel identity-maps RAM, and nothing else refers to the block.
        unsafe {
            pattern::check_zeroed(label, address, size);
            pattern::write(address, size, seed);
        }
        let Some(slot) = self.items.get_mut(self.count) else {
            fail(format_args!("more than {CAPACITY} live test allocations"));
        };
        *slot = Allocation {
            label,
            address,
            size,
            seed,
        };
        self.count += 1;
    }

    /// Forgets the allocation at `address` (freed).
    fn forget(&mut self, ledger: &mut Ledger, address: u64) {
        let Some(index) = self
            .as_slice()
            .iter()
            .position(|item| item.address == address)
        else {
            fail(format_args!("no live allocation at {address:#x}"));
        };
        let item = self.items[index];
        ledger.release(item.address, item.address + item.size);
        self.items.copy_within(index + 1..self.count, index);
        self.count -= 1;
    }

    /// Reads every live allocation back.
    pub fn verify_all(&self) {
        for item in self.as_slice() {
            // SAFETY: the allocation is live (allocated, not freed) and owned by the test.
            unsafe { pattern::verify(item.label, item.address, item.size, item.seed) };
        }
    }
}

fn allocated<E: core::fmt::Display>(
    call: &str,
    result: Result<bootmem::PhysicalAddress, E>,
) -> u64 {
    match result {
        Ok(address) => address.as_u64(),
        Err(error) => fail(format_args!("{call}: {error}")),
    }
}

fn node_of(map: &NormalisedMap, frame: u64) -> Option<NodeId> {
    map.ram_ranges()
        .find(|range| {
            let shift = map.page_size().shift();
            range.start.as_u64() >> shift <= frame && frame < range.end.as_u64() >> shift
        })
        .and_then(|range| range.node)
}

/// Runs the self-test on a freshly set-up allocator. Every allocation stays
/// live (and in `ledger`) except the ones the test frees itself.
pub fn run(
    description: &BootDescription,
    map: &NormalisedMap,
    bootmem: &mut KernelBootmem,
    ledger: &mut Ledger,
) -> Allocations {
    let configuration = description.configuration;
    let page = configuration.page_size.bytes();
    let shift = configuration.page_size.shift();
    let cache_line = configuration.cache_line_bytes;
    let mut live = Allocations::new();

    // A low allocation: goal 0, below the low limit, in the first 16 MiB here.
    let low = allocated("alloc_bootmem_low(100)", bootmem.alloc_bootmem_low(100));
    if low
        .checked_add(100)
        .is_none_or(|end| end > description.low_test_limit)
        || !low.is_multiple_of(cache_line)
    {
        fail(format_args!(
            "alloc_bootmem_low(100) = {low:#x}: not cache-aligned below {:#x}",
            description.low_test_limit
        ));
    }
    live.keep(ledger, "low allocation", low, 100);
    println!("selftest: alloc_bootmem_low(100) = {low:#x}");

    // A page on every node, which must land on that node.
    for span in map.nodes().iter().filter(|span| span.ram_bytes > 0) {
        let node = span.node;
        let address = allocated(
            "alloc_bootmem_pages_node",
            bootmem.alloc_bootmem_pages_node(node.as_u32(), page),
        );
        let landed = node_of(map, address >> shift);
        if !address.is_multiple_of(page) || landed != Some(node) {
            fail(format_args!(
                "alloc_bootmem_pages_node({}, {page}) = {address:#x}: on node {:?}",
                node.as_u32(),
                landed.map(NodeId::as_u32)
            ));
        }
        live.keep(ledger, "node page", address, page);
        println!(
            "selftest: alloc_bootmem_pages_node({}, {page}) = {address:#x}",
            node.as_u32()
        );
    }

    // 6 MiB on a 2 MiB boundary.
    let goal = configuration.dma_limit.as_u64();
    let block = allocated(
        "__alloc_bootmem(6 MiB, 2 MiB)",
        bootmem.__alloc_bootmem(BLOCK_SIZE, BLOCK_ALIGN, goal),
    );
    if !block.is_multiple_of(BLOCK_ALIGN) {
        fail(format_args!(
            "__alloc_bootmem(6 MiB, 2 MiB) = {block:#x}: not 2 MiB aligned"
        ));
    }
    live.keep(ledger, "6 MiB block", block, BLOCK_SIZE);
    println!(
        "selftest: __alloc_bootmem({BLOCK_SIZE:#x}, {BLOCK_ALIGN:#x}, {goal:#x}) = {block:#x}"
    );

    // A burst of sub-page allocations, which must share pages.
    let mut burst_bytes = 0;
    let (mut lowest, mut highest) = (u64::MAX, 0);
    for index in 0..BURST {
        let size = 8 + (index as u64 * 37) % 200;
        let address = allocated("alloc_bootmem (burst)", bootmem.alloc_bootmem(size));
        if !address.is_multiple_of(cache_line) {
            fail(format_args!(
                "alloc_bootmem({size}) = {address:#x}: not cache-aligned"
            ));
        }
        burst_bytes += size.next_multiple_of(cache_line);
        lowest = lowest.min(address);
        highest = highest.max(address + size);
        live.keep(ledger, "burst", address, size);
    }
    let mut pages_touched = 0;
    {
        let burst = &live.as_slice()[live.count - BURST..];
        let mut frames = [0u64; BURST * 2];
        let mut count = 0;
        for item in burst {
            for frame in item.address >> shift..=(item.address + item.size - 1) >> shift {
                if !frames[..count].contains(&frame) {
                    frames[count] = frame;
                    count += 1;
                }
            }
        }
        pages_touched += count as u64;
    }
    let packed_limit = burst_bytes.div_ceil(page) + 1;
    if pages_touched > packed_limit {
        fail(format_args!(
            "{BURST} sub-page allocations ({burst_bytes} bytes) touch {pages_touched} pages, more than {packed_limit}"
        ));
    }
    println!(
        "selftest: {BURST} alloc_bootmem calls, {burst_bytes} bytes in {pages_touched} pages ({lowest:#x}-{highest:#x})"
    );

    // Free a block and allocate it again: the same range comes back.
    let reused = allocated(
        "alloc_bootmem_pages(64 KiB)",
        bootmem.alloc_bootmem_pages(REUSED_SIZE),
    );
    live.keep(ledger, "reused block", reused, REUSED_SIZE);
    if let Err(error) = bootmem.free_bootmem(reused, REUSED_SIZE) {
        fail(format_args!("free_bootmem({reused:#x}): {error}"));
    }
    live.forget(ledger, reused);
    let again = allocated(
        "alloc_bootmem_pages(64 KiB) again",
        bootmem.alloc_bootmem_pages(REUSED_SIZE),
    );
    if again != reused {
        fail(format_args!(
            "freed {reused:#x} and allocated again: got {again:#x}"
        ));
    }
    live.keep(ledger, "reused block", again, REUSED_SIZE);
    println!("selftest: free_bootmem({reused:#x}, {REUSED_SIZE:#x}) then alloc_bootmem_pages = {again:#x}");

    // An exclusive reservation must fail on a used range...
    expect_busy(bootmem, block, BLOCK_SIZE, "the 6 MiB block");
    // ...and undo what it did before it met the used page: free the reused
    // block, reserve it plus the page just past it (allocated next), and the
    // freed block must still be free afterwards.
    let next = allocated(
        "alloc_bootmem_pages(4 KiB)",
        bootmem.alloc_bootmem_pages(page),
    );
    live.keep(ledger, "page after the reused block", next, page);
    if next <= again {
        fail(format_args!(
            "alloc_bootmem_pages after {again:#x} returned {next:#x}, below it"
        ));
    }
    if let Err(error) = bootmem.free_bootmem(again, REUSED_SIZE) {
        fail(format_args!("free_bootmem({again:#x}): {error}"));
    }
    live.forget(ledger, again);
    expect_busy(
        bootmem,
        again,
        next + page - again,
        "a free block followed by a used page",
    );
    let third = allocated(
        "alloc_bootmem_pages(64 KiB) after -EBUSY",
        bootmem.alloc_bootmem_pages(REUSED_SIZE),
    );
    if third != again {
        fail(format_args!(
            "after a failed exclusive reservation, {again:#x} was not free again (got {third:#x})"
        ));
    }
    live.keep(ledger, "reused block", third, REUSED_SIZE);
    println!(
        "selftest: reserve_bootmem(.., BOOTMEM_EXCLUSIVE) on used ranges = -EBUSY, rolled back"
    );

    // An allocation aimed at each of the kernel's reservations (its image,
    // the boot information) must land clear of it: `keep` checks every
    // allocation against the ledger, which holds them all.
    let mut aimed = 0;
    for region in description.kernel_regions.as_slice() {
        let in_ram = map
            .ram_ranges()
            .any(|range| range.start.as_u64() <= region.start && region.start < range.end.as_u64());
        if !in_ram {
            continue;
        }
        let address = allocated(
            "__alloc_bootmem(page, page, goal at a reservation)",
            bootmem.__alloc_bootmem(page, page, region.start),
        );
        live.keep(ledger, "page aimed at a reservation", address, page);
        aimed += 1;
    }
    println!(
        "selftest: aimed at the kernel's reservations: {aimed} __alloc_bootmem calls, each landed clear of them"
    );

    // Out of memory, on request: the panicking API must stop the machine.
    if description
        .command_line
        .split_whitespace()
        .any(|word| word == "bootmem.test=oom")
    {
        let too_much = map.ram_bytes() + page;
        println!("bootmem.test=oom: alloc_bootmem({too_much:#x})");
        let result = bootmem.alloc_bootmem(too_much);
        fail(format_args!(
            "alloc_bootmem({too_much:#x}) did not panic: {result:?}"
        ));
    }

    live.verify_all();
    println!(
        "selftest: live allocations: {}, {} bytes, every byte written and read back",
        live.count,
        live.bytes()
    );
    live
}

fn expect_busy(bootmem: &mut KernelBootmem, address: u64, size: u64, what: &str) {
    match bootmem.reserve_bootmem(address, size, BOOTMEM_EXCLUSIVE) {
        Ok(EBUSY) => {}
        Ok(code) => fail(format_args!(
            "reserve_bootmem({address:#x}, {size:#x}, BOOTMEM_EXCLUSIVE) over {what} returned {code}, not -EBUSY"
        )),
        Err(error) => fail(format_args!("reserve_bootmem({address:#x}, {size:#x}): {error}")),
    }
}
