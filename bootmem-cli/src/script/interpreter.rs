//! Running parsed `.bms` calls against the Linux-named layer, one output line each.

use std::rc::Rc;

use bootmem::linux::{self, Bootmem, NoPanicResult};
use bootmem::memory::NoZeroing;
use bootmem::{Configuration, PageFrameNumber, PageSize, PhysicalAddress, RangeError};

use super::outcome::Outcome;
use super::parser::{Call, Command, MAX_ARGUMENTS};
use super::storage::{NodeStorage, StoragePool};

/// The registry capacity of the simulated machine: x86-64's `MAX_NUMNODES`.
pub const MAX_NODES: usize = 1024;

/// The largest bitmap the runner will allocate for one node, in 64-bit words
/// (128 MiB of host memory: a node of 2^30 pages, 4 TiB of 4 KiB pages).
pub const MAX_BITMAP_WORDS: u64 = 1 << 24;

type Machine = Bootmem<NodeStorage, NoZeroing, MAX_NODES>;

/// One script's run: the configuration and the allocator, until
/// `free_all_bootmem` tears it down.
///
/// A machine of 1024 nodes is a quarter of a megabyte: it lives on the
/// heap, and only the rare calls that build one (a configuration line,
/// the teardown) have a stack frame that holds it, so that each ordinary
/// call costs no more stack than the library's.
pub struct Interpreter {
    configuration: Configuration,
    /// `None` once torn down.
    bootmem: Option<Box<Machine>>,
    /// The machine `free_all_bootmem` emptied in place, kept until the
    /// script's run ends: giving its quarter megabyte back to the host
    /// (an `munmap`) is not part of the hand-off `bootmem bench --script`
    /// times.
    retired: Option<Box<Machine>>,
    /// Whether allocations search bit by bit ([`Interpreter::use_bit_by_bit_search`]).
    bit_by_bit: bool,
    /// Where nodes' storage comes from: a pool, or fresh vectors (`None`).
    pool: Option<Rc<StoragePool>>,
}

impl Default for Interpreter {
    fn default() -> Self {
        Self::new()
    }
}

fn torn_down() -> Outcome {
    Outcome::bug("bootmem is torn down (free_all_bootmem ran)")
}

impl Interpreter {
    /// A fresh machine with the x86-64 defaults.
    pub fn new() -> Self {
        let configuration = Configuration::X86_64;
        Self {
            configuration,
            bootmem: Some(Box::new(Bootmem::new(configuration, NoZeroing))),
            retired: None,
            bit_by_bit: false,
            pool: None,
        }
    }

    /// A fresh machine whose nodes borrow their storage from `pool`
    /// (`bootmem bench --script`: made ahead of time, outside the timing).
    pub fn with_pool(pool: Rc<StoragePool>) -> Self {
        Self {
            pool: Some(pool),
            ..Self::new()
        }
    }

    /// Rebuilds the (node-less) allocator after a configuration change.
    #[inline(never)]
    fn configure(&mut self, change: impl FnOnce(&mut Configuration)) -> Outcome {
        change(&mut self.configuration);
        // Configuration lines only parse before the first node line, so no
        // node is registered yet and nothing is lost by starting afresh.
        if let Some(bootmem) = &mut self.bootmem {
            **bootmem = Bootmem::new(self.configuration, NoZeroing);
            bootmem
                .allocator_mut()
                .use_bit_by_bit_search(self.bit_by_bit);
        }
        Outcome::Done
    }

    /// `free_all_bootmem`: hands every free page over and tears the
    /// allocator down, where it lies: the machine's registry of 1 024
    /// nodes (about 300 KB) is not moved out of its box, which took
    /// longer than the whole hand-off of a machine of a few GiB.
    #[inline(never)]
    fn tear_down(bootmem: &mut Machine) -> Outcome {
        let released = bootmem
            .allocator_mut()
            .free_all_in_place()
            .release_with(|_| {});
        Outcome::Number(released)
    }

    fn page(&self) -> PageSize {
        self.configuration.page_size
    }

