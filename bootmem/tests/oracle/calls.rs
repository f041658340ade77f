//! The Linux-named calls as data, run on the library and on the model, and their outcomes compared.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use bootmem::linux::Bootmem;
use bootmem::memory::PhysicalMemory;
use bootmem::{Configuration, PageFrameNumber, PageSize, PhysicalAddress};

use super::{Allocation, Machine, Model, Policy};

/// Records every zeroing the allocator asks for, as `(address, size)`.
#[derive(Clone, Debug, Default)]
pub struct ZeroLog(pub Rc<RefCell<Vec<(u64, u64)>>>);

impl PhysicalMemory for ZeroLog {
    fn zero(&mut self, start: PhysicalAddress, size: u64) {
        self.0.borrow_mut().push((start.as_u64(), size));
    }
}

/// The library under test.
pub type Library = Bootmem<Vec<u64>, ZeroLog, 8>;

/// Every allocating function of the Linux-named layer.
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    alloc_bootmem,
    alloc_bootmem_align,
    alloc_bootmem_nopanic,
    alloc_bootmem_pages,
    alloc_bootmem_pages_nopanic,
    alloc_bootmem_node,
    alloc_bootmem_node_nopanic,
    alloc_bootmem_pages_node,
    alloc_bootmem_pages_node_nopanic,
    alloc_bootmem_low,
    alloc_bootmem_low_nopanic,
    alloc_bootmem_low_pages,
    alloc_bootmem_low_pages_nopanic,
    alloc_bootmem_low_pages_node,
    __alloc_bootmem,
    __alloc_bootmem_nopanic,
    ___alloc_bootmem,
    ___alloc_bootmem_nopanic,
    __alloc_bootmem_low,
    __alloc_bootmem_low_nopanic,
    __alloc_bootmem_node,
    __alloc_bootmem_node_nopanic,
    ___alloc_bootmem_node,
    ___alloc_bootmem_node_nopanic,
    __alloc_bootmem_node_high,
    __alloc_bootmem_node_high_nopanic,
    __alloc_bootmem_low_node,
    __alloc_bootmem_low_node_nopanic,
}

impl Function {
    /// All of them.
    pub const ALL: [Self; 28] = [
        Self::alloc_bootmem,
        Self::alloc_bootmem_align,
        Self::alloc_bootmem_nopanic,
        Self::alloc_bootmem_pages,
        Self::alloc_bootmem_pages_nopanic,
        Self::alloc_bootmem_node,
        Self::alloc_bootmem_node_nopanic,
        Self::alloc_bootmem_pages_node,
        Self::alloc_bootmem_pages_node_nopanic,
        Self::alloc_bootmem_low,
        Self::alloc_bootmem_low_nopanic,
        Self::alloc_bootmem_low_pages,
        Self::alloc_bootmem_low_pages_nopanic,
        Self::alloc_bootmem_low_pages_node,
        Self::__alloc_bootmem,
        Self::__alloc_bootmem_nopanic,
        Self::___alloc_bootmem,
        Self::___alloc_bootmem_nopanic,
        Self::__alloc_bootmem_low,
        Self::__alloc_bootmem_low_nopanic,
        Self::__alloc_bootmem_node,
        Self::__alloc_bootmem_node_nopanic,
        Self::___alloc_bootmem_node,
        Self::___alloc_bootmem_node_nopanic,
        Self::__alloc_bootmem_node_high,
        Self::__alloc_bootmem_node_high_nopanic,
        Self::__alloc_bootmem_low_node,
        Self::__alloc_bootmem_low_node_nopanic,
    ];

