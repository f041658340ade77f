//! The `memblock=debug` lines of a boot log: allocation requests, reservations, frees and additions.
//!
//! A line is recognised by the function name that opens its message (after
//! the timestamp and prefixes [`crate::parse::dmesg::message`] strips):
//!
//! - requests: every name starting `memblock_alloc`, `memblock_virt_alloc`
//!   or `memblock_phys_alloc`, as
//!   `NAME: N bytes align=0xA [nid=N] from=0xF max_addr=0xM [caller]`
//!   (`memblock_phys_alloc_range` prints no `nid`: it is any node);
//! - reservations: `memblock_reserve: [A-B] ...` (before Linux 6.16) and
//!   `__memblock_reserve: [A-B] nid=N flags=F ...`;
//! - frees: `memblock_free: [A-B] ...` and `memblock_phys_free: [A-B] ...`;
//! - additions: `memblock_add: [A-B] ...` and
//!   `memblock_add_node: [A-B] nid=N ...`; removals: `memblock_remove: [A-B]`;
//! - the `MEMBLOCK configuration:` dump (`memblock_dump_all`): its
//!   ` memory[0xI]\t[A-B], S bytes[ on node N][ flags: 0xF]` and
//!   ` reserved[0xI]...` lines, in every version's spacing;
//! - `memblock: bottom-up allocation failed, ...` (3.13 to early 5.x): the kernel
//!   was allocating bottom-up.
//!
//! Addresses may be printed with any number of digits (`%#016llx` in 3.x and
//! 4.x, `%pa` later, 8 digits on 32-bit). The debug line that
//! `memblock_double_array` prints has no newline, so the next message may
//! follow on the same line: it is read from there.
//!
//! Ends are inclusive as printed; `B = A - 1` is a zero-length range (real
//! logs hold them). A recognised line that does not parse is an error; any
//! other line is ignored.

use crate::parse::{dmesg, parse_hex};

/// `NUMA_NO_NODE`: the request names no node.
pub const NO_NODE: i64 = -1;

/// One allocation request as memblock printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The function name (`memblock_alloc_try_nid`, ...).
    pub function: String,
    /// Bytes requested.
    pub size: u64,
    /// The alignment as printed (0: the default, `SMP_CACHE_BYTES`).
    pub align: u64,
    /// The node as printed (`-1`: any node).
    pub node: i64,
    /// The lower bound (`from=`).
    pub minimum: u64,
    /// The upper bound (`max_addr=`, exclusive; 0, 1 and `~0` mean none).
    pub maximum: u64,
    /// The calling function as printed (`sparse_init+0x3f8/0x490`), if any.
    pub caller: Option<String>,
}

/// One recognised line of the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceLine {
    /// An allocation request.
    Request(Request),
    /// A reservation of `[start, start + size)`.
    Reserve {
        /// First byte.
        start: u64,
        /// Bytes (0 for a zero-length range).
        size: u64,
    },
    /// A free of `[start, start + size)`.
    Free {
        /// First byte.
        start: u64,
        /// Bytes (0 for a zero-length range).
        size: u64,
    },
    /// Memory removed from memblock (`memblock_remove`).
    Remove {
        /// First byte.
        start: u64,
        /// Bytes.
        size: u64,
    },
    /// `MEMBLOCK configuration:`: a dump of both lists follows.
    DumpStart,
    /// One region line of a dump.
    DumpRegion(DumpRegion),
    /// memblock warned that a bottom-up search failed (and fell back to
    /// top-down).
    BottomUpFailed,
    /// Memory added to memblock, on a node when printed.
    Add {
        /// First byte.
        start: u64,
        /// Bytes.
        size: u64,
        /// The node (`memblock_add_node`).
        node: Option<u32>,
        /// The region flags (`memblock_add_node`'s `flags=`, else 0).
        flags: u64,
    },
}

/// Which list a dump line describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpList {
    /// `memory[...]`.
    Memory,
    /// `reserved[...]`.
    Reserved,
    /// `physmem[...]` (the firmware's view; never allocated from).
    Physical,
}

/// One region line of a `MEMBLOCK configuration:` dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpRegion {
    /// The list.
    pub list: DumpList,
    /// First byte.
    pub start: u64,
    /// Bytes.
    pub size: u64,
    /// ` on node N`, when printed.
    pub node: Option<u32>,
    /// ` flags: 0xF`, when printed.
    pub flags: u64,
}

/// Whether `function` names an allocation request.
fn is_request(function: &str) -> bool {
    [
        "memblock_alloc",
        "memblock_virt_alloc",
        "memblock_phys_alloc",
        "memblock_early_alloc",
    ]
    .iter()
    .any(|prefix| function.starts_with(prefix))
}