    /// Makes every allocation search one bit at a time and mark one bit per
    /// page, as v4.19 does (the library's `reference` feature), or go back
    /// to the word-at-a-time search. Results are identical; only time
    /// differs. Nodes registered later follow the switch too.
    pub fn use_bit_by_bit_search(&mut self, enabled: bool) {
        self.bit_by_bit = enabled;
        if let Some(bootmem) = &mut self.bootmem {
            bootmem.allocator_mut().use_bit_by_bit_search(enabled);
        }
    }

    /// Runs one call and returns its outcome; its `Display` is the output line.
    ///
    /// Allocations go straight to their call, from code small enough to
    /// be inlined into the caller's loop: a script of a million of them
    /// spends its time here, and `bootmem bench --script` times the
    /// runner's own steps with the library's. Every other command goes
    /// through [`execute_other`](Self::execute_other), whose many arms
    /// would otherwise make each allocation save and restore the
    /// registers they need.
    #[inline]
    pub fn execute(&mut self, call: &Call) -> Outcome {
        if call.command.is_allocation() {
            return match &mut self.bootmem {
                Some(bootmem) => allocate(bootmem, call.command, call.values()),
                None => torn_down(),
            };
        }
        self.execute_other(call)
    }

    /// Runs a call that is not an allocation.
    #[inline(never)]
    fn execute_other(&mut self, call: &Call) -> Outcome {
        let arguments = call.values();
        let argument = |index: usize| arguments[index];
        match call.command {
            Command::page_size => match PageSize::try_new(argument(0)) {
                Ok(size) => self.configure(|configuration| configuration.page_size = size),
                Err(error) => Outcome::bug(error),
            },
            Command::smp_cache_bytes => {
                self.configure(|configuration| configuration.cache_line_bytes = argument(0))
            }
            Command::max_dma_address => self.configure(|configuration| {
                configuration.dma_limit = PhysicalAddress::new(argument(0))
            }),
            Command::arch_low_address_limit => self.configure(|configuration| {
                configuration.low_address_limit = PhysicalAddress::new(argument(0))
            }),
            Command::max_dma32_pfn => self.configure(|configuration| {
                configuration.dma32_end = PageFrameNumber::new(argument(0))
            }),
            Command::bootmem_bootmap_pages => {
                let bytes = bootmem::bitmap_bytes(argument(0));
                Outcome::Number(self.page().pages_for(bytes))
            }
            Command::free_bootmem_late => {
                if self.bootmem.is_some() {
                    return Outcome::bug("free_bootmem_late before free_all_bootmem");
                }
                match linux::late_free_frames(self.page(), argument(0), argument(1)) {
                    Ok(frames) => Outcome::Number(frames.end.as_u64() - frames.start.as_u64()),
                    Err(error) => Outcome::bug(error),
                }
            }
            Command::free_all_bootmem => match self.bootmem.take() {
                Some(mut bootmem) => {
                    let outcome = Self::tear_down(&mut bootmem);
                    self.retired = Some(bootmem);
                    outcome
                }
                None => torn_down(),
            },
            _ => match &mut self.bootmem {
                Some(bootmem) => {
                    live(bootmem, self.pool.as_ref(), call).unwrap_or_else(|line| line)
                }
                None => torn_down(),
            },
        }
    }
}