    /// What the function passes on, from `bootmem.h` and the contract:
    /// `(policy, align, goal, panics)` given the explicit arguments.
    pub fn resolve(self, machine: &Machine, arguments: &Arguments) -> (Policy, u64, u64, bool) {
        use Function as F;
        let Arguments {
            nid,
            align,
            goal,
            limit,
            ..
        } = *arguments;
        let (cache, page, dma, low) = (
            machine.cache_line,
            machine.page,
            machine.dma_limit,
            machine.low_limit,
        );
        let any = |limit| Policy::AnyNode { limit };
        let node = |limit| Policy::Node { nid, limit };
        match self {
            F::alloc_bootmem => (any(0), cache, dma, true),
            F::alloc_bootmem_align => (any(0), align, dma, true),
            F::alloc_bootmem_nopanic => (any(0), cache, dma, false),
            F::alloc_bootmem_pages => (any(0), page, dma, true),
            F::alloc_bootmem_pages_nopanic => (any(0), page, dma, false),
            F::alloc_bootmem_node => (node(0), cache, dma, true),
            F::alloc_bootmem_node_nopanic => (node(0), cache, dma, false),
            F::alloc_bootmem_pages_node => (node(0), page, dma, true),
            F::alloc_bootmem_pages_node_nopanic => (node(0), page, dma, false),
            F::alloc_bootmem_low => (any(low), cache, 0, true),
            F::alloc_bootmem_low_nopanic => (any(low), cache, 0, false),
            F::alloc_bootmem_low_pages => (any(low), page, 0, true),
            F::alloc_bootmem_low_pages_nopanic => (any(low), page, 0, false),
            F::alloc_bootmem_low_pages_node => (node(low), page, 0, true),
            F::__alloc_bootmem => (any(0), align, goal, true),
            F::__alloc_bootmem_nopanic => (any(0), align, goal, false),
            F::___alloc_bootmem => (any(limit), align, goal, true),
            F::___alloc_bootmem_nopanic => (any(limit), align, goal, false),
            F::__alloc_bootmem_low => (any(low), align, goal, true),
            F::__alloc_bootmem_low_nopanic => (any(low), align, goal, false),
            F::__alloc_bootmem_node => (node(0), align, goal, true),
            F::__alloc_bootmem_node_nopanic => (node(0), align, goal, false),
            F::___alloc_bootmem_node => (node(limit), align, goal, true),
            F::___alloc_bootmem_node_nopanic => (node(limit), align, goal, false),
            F::__alloc_bootmem_node_high => (Policy::High { nid }, align, goal, true),
            F::__alloc_bootmem_node_high_nopanic => (Policy::High { nid }, align, goal, false),
            F::__alloc_bootmem_low_node => (node(low), align, goal, true),
            F::__alloc_bootmem_low_node_nopanic => (node(low), align, goal, false),
        }
    }
}

/// The arguments of an allocation; each function reads those it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arguments {
    pub nid: u32,
    pub size: u64,
    pub align: u64,
    pub goal: u64,
    pub limit: u64,
}

/// One call of the Linux-named layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Init {
        nid: u32,
        mapstart: u64,
        start: u64,
        end: u64,
    },
    Free {
        address: u64,
        size: u64,
    },
    FreeNode {
        nid: u32,
        address: u64,
        size: u64,
    },
    Reserve {
        address: u64,
        size: u64,
        flags: u32,
    },
    ReserveNode {
        nid: u32,
        address: u64,
        size: u64,
        flags: u32,
    },
    Allocate {
        function: Function,
        arguments: Arguments,
    },
}

/// What a call returned, in the script format's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `init_bootmem_node`'s bitmap bytes.
    Bytes(u64),
    /// A free that returned.
    Done,
    /// A reserve's 0 or -16.
    Reserve(i32),
    /// An allocation's address, `NULL` or `PANIC`.
    Allocation(Allocation),
    /// `BUG`.
    Bug,
}

impl Outcome {
    /// Whether the call changed nothing by contract (`BUG`, `PANIC`, `NULL`, -16).
    pub fn failed(self) -> bool {
        matches!(
            self,
            Self::Bug
                | Self::Reserve(-16)
                | Self::Allocation(Allocation::Null | Allocation::Panic | Allocation::Bug)
        )
    }
}

/// The library's configuration for the model's machine.
pub fn configuration(machine: &Machine) -> Configuration {
    Configuration {
        page_size: PageSize::new(machine.page),
        cache_line_bytes: machine.cache_line,
        dma_limit: PhysicalAddress::new(machine.dma_limit),
        low_address_limit: PhysicalAddress::new(machine.low_limit),
        dma32_end: PageFrameNumber::new(machine.dma32_end_pfn),
    }
}

/// A node-less library for `machine`, recording its zeroing in `log`.
pub fn library(machine: &Machine, log: &ZeroLog) -> Library {
    Library::new(configuration(machine), log.clone())
}

/// Runs `call` on the model.
pub fn run_model(model: &mut Model, call: &Call) -> Outcome {
    let bug_or = |result: Result<Outcome, super::Bug>| result.unwrap_or(Outcome::Bug);
    match *call {
        Call::Init {
            nid,
            mapstart,
            start,
            end,
        } => bug_or(
            model
                .register(nid, mapstart, start, end)
                .map(Outcome::Bytes),
        ),
        Call::Free { address, size } => bug_or(model.free(address, size).map(|()| Outcome::Done)),
        Call::FreeNode { nid, address, size } => {
            bug_or(model.free_node(nid, address, size).map(|()| Outcome::Done))
        }
        Call::Reserve {
            address,
            size,
            flags,
        } => bug_or(model.reserve(address, size, flags).map(Outcome::Reserve)),
        Call::ReserveNode {
            nid,
            address,
            size,
            flags,
        } => bug_or(
            model
                .reserve_node(nid, address, size, flags)
                .map(Outcome::Reserve),
        ),
        Call::Allocate {
            function,
            arguments,
        } => {
            let (policy, align, goal, panics) = function.resolve(&model.machine, &arguments);
            match model.allocate(policy, arguments.size, align, goal) {
                Allocation::Null if panics => Outcome::Allocation(Allocation::Panic),
                other => Outcome::Allocation(other),
            }
        }
    }
}

