//! Fuzzes the library's normaliser with arbitrary ranges, affinities and page sizes: no input may panic.
#![no_main]

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
use bootmem::{NodeId, PageSize, PhysicalAddress};
use libfuzzer_sys::fuzz_target;

fn word(bytes: &[u8]) -> u64 {
    let mut buffer = [0u8; 8];
    buffer[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(buffer)
}

fuzz_target!(|data: &[u8]| {
    let Some((&shift, rest)) = data.split_first() else {
        return;
    };
    let page = PageSize::from_shift(u32::from(shift % 40));
    let mut builder = MemoryMapBuilder::<32, 4>::new();
    for entry in rest.chunks(17) {
        if entry.len() < 17 {
            break;
        }
        let (start, end) = (
            PhysicalAddress::new(word(&entry[1..9])),
            PhysicalAddress::new(word(&entry[9..17])),
        );
        let _ = match entry[0] % 4 {
            0 => builder.add_range(
                start,
                end,
                RangeKind::from_e820_type(u32::from(entry[0] >> 2)),
            ),
            1 => builder.add_ram(start, end),
            2 => builder.add_node_affinity(start, end, NodeId::new(u32::from(entry[0] >> 2))),
            _ => builder.declare_node(NodeId::new(u32::from(entry[0] >> 2))),
        };
    }
    if let Ok(map) = builder.build(page) {
        let total: u64 = map.nodes().iter().map(|span| span.ram_bytes).sum();
        assert_eq!(total, map.ram_bytes());
        for pair in map.ranges().windows(2) {
            assert!(pair[0].end <= pair[1].start);
        }
    }
});