/// Runs a call on a live (not torn down) allocator; `Err` holds a `BUG:` outcome.
fn live(
    bootmem: &mut Machine,
    pool: Option<&Rc<StoragePool>>,
    call: &Call,
) -> Result<Outcome, Outcome> {
    let a = call.values();
    Ok(match call.command {
        Command::init_bootmem_node => {
            let node = u32::try_from(a[0])
                .map_err(|_| Outcome::bug(format!("node number {} is too large", a[0])))?;
            register(bootmem, pool, node, a[1], a[2], a[3])?
        }
        Command::init_bootmem => register(bootmem, pool, 0, a[0], 0, a[1])?,
        Command::free_bootmem => range(bootmem.free_bootmem(a[0], a[1]))?,
        Command::free_bootmem_node => {
            range(bootmem.free_bootmem_node(node_number(a[0])?, a[1], a[2]))?
        }
        Command::reserve_bootmem => reserved(bootmem.reserve_bootmem(a[0], a[1], a[2] as u32))?,
        Command::reserve_bootmem_node => {
            reserved(bootmem.reserve_bootmem_node(node_number(a[0])?, a[1], a[2], a[3] as u32))?
        }
        Command::is_reserved => match bootmem.allocator().is_reserved(PageFrameNumber::new(a[0])) {
            Some(reserved) => Outcome::Number(u64::from(reserved)),
            None => return Err(Outcome::bug(format!("no node covers page {:#x}", a[0]))),
        },
        Command::reserved_ranges => {
            let runs: Vec<String> = bootmem
                .allocator()
                .reserved_runs()
                .map(|run| format!("{:#x}-{:#x}", run.start.as_u64(), run.end.as_u64()))
                .collect();
            Outcome::Text(if runs.is_empty() {
                "none".to_owned()
            } else {
                runs.join(" ")
            })
        }
        Command::free_pages => Outcome::Number(bootmem.allocator().free_pages()),
        // `execute` sends every allocation to `allocate` before this
        // match; what else reaches here gets its "is not an allocation" bug.
        command => allocate(bootmem, command, a),
    })
}

/// The node number of a `_node` call, if it can name a node at all.
fn node_number(value: u64) -> Result<u32, Outcome> {
    u32::try_from(value).map_err(|_| Outcome::bug(format!("node {value} is not registered")))
}

fn register(
    bootmem: &mut Machine,
    pool: Option<&Rc<StoragePool>>,
    node: u32,
    mapstart: u64,
    start: u64,
    end: u64,
) -> Result<Outcome, Outcome> {
    let pages = end.saturating_sub(start);
    if bootmem::bitmap_words(pages) > MAX_BITMAP_WORDS {
        return Err(Outcome::bug(format!(
            "node of {} pages needs a bitmap larger than this simulator allocates (at most {} pages)",
            end - start,
            MAX_BITMAP_WORDS * 64
        )));
    }
    let words = bootmem::node_storage_words(pages) as usize;
    let storage = match pool {
        Some(pool) => pool.lend(words),
        None => NodeStorage::fresh(words),
    };
    bootmem
        .init_bootmem_node(node, mapstart, start, end, storage)
        .map(Outcome::Number)
        .map_err(Outcome::bug)
}

fn range(result: Result<(), RangeError>) -> Result<Outcome, Outcome> {
    result.map(|()| Outcome::Done).map_err(Outcome::bug)
}

fn reserved(result: Result<i32, RangeError>) -> Result<Outcome, Outcome> {
    result.map(Outcome::Reservation).map_err(Outcome::bug)
}

/// Prints a `_nopanic` result.
fn nopanic(result: NoPanicResult) -> Outcome {
    match result {
        Ok(Some(found)) => Outcome::Address(found.as_u64()),
        Ok(None) => Outcome::Null,
        Err(misuse) => Outcome::bug(misuse),
    }
}

/// Prints the result of a panicking call, through its `_nopanic` twin so
/// that the runner can go on after the panic line.
fn panicking(size: u64, result: NoPanicResult) -> Outcome {
    match result {
        Ok(Some(found)) => Outcome::Address(found.as_u64()),
        Ok(None) => Outcome::Panic(size),
        Err(misuse) => Outcome::bug(misuse),
    }
}

