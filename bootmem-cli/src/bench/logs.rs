//! W1's input: the allocation requests of real `memblock=debug` boot logs, with their machines.
//!
//! Each log's memory map comes from the `bootmem map` dmesg reader and its
//! request and reservation lines from the replay command's parser. The
//! workload keeps every request in order and every standalone reservation
//! between them (a reservation echoing the request just before it, same
//! size, is where memblock put that block and is skipped, as `bootmem
//! replay` does); frees are left out.

use std::path::{Path, PathBuf};

use bootmem::linux::{Bootmem, BOOTMEM_DEFAULT};
use bootmem::memory::NoZeroing;
use bootmem::Configuration;

use crate::parse::{dmesg, CommandMemoryMap};
use crate::replay::trace::{self, TraceLine};

/// The nodes one replay sets up at most.
const MAX_NODES: usize = 64;

/// memblock's `SMP_CACHE_BYTES`: what `align=0x0` means.
const SMP_CACHE_BYTES: u64 = 64;

/// The allocator a log replay drives.
pub type LogMachine = Bootmem<Vec<u64>, NoZeroing, MAX_NODES>;

/// One call of the replay.
#[derive(Clone, Copy, Debug)]
pub enum Call {
    /// An allocation: node (None: any), size, alignment, goal, limit (0: none).
    Allocate {
        node: Option<u32>,
        size: u64,
        align: u64,
        goal: u64,
        limit: u64,
    },
    /// A reservation of `[start, start + size)`, clipped to the nodes.
    Reserve { start: u64, size: u64 },
}

/// One boot log ready to replay.
pub struct BootLog {
    /// File name, for the report.
    pub name: String,
    map: Box<CommandMemoryMap>,
    /// The calls in log order.
    pub calls: Vec<Call>,
}

/// Where the logs are looked for when `--logs` is not given.
const DEFAULT_LOG_DIRECTORIES: [&str; 3] = ["shared/data", "../shared/data", "../../shared/data"];

/// The directory to read logs from: `given`, or the first default that exists.
pub fn log_directory(given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(path) => Some(path.to_path_buf()),
        None => DEFAULT_LOG_DIRECTORIES
            .iter()
            .map(PathBuf::from)
            .find(|path| path.is_dir()),
    }
}

/// Reads every `memblock-trace-*.txt` of `directory`, sorted by name.
pub fn read_logs(directory: &Path) -> Result<Vec<BootLog>, String> {
    let entries = std::fs::read_dir(directory)
        .map_err(|error| format!("{}: {error}", directory.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("memblock-trace-") && name.ends_with(".txt"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!(
            "{}: no memblock-trace-*.txt boot logs",
            directory.display()
        ));
    }
    paths.iter().map(|path| read_log(path)).collect()
}

fn read_log(path: &Path) -> Result<BootLog, String> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| format!("{name}: {error}"))?;
    let map = dmesg::parse(&text)
        .and_then(|firmware| firmware.normalise(Configuration::X86_64.page_size))
        .map_err(|error| error.in_named_file(&name).to_string())?;
    let mut calls = Vec::new();
    let mut pending_size: Option<u64> = None;
    for (index, line) in text.lines().enumerate() {
        let parsed = trace::parse_message(dmesg::message(line))
            .map_err(|problem| format!("{name}:{}: {problem}", index + 1))?;
        match parsed {
            Some(TraceLine::Request(request)) => {
                pending_size = Some(request.size);
                calls.push(Call::Allocate {
                    node: u32::try_from(request.node).ok(),
                    size: request.size,
                    align: if request.align == 0 {
                        SMP_CACHE_BYTES
                    } else {
                        request.align
                    },
                    goal: request.minimum,
                    limit: if request.maximum <= 1 || request.maximum == u64::MAX {
                        0
                    } else {
                        request.maximum
                    },
                });
            }
            Some(TraceLine::Reserve { start, size }) => {
                if pending_size.take() == Some(size) || size == 0 {
                    continue;
                }
                calls.push(Call::Reserve { start, size });
            }
            Some(_) => pending_size = None,
            None => {}
        }
    }
    Ok(BootLog { name, map, calls })
}

impl BootLog {
    /// Requests in the log.
    pub fn requests(&self) -> usize {
        self.calls
            .iter()
            .filter(|call| matches!(call, Call::Allocate { .. }))
            .count()
    }

    /// Leaf bitmap words of the log's nodes.
    pub fn leaf_words(&self) -> u64 {
        self.map
            .nodes()
            .iter()
            .filter(|span| span.ram_bytes > 0)
            .map(|span| bootmem::bitmap_words(span.end.as_u64() - span.start.as_u64()))
            .sum()
    }

    /// The log's machine: every node registered, its RAM freed.
    pub fn machine(&self, bit_by_bit: bool) -> Result<LogMachine, String> {
        let mut machine = LogMachine::new(Configuration::X86_64, NoZeroing);
        machine.allocator_mut().use_bit_by_bit_search(bit_by_bit);
        for span in self.map.nodes().iter().filter(|span| span.ram_bytes > 0) {
            let (start, end) = (span.start.as_u64(), span.end.as_u64());
            let storage = vec![u64::MAX; bootmem::node_storage_words(end - start) as usize];
            machine
                .init_bootmem_node(span.node.as_u32(), start, start, end, storage)
                .map_err(|error| format!("{}: node {}: {error}", self.name, span.node.as_u32()))?;
        }
        for range in self.map.ram_ranges() {
            machine
                .free_bootmem(range.start.as_u64(), range.size())
                .map_err(|error| format!("{}: {error}", self.name))?;
        }
        Ok(machine)
    }

    /// The node spans in bytes.
    fn spans(&self) -> Vec<(u32, u64, u64)> {
        let shift = self.map.page_size().shift();
        self.map
            .nodes()
            .iter()
            .filter(|span| span.ram_bytes > 0)
            .map(|span| {
                (
                    span.node.as_u32(),
                    span.start.as_u64() << shift,
                    span.end.as_u64() << shift,
                )
            })
            .collect()
    }

    /// Runs the calls on `machine`; returns the time of every allocation
    /// call and its result.
    pub fn replay(&self, machine: &mut LogMachine) -> (Vec<std::time::Duration>, Vec<Option<u64>>) {
        let spans = self.spans();
        let mut elapsed = Vec::new();
        let mut results = Vec::new();
        for call in &self.calls {
            match *call {
                Call::Allocate {
                    node,
                    size,
                    align,
                    goal,
                    limit,
                } => {
                    let node =
                        node.filter(|node| spans.iter().any(|&(known, _, _)| known == *node));
                    let started = std::time::Instant::now();
                    let result = match node {
                        Some(node) => {
                            machine.___alloc_bootmem_node_nopanic(node, size, align, goal, limit)
                        }
                        None => machine.___alloc_bootmem_nopanic(size, align, goal, limit),
                    };
                    elapsed.push(started.elapsed());
                    results.push(result.ok().flatten().map(|address| address.as_u64()));
                }
                Call::Reserve { start, size } => {
                    let end = start.saturating_add(size);
                    for &(_, first, last) in &spans {
                        let (from, to) = (start.max(first), end.min(last));
                        if from < to {
                            // A reservation the nodes refuse is left out, as
                            // memblock would keep it for memory it does not map.
                            let _ = machine.reserve_bootmem(from, to - from, BOOTMEM_DEFAULT);
                        }
                    }
                }
            }
        }
        (elapsed, results)
    }
}
