//! memblock's own view of memory in a `memblock=debug` log: `memblock_add:` / `memblock_remove:` lines and the `MEMBLOCK configuration:` dump.
//!
//! memblock is the kernel's boot memory manager after the firmware map:
//! every range it manages is added with `memblock_add` (from e820, from the
//! device tree, from UEFI) and some are removed again (`mem=`, `no-map`
//! reservations, memory beyond what the kernel can map). With
//! `memblock=debug` each call is printed with its range (inclusive), and
//! `memblock_dump_all` prints the regions, with their node once NUMA is set
//! up:
//!
//! ```text
//! memblock_add: [0x0000000000001000-0x000000000009fbff] e820__memblock_setup+0x6e/0xb0
//! MEMBLOCK configuration:
//!  memory size = 0x00000000fff7ec00 reserved size = 0x000000000267a000
//!  memory.cnt  = 0x3
//!  memory[0x0]    [0x0000000000001000-0x000000000009efff], 0x000000000009e000 bytes on node 0 flags: 0x0
//!  reserved[0x0]    [0x0000000000000000-0x000000000000ffff], 0x0000000000010000 bytes flags: 0x0
//! ```
//!
//! [`MemblockView`] takes the last dump's memory regions and replays the
//! adds and removes printed after it, in order (an add may overlap earlier
//! ones: memblock merges them); a log with no dump is its adds and removes
//! alone. (On arm64 and RISC-V the early device tree scan adds memory
//! before `memblock=debug` takes effect: only the dump shows it.) Its RAM
//! is exact: the bytes memblock counts (`memory size`), not page-rounded.

use super::dmesg::inclusive_pair;
use super::parse_hex;

/// A memblock line of a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemblockLine {
    /// `memblock_add:` (or `memblock_add_node:`) of an inclusive range: first byte, exclusive end.
    Add {
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u128,
        /// The `nid=` of `memblock_add_node`, when not `-1`.
        node: Option<u32>,
    },
    /// `memblock_remove:` of a range.
    Remove {
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u128,
    },
    /// `MEMBLOCK configuration:`: a dump starts.
    DumpStart,
    /// ` memory size = 0x... reserved size = 0x...` of a dump.
    DumpMemorySize(u64),
    /// ` memory[0xN] [A-B], S bytes [on node N] flags: F` of a dump.
    DumpRegion {
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u128,
        /// The node, once NUMA is set up.
        node: Option<u32>,
    },
    /// Any other `memblock_*` trace line (reserve, alloc, free): the log is a trace.
    Other,
}

/// Classifies the message of a log line (prefixes already stripped).
///
/// # Errors
///
/// A memblock line whose range does not parse.
pub fn parse_line(text: &str) -> Result<Option<MemblockLine>, String> {
    for (marker, add) in [
        ("memblock_add:", true),
        ("memblock_add_node:", true),
        ("memblock_remove:", false),
    ] {
        if let Some(index) = text.find(marker) {
            let rest = &text[index + marker.len()..];
            let (start, end) = bracketed_range(rest)
                .map_err(|problem| format!("malformed `{marker}` line: {problem}"))?;
            return Ok(Some(if add {
                MemblockLine::Add {
                    start,
                    end,
                    node: node_after(rest, "nid="),
                }
            } else {
                MemblockLine::Remove { start, end }
            }));
        }
    }
    if text.starts_with("MEMBLOCK configuration") {
        return Ok(Some(MemblockLine::DumpStart));
    }
    if let Some(rest) = text.strip_prefix("memory size = ") {
        let value = rest.split_whitespace().next().unwrap_or("");
        let size = parse_hex(value)
            .ok_or_else(|| format!("malformed `memory size` line: bad size `{value}`"))?;
        return Ok(Some(MemblockLine::DumpMemorySize(size)));
    }
    if let Some(rest) = text.strip_prefix("memory[") {
        return dump_region(rest)
            .map(Some)
            .map_err(|problem| format!("malformed MEMBLOCK `memory[...]` line: {problem}"));
    }
    if text.starts_with("memblock_") || text.starts_with("reserved[") {
        return Ok(Some(MemblockLine::Other));
    }
    Ok(None)
}