/// Silences the expected `bootmem alloc of N bytes failed!` panics of the
/// panicking calls, keeping every other panic message.
pub fn quiet_expected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            if !message.starts_with("bootmem alloc of ") {
                default(info);
            }
        }));
    });
}

fn nopanic(result: bootmem::linux::NoPanicResult) -> Outcome {
    Outcome::Allocation(match result {
        Ok(Some(address)) => Allocation::Address(address.as_u64()),
        Ok(None) => Allocation::Null,
        Err(_) => Allocation::Bug,
    })
}

/// Runs a panicking allocation, turning its panic into `Allocation::Panic`
/// after checking the message names the size.
fn panicking(
    size: u64,
    call: impl FnOnce() -> Result<PhysicalAddress, bootmem::AllocationError>,
) -> Outcome {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(address)) => Outcome::Allocation(Allocation::Address(address.as_u64())),
        Ok(Err(_)) => Outcome::Allocation(Allocation::Bug),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            assert_eq!(message, format!("bootmem alloc of {size} bytes failed!"));
            Outcome::Allocation(Allocation::Panic)
        }
    }
}

/// Runs `call` on the library.
pub fn run_library(bootmem: &mut Library, call: &Call) -> Outcome {
    let reserve =
        |result: Result<i32, bootmem::RangeError>| result.map_or(Outcome::Bug, Outcome::Reserve);
    let done =
        |result: Result<(), bootmem::RangeError>| result.map_or(Outcome::Bug, |()| Outcome::Done);
    match *call {
        Call::Init {
            nid,
            mapstart,
            start,
            end,
        } => {
            let pages = end.saturating_sub(start);
            let words = if pages <= 1 << 24 {
                bootmem::node_storage_words(pages) as usize
            } else {
                0
            };
            bootmem
                .init_bootmem_node(nid, mapstart, start, end, vec![0; words])
                .map_or(Outcome::Bug, Outcome::Bytes)
        }
        Call::Free { address, size } => done(bootmem.free_bootmem(address, size)),
        Call::FreeNode { nid, address, size } => {
            done(bootmem.free_bootmem_node(nid, address, size))
        }
        Call::Reserve {
            address,
            size,
            flags,
        } => reserve(bootmem.reserve_bootmem(address, size, flags)),
        Call::ReserveNode {
            nid,
            address,
            size,
            flags,
        } => reserve(bootmem.reserve_bootmem_node(nid, address, size, flags)),
        Call::Allocate {
            function,
            arguments,
        } => allocate(bootmem, function, &arguments),
    }
}

#[allow(clippy::used_underscore_items)]
fn allocate(b: &mut Library, function: Function, arguments: &Arguments) -> Outcome {
    use Function as F;
    let Arguments {
        nid,
        size,
        align,
        goal,
        limit,
    } = *arguments;
    match function {
        F::alloc_bootmem => panicking(size, || b.alloc_bootmem(size)),
        F::alloc_bootmem_align => panicking(size, || b.alloc_bootmem_align(size, align)),
        F::alloc_bootmem_nopanic => nopanic(b.alloc_bootmem_nopanic(size)),
        F::alloc_bootmem_pages => panicking(size, || b.alloc_bootmem_pages(size)),
        F::alloc_bootmem_pages_nopanic => nopanic(b.alloc_bootmem_pages_nopanic(size)),
        F::alloc_bootmem_node => panicking(size, || b.alloc_bootmem_node(nid, size)),
        F::alloc_bootmem_node_nopanic => nopanic(b.alloc_bootmem_node_nopanic(nid, size)),
        F::alloc_bootmem_pages_node => panicking(size, || b.alloc_bootmem_pages_node(nid, size)),
        F::alloc_bootmem_pages_node_nopanic => {
            nopanic(b.alloc_bootmem_pages_node_nopanic(nid, size))
        }
        F::alloc_bootmem_low => panicking(size, || b.alloc_bootmem_low(size)),
        F::alloc_bootmem_low_nopanic => nopanic(b.alloc_bootmem_low_nopanic(size)),
        F::alloc_bootmem_low_pages => panicking(size, || b.alloc_bootmem_low_pages(size)),
        F::alloc_bootmem_low_pages_nopanic => nopanic(b.alloc_bootmem_low_pages_nopanic(size)),
        F::alloc_bootmem_low_pages_node => {
            panicking(size, || b.alloc_bootmem_low_pages_node(nid, size))
        }
        F::__alloc_bootmem => panicking(size, || b.__alloc_bootmem(size, align, goal)),
        F::__alloc_bootmem_nopanic => nopanic(b.__alloc_bootmem_nopanic(size, align, goal)),
        F::___alloc_bootmem => panicking(size, || b.___alloc_bootmem(size, align, goal, limit)),
        F::___alloc_bootmem_nopanic => {
            nopanic(b.___alloc_bootmem_nopanic(size, align, goal, limit))
        }
        F::__alloc_bootmem_low => panicking(size, || b.__alloc_bootmem_low(size, align, goal)),
        F::__alloc_bootmem_low_nopanic => nopanic(b.__alloc_bootmem_low_nopanic(size, align, goal)),
        F::__alloc_bootmem_node => {
            panicking(size, || b.__alloc_bootmem_node(nid, size, align, goal))
        }
        F::__alloc_bootmem_node_nopanic => {
            nopanic(b.__alloc_bootmem_node_nopanic(nid, size, align, goal))
        }
        F::___alloc_bootmem_node => panicking(size, || {
            b.___alloc_bootmem_node(nid, size, align, goal, limit)
        }),
        F::___alloc_bootmem_node_nopanic => {
            nopanic(b.___alloc_bootmem_node_nopanic(nid, size, align, goal, limit))
        }
        F::__alloc_bootmem_node_high => {
            panicking(size, || b.__alloc_bootmem_node_high(nid, size, align, goal))
        }
        F::__alloc_bootmem_node_high_nopanic => {
            nopanic(b.__alloc_bootmem_node_high_nopanic(nid, size, align, goal))
        }
        F::__alloc_bootmem_low_node => {
            panicking(size, || b.__alloc_bootmem_low_node(nid, size, align, goal))
        }
        F::__alloc_bootmem_low_node_nopanic => {
            nopanic(b.__alloc_bootmem_low_node_nopanic(nid, size, align, goal))
        }
    }
}

