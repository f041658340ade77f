//! The hand-off: `free_all_bootmem` gives every free page to a real page allocator, and the kernel checks that nothing was lost, doubled or leaked.
//!
//! Each node gets its own `buddy_system_allocator::FrameAllocator`. Every
//! block bootmem releases must lie in that node's RAM, must not touch a page
//! the ledger says is reserved or allocated, and must not repeat a page; the
//! pages of a node must add up to its RAM minus what the ledger claims (the
//! bitmap's pages come back too, since the bitmap dies with the allocator).

use alloc::vec::Vec;

use bootmem::{BlockKind, FreeBlock};
use buddy_system_allocator::FrameAllocator;

use crate::early::{EarlyMemory, NodeBitmap, NormalisedMap};
use crate::exit::fail;
use crate::heap;
use crate::ledger::Ledger;
use crate::pattern;
use crate::println;

/// Sample pages written and read back per node.
const SAMPLES_PER_NODE: u64 = 64;

/// What one node received.
struct NodeHandOff {
    /// Frames `[start, end)` received, contiguous blocks merged.
    runs: Vec<(u64, u64)>,
    /// Pages received.
    pages: u64,
    bitmap: Option<NodeBitmap>,
}

/// What the hand-off found, for the summary.
pub struct HandOffReport {
    /// Pages `free_all_bootmem` reported.
    pub released: u64,
    /// Pages expected: RAM minus what the ledger claims.
    pub expected: u64,
    /// Pages written and read back through the page allocators.
    pub sampled: u64,
    /// Heap bytes the page allocators' lists took, at their peak.
    pub heap_bytes: usize,
}

/// Tears bootmem down into one buddy allocator per node, checks every
/// block and the totals, and exercises the page allocators. With
/// `duplicate_first_block` (`bootmem.test=double-hand-off`) the first block
/// is received twice, as a corrupted hand-off would give it: the checks
/// must fail the boot.
pub fn hand_off(
    early: EarlyMemory,
    map: &NormalisedMap,
    ledger: &mut Ledger,
    duplicate_first_block: bool,
) -> HandOffReport {
    ledger.seal();
    let shift = map.page_size().shift();
    let page = map.page_size().bytes();
    let nodes = map.nodes();
    let mut received: Vec<NodeHandOff> = nodes
        .iter()
        .enumerate()
        .map(|(slot, _)| NodeHandOff {
            runs: Vec::new(),
            pages: 0,
            bitmap: early.bitmaps[slot],
        })
        .collect();

    let mut receive = |block: FreeBlock| {
        let start = block.start.as_u64();
        let pages = 1u64 << block.order;
        let Some(end) = start.checked_add(pages) else {
            fail(format_args!(
                "block at pfn {start:#x} of order {} wraps",
                block.order
            ));
        };
        let Some(slot) = nodes.iter().position(|span| span.node == block.node) else {
            fail(format_args!(
                "block at pfn {start:#x} from unknown node {}",
                block.node.as_u32()
            ));
        };
        let in_ram = map.ram_ranges_of(block.node).any(|range| {
            range.start.as_u64() >> shift <= start && end <= range.end.as_u64() >> shift
        });
        if !in_ram {
            fail(format_args!(
                "block pfn {start:#x}-{end:#x} is not RAM of node {}",
                block.node.as_u32()
            ));
        }
        if let Some((claim_start, claim_end)) = ledger.claimed(start, end) {
            fail(format_args!(
                "block pfn {start:#x}-{end:#x} overlaps reserved or allocated pfn {claim_start:#x}-{claim_end:#x}"
            ));
        }
        let node = &mut received[slot];
        let in_bitmap = node.bitmap.is_some_and(|bitmap| {
            bitmap.frames.start().as_u64() <= start && end <= bitmap.frames.end().as_u64()
        });
        if in_bitmap != (block.kind == BlockKind::Bitmap) {
            fail(format_args!(
                "block pfn {start:#x}-{end:#x} of kind {:?}: the bitmap of node {} is pfn {:#x}-{:#x}",
                block.kind,
                block.node.as_u32(),
                node.bitmap.map_or(0, |bitmap| bitmap.frames.start().as_u64()),
                node.bitmap.map_or(0, |bitmap| bitmap.frames.end().as_u64())
            ));
        }
        node.pages += pages;
        match node.runs.last_mut() {
            Some(run) if run.1 == start => run.1 = end,
            _ => node.runs.push((start, end)),
        }
    };
    let mut duplicate = duplicate_first_block;
    let released = early.bootmem.free_all_bootmem(|block: FreeBlock| {
        receive(block);
        if duplicate {
            duplicate = false;
            println!(
                "bootmem.test=double-hand-off: pfn {:#x} (order {}) received twice",
                block.start.as_u64(),
                block.order
            );
            receive(block);
        }
    });

    let mut total = 0;
    let mut expected_total = 0;
    let mut sampled = 0;
    let mut heap_bytes = heap::used();
    for (span, node) in nodes.iter().zip(&mut received) {
        let id = span.node.as_u32();
        let ram_pages = span.ram_bytes >> shift;
        let claimed: u64 = map
            .ram_ranges_of(span.node)
            .map(|range| {
                ledger.claimed_frames_in(range.start.as_u64() >> shift, range.end.as_u64() >> shift)
            })
            .sum();
        let expected = ram_pages - claimed;
        let bitmap_pages = node.bitmap.map_or(0, |bitmap| bitmap.frames.len());
        // No page may come twice: the runs, sorted, must not overlap.
        node.runs.sort_unstable();
        for pair in node.runs.windows(2) {
            if pair[1].0 < pair[0].1 {
                fail(format_args!(
                    "node {id}: pfn {:#x}-{:#x} handed over twice",
                    pair[1].0,
                    pair[0].1.min(pair[1].1)
                ));
            }
        }
        let handed = node.pages;
        println!(
            "hand-off node {id}: {handed} pages ({} MiB) = RAM {ram_pages} - reserved/allocated {claimed}; bitmap {bitmap_pages} pages; {} runs",
            (handed << shift) >> 20,
            node.runs.len()
        );
        if handed != expected {
            fail(format_args!(
                "node {id}: {handed} pages handed over, expected RAM {ram_pages} - claimed {claimed} = {expected}"
            ));
        }
        total += handed;
        expected_total += expected;
        if handed > 0 {
            let (samples, heap_used) = exercise(id, &node.runs, handed, page, shift);
            sampled += samples;
            heap_bytes = heap_bytes.max(heap_used);
        }
    }
    if released != total {
        fail(format_args!(
            "free_all_bootmem reported {released} pages, the callback saw {total}"
        ));
    }
    HandOffReport {
        released,
        expected: expected_total,
        sampled,
        heap_bytes,
    }
}