/// The number after `marker` in `text`, `None` without one (or for `-1`).
fn node_after(text: &str, marker: &str) -> Option<u32> {
    let index = text.find(marker)?;
    let digits: String = text[index + marker.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// `[0xA-0xB] ...`, inclusive: `(A, B + 1)`.
fn bracketed_range(text: &str) -> Result<(u64, u128), String> {
    let text = text.trim_start();
    let inner = text
        .strip_prefix('[')
        .ok_or_else(|| format!("expected `[0xSTART-0xEND]`, found `{text}`"))?;
    let close = inner.find(']').ok_or("unclosed `[`")?;
    let (first, last) = inclusive_pair(&inner[..close], "-")?;
    Ok((first, u128::from(last) + 1))
}

/// After `memory[`: `0xN]\t[0xA-0xB], 0xS bytes on node N flags: 0xF`.
fn dump_region(text: &str) -> Result<MemblockLine, String> {
    let close = text.find(']').ok_or("unclosed `memory[`")?;
    let (start, end) = bracketed_range(&text[close + 1..])?;
    let node = match text.find("on node ") {
        Some(index) => {
            let digits: String = text[index + 8..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            Some(
                digits
                    .parse()
                    .map_err(|_| "no node number after `on node`")?,
            )
        }
        None => None,
    };
    Ok(MemblockLine::DumpRegion { start, end, node })
}

/// A range of memblock's view and the line that added it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewRange {
    /// First byte.
    pub start: u128,
    /// Exclusive end.
    pub end: u128,
    /// The node a dump gave it, if any.
    pub node: Option<u32>,
    /// The line (from 1) it comes from.
    pub line: usize,
}

/// memblock's memory as a log shows it.
///
/// The last `MEMBLOCK configuration:` dump is a snapshot of memblock's
/// memory; the adds and removes printed after it change it. A log with no
/// dump is the adds and removes alone, replayed in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemblockView {
    /// Every add and remove, in log order.
    changes: Vec<(MemblockLine, usize)>,
    /// How many of `changes` came before the last dump.
    changes_before_dump: usize,
    /// The regions of the last dump.
    dump: Vec<ViewRange>,
    /// Whether the next region starts a new dump.
    new_dump: bool,
    /// `memory size` of the last dump.
    dump_size: Option<u64>,
    /// Whether the log holds any memblock trace line.
    traced: bool,
}

impl MemblockView {
    /// Takes in one memblock line at `line` (from 1).
    pub fn record(&mut self, parsed: MemblockLine, line: usize) {
        self.traced = true;
        match parsed {
            MemblockLine::Add { .. } | MemblockLine::Remove { .. } => {
                self.changes.push((parsed, line));
            }
            MemblockLine::DumpStart => self.new_dump = true,
            MemblockLine::DumpMemorySize(size) => {
                self.start_dump_if_new();
                self.dump_size = Some(size);
            }
            MemblockLine::DumpRegion { start, end, node } => {
                self.start_dump_if_new();
                self.dump.push(ViewRange {
                    start: u128::from(start),
                    end,
                    node,
                    line,
                });
            }
            MemblockLine::Other => {}
        }
    }

    fn start_dump_if_new(&mut self) {
        if self.new_dump {
            self.dump.clear();
            self.dump_size = None;
            self.changes_before_dump = self.changes.len();
            self.new_dump = false;
        }
    }

    /// Whether the log holds a `memblock=debug` trace at all.
    pub fn is_traced(&self) -> bool {
        self.traced
    }

    /// memblock's memory, in address order: the last dump's regions with
    /// the adds and removes after it, or every add and remove without a
    /// dump; empty when the log shows neither.
    pub fn memory(&self) -> Vec<ViewRange> {
        let (mut ranges, changes) = if self.dump.is_empty() {
            (Vec::new(), &self.changes[..])
        } else {
            (self.dump.clone(), &self.changes[self.changes_before_dump..])
        };
        for &(change, line) in changes {
            match change {
                MemblockLine::Add { start, end, node } => {
                    remove(&mut ranges, u128::from(start), end);
                    ranges.push(ViewRange {
                        start: u128::from(start),
                        end,
                        node,
                        line,
                    });
                }
                MemblockLine::Remove { start, end } => remove(&mut ranges, u128::from(start), end),
                _ => {}
            }
        }
        ranges.sort_by_key(|range| range.start);
        ranges
    }

    /// The exact bytes of memory memblock counts. A dump's regions may be
    /// trimmed to pages while its `memory size` is not: the total is that
    /// size, moved by what the later adds and removes changed.
    pub fn ram_bytes(&self) -> u128 {
        let total = |ranges: &[ViewRange]| -> u128 {
            ranges.iter().map(|range| range.end - range.start).sum()
        };
        let memory = total(&self.memory());
        match self.dump_size {
            Some(size) if !self.dump.is_empty() => {
                (u128::from(size) + memory).saturating_sub(total(&self.dump))
            }
            _ => memory,
        }
    }

    /// The ranges of [`memory`](Self::memory) whose node the log names
    /// (`on node N` of a dump, `nid=N` of `memblock_add_node`).
    pub fn node_regions(&self) -> Vec<ViewRange> {
        self.memory()
            .into_iter()
            .filter(|range| range.node.is_some())
            .collect()
    }
}

/// Takes `[start, end)` out of `ranges`.
fn remove(ranges: &mut Vec<ViewRange>, start: u128, end: u128) {
    let mut kept = Vec::with_capacity(ranges.len() + 1);
    for range in ranges.drain(..) {
        if range.end <= start || end <= range.start {
            kept.push(range);
            continue;
        }
        if range.start < start {
            kept.push(ViewRange {
                end: start,
                ..range
            });
        }
        if end < range.end {
            kept.push(ViewRange {
                start: end,
                ..range
            });
        }
    }
    *ranges = kept;
}

/// Whether `text` holds a `memblock=debug` trace (any `memblock_*` line or
/// a `MEMBLOCK configuration:` dump): `bootmem replay` has nothing to
/// replay without one.
///
/// ```
/// use bootmem_firmware::text::memblock::has_debug_trace;
/// assert!(has_debug_trace("[    0.003813] memblock_add: [0x0000000000001000-0x000000000009fbff] e820__memblock_setup+0x6e/0xb0\n"));
/// assert!(!has_debug_trace("[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n"));
/// ```
pub fn has_debug_trace(text: &str) -> bool {
    text.lines().any(|line| {
        let message = super::dmesg::message(line);
        matches!(parse_line(message), Ok(Some(_)) | Err(_))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_every_kernel_format() {
        assert_eq!(
            parse_line("memblock_add: [0x0000000000001000-0x000000000009fbff] e820__memblock_setup+0x6e/0xb0"),
            Ok(Some(MemblockLine::Add { start: 0x1000, end: 0x9_fc00, node: None }))
        );
        assert_eq!(
            parse_line("memblock_add_node: [0x0000000004000000-0x0000000007ffffff] nid=1 flags=0x0 numa_init+0x10/0x80"),
            Ok(Some(MemblockLine::Add { start: 0x400_0000, end: 0x800_0000, node: Some(1) }))
        );
        assert_eq!(
            parse_line("memblock_add_node: [0x0-0xfff] nid=-1 flags=0x0 x+0x1"),
            Ok(Some(MemblockLine::Add {
                start: 0,
                end: 0x1000,
                node: None
            }))
        );
        assert_eq!(
            parse_line("memory[0x1]\t[0x0000000000100000-0x000000007fffffff], 0x000000007ff00000 bytes on node 0 flags: 0x0"),
            Ok(Some(MemblockLine::DumpRegion { start: 0x10_0000, end: 0x8000_0000, node: Some(0) }))
        );
        assert_eq!(
            parse_line("memory size = 0x000000003fe00000 reserved size = 0x0000000005e222db"),
            Ok(Some(MemblockLine::DumpMemorySize(0x3fe0_0000)))
        );
        assert_eq!(
            parse_line("memblock_reserve: [0x0-0xfff] setup_arch+0x1"),
            Ok(Some(MemblockLine::Other))
        );
        assert_eq!(parse_line("Zone ranges:"), Ok(None));
        let error = parse_line("memblock_add: [0x2000-0x1000] x").unwrap_err();
        assert!(
            error.contains("memblock_add") && error.contains("below its start"),
            "{error}"
        );
        assert!(parse_line("memblock_remove: 0x1000").is_err());
    }

    #[test]
    fn adds_merge_and_removes_split() {
        let mut view = MemblockView::default();
        view.record(
            MemblockLine::Add {
                start: 0x1000,
                end: 0x5000,
                node: None,
            },
            1,
        );
        view.record(
            MemblockLine::Add {
                start: 0x3000,
                end: 0x9000,
                node: None,
            },
            2,
        );
        view.record(
            MemblockLine::Remove {
                start: 0x4000,
                end: 0x6000,
            },
            3,
        );
        let ranges: Vec<_> = view
            .memory()
            .iter()
            .map(|range| (range.start, range.end))
            .collect();
        assert_eq!(
            ranges,
            [(0x1000, 0x3000), (0x3000, 0x4000), (0x6000, 0x9000)]
        );
        assert_eq!(view.ram_bytes(), 0x2000 + 0x1000 + 0x3000);
        assert!(view.is_traced());
        assert!(!MemblockView::default().is_traced());
    }

    #[test]
    fn the_last_dump_is_the_base_for_later_lines() {
        let mut view = MemblockView::default();
        // Printed before the dump: already in it.
        view.record(
            MemblockLine::Add {
                start: 0x1000,
                end: 0x9_fc00,
                node: None,
            },
            1,
        );
        view.record(MemblockLine::DumpStart, 2);
        view.record(MemblockLine::DumpMemorySize(0x9_ec00 + 0x1000_0000), 3);
        view.record(
            MemblockLine::DumpRegion {
                start: 0x1000,
                end: 0x9_f000,
                node: Some(0),
            },
            4,
        );
        view.record(
            MemblockLine::DumpRegion {
                start: 0x4000_0000,
                end: 0x5000_0000,
                node: Some(0),
            },
            5,
        );
        // After it: a remove of the top 128 MiB.
        view.record(
            MemblockLine::Remove {
                start: 0x4800_0000,
                end: 0x5000_0000,
            },
            6,
        );
        let ranges: Vec<_> = view
            .memory()
            .iter()
            .map(|range| (range.start, range.end))
            .collect();
        assert_eq!(ranges, [(0x1000, 0x9_f000), (0x4000_0000, 0x4800_0000)]);
        assert_eq!(
            view.ram_bytes(),
            0x9_ec00 + 0x800_0000,
            "the dump's untrimmed size, less the remove"
        );
        assert_eq!(view.node_regions().len(), 2);
    }
}