#[allow(clippy::used_underscore_items)]
fn allocate(bootmem: &mut Machine, command: Command, a: &[u64; MAX_ARGUMENTS]) -> Outcome {
    let configuration = bootmem.allocator().configuration();
    let cache = configuration.cache_line_bytes;
    let page = configuration.page_size.bytes();
    let goal = configuration.dma_limit.as_u64();
    // A `_node` call's node number, or its `BUG:` outcome.
    macro_rules! node {
        ($value:expr) => {
            match node_number($value) {
                Ok(node) => node,
                Err(bug) => return bug,
            }
        };
    }
    match command {
        Command::alloc_bootmem => {
            panicking(a[0], bootmem.__alloc_bootmem_nopanic(a[0], cache, goal))
        }
        Command::alloc_bootmem_align => {
            panicking(a[0], bootmem.__alloc_bootmem_nopanic(a[0], a[1], goal))
        }
        Command::alloc_bootmem_nopanic => nopanic(bootmem.alloc_bootmem_nopanic(a[0])),
        Command::alloc_bootmem_pages => {
            panicking(a[0], bootmem.__alloc_bootmem_nopanic(a[0], page, goal))
        }
        Command::alloc_bootmem_pages_nopanic => nopanic(bootmem.alloc_bootmem_pages_nopanic(a[0])),
        Command::alloc_bootmem_node => panicking(
            a[1],
            bootmem.__alloc_bootmem_node_nopanic(node!(a[0]), a[1], cache, goal),
        ),
        Command::alloc_bootmem_node_nopanic => {
            nopanic(bootmem.alloc_bootmem_node_nopanic(node!(a[0]), a[1]))
        }
        Command::alloc_bootmem_pages_node => panicking(
            a[1],
            bootmem.__alloc_bootmem_node_nopanic(node!(a[0]), a[1], page, goal),
        ),
        Command::alloc_bootmem_pages_node_nopanic => {
            nopanic(bootmem.alloc_bootmem_pages_node_nopanic(node!(a[0]), a[1]))
        }
        Command::alloc_bootmem_low => {
            panicking(a[0], bootmem.__alloc_bootmem_low_nopanic(a[0], cache, 0))
        }
        Command::alloc_bootmem_low_nopanic => nopanic(bootmem.alloc_bootmem_low_nopanic(a[0])),
        Command::alloc_bootmem_low_pages => {
            panicking(a[0], bootmem.__alloc_bootmem_low_nopanic(a[0], page, 0))
        }
        Command::alloc_bootmem_low_pages_nopanic => {
            nopanic(bootmem.alloc_bootmem_low_pages_nopanic(a[0]))
        }
        Command::alloc_bootmem_low_pages_node => panicking(
            a[1],
            bootmem.__alloc_bootmem_low_node_nopanic(node!(a[0]), a[1], page, 0),
        ),
        Command::__alloc_bootmem => {
            panicking(a[0], bootmem.__alloc_bootmem_nopanic(a[0], a[1], a[2]))
        }
        Command::__alloc_bootmem_nopanic => {
            nopanic(bootmem.__alloc_bootmem_nopanic(a[0], a[1], a[2]))
        }
        Command::___alloc_bootmem => panicking(
            a[0],
            bootmem.___alloc_bootmem_nopanic(a[0], a[1], a[2], a[3]),
        ),
        Command::___alloc_bootmem_nopanic => {
            nopanic(bootmem.___alloc_bootmem_nopanic(a[0], a[1], a[2], a[3]))
        }
        Command::__alloc_bootmem_low => {
            panicking(a[0], bootmem.__alloc_bootmem_low_nopanic(a[0], a[1], a[2]))
        }
        Command::__alloc_bootmem_low_nopanic => {
            nopanic(bootmem.__alloc_bootmem_low_nopanic(a[0], a[1], a[2]))
        }
        Command::__alloc_bootmem_node => panicking(
            a[1],
            bootmem.__alloc_bootmem_node_nopanic(node!(a[0]), a[1], a[2], a[3]),
        ),
        Command::__alloc_bootmem_node_nopanic => {
            nopanic(bootmem.__alloc_bootmem_node_nopanic(node!(a[0]), a[1], a[2], a[3]))
        }
        Command::___alloc_bootmem_node => panicking(
            a[1],
            bootmem.___alloc_bootmem_node_nopanic(node!(a[0]), a[1], a[2], a[3], a[4]),
        ),
        Command::___alloc_bootmem_node_nopanic => {
            nopanic(bootmem.___alloc_bootmem_node_nopanic(node!(a[0]), a[1], a[2], a[3], a[4]))
        }
        Command::__alloc_bootmem_node_high => panicking(
            a[1],
            bootmem.__alloc_bootmem_node_high_nopanic(node!(a[0]), a[1], a[2], a[3]),
        ),
        Command::__alloc_bootmem_low_node => panicking(
            a[1],
            bootmem.__alloc_bootmem_low_node_nopanic(node!(a[0]), a[1], a[2], a[3]),
        ),
        other => Outcome::bug(format!("{} is not an allocation", other.name())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse_script;
    use super::*;
    use proptest::prelude::*;

    /// A number that is often an edge: 0, 1, near a page, near 2^64.
    fn number() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..4,
            0u64..0x2000,
            0u64..0x200_0000,
            (0u32..64).prop_map(|shift| 1u64 << shift),
            (0u64..0x1000).prop_map(|below| u64::MAX - below),
            any::<u64>(),
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        const NAMES: [&str; 28] = [
            "page_size",
            "smp_cache_bytes",
            "max_dma_address",
            "max_dma32_pfn",
            "init_bootmem_node",
            "init_bootmem",
            "free_bootmem",
            "free_bootmem_node",
            "reserve_bootmem",
            "reserve_bootmem_node",
            "free_all_bootmem",
            "free_bootmem_late",
            "bootmem_bootmap_pages",
            "alloc_bootmem",
            "alloc_bootmem_align",
            "alloc_bootmem_low",
            "alloc_bootmem_node_nopanic",
            "alloc_bootmem_low_pages_node",
            "__alloc_bootmem",
            "___alloc_bootmem_nopanic",
            "__alloc_bootmem_low",
            "__alloc_bootmem_node",
            "___alloc_bootmem_node",
            "__alloc_bootmem_node_high",
            "__alloc_bootmem_low_node",
            "is_reserved",
            "reserved_ranges",
            "free_pages",
        ];
        (
            proptest::sample::select(&NAMES[..]),
            proptest::collection::vec(number(), 5),
        )
            .prop_map(|(name, numbers)| {
                let probe = parse_script(&format!("{name} 0 0 0 0 0")).err();
                // Take as many arguments as the command wants.
                let wanted = probe
                    .and_then(|error| error.message.split(" takes ").nth(1).map(str::to_owned))
                    .and_then(|rest| {
                        rest.split(' ')
                            .next()
                            .and_then(|count| count.parse::<usize>().ok())
                    })
                    .unwrap_or(5);
                let mut numbers = numbers;
                // Keep nodes small enough that hundreds of cases run in seconds:
                // the end is the start plus at most 2^20 pages.
                if name == "init_bootmem_node" {
                    numbers[3] = numbers[2].saturating_add(numbers[3] % (1 << 20));
                } else if name == "init_bootmem" {
                    numbers[1] %= 1 << 20;
                }
                let mut words = vec![name.to_owned()];
                for (index, value) in numbers.iter().take(wanted).enumerate() {
                    let flags = name.starts_with("reserve") && index + 1 == wanted;
                    words.push(if flags {
                        (value & 1).to_string()
                    } else {
                        format!("{value:#x}")
                    });
                }
                words.join(" ")
            })
    }

    /// Random scripts, edges included: every call prints exactly one line
    /// and none panics, whatever the page size or numbers.
    ///
    /// Run on a stack as large as the command's main thread (8 MiB): a
    /// 1024-node machine is about 250 KB, and an unoptimised build copies
    /// it through each frame that builds it, past a test thread's 2 MiB.
    #[test]
    fn random_scripts_never_panic() {
        let cases = || {
            let mut runner = proptest::test_runner::TestRunner::default();
            let result = runner.run(&proptest::collection::vec(line(), 1..40), |lines| {
                let text = lines.join("\n");
                let Ok(calls) = parse_script(&text) else {
                    return Ok(());
                };
                let mut interpreter = Interpreter::new();
                for call in &calls {
                    let output = interpreter.execute(call).to_string();
                    prop_assert!(!output.is_empty() && !output.contains('\n'));
                }
                Ok(())
            });
            if let Err(failure) = result {
                panic!("{failure}");
            }
        };
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(cases)
            .expect("a test thread starts")
            .join()
            .expect("no script panics");
    }
}