/// Parses `[A-B]` (inclusive end) into `(start, size)`.
fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let inner = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or_else(|| format!("expected [START-END], found `{text}`"))?;
    let (first, last) = inner
        .split_once('-')
        .ok_or_else(|| format!("expected [START-END], found `{text}`"))?;
    let first = parse_hex(first).ok_or_else(|| format!("bad start address `{first}`"))?;
    let last = parse_hex(last).ok_or_else(|| format!("bad end address `{last}`"))?;
    if last.wrapping_add(1) == first {
        return Ok((first, 0));
    }
    if last < first {
        return Err(format!(
            "range [{first:#x}-{last:#x}] ends before it starts"
        ));
    }
    let size = (last - first)
        .checked_add(1)
        .ok_or_else(|| "range covers the whole address space".to_string())?;
    Ok((first, size))
}

/// The value of `key=` among `fields`, if present.
fn field<'a>(fields: &[&'a str], key: &str) -> Option<&'a str> {
    fields.iter().find_map(|token| {
        token
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

fn required_hex(fields: &[&str], key: &str) -> Result<u64, String> {
    let value = field(fields, key).ok_or_else(|| format!("missing {key}="))?;
    parse_hex(value).ok_or_else(|| format!("bad {key}= value `{value}`"))
}

fn parse_node(fields: &[&str]) -> Result<Option<i64>, String> {
    field(fields, "nid")
        .map(|value| {
            value
                .parse::<i64>()
                .map_err(|_| format!("bad nid= value `{value}`"))
        })
        .transpose()
}

fn parse_request(function: &str, rest: &str) -> Result<Request, String> {
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (Some(size), Some(&"bytes")) = (fields.first(), fields.get(1)) else {
        return Err(format!("{function}: expected `N bytes`"));
    };
    let size = size
        .parse::<u64>()
        .map_err(|_| format!("{function}: bad size `{size}`"))?;
    let wrap = |problem: String| format!("{function}: {problem}");
    Ok(Request {
        function: function.to_string(),
        size,
        align: required_hex(&fields, "align").map_err(wrap)?,
        node: parse_node(&fields).map_err(wrap)?.unwrap_or(NO_NODE),
        minimum: required_hex(&fields, "from").map_err(wrap)?,
        maximum: required_hex(&fields, "max_addr").map_err(wrap)?,
        caller: fields
            .last()
            .filter(|token| !token.contains('=') && fields.len() > 2)
            .map(|token| token.to_string()),
    })
}

/// Parses one log message (prefixes already stripped).
///
/// # Errors
///
/// A recognised line that does not parse, with what is wrong.
pub fn parse_message(message: &str) -> Result<Option<TraceLine>, String> {
    let message = message.trim();
    if message.starts_with("MEMBLOCK configuration:") {
        return Ok(Some(TraceLine::DumpStart));
    }
    if message.contains("bottom-up allocation failed") {
        return Ok(Some(TraceLine::BottomUpFailed));
    }
    if let Some(region) = parse_dump_region(message)? {
        return Ok(Some(TraceLine::DumpRegion(region)));
    }
    let Some((function, rest)) = message.split_once(':') else {
        return Ok(None);
    };
    if function.is_empty() || function.contains(char::is_whitespace) {
        return Ok(None);
    }
    if is_request(function) {
        return parse_request(function, rest).map(|request| Some(TraceLine::Request(request)));
    }
    let range_line = |rest: &str| -> Result<(u64, u64, Vec<String>), String> {
        let mut tokens = rest.split_whitespace();
        let range = tokens
            .next()
            .ok_or_else(|| format!("{function}: missing [START-END]"))?;
        let (start, size) =
            parse_range(range).map_err(|problem| format!("{function}: {problem}"))?;
        Ok((start, size, tokens.map(str::to_string).collect()))
    };
    match function {
        "memblock_reserve" | "__memblock_reserve" => {
            let (start, size, _) = range_line(rest)?;
            Ok(Some(TraceLine::Reserve { start, size }))
        }
        "memblock_free" | "memblock_phys_free" => {
            let (start, size, _) = range_line(rest)?;
            Ok(Some(TraceLine::Free { start, size }))
        }
        "memblock_remove" => {
            let (start, size, _) = range_line(rest)?;
            Ok(Some(TraceLine::Remove { start, size }))
        }
        "memblock_add" | "memblock_add_node" => {
            let (start, size, tokens) = range_line(rest)?;
            let fields: Vec<&str> = tokens.iter().map(String::as_str).collect();
            let node =
                match parse_node(&fields).map_err(|problem| format!("{function}: {problem}"))? {
                    None if function == "memblock_add_node" => {
                        return Err(format!("{function}: missing nid="))
                    }
                    None => None,
                    Some(node) => Some(
                        u32::try_from(node)
                            .map_err(|_| format!("{function}: nid={node} is not a node"))?,
                    ),
                };
            let flags = match field(&fields, "flags") {
                Some(value) => parse_hex(value)
                    .ok_or_else(|| format!("{function}: bad flags= value `{value}`"))?,
                None => 0,
            };
            Ok(Some(TraceLine::Add {
                start,
                size,
                node,
                flags,
            }))
        }
        _ => Ok(None),
    }
}

/// Parses a dump line ` memory[0x1]\t[A-B], 0xS bytes on node N flags: 0xF`
/// (`None` for any other line).
fn parse_dump_region(message: &str) -> Result<Option<DumpRegion>, String> {
    let list = [
        ("memory[", DumpList::Memory),
        ("reserved[", DumpList::Reserved),
        ("physmem[", DumpList::Physical),
    ]
    .into_iter()
    .find_map(|(prefix, list)| message.strip_prefix(prefix).map(|rest| (rest, list)));
    let Some((rest, list)) = list else {
        return Ok(None);
    };
    let Some((index, rest)) = rest.split_once(']') else {
        return Ok(None);
    };
    if parse_hex(index).is_none() || !rest.trim_start().starts_with('[') {
        return Ok(None);
    }
    let rest = rest.trim_start();
    let close = rest
        .find(']')
        .ok_or_else(|| format!("dump line: expected [START-END], found `{rest}`"))?;
    let (start, size) =
        parse_range(&rest[..=close]).map_err(|problem| format!("dump line: {problem}"))?;
    let fields: Vec<&str> = rest[close + 1..]
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|token| !token.is_empty())
        .collect();
    let after = |word: &str| {
        fields
            .iter()
            .position(|token| *token == word)
            .and_then(|position| fields.get(position + 1))
    };
    let node = match after("node") {
        Some(value) => Some(
            value
                .parse::<u32>()
                .map_err(|_| format!("dump line: bad node `{value}`"))?,
        ),
        None => None,
    };
    let flags = match after("flags:") {
        Some(value) => parse_hex(value).ok_or_else(|| format!("dump line: bad flags `{value}`"))?,
        None => 0,
    };
    Ok(Some(DumpRegion {
        list,
        start,
        size,
        node,
        flags,
    }))
}

/// The messages of one log line: usually one; two when the line carries
/// the newline-less `memblock: ... is doubled to ...` message first.
pub fn messages(line: &str) -> Vec<&str> {
    let message = dmesg::message(line).trim();
    let known = [
        "memblock",
        "__memblock",
        "MEMBLOCK",
        "memory[",
        "reserved[",
        "physmem[",
    ];
    let message = if known.iter().any(|start| message.starts_with(start)) {
        message
    } else {
        // A prefix the stripper does not know: start at the first memblock
        // function name, if any.
        match message.find("memblock_") {
            Some(index) => {
                let start = if message[..index].ends_with("__") {
                    index - 2
                } else {
                    index
                };
                &message[start..]
            }
            None => message,
        }
    };
    if message.contains(" is doubled to ") {
        if let Some(at) = message.find(" at [") {
            if let Some(close) = message[at..].find(']') {
                let (first, second) = message.split_at(at + close + 1);
                return [first, second.trim()]
                    .into_iter()
                    .filter(|text| !text.is_empty())
                    .collect();
            }
        }
    }
    vec![message]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_of_every_generation() {
        let new = parse_message("memblock_alloc_try_nid: 4096 bytes align=0x1000 nid=-1 from=0x0000000000000000 max_addr=0x0000000000000000 pcpu_build_alloc_info+0x20f/0x520").unwrap();
        let Some(TraceLine::Request(request)) = new else {
            panic!("not a request: {new:?}")
        };
        assert_eq!(
            (request.size, request.align, request.node),
            (4096, 0x1000, -1)
        );
        let old = parse_message("memblock_virt_alloc_try_nid_nopanic: 1024 bytes align=0x0 nid=1 from=0x1000000 max_addr=0x0 alloc_node_mem_map+0x4e/0x71").unwrap();
        let Some(TraceLine::Request(request)) = old else {
            panic!("not a request: {old:?}")
        };
        assert_eq!(
            (request.align, request.node, request.minimum),
            (0, 1, 0x100_0000)
        );
        let phys = parse_message("memblock_phys_alloc_range: 28672 bytes align=0x1000 from=0x0 max_addr=0x100000 reserve_real_mode+0x52/0x90").unwrap();
        let Some(TraceLine::Request(request)) = phys else {
            panic!("not a request: {phys:?}")
        };
        assert_eq!((request.node, request.maximum), (NO_NODE, 0x10_0000));
    }

    #[test]
    fn ranges_including_zero_length() {
        assert_eq!(
            parse_message(
                "memblock_free: [0x00000000bcf85000-0x00000000bcf84fff] pcpu_dfl_fc_free+0x2e/0x38"
            ),
            Ok(Some(TraceLine::Free {
                start: 0xbcf8_5000,
                size: 0
            }))
        );
        assert_eq!(
            parse_message("__memblock_reserve: [0x1000-0x1fff] nid=-1 flags=0x0 x+0x1/0x2"),
            Ok(Some(TraceLine::Reserve {
                start: 0x1000,
                size: 0x1000
            }))
        );
        assert!(parse_message("memblock_reserve: [0x2000-0x0fff] x").is_err());
        assert!(parse_message("memblock_reserve: 0x2000 x").is_err());
        assert!(parse_message("memblock_alloc_try_nid: lots bytes align=0x40").is_err());
        assert!(
            parse_message("memblock_alloc_try_nid: 8 bytes align=0x40 nid=0 from=0x0").is_err()
        );
        assert_eq!(
            parse_message("memblock: reserved is doubled to 256"),
            Ok(None)
        );
        assert_eq!(parse_message("Zone ranges:"), Ok(None));
    }

    fn line(text: &str) -> Vec<Option<TraceLine>> {
        messages(text)
            .into_iter()
            .map(|message| parse_message(message).unwrap())
            .collect()
    }

    #[test]
    fn dump_lines_of_every_version() {
        let region = |text: &str| match line(text).as_slice() {
            [Some(TraceLine::DumpRegion(region))] => *region,
            other => panic!("{text}: {other:?}"),
        };
        // 6.x: %pa, node and flags.
        let new = region("[    0.004010]  memory[0x1]\t[0x0000000000100000-0x000000007fffffff], 0x000000007ff00000 bytes on node 0 flags: 0x0");
        assert_eq!(
            (new.list, new.start, new.size, new.node, new.flags),
            (DumpList::Memory, 0x10_0000, 0x7ff0_0000, Some(0), 0)
        );
        // 3.x: %#016llx, short size, no node, no flags.
        let old = region(
            "<6>[    0.000000]  reserved[0x2]\t[0x0000000009a000-0x0000000009ffff], 0x6000 bytes",
        );
        assert_eq!(
            (old.list, old.start, old.size, old.node, old.flags),
            (DumpList::Reserved, 0x9_a000, 0x6000, None, 0)
        );
        let nomap = region(" memory[0x2]     [0x00000000bfc00000-0x00000000bfffffff], 0x0000000000400000 bytes on node 1 flags: 0x4");
        assert_eq!((nomap.node, nomap.flags), (Some(1), 0x4));
        assert_eq!(
            line("[    0.003818] MEMBLOCK configuration:"),
            [Some(TraceLine::DumpStart)]
        );
        assert_eq!(line("[    0.003818]  memory.cnt  = 0x3"), [None]);
        assert!(parse_message("memory[0x0]\t[0x2000-0x1000], 0x0 bytes").is_err());
    }

    #[test]
    fn prefixes_warnings_and_the_newline_less_doubling_message() {
        // The doubling message has no newline: the next message follows.
        let joined = line("[    0.000000] memblock: reserved is doubled to 256 at [0x000000007fffc000-0x000000007fffdfff]memblock_reserve: [0x000000007fffc000-0x000000007fffdfff] memblock_double_array+0x1b5/0x240");
        assert_eq!(
            joined,
            [
                None,
                Some(TraceLine::Reserve {
                    start: 0x7fff_c000,
                    size: 0x2000
                })
            ]
        );
        // A prefix the stripper does not know.
        assert_eq!(
            line("2024-07-22T10:00:00+0000 host kern.info memblock_remove: [0x0001000000000000-0xfffffffffffffffe] arm64_memblock_init+0x34/0x24c"),
            [Some(TraceLine::Remove {
                start: 0x1_0000_0000_0000,
                size: 0xffff_0000_0000_0000 - 1
            })]
        );
        assert_eq!(
            line("[    0.000000] memblock: bottom-up allocation failed, memory hotunplug may be affected"),
            [Some(TraceLine::BottomUpFailed)]
        );
        // 3.16's reservation format with flags, and no timestamp at all.
        assert_eq!(
            line("memblock_reserve: [0x0000000009a000-0x0000000009efff] flags 0x0 setup_real_mode+0x53/0x15c"),
            [Some(TraceLine::Reserve {
                start: 0x9_a000,
                size: 0x5000
            })]
        );
        // A caller trace line naming memblock functions is no trace line.
        assert_eq!(
            line("[    0.000000]  [<c10a2f5e>] memblock_virt_alloc_internal+0x104/0x146"),
            [None]
        );
    }
}
