//! Integration tests of `bootmem map`: the shared real machines, hand-made inputs of every format, bad inputs.

mod common;

use common::{Outcome, SHARED};

use std::path::{Path, PathBuf};

use serde_json::Value;

const OURS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/map");

fn ours(name: &str) -> PathBuf {
    Path::new(OURS).join(name)
}

fn bootmem(arguments: &[&str]) -> Outcome {
    common::run("map", arguments)
}

fn json_of(path: &Path, extra: &[&str]) -> Value {
    let path = path.to_str().unwrap();
    let mut arguments = vec!["--json", path];
    arguments.extend_from_slice(extra);
    let outcome = bootmem(&arguments);
    assert!(outcome.success, "{path}: {}", outcome.stderr);
    let value: Value = serde_json::from_str(&outcome.stdout).expect("one JSON object");
    let page = match extra.iter().position(|&argument| argument == "--page-size") {
        Some(index) => extra[index + 1].parse().unwrap(),
        None => 4096,
    };
    check_invariants(&value, page);
    value
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not an integer: {value}"))
}

/// What every map must satisfy, whatever its input.
fn check_invariants(map: &Value, page: u64) {
    let ranges = map["ranges"].as_array().unwrap();
    let nodes = map["nodes"].as_array().unwrap();
    let mut previous_end = 0;
    let mut ram_per_node = std::collections::BTreeMap::new();
    for range in ranges {
        let (start, end) = (number(&range["start"]), number(&range["end"]));
        assert!(
            start < end && start >= previous_end,
            "ranges overlap or are unsorted: {range}"
        );
        previous_end = end;
        if range["kind"] == "ram" {
            assert_eq!(start % page, 0);
            assert_eq!(end % page, 0);
            *ram_per_node.entry(number(&range["node"])).or_insert(0) += end - start;
        } else {
            assert!(range["node"].is_null());
        }
    }
    for node in nodes {
        let nid = number(&node["node"]);
        let ram = number(&node["ram_bytes"]);
        assert_eq!(
            ram,
            ram_per_node.get(&nid).copied().unwrap_or(0),
            "node {nid}"
        );
        if ram > 0 {
            let pages = number(&node["end_pfn"]) - number(&node["start_pfn"]);
            assert!(pages * page >= ram);
        }
    }
    assert_eq!(
        ram_per_node.len(),
        nodes
            .iter()
            .filter(|node| number(&node["ram_bytes"]) > 0)
            .count()
    );
}

fn nodes_with_memory(map: &Value) -> Vec<u64> {
    map["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|node| number(&node["ram_bytes"]) > 0)
        .map(|node| number(&node["node"]))
        .collect()
}

fn header_figure(text: &str, key: &str) -> u64 {
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix(&format!("# {key}: ")))
        .unwrap_or_else(|| panic!("no `{key}` in the header"));
    line.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn every_shared_file_has_the_totals_its_header_states() {
    let mut files: Vec<_> = std::fs::read_dir(SHARED)
        .expect("the shared data lies beside the repository")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let map = json_of(&path, &[]);
        assert_eq!(
            number(&map["ram_bytes"]),
            header_figure(&text, "ram_bytes"),
            "{}",
            path.display()
        );
        assert_eq!(
            nodes_with_memory(&map).len() as u64,
            header_figure(&text, "nodes_with_memory"),
            "{}",
            path.display()
        );
    }
}