/// Compares everything the library shows of its state with the model:
/// every node's frames and free count, the reserved runs.
pub fn compare_state(model: &Model, library: &Library) -> Result<(), String> {
    let allocator = library.allocator();
    let nodes: Vec<(u32, u64, u64, u64)> = allocator
        .nodes()
        .map(|node| {
            (
                node.node.as_u32(),
                node.start.as_u64(),
                node.end.as_u64(),
                node.free_pages,
            )
        })
        .collect();
    let expected: Vec<(u32, u64, u64, u64)> = model
        .nodes
        .iter()
        .map(|node| {
            let free = node.reserved.iter().filter(|reserved| !**reserved).count() as u64;
            (node.id, node.start, node.end, free)
        })
        .collect();
    if nodes != expected {
        return Err(format!("nodes: library {nodes:?}, model {expected:?}"));
    }
    let runs: Vec<(u64, u64)> = allocator
        .reserved_runs()
        .map(|run| (run.start.as_u64(), run.end.as_u64()))
        .collect();
    if runs != model.reserved_runs() {
        return Err(format!(
            "reserved runs: library {runs:?}, model {:?}",
            model.reserved_runs()
        ));
    }
    if allocator.free_pages() != model.free_pages() {
        return Err("free page counts differ".to_owned());
    }
    Ok(())
}

/// Tears the library down and checks its hand-off against the model:
/// the free blocks cover exactly the model's free pages and the bitmap
/// blocks exactly its bitmap pages, each block naturally aligned, no page
/// twice, and the count returned is the pages handed out. (Block sizes are
/// the library's choice: v4.19 used orders 0 and 6 only.)
pub fn compare_hand_off(model: &Model, library: Library) -> Result<u64, String> {
    let mut pages: Vec<(u64, bool)> = Vec::new();
    let mut handed = 0;
    let released = library.free_all_bootmem(|block| {
        let start = block.start.as_u64();
        let bitmap = block.kind == bootmem::BlockKind::Bitmap;
        if start % block.pages() != 0 {
            pages.push((u64::MAX, bitmap));
        }
        handed += block.pages();
        pages.extend((start..start + block.pages()).map(|frame| (frame, bitmap)));
    });
    if pages.contains(&(u64::MAX, false)) || pages.contains(&(u64::MAX, true)) {
        return Err("a block is not naturally aligned".to_owned());
    }
    let mut expected = model.hand_off_pages();
    let mut sorted = pages.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    if sorted != expected {
        return Err(format!(
            "hand-off pages: library {sorted:?}, model {expected:?}"
        ));
    }
    let mut frames: Vec<u64> = pages.iter().map(|page| page.0).collect();
    frames.sort_unstable();
    frames.dedup();
    if frames.len() != pages.len() {
        return Err("a page was handed out twice".to_owned());
    }
    if released != handed || released != model.released() {
        return Err(format!(
            "released {released}, blocks {handed}, model {}",
            model.released()
        ));
    }
    Ok(released)
}
