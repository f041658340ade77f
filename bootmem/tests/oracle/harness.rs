//! The library (and, with feature `reference`, the bit-by-bit library) beside the model, checked after every call.

use super::calls::{self, Call, Library, Outcome, ZeroLog};
use super::{Allocation, Machine, Model};

/// Live allocations: address, size.
pub type Live = Vec<(u64, u64)>;

/// Fails with a message unless the condition holds.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+));
        }
    };
}

/// Three allocators fed the same calls.
pub struct Harness {
    pub model: Model,
    pub library: Library,
    pub log: ZeroLog,
    #[cfg(feature = "reference")]
    pub reference: Library,
    pub live: Live,
}

impl Harness {
    /// Node-less allocators for `machine`.
    pub fn new(machine: Machine) -> Self {
        let log = ZeroLog::default();
        Self {
            model: Model::new(machine),
            library: calls::library(&machine, &log),
            #[cfg(feature = "reference")]
            reference: {
                let mut reference = calls::library(&machine, &ZeroLog::default());
                reference.allocator_mut().use_bit_by_bit_search(true);
                reference
            },
            log,
            live: Vec::new(),
        }
    }

    /// Runs `call` everywhere without checking (replaying a checked prefix).
    pub fn replay(&mut self, call: &Call) {
        let outcome = calls::run_model(&mut self.model, call);
        calls::run_library(&mut self.library, call);
        #[cfg(feature = "reference")]
        calls::run_library(&mut self.reference, call);
        self.track(call, outcome);
    }

    /// Runs `call` everywhere and checks everything: the same outcome, the
    /// same state, nothing changed by a failed call, zeroing exactly once
    /// for exactly the block, live blocks disjoint and reserved, reserved
    /// plus free pages equal to the registered pages.
    pub fn run(&mut self, call: &Call) -> Result<Outcome, String> {
        let before = format!("{:?}", self.library.allocator());
        let zeroed = self.log.0.borrow().len();
        let expected = calls::run_model(&mut self.model, call);
        let got = calls::run_library(&mut self.library, call);
        ensure!(
            got == expected,
            "{call:?}: library {got:?}, model {expected:?}"
        );
        #[cfg(feature = "reference")]
        {
            let reference = calls::run_library(&mut self.reference, call);
            ensure!(
                reference == expected,
                "{call:?}: bit by bit {reference:?}, model {expected:?}"
            );
        }
        calls::compare_state(&self.model, &self.library)
            .map_err(|error| format!("{call:?}: {error}"))?;
        let zeroing: Vec<(u64, u64)> = self.log.0.borrow()[zeroed..].to_vec();
        if expected.failed() {
            ensure!(
                format!("{:?}", self.library.allocator()) == before,
                "failed call changed state: {call:?}"
            );
        }
        match (call, got) {
            (
                Call::Allocate { arguments, .. },
                Outcome::Allocation(Allocation::Address(address)),
            ) => {
                ensure!(
                    zeroing == vec![(address, arguments.size)],
                    "{call:?}: zeroed {zeroing:?}"
                );
            }
            _ => ensure!(zeroing.is_empty(), "{call:?} zeroed {zeroing:?}"),
        }
        self.track(call, got);
        self.check_live_blocks()?;
        Ok(got)
    }

    /// Keeps the list of live blocks up to date.
    fn track(&mut self, call: &Call, outcome: Outcome) {
        match (call, outcome) {
            (
                Call::Allocate { arguments, .. },
                Outcome::Allocation(Allocation::Address(address)),
            ) => {
                self.live.push((address, arguments.size));
            }
            (Call::Free { .. } | Call::FreeNode { .. }, Outcome::Done) => {
                // Whichever block lost a page to this free is no longer live.
                let page = self.model.machine.page;
                let model = &self.model;
                self.live.retain(|(address, size)| {
                    (address / page..(address + size).div_ceil(page))
                        .all(|pfn| model.is_reserved(pfn) == Some(true))
                });
            }
            _ => {}
        }
    }

    /// No two live blocks overlap; each lies on reserved pages; reserved
    /// plus free pages are the registered pages.
    fn check_live_blocks(&self) -> Result<(), String> {
        let mut blocks = self.live.clone();
        blocks.sort_unstable();
        for pair in blocks.windows(2) {
            ensure!(
                pair[0].0 + pair[0].1 <= pair[1].0,
                "live blocks overlap: {pair:?}"
            );
        }
        let page = self.model.machine.page;
        let allocator = self.library.allocator();
        for (address, size) in blocks {
            for pfn in address / page..(address + size).div_ceil(page) {
                let reserved = allocator.is_reserved(bootmem::PageFrameNumber::new(pfn));
                ensure!(
                    reserved == Some(true),
                    "live block {address:#x}+{size}: page {pfn:#x} is {reserved:?}"
                );
            }
        }
        let registered: u64 = allocator
            .nodes()
            .map(|node| node.end.as_u64() - node.start.as_u64())
            .sum();
        let reserved: u64 = allocator
            .reserved_runs()
            .map(|run| run.end.as_u64() - run.start.as_u64())
            .sum();
        ensure!(
            reserved + allocator.free_pages() == registered,
            "reserved {reserved} + free != registered {registered}"
        );
        Ok(())
    }

    /// Tears everything down and compares the hand-offs with the model's.
    pub fn finish(self) -> Result<u64, String> {
        #[cfg(feature = "reference")]
        calls::compare_hand_off(&self.model, self.reference)?;
        calls::compare_hand_off(&self.model, self.library)
    }
}
