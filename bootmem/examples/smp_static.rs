//! SMP bring-up: one `static` bootmem allocator, behind a spin lock, shared by every CPU.
//!
//! The boot CPU registers two NUMA nodes and frees their RAM; then each
//! "CPU" (a host thread here) allocates its per-CPU area on its own node
//! at the same time. The lock is `spin::Mutex<()>` through `lock_api`; any
//! other `lock_api::RawMutex` works the same way.
//!
//! Run: `cargo run -p bootmem --example smp_static --features lock_api`

use std::ptr::addr_of_mut;

use bootmem::adapters::lock::LockedBootAllocator;
use bootmem::memory::NoZeroing;
use bootmem::{AllocationRequest, Configuration, NodeId, PageFrameNumber, PhysicalAddress};

/// Pages per node: 1 GiB each.
const NODE_PAGES: u64 = 0x4_0000;
const WORDS: usize = bootmem::node_storage_words(NODE_PAGES) as usize;

static mut NODE_0_BITMAP: [u64; WORDS] = [0; WORDS];
static mut NODE_1_BITMAP: [u64; WORDS] = [0; WORDS];

/// Addresses are simulated: nothing is zeroed.
static BOOTMEM: LockedBootAllocator<spin::Mutex<()>, &'static mut [u64], NoZeroing, 2> =
    LockedBootAllocator::new(Configuration::X86_64, NoZeroing);

const PER_CPU_BYTES: u64 = 64 << 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: the only references to the two bitmaps, taken once.
    let bitmaps: [&'static mut [u64]; 2] = unsafe {
        [
            &mut *addr_of_mut!(NODE_0_BITMAP),
            &mut *addr_of_mut!(NODE_1_BITMAP),
        ]
    };
    BOOTMEM.with(|allocator| -> Result<(), Box<dyn std::error::Error>> {
        for (node, bitmap) in (0u32..).zip(bitmaps) {
            let start = PageFrameNumber::new(u64::from(node) * NODE_PAGES);
            let end = PageFrameNumber::new(start.as_u64() + NODE_PAGES);
            allocator.register_node(NodeId::new(node), start..end, bitmap, None)?;
        }
        allocator.free(PhysicalAddress::new(0), 2 * NODE_PAGES * 4096)?;
        Ok(())
    })??;

    // Eight CPUs, four per node, bring themselves up in parallel.
    let cpus: Vec<_> = (0..8u32)
        .map(|cpu| {
            std::thread::spawn(move || {
                let node = NodeId::new(cpu / 4);
                let request = AllocationRequest::new(PER_CPU_BYTES)
                    .aligned(4096)
                    .goal(PhysicalAddress::new(0x100_0000))
                    .on_node(node);
                let area = BOOTMEM
                    .with(|allocator| allocator.allocate(&request))
                    .expect("not torn down")
                    .expect("room for a per-CPU area");
                (cpu, node, area)
            })
        })
        .collect();
    let mut areas = Vec::new();
    for cpu in cpus {
        let (cpu, node, area) = cpu.join().expect("CPU thread");
        println!(
            "cpu {cpu}: per-CPU area at {area} on node {}",
            node.as_u32()
        );
        let node_start = u64::from(node.as_u32()) * NODE_PAGES * 4096;
        assert!((node_start..node_start + NODE_PAGES * 4096).contains(&area.as_u64()));
        areas.push(area.as_u64());
    }
    areas.sort_unstable();
    for pair in areas.windows(2) {
        assert!(pair[1] - pair[0] >= PER_CPU_BYTES, "overlapping areas");
    }

    let released = BOOTMEM.free_all().expect("first teardown").count_pages();
    println!("free_all_bootmem: {released} pages");
    assert_eq!(released, 2 * NODE_PAGES - 8 * PER_CPU_BYTES / 4096);
    Ok(())
}