#[test]
fn the_numa_server_has_the_kernels_node_spans() {
    let map = json_of(
        &Path::new(SHARED).join("e820-numa-4s-xeon-dell-r820-96g.txt"),
        &[],
    );
    let spans: Vec<_> = map["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| (number(&node["start_pfn"]), number(&node["end_pfn"])))
        .collect();
    // The log's "Initmem setup node N [mem ...]" lines.
    assert_eq!(
        spans,
        [
            (0x10, 0x64_0000),
            (0x64_0000, 0xc4_0000),
            (0xc4_0000, 0x124_0000),
            (0x124_0000, 0x184_0000)
        ]
    );
    // Nodes 1 to 3 are whole: 24 GiB each.
    for node in &map["nodes"].as_array().unwrap()[1..] {
        assert_eq!(number(&node["ram_bytes"]), 24 << 30);
    }
}

#[test]
fn the_laptop_keeps_its_one_page_island_and_reserves_page_zero() {
    let map = json_of(
        &Path::new(SHARED).join("e820-laptop-thinkpad-13-gen2.txt"),
        &[],
    );
    let ranges = map["ranges"].as_array().unwrap();
    let island = ranges
        .iter()
        .find(|range| number(&range["start"]) == 0xdb4f_f000)
        .unwrap();
    assert_eq!(
        (island["kind"].as_str(), number(&island["end"])),
        (Some("ram"), 0xdb50_0000)
    );
    assert_eq!(ranges[0]["kind"], "reserved");
    assert_eq!(number(&ranges[0]["end"]), 0x1000);
    assert!(ranges.iter().any(|range| range["kind"] == "type-20"));
    // Linux's "Memory: .../16659636K" counts the same pages.
    assert_eq!(number(&map["nodes"][0]["ram_bytes"]), 16_659_636 * 1024);
}

#[test]
fn old_syslog_log_with_crlf_and_two_boots() {
    let map = json_of(&ours("old-syslog-crlf.log"), &[]);
    // Old format: exclusive ends; only the first boot is read.
    assert_eq!(number(&map["ram_bytes"]), 0x9_f000 + 0x7fef_0000);
    assert_eq!(nodes_with_memory(&map), [0, 1]);
    assert_eq!(
        number(&map["nodes"][0]["start_pfn"]),
        1,
        "page 0 reserved by `e820 update range`"
    );
    assert_eq!(number(&map["nodes"][1]["end_pfn"]), 0x7fff0);
}

#[test]
fn priority_prefixes_e820_types_and_a_reserved_window_above_ram() {
    let map = json_of(&ours("priority-prefix.log"), &[]);
    assert_eq!(
        number(&map["ram_bytes"]),
        0x9_fc00 + 0xbfee_0000 + 0x8000_0000
    );
    let kinds: Vec<_> = map["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|range| range["kind"].as_str().unwrap())
        .collect();
    for kind in ["persistent", "soft-reserved", "unusable", "reserved", "ram"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let nodes = map["nodes"].as_array().unwrap();
    let nids: Vec<_> = nodes.iter().map(|node| number(&node["node"])).collect();
    assert_eq!(nids, [0, 1, 3], "node 3 is a memoryless hotplug node");
    // The 1 TiB window does not grow node 1.
    assert_eq!(number(&nodes[1]["end_pfn"]), 0x18_0000);
    // The late update after "Zone ranges:" does not change the RAM.
    assert_eq!(number(&nodes[0]["ram_bytes"]), 0x9_e000 + 0x7ff0_0000);
}

#[test]
fn efi_memory_map_without_e820() {
    let map = json_of(&ours("efi-only.log"), &[]);
    assert_eq!(number(&map["ram_bytes"]), 0x1000 + 0x9_f000 + 0x3ff0_0000);
    let kinds: Vec<_> = map["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|range| range["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ram", "reserved", "ram", "acpi-data", "acpi-nvs"]);
}

#[test]
fn arm64_device_tree_log_with_caller_ids_and_a_memoryless_node() {
    let map = json_of(&ours("dt-arm64-numa.log"), &[]);
    assert_eq!(number(&map["ram_bytes"]), (2 << 30) + (2 << 30));
    assert_eq!(nodes_with_memory(&map), [0, 1]);
    assert_eq!(map["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(map["ranges"][0]["kind"], "reserved");
    assert_eq!(number(&map["nodes"][0]["start_pfn"]), 0x8_0200);
}

#[test]
fn proc_iomem() {
    let map = json_of(&ours("qemu.iomem"), &[]);
    assert_eq!(
        number(&map["ram_bytes"]),
        0x9_ec00 + 0xbfee_0000 + 0x4000_0000
    );
    assert_eq!(nodes_with_memory(&map), [0]);
    assert_eq!(number(&map["nodes"][0]["end_pfn"]), 0x14_0000);
    assert!(map["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .all(|range| !range["kind"].as_str().unwrap().contains("pci")));
}

#[test]
fn toml_description() {
    let map = json_of(&ours("two-nodes.toml"), &[]);
    assert_eq!(number(&map["ram_bytes"]), 0x7fff_f000 + 0x8000_0000);
    assert_eq!(nodes_with_memory(&map), [0, 1]);
    let nodes = map["nodes"].as_array().unwrap();
    assert_eq!(number(&nodes[2]["node"]), 2);
    assert_eq!(number(&nodes[0]["end_pfn"]), 0x7ff00);
    assert!(map["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|range| range["kind"] == "acpi-nvs"));
}

#[test]
fn device_tree_blob_with_numa_reserved_memory_and_memreserve() {
    let map = json_of(&ours("numa-reserved.dtb"), &[]);
    assert_eq!(
        number(&map["ram_bytes"]),
        2 << 30,
        "the disabled memory node is left out"
    );
    let nodes = map["nodes"].as_array().unwrap();
    assert_eq!(nodes_with_memory(&map), [0, 1]);
    // Node 0 loses the no-map region and the CMA pool; the /memreserve/ MiB at 0xbff00000 lies in no RAM.
    assert_eq!(
        number(&nodes[0]["ram_bytes"]),
        (1 << 30) - 0x8_0000 - 0x1000_0000
    );
    assert_eq!(number(&nodes[1]["ram_bytes"]), 1 << 30);
    let reserved: Vec<_> = map["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|range| range["kind"] == "reserved")
        .map(|range| (number(&range["start"]), number(&range["end"])))
        .collect();
    assert_eq!(
        reserved,
        [
            (0x4000_0000, 0x4008_0000),
            (0x6000_0000, 0x7000_0000),
            (0xbff0_0000, 0xc000_0000)
        ]
    );
    let with_blob = json_of(
        &ours("numa-reserved.dtb"),
        &["--blob-address", "0x1_3fff_0000"],
    );
    // The 868-byte blob costs node 1 one page.
    assert_eq!(
        number(&with_blob["nodes"][1]["ram_bytes"]),
        (1 << 30) - 0x1000
    );
}

#[test]
fn device_tree_blob_with_one_cell_addresses() {
    let map = json_of(&ours("single-32bit.dtb"), &[]);
    assert_eq!(number(&map["ram_bytes"]), 0x2000_0000 + 0x1ff0_0800);
    assert_eq!(number(&map["nodes"][0]["end_pfn"]), 0xbff00);
}

#[test]
fn page_size_option_rounds_ram_to_larger_pages() {
    let small = json_of(&ours("priority-prefix.log"), &[]);
    let large = json_of(&ours("priority-prefix.log"), &["--page-size", "65536"]);
    assert_eq!(small["ram_bytes"], large["ram_bytes"]);
    let ram = |map: &Value| number(&map["nodes"][0]["ram_bytes"]);
    assert!(ram(&large) < ram(&small));
    assert_eq!(
        number(&large["nodes"][0]["start_pfn"]),
        1,
        "in 64 KiB pages"
    );
    assert!(!bootmem(&["--page-size", "3000", ours("qemu.iomem").to_str().unwrap()]).success);
}

#[test]
fn the_table_shows_ranges_nodes_and_bitmaps() {
    let outcome = bootmem(&[Path::new(SHARED)
        .join("e820-numa-4s-xeon-dell-r820-96g.txt")
        .to_str()
        .unwrap()]);
    assert!(outcome.success);
    assert!(outcome.stdout.contains("firmware RAM: 103012806656 bytes"));
    assert!(outcome.stdout.contains("acpi-nvs"));
    // Node 1: 0x600000 pages, one bit each.
    assert!(
        outcome.stdout.contains(&format!("{} bytes", 0x60_0000 / 8)),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_map_round_trips_through_the_toml_format() {
    let original = json_of(
        &Path::new(SHARED).join("memblock-trace-x86_64-qemu-virtme-2node.txt"),
        &[],
    );
    let mut toml = String::new();
    for range in original["ranges"].as_array().unwrap() {
        let (start, end) = (number(&range["start"]), number(&range["end"]));
        if range["kind"] == "ram" {
            toml += &format!(
                "[[ram]]\nstart = {start}\nend = {end}\nnode = {}\n\n",
                number(&range["node"])
            );
        } else {
            toml += &format!(
                "[[reserved]]\nstart = {start}\nend = {end}\nkind = {}\n\n",
                range["kind"]
            );
        }
    }
    let directory =
        std::env::temp_dir().join(format!("bootmem-map-round-trip-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("machine.toml");
    std::fs::write(&path, toml).unwrap();
    let again = json_of(&path, &[]);
    std::fs::remove_dir_all(&directory).unwrap();
    assert_eq!(again["ranges"], original["ranges"]);
    assert_eq!(again["nodes"], original["nodes"]);
}

fn assert_fails(name: &str, expected_prefix: &str, expected_message: &str, extra: &[&str]) {
    let path = ours(name);
    let path = path.to_str().unwrap();
    let mut arguments = vec![path];
    arguments.extend_from_slice(extra);
    let outcome = bootmem(&arguments);
    assert!(!outcome.success, "{name} was accepted");
    assert!(
        outcome.stdout.is_empty(),
        "half a result for {name}: {}",
        outcome.stdout
    );
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
    let expected = format!("error: {path}{expected_prefix}");
    assert!(
        outcome.stderr.starts_with(&expected),
        "{name}: {}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains(expected_message),
        "{name}: {}",
        outcome.stderr
    );
}

#[test]
fn bad_inputs_are_named_errors() {
    assert_fails("malformed-e820.log", ":3: ", "bad address", &[]);
    assert_fails(
        "overlapping-srat.log",
        ":3: ",
        "node 0 and node 1 overlap",
        &[],
    );
    assert_fails("no-ram.log", ": ", "no RAM", &[]);
    assert_fails("nothing.log", ": ", "no memory map found", &[]);
    assert_fails("malformed.iomem", ":2: ", "not an iomem line", &[]);
    assert_fails("unprivileged.iomem", ": ", "sudo cat /proc/iomem", &[]);
    assert_fails("bad-range.toml", ":5: ", "below start", &[]);
    assert_fails("overlapping-nodes.toml", ":6: ", "overlap", &[]);
    assert_fails("truncated.dtb", ": offset 434: ", "truncated", &[]);
    assert_fails("header-only.dtb", ": offset 20: ", "truncated", &[]);
    assert_fails(
        "bad-token.dtb",
        ": offset 96: ",
        "unknown structure token",
        &[],
    );
    assert_fails("bad-string.dtb", ": offset 104: ", "property name", &[]);
    assert_fails("no-memory.dtb", ": ", "no /memory node", &[]);
    assert_fails(
        "qemu.iomem",
        ": ",
        "no memory map found",
        &["--format", "dmesg"],
    );
    assert_fails(
        "qemu.iomem",
        ": offset 0: ",
        "bad magic",
        &["--format", "dtb"],
    );
    assert_fails("does-not-exist.log", ": ", "", &[]);
    assert_fails(
        "overlapping-e820.log",
        ":3: ",
        "overlaps the range at line 2",
        &[],
    );
    assert_fails(
        "duplicate-e820.log",
        ":3: ",
        "repeats the range at line 1",
        &[],
    );
    assert_fails(
        "overlapping.iomem",
        ":3: ",
        "overlaps the range at line 2",
        &[],
    );
    assert_fails("empty-ram.toml", ":5: ", "zero-length", &[]);
}

/// The log without its firmware map and node ranges: only memblock's own lines say where memory is.
fn memblock_only(name: &str) -> (String, PathBuf) {
    let text = std::fs::read_to_string(Path::new(SHARED).join(name)).unwrap();
    let kept: String = text
        .lines()
        .filter(|line| {
            line.starts_with('#')
                || !(line.contains("BIOS-e820")
                    || line.contains("e820:")
                    || line.contains("Early memory node ranges")
                    || line.contains("node   "))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let directory =
        std::env::temp_dir().join(format!("bootmem-map-memblock-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join(name);
    std::fs::write(&path, &kept).unwrap();
    (kept, path)
}

/// Bytes of the inclusive `[0xA-0xB]` ranges of `marker` lines.
fn bracketed_bytes(text: &str, marker: &str) -> u64 {
    text.lines()
        .filter_map(|line| line.split_once(marker))
        .map(|(_, rest)| {
            let inner = rest.trim_start().trim_start_matches('[');
            let (first, last) = inner.split_once(']').unwrap().0.split_once('-').unwrap();
            let parse = |hex: &str| u64::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap();
            parse(last) - parse(first) + 1
        })
        .sum()
}

#[test]
fn a_log_whose_only_map_is_memblock_add_has_the_exact_ram_total() {
    let (text, path) = memblock_only("memblock-trace-x86_64-qemu-virtme-2node.txt");
    assert!(!text.contains("] BIOS-e820") && !text.contains("node   0:"));
    let map = json_of(&path, &[]);
    // The adds (none removed here) and the dump's `memory size` agree.
    let added = bracketed_bytes(&text, "memblock_add:");
    assert_eq!(number(&map["ram_bytes"]), added);
    assert_eq!(added, 0xfff7_ec00, "the dump's `memory size`");
    // Nodes come from the last MEMBLOCK dump ("on node N") or the SRAT lines.
    assert_eq!(nodes_with_memory(&map), [0, 1]);
    let table = bootmem(&[path.to_str().unwrap()]);
    assert!(table.stdout.contains("memblock"), "{}", table.stdout);
}

#[test]
fn a_log_whose_only_map_is_the_memblock_dump_has_its_memory_size() {
    let (text, path) = memblock_only("memblock-trace-riscv64-board-1g.txt");
    assert!(!text.contains("] memblock_add:"));
    let map = json_of(&path, &[]);
    let header = header_figure(&text, "ram_bytes");
    assert_eq!(number(&map["ram_bytes"]), header);
    assert_eq!(
        number(&map["ram_bytes"]),
        0x3fe0_0000,
        "the dump's `memory size`"
    );
    assert_eq!(number(&map["nodes"][0]["start_pfn"]), 0x8_0200);
}

#[test]
fn memblock_remove_lines_take_memory_out() {
    let directory = std::env::temp_dir().join(format!("bootmem-map-remove-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("remove.log");
    std::fs::write(
        &path,
        "[    0.000000] memblock_add: [0x0000000040000000-0x00000000bfffffff] early_init_dt_add_memory_arch+0x4c/0x58\n\
         [    0.000000] memblock_add: [0x0000000080000000-0x000000013fffffff] early_init_dt_add_memory_arch+0x4c/0x58\n\
         [    0.000000] memblock_remove: [0x0000000100000000-0x000000013fffffff] arm64_memblock_init+0x90/0x2b0\n\
         [    0.000000] memblock_reserve: [0x0000000040080000-0x000000004170ffff] arm64_memblock_init+0x1c4/0x2b0\n",
    )
    .unwrap();
    let map = json_of(&path, &[]);
    // Overlapping adds merge; the remove cuts 4 GiB..5 GiB off.
    assert_eq!(number(&map["ram_bytes"]), 0xc000_0000);
    assert_eq!(number(&map["nodes"][0]["end_pfn"]), 0x10_0000);
}