/// Gives a node's runs to a buddy allocator, allocates and frees through it,
/// and writes and reads back sample pages spread over the node. Returns the
/// number of sample pages and the heap bytes in use with the allocator full.
fn exercise(id: u32, runs: &[(u64, u64)], handed: u64, page: u64, shift: u32) -> (u64, usize) {
    let mut frames = FrameAllocator::<33>::new();
    for &(start, end) in runs {
        frames.add_frame(start as usize, end as usize);
    }
    let in_runs = |frame: u64, count: u64| {
        runs.iter()
            .any(|&(start, end)| start <= frame && frame + count <= end)
    };

    // One page and one 2 MiB block (when the node has one), written and read back.
    let Some(single) = frames.alloc(1) else {
        fail(format_args!("node {id}: the page allocator has no page"));
    };
    let single = single as u64;
    let huge_pages = (2 << 20) / page;
    let huge = frames.alloc(huge_pages as usize).map(|frame| frame as u64);
    for (frame, count) in [(Some(single), 1), (huge, huge_pages)] {
        let Some(frame) = frame else { continue };
        if !in_runs(frame, count) || frame % count != 0 {
            fail(format_args!(
                "node {id}: the page allocator returned pfn {frame:#x} x {count}, outside what it was given"
            ));
        }
        // SAFETY: the page allocator just handed these frames out; they are
        // identity-mapped RAM no one else uses.
        unsafe {
            pattern::write(frame << shift, count << shift, 0x5a);
            pattern::verify("page allocator block", frame << shift, count << shift, 0x5a);
        }
    }
    frames.dealloc(single as usize, 1);
    if let Some(frame) = huge {
        frames.dealloc(frame as usize, huge_pages as usize);
    }

    // Sample pages spread evenly over everything handed over: take each
    // one out of the allocator, write it all, then read them all back.
    let samples = SAMPLES_PER_NODE.min(handed);
    let stride = handed / samples;
    let mut chosen = [0u64; SAMPLES_PER_NODE as usize];
    let mut count = 0;
    let mut seen = 0;
    for &(start, end) in runs {
        while count < samples as usize {
            let wanted = count as u64 * stride;
            if wanted >= seen + (end - start) {
                break;
            }
            chosen[count] = start + (wanted - seen);
            count += 1;
        }
        seen += end - start;
    }
    for (index, &frame) in chosen[..count].iter().enumerate() {
        if frames.alloc_at(frame as usize, 1).is_none() {
            fail(format_args!(
                "node {id}: handed-over pfn {frame:#x} is not free in the page allocator"
            ));
        }
        // SAFETY: the page allocator just handed this frame out.
        unsafe { pattern::write(frame << shift, page, index as u8) };
    }
    for (index, &frame) in chosen[..count].iter().enumerate() {
        // SAFETY: still allocated from the page allocator.
        unsafe { pattern::verify("sample page", frame << shift, page, index as u8) };
        frames.dealloc(frame as usize, 1);
    }
    let heap_used = heap::used();
    match huge {
        Some(frame) => println!(
            "page allocator node {id}: alloc/free of 1 page at pfn {single:#x} and 2 MiB at pfn {frame:#x}, {count} sample pages written and read back"
        ),
        None => println!(
            "page allocator node {id}: alloc/free of 1 page at pfn {single:#x} (no 2 MiB block), {count} sample pages written and read back"
        ),
    }
    (count as u64, heap_used)
}
