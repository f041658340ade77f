//! Differential fuzzing of the Linux-named layer: the word-at-a-time search against the bit-by-bit reference, call by call, then the hand-offs.
//!
//! The input picks up to three nodes (sizes, gaps, where their bitmaps lie)
//! and then a sequence of calls with arbitrary arguments: every `_nopanic`
//! allocation family (the panicking ones only differ by a `panic!`, which
//! libFuzzer would count as a crash), frees and reservations on and across
//! nodes. Both allocators must return the same thing for every call and
//! hold the same pages at the end; the hand-off must then cover exactly
//! the free pages and the bitmap pages, each block naturally aligned, no
//! page twice.
#![no_main]

use bootmem::linux::Bootmem;
use bootmem::memory::NoZeroing;
use bootmem::{Configuration, PageFrameNumber, PhysicalAddress};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

type Machine = Bootmem<Vec<u64>, NoZeroing, 4>;

const PAGE: u64 = 4096;

/// The nodes: `(nid, start, end, bitmap frame)`.
fn layout(input: &mut Unstructured) -> Result<Vec<(u32, u64, u64, u64)>> {
    let count = input.int_in_range(1..=3)?;
    let mut start = input.int_in_range(0u64..=200)?;
    let mut nodes = Vec::new();
    for index in 0..count {
        let pages = input.int_in_range(1u64..=300)?;
        let bitmap = if input.arbitrary()? { start + pages - 1 } else { 0x10_0000 + u64::from(index) };
        nodes.push((index, start, start + pages, bitmap));
        start += pages + input.int_in_range(0u64..=3)?;
    }
    Ok(nodes)
}

/// An argument aimed at the nodes most of the time, anything sometimes.
fn address(input: &mut Unstructured, end: u64) -> Result<u64> {
    Ok(match input.int_in_range(0u8..=9)? {
        0 => input.arbitrary()?,
        _ => input.int_in_range(0..=end + 8)? * PAGE + [0, 1, PAGE / 2, PAGE - 1][input.int_in_range(0..=3usize)?],
    })
}

fn size(input: &mut Unstructured) -> Result<u64> {
    Ok(match input.int_in_range(0u8..=9)? {
        0 => input.arbitrary()?,
        1..=4 => input.int_in_range(0..=PAGE)?,
        _ => input.int_in_range(0..=64 * PAGE)?,
    })
}

#[allow(clippy::used_underscore_items)]
fn call(machine: &mut Machine, choice: u8, arguments: (u32, u64, u64, u64, u64, u32)) -> String {
    let (nid, size, align, goal, limit, flags) = arguments;
    match choice % 12 {
        0 => format!("{:?}", machine.__alloc_bootmem_nopanic(size, align, goal)),
        1 => format!("{:?}", machine.___alloc_bootmem_nopanic(size, align, goal, limit)),
        2 => format!("{:?}", machine.__alloc_bootmem_low_nopanic(size, align, goal)),
        3 => format!("{:?}", machine.___alloc_bootmem_node_nopanic(nid, size, align, goal, limit)),
        4 => format!("{:?}", machine.__alloc_bootmem_node_high_nopanic(nid, size, align, goal)),
        5 => format!("{:?}", machine.__alloc_bootmem_low_node_nopanic(nid, size, align, goal)),
        6 => format!("{:?}", machine.alloc_bootmem_nopanic(size)),
        7 => format!("{:?}", machine.alloc_bootmem_pages_node_nopanic(nid, size)),
        8 => format!("{:?}", machine.free_bootmem(goal, size)),
        9 => format!("{:?}", machine.free_bootmem_node(nid, goal, size)),
        10 => format!("{:?}", machine.reserve_bootmem(goal, size, flags)),
        _ => format!("{:?}", machine.reserve_bootmem_node(nid, goal, size, flags)),
    }
}

fn run(input: &mut Unstructured) -> Result<()> {
    let configuration = Configuration {
        dma_limit: PhysicalAddress::new(input.int_in_range(0..=400)? * PAGE),
        low_address_limit: PhysicalAddress::new(input.int_in_range(0..=400 * PAGE)?),
        dma32_end: PageFrameNumber::new(input.int_in_range(0..=400)?),
        ..Configuration::X86_64
    };
    let nodes = layout(input)?;
    let mut fast = Machine::new(configuration, NoZeroing);
    let mut reference = Machine::new(configuration, NoZeroing);
    reference.allocator_mut().use_bit_by_bit_search(true);
    for machine in [&mut fast, &mut reference] {
        for &(nid, start, end, bitmap) in &nodes {
            let storage = vec![0; bootmem::node_storage_words(end - start) as usize];
            machine.init_bootmem_node(nid, bitmap, start, end, storage).expect("valid node");
        }
        for &(_, start, end, _) in &nodes {
            machine.free_bootmem(start * PAGE, (end - start) * PAGE).expect("RAM frees");
        }
    }
    let end = nodes.last().map_or(0, |node| node.2);
    while !input.is_empty() {
        let choice: u8 = input.arbitrary()?;
        let nid = input.int_in_range(0..=4)?;
        let size = size(input)?;
        let align = match input.int_in_range(0u8..=20)? {
            0 => input.arbitrary()?,
            shift => 1u64 << (shift - 1),
        };
        let goal = address(input, end)?;
        let limit = address(input, end)?;
        let flags = input.int_in_range(0..=1)?;
        let arguments = (nid, size, align, goal, limit, flags);
        let (left, right) = (call(&mut fast, choice, arguments), call(&mut reference, choice, arguments));
        assert_eq!(left, right, "call {choice} {arguments:?}");
    }
    let runs: Vec<_> = fast.allocator().reserved_runs().collect();
    assert_eq!(runs, reference.allocator().reserved_runs().collect::<Vec<_>>());
    check_hand_off(fast, &nodes);
    Ok(())
}

/// The hand-off covers exactly the free pages and the bitmap pages,
/// each block naturally aligned, no page twice.
fn check_hand_off(machine: Machine, nodes: &[(u32, u64, u64, u64)]) {
    let mut expected: Vec<u64> = Vec::new();
    for &(_, start, end, bitmap) in nodes {
        let free = (start..end).filter(|frame| machine.allocator().is_reserved(PageFrameNumber::new(*frame)) == Some(false));
        expected.extend(free);
        expected.extend(bitmap..bitmap + machine.bootmem_bootmap_pages(end - start));
    }
    let mut pages = Vec::new();
    let released = machine.free_all_bootmem(|block| {
        let start = block.start.as_u64();
        assert_eq!(start % block.pages(), 0, "{block:?} is not naturally aligned");
        pages.extend(start..start + block.pages());
    });
    assert_eq!(released, pages.len() as u64);
    pages.sort_unstable();
    expected.sort_unstable();
    assert_eq!(pages, expected);
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
