//! With the `log` feature, the allocator logs Linux's `bootmem::` debug lines (spec §7).
#![cfg(feature = "log")]

use std::sync::Mutex;

use bootmem::linux::{Bootmem, BOOTMEM_DEFAULT, BOOTMEM_EXCLUSIVE};
use bootmem::memory::NoZeroing;
use bootmem::Configuration;

/// Collects every line logged with target `bootmem`.
struct Collector(Mutex<Vec<String>>);

impl log::Log for Collector {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == "bootmem"
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

static COLLECTOR: Collector = Collector(Mutex::new(Vec::new()));

#[test]
fn debug_lines_follow_linux_formats() {
    log::set_logger(&COLLECTOR).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    let mut bootmem: Bootmem<Vec<u64>, NoZeroing, 2> =
        Bootmem::new(Configuration::X86_64, NoZeroing);
    bootmem
        .init_bootmem_node(
            0,
            0x10000,
            0,
            0x8000,
            vec![0; bootmem::node_storage_words(0x8000) as usize],
        )
        .unwrap();
    bootmem.free_bootmem(0, 0x8000000).unwrap();
    bootmem
        .reserve_bootmem(0x100000, 0x2000, BOOTMEM_DEFAULT)
        .unwrap();
    bootmem
        .reserve_bootmem(0x200000, 0x1000, BOOTMEM_EXCLUSIVE)
        .unwrap();
    bootmem.alloc_bootmem(64).unwrap();
    bootmem.free_all_bootmem(|_| {});
    let lines = COLLECTOR.0.lock().unwrap().clone();
    let expected = [
        "bootmem::init_bootmem_core nid=0 start=0 map=10000 end=8000 mapsize=1000",
        "bootmem::mark_bootmem_node nid=0 start=0 end=8000 reserve=0 flags=0",
        "bootmem::mark_bootmem_node nid=0 start=100 end=102 reserve=1 flags=0",
        "bootmem::mark_bootmem_node nid=0 start=200 end=201 reserve=1 flags=1",
        "bootmem::alloc_bootmem_bdata nid=0 size=40 [1 pages] align=40 goal=1000000 limit=0",
        "bootmem::free_all_bootmem_core nid=0 start=0 end=8000",
    ];
    assert_eq!(lines, expected);

    // `__alloc_bootmem_node_high` on a node reaching 128 MiB past the end
    // of DMA32 memory (here frame 0x100): first an attempt from that end,
    // but only for a goal whose page lies below it.
    COLLECTOR.0.lock().unwrap().clear();
    let configuration = Configuration {
        dma32_end: bootmem::PageFrameNumber::new(0x100),
        ..Configuration::X86_64
    };
    let mut bootmem: Bootmem<Vec<u64>, NoZeroing, 1> = Bootmem::new(configuration, NoZeroing);
    bootmem
        .init_bootmem_node(
            0,
            0,
            0,
            0x8101,
            vec![0; bootmem::node_storage_words(0x8101) as usize],
        )
        .unwrap();
    bootmem.free_bootmem(0, 0x8101 * 0x1000).unwrap();
    let below = bootmem.__alloc_bootmem_node_high(0, 0x1000, 0x1000, 0x1000);
    assert_eq!(below.unwrap().as_u64(), 0x100000);
    let in_the_last_page = bootmem.__alloc_bootmem_node_high(0, 0x1000, 0x1000, 0x100800);
    assert_eq!(in_the_last_page.unwrap().as_u64(), 0x101000);
    let lines = COLLECTOR.0.lock().unwrap().clone();
    let expected = [
        "bootmem::init_bootmem_core nid=0 start=0 map=0 end=8101 mapsize=1028",
        "bootmem::mark_bootmem_node nid=0 start=0 end=8101 reserve=0 flags=0",
        "bootmem::alloc_bootmem_bdata nid=0 size=1000 [1 pages] align=1000 goal=100000 limit=0",
        "bootmem::alloc_bootmem_bdata nid=0 size=1000 [1 pages] align=1000 goal=100800 limit=0",
    ];
    assert_eq!(lines, expected);
}
