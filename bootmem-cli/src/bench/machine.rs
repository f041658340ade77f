//! The benchmark machines: nodes of a given size, their RAM freed, random reserved runs.

use bootmem::memory::NoZeroing;
use bootmem::{
    BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress, ReserveMode,
};
use rand::rngs::SmallRng;
use rand::RngExt;

/// Bytes per page on every benchmark machine.
pub const PAGE: u64 = 4096;

/// The allocator the benchmarks drive: up to 4 nodes, storage on the heap.
pub type Allocator = BootAllocator<Vec<u64>, NoZeroing, 4>;

/// A machine's shape: equal adjacent nodes from frame 0.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Nodes (at most 4).
    pub nodes: u64,
    /// Pages of every node.
    pub pages_per_node: u64,
}

impl Shape {
    /// `gibibytes` GiB in `nodes` equal nodes.
    pub fn new(gibibytes: u64, nodes: u64) -> Self {
        Self {
            nodes,
            pages_per_node: (gibibytes << 30) / PAGE / nodes,
        }
    }

    /// Every page of the machine.
    pub fn pages(&self) -> u64 {
        self.nodes * self.pages_per_node
    }

    /// The node frame ranges.
    pub fn node_frames(&self) -> impl Iterator<Item = (u32, u64, u64)> + '_ {
        (0..self.nodes).map(|node| {
            let start = node * self.pages_per_node;
            (node as u32, start, start + self.pages_per_node)
        })
    }

    /// Leaf bitmap words over all nodes (what Linux's bitmaps hold).
    pub fn leaf_words(&self) -> u64 {
        self.nodes * bootmem::bitmap_words(self.pages_per_node)
    }

    /// Storage words over all nodes: leaf bitmap plus summary.
    pub fn storage_words(&self) -> u64 {
        self.nodes * bootmem::node_storage_words(self.pages_per_node)
    }

    /// One node's storage, its pages touched so that no page fault lands
    /// in a timed region, mapped in large pages where the host allows
    /// ([`super::memory`]).
    pub fn storage(&self) -> Vec<u64> {
        super::memory::words(
            bootmem::node_storage_words(self.pages_per_node) as usize,
            u64::MAX,
        )
    }

    /// Registers every node on `allocator` with the given storages.
    pub fn register<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &self,
        allocator: &mut BootAllocator<Storage, NoZeroing, 4>,
        storages: impl IntoIterator<Item = Storage>,
    ) {
        for ((node, start, end), storage) in self.node_frames().zip(storages) {
            allocator
                .register_node(
                    NodeId::new(node),
                    PageFrameNumber::new(start)..PageFrameNumber::new(end),
                    storage,
                    None,
                )
                .expect("benchmark nodes register");
        }
    }

    /// Registers the nodes and frees all their RAM.
    pub fn build(&self, bit_by_bit: bool) -> Allocator {
        self.build_on((0..self.nodes).map(|_| self.storage()), bit_by_bit)
    }

    /// [`build`](Self::build) over the given storages.
    pub fn build_on<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &self,
        storages: impl IntoIterator<Item = Storage>,
        bit_by_bit: bool,
    ) -> BootAllocator<Storage, NoZeroing, 4> {
        let mut allocator = BootAllocator::new(Configuration::X86_64, NoZeroing);
        allocator.use_bit_by_bit_search(bit_by_bit);
        self.register(&mut allocator, storages);
        allocator
            .free(PhysicalAddress::ZERO, self.pages() * PAGE)
            .expect("the machine's RAM frees");
        allocator
    }
}

/// Alternating free and reserved runs over a machine, lengths drawn
/// log-uniformly (each length `l` in `1..=max` with density ~ 1/l).
#[derive(Clone, Debug)]
pub struct Runs {
    /// Reserved frame runs `[start, end)`, ascending.
    pub reserved: Vec<(u64, u64)>,
    /// Free frame runs `[start, end)`, ascending.
    pub free: Vec<(u64, u64)>,
}

/// A length in `1..=max`, log-uniform.
pub fn log_uniform(random: &mut SmallRng, max: u64) -> u64 {
    let exponent = random.random::<f64>() * (max as f64).ln();
    (exponent.exp() as u64).clamp(1, max)
}

impl Runs {
    /// Runs over `pages` pages: free runs up to `free_max`, reserved runs up to `reserved_max`.
    pub fn random(random: &mut SmallRng, pages: u64, free_max: u64, reserved_max: u64) -> Self {
        let mut runs = Self {
            reserved: Vec::new(),
            free: Vec::new(),
        };
        let mut frame = 0;
        while frame < pages {
            let free_end = (frame + log_uniform(random, free_max)).min(pages);
            runs.free.push((frame, free_end));
            let reserved_end = (free_end + log_uniform(random, reserved_max)).min(pages);
            if free_end < reserved_end {
                runs.reserved.push((free_end, reserved_end));
            }
            frame = reserved_end;
        }
        runs
    }

    /// Free runs of exactly `free` pages over `pages` pages, one reserved
    /// page after each (the last run may be shorter).
    pub fn uniform(pages: u64, free: u64) -> Self {
        let mut runs = Self {
            reserved: Vec::new(),
            free: Vec::new(),
        };
        let mut frame = 0;
        while frame < pages {
            let free_end = (frame + free).min(pages);
            runs.free.push((frame, free_end));
            if free_end < pages {
                runs.reserved.push((free_end, free_end + 1));
            }
            frame = free_end + 1;
        }
        runs
    }

    /// Reserved pages over all pages.
    pub fn reserved_fraction(&self, pages: u64) -> f64 {
        let reserved: u64 = self.reserved.iter().map(|(start, end)| end - start).sum();
        reserved as f64 / pages as f64
    }

    /// Reserves every reserved run on `allocator`.
    pub fn apply<Storage: AsRef<[u64]> + AsMut<[u64]>>(
        &self,
        allocator: &mut BootAllocator<Storage, NoZeroing, 4>,
    ) {
        for &(start, end) in &self.reserved {
            allocator
                .reserve(
                    PhysicalAddress::new(start * PAGE),
                    (end - start) * PAGE,
                    ReserveMode::Shared,
                )
                .expect("runs lie inside the machine");
        }
    }
}
