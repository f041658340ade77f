//! The input of the interactive page: a machine's address space and, per policy, the calls of a boot as generic steps.
//!
//! Addresses and sizes are carried as `0x` hexadecimal strings, because a
//! browser's numbers lose precision above 2^53; the page reads them with
//! `BigInt`. Any command that can list calls can fill a [`Page`]: `bootmem
//! boot` gives one policy, `bootmem replay` may give two.

use serde::Serialize;

use super::size::size;

/// One node's span of the address space.
#[derive(Clone, Debug, Serialize)]
pub struct PageNode {
    /// The node's number.
    pub node: u32,
    /// First byte, hexadecimal.
    pub start: String,
    /// Exclusive end, hexadecimal.
    pub end: String,
}

/// One range of the firmware's map.
#[derive(Clone, Debug, Serialize)]
pub struct PageRange {
    /// First byte, hexadecimal.
    pub start: String,
    /// Exclusive end, hexadecimal.
    pub end: String,
    /// `ram`, `reserved`, `acpi-nvs` ... (`ram` is drawn as free memory).
    pub kind: String,
    /// Its node, if any.
    pub node: Option<u32>,
}

/// A line that explains placement (1 MiB, 16 MiB, 4 GiB, a node boundary).
#[derive(Clone, Debug, Serialize)]
pub struct PageLimit {
    /// The address, hexadecimal.
    pub address: String,
    /// What it is.
    pub label: String,
}

/// One argument of a call, as shown.
#[derive(Clone, Debug, Serialize)]
pub struct PageArgument {
    /// Its name (`size`, `align`, `goal`, `limit`, `node`).
    pub name: String,
    /// Its value, formatted.
    pub value: String,
}

/// One call of a boot.
#[derive(Clone, Debug, Serialize)]
pub struct PageStep {
    /// The call's name (`___alloc_bootmem_node_nopanic`, `reserve_bootmem` ...).
    pub call: String,
    /// Where in Linux the call is made, if known.
    pub source: String,
    /// Its arguments.
    pub arguments: Vec<PageArgument>,
    /// Where it landed (hexadecimal), if it did.
    pub start: Option<String>,
    /// Bytes it covers (hexadecimal).
    pub size: String,
    /// The node it landed on.
    pub node: Option<u32>,
    /// What it is for.
    pub owner: String,
    /// A kind for the colour (one of [`super::palette::KINDS`] or any other word).
    pub kind: String,
    /// `allocated`, `reserved`, `skipped`, `panicked`, `failed` ...
    pub outcome: String,
    /// Why it landed there, one fact per line.
    pub explanation: Vec<String>,
}

/// One policy's boot: a name and its steps in order.
#[derive(Clone, Debug, Serialize)]
pub struct Policy {
    /// The policy's name (`bootmem`, `Linux memblock` ...).
    pub name: String,
    /// Its calls.
    pub steps: Vec<PageStep>,
}

/// Everything the page shows.
#[derive(Clone, Debug, Serialize)]
pub struct Page {
    /// The page's title.
    pub title: String,
    /// A line under the title.
    pub subtitle: String,
    /// Nodes with memory.
    pub nodes: Vec<PageNode>,
    /// The map's ranges.
    pub ranges: Vec<PageRange>,
    /// Limit lines.
    pub limits: Vec<PageLimit>,
    /// One or more policies, shown side by side.
    pub policies: Vec<Policy>,
    /// The colour of each kind, by name.
    pub colours: Vec<(String, String)>,
}

/// `value` as the page carries addresses.
pub fn hex(value: u64) -> String {
    format!("{value:#x}")
}

/// The usual arguments of an allocation call: size, alignment, goal, limit, node.
pub fn allocation_arguments(
    size_bytes: u64,
    align: u64,
    goal: u64,
    limit: u64,
    node: Option<u32>,
) -> Vec<PageArgument> {
    let argument = |name: &str, value: String| PageArgument {
        name: name.to_string(),
        value,
    };
    let address = |value: u64, none: &str| {
        if value == 0 {
            none.to_string()
        } else {
            format!("{value:#x} ({})", size(value))
        }
    };
    vec![
        argument("size", format!("{size_bytes:#x} ({})", size(size_bytes))),
        argument("align", format!("{align:#x}")),
        argument("goal", address(goal, "0 (none)")),
        argument("limit", address(limit, "0 (none)")),
        argument(
            "node",
            node.map_or_else(|| "any".to_string(), |node| node.to_string()),
        ),
    ]
}
