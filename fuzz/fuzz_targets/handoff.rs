//! Fuzzes the hand-off (`free_all_bootmem`): whatever pages are free, the blocks cover exactly them and the bitmap pages, naturally aligned, none twice.
//!
//! The input lays out up to four nodes (any first frame, so groups of 64
//! start anywhere) and then flips arbitrary frame ranges free or reserved.
#![no_main]

use bootmem::memory::NoZeroing;
use bootmem::{BlockKind, BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress, ReserveMode};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

type Allocator = BootAllocator<Vec<u64>, NoZeroing, 4>;

const PAGE: u64 = 4096;

fn run(input: &mut Unstructured) -> Result<()> {
    let mut allocator = Allocator::new(Configuration::X86_64, NoZeroing);
    let mut start = input.int_in_range(0u64..=1 << 20)?;
    let mut nodes = Vec::new();
    for index in 0..input.int_in_range(1..=4)? {
        let pages = input.int_in_range(1u64..=3000)?;
        let storage = vec![0; bootmem::node_storage_words(pages) as usize];
        let frames = PageFrameNumber::new(start)..PageFrameNumber::new(start + pages);
        allocator.register_node(NodeId::new(index), frames, storage, None).expect("valid node");
        nodes.push((start, start + pages));
        start += pages + input.int_in_range(0u64..=70)?;
    }
    let (first, last) = (nodes[0].0, nodes[nodes.len() - 1].1);
    while !input.is_empty() {
        let from = input.int_in_range(first..=last)?;
        let pages = input.int_in_range(0..=200)?;
        let address = PhysicalAddress::new(from * PAGE);
        if input.arbitrary()? {
            let _ = allocator.reserve(address, pages * PAGE, ReserveMode::Shared);
        } else {
            // Reserve first so the free cannot meet a free page.
            let _ = allocator.reserve(address, pages * PAGE, ReserveMode::Shared);
            let _ = allocator.free(address, pages * PAGE);
        }
    }
    let mut expected: Vec<u64> = nodes
        .iter()
        .flat_map(|&(start, end)| start..end)
        .filter(|frame| allocator.is_reserved(PageFrameNumber::new(*frame)) == Some(false))
        .collect();
    let free_pages = allocator.free_pages();
    assert_eq!(free_pages, expected.len() as u64);
    let mut pages = Vec::new();
    for block in allocator.free_all() {
        let start = block.start.as_u64();
        assert_eq!(start % block.pages(), 0, "{block:?} is not naturally aligned");
        assert_eq!(block.kind, BlockKind::Free, "no bitmap lives in memory here");
        pages.extend(start..start + block.pages());
    }
    pages.sort_unstable();
    expected.sort_unstable();
    assert_eq!(pages, expected);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
