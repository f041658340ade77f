//! Integration tests of `bootmem boot`: every architecture's sequence, the reasons, the shared real machines, the picture, the size format, bad inputs.

mod common;

use common::{Outcome, SHARED};

use std::path::{Path, PathBuf};

use serde_json::Value;

const PAGE: u64 = 4096;
const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

fn bootmem(arguments: &[&str]) -> Outcome {
    common::run("boot", arguments)
}

fn json_of(arguments: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(arguments);
    let outcome = bootmem(&all);
    assert!(outcome.success, "{arguments:?}: {}", outcome.stderr);
    serde_json::from_str(&outcome.stdout).expect("one JSON object")
}

fn number(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

/// A scratch directory for one test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("bootmem-boot-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn shared_maps() -> Vec<PathBuf> {
    let mut maps: Vec<PathBuf> = std::fs::read_dir(SHARED)
        .expect("shared/data beside the repository")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "txt"))
        .collect();
    maps.sort();
    assert!(maps.len() >= 5, "the shared machines in {SHARED}");
    maps
}

fn test_map(name: &str) -> String {
    format!("{}/tests/data/map/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Pages of `[start, end)` byte ranges, merged, that lie in RAM.
fn pages_in_ram(mut ranges: Vec<(u64, u64)>, ram: &[(u64, u64)]) -> u64 {
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        let (start, end) = (start / PAGE, end.div_ceil(PAGE));
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut pages = 0;
    for &(start, end) in &merged {
        for &(low, high) in ram {
            let (low, high) = (low / PAGE, high / PAGE);
            pages += end.min(high).saturating_sub(start.max(low));
        }
    }
    pages
}

fn regions(json: &Value, key: &str) -> Vec<Value> {
    json[key].as_array().expect(key).clone()
}

fn steps_of(json: &Value) -> Vec<Value> {
    regions(json, "steps")
}

/// The hand-off equals the RAM bootmem manages less every reserved or
/// allocated page, with the bitmap pages coming back on top; no allocation
/// overlaps another or a reservation; every step is numbered in order.
fn check_accounting(json: &Value) {
    let highmem: Vec<(u64, u64)> = regions(json, "highmem")
        .iter()
        .map(|range| (number(range, "start"), number(range, "end")))
        .collect();
    let ram: Vec<(u64, u64)> = json["map"]["ranges"]
        .as_array()
        .expect("ranges")
        .iter()
        .filter(|range| range["kind"] == "ram")
        .map(|range| (number(range, "start"), number(range, "end")))
        .map(|(start, end)| {
            let cut = highmem
                .iter()
                .map(|&(low, _)| low)
                .min()
                .unwrap_or(u64::MAX);
            (start.min(cut), end.min(cut))
        })
        .filter(|(start, end)| start < end)
        .collect();
    let ram_pages: u64 = ram.iter().map(|(start, end)| (end - start) / PAGE).sum();
    let reservations = regions(json, "reservations");
    let allocations = regions(json, "allocations");
    let kept: Vec<(u64, u64)> = reservations
        .iter()
        .filter(|region| region["kind"] != "bitmap")
        .chain(&allocations)
        .map(|region| (number(region, "start"), number(region, "end")))
        .collect();
    let bitmap_pages: u64 = reservations
        .iter()
        .filter(|region| region["kind"] == "bitmap")
        .map(|region| number(region, "size").div_ceil(PAGE))
        .sum();
    let handoff = &json["handoff"];
    let total = number(handoff, "total_pages");
    assert_eq!(number(handoff, "bitmap_pages"), bitmap_pages);
    assert_eq!(
        total,
        ram_pages - pages_in_ram(kept, &ram),
        "hand-off of {}",
        json["name"]
    );
    let by_node: u64 = handoff["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| number(node, "pages"))
        .sum();
    assert_eq!(by_node, total);
    for allocation in &allocations {
        let (start, end) = (number(allocation, "start"), number(allocation, "end"));
        for other in reservations.iter().chain(&allocations) {
            if std::ptr::eq(other, allocation) {
                continue;
            }
            let (low, high) = (number(other, "start"), number(other, "end"));
            assert!(end <= low || high <= start, "{allocation} overlaps {other}");
        }
    }
    for (index, step) in steps_of(json).iter().enumerate() {
        assert_eq!(number(step, "index"), index as u64 + 1);
        assert!(
            !step["explanation"].as_array().unwrap().is_empty(),
            "{step}"
        );
    }
}

fn find<'a>(steps: &'a [Value], word: &str) -> Vec<&'a Value> {
    steps
        .iter()
        .filter(|step| step["purpose"].as_str().unwrap().contains(word))
        .collect()
}

fn explains(step: &Value, words: &str) -> bool {
    step["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .any(|line| line.as_str().unwrap().contains(words))
}

#[test]
fn the_default_machine_boots_on_two_nodes_as_x86_64() {
    let outcome = bootmem(&[]);
    assert!(outcome.success, "{}", outcome.stderr);
    let text = &outcome.stdout;
    assert!(text.contains("(embedded two-socket server)"));
    assert!(text.contains("architecture x86_64 (the e820 table)"));
    assert!(text.contains("node 0 struct page array"));
    assert!(text.contains("node 1 struct page array"));
    assert!(text.contains("free_all_bootmem: "));
    assert!(!text.contains("Kernel panic"));

    let json = json_of(&[]);
    assert_eq!(json["arch"], "x86_64");
    assert_eq!(json["map"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(json["handoff"]["nodes"].as_array().unwrap().len(), 2);
    assert!(json["panic"].is_null());
    check_accounting(&json);
}

#[test]
fn the_default_machine_places_every_allocation_where_linux_would() {
    let json = json_of(&[]);
    let steps = steps_of(&json);
    let trampoline = find(&steps, "trampoline");
    assert_eq!(trampoline.len(), 1);
    assert!(number(trampoline[0], "end") <= MIB);
    assert_eq!(
        trampoline[0]["source"],
        "reserve_real_mode (arch/x86/realmode/init.c)"
    );
    // RAM above 4 GiB: pci_swiotlb_detect_4gb sets up the bounce buffer below 4 GiB, above the DMA goal.
    let bounce = find(&steps, "bounce buffer");
    assert!(number(bounce[0], "end") <= 4 * GIB);
    assert!(number(bounce[0], "start") >= 16 * MIB, "above the DMA goal");
    for nid in [0, 1] {
        let node_data = find(&steps, &format!("NODE_DATA({nid})"));
        assert_eq!(node_data[0]["node"], nid);
        assert_eq!(node_data[0]["arguments"]["node"], nid);
        let usemaps = find(&steps, &format!("node {nid} usemaps"));
        assert_eq!(usemaps[0]["node"], nid);
        // 256 sections of 128 MiB on each node, 32 bytes of flags each.
        assert_eq!(number(&usemaps[0]["arguments"], "size"), 256 * 32);
        let pages = find(&steps, &format!("node {nid} struct page array"));
        assert_eq!(pages[0]["node"], nid);
        // vmemmap: 2 MiB of struct page per 128 MiB section.
        assert_eq!(number(&pages[0]["arguments"], "size"), 256 * 2 * MIB);
    }
    let per_cpu = find(&steps, "per-CPU");
    assert_eq!(per_cpu.len(), 2);
    assert_eq!(per_cpu[0]["node"], 0);
    assert_eq!(per_cpu[1]["node"], 1);
    // 16 CPUs of 256 KiB in 2 MiB atoms: 4 MiB, 2 MiB-aligned.
    assert_eq!(
        number(per_cpu[0], "end") - number(per_cpu[0], "start"),
        4 * MIB
    );
    assert_eq!(number(per_cpu[0], "start") % (2 * MIB), 0);
    // 32 CPUs: 128 KiB + 31 x 4 KiB rounds up to a 256 KiB log buffer.
    let log = find(&steps, "log buffer");
    assert_eq!(number(&log[0]["arguments"], "size"), 256 << 10);
    // CONFIG_NUMA on 64-bit: hashdist, no early dentry or inode hash.
    assert!(find(&steps, "Dentry").is_empty());
    assert!(json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|note| note.as_str().unwrap().contains("hashdist=1")));
    // The kernel at 16 MiB, the initrd below 4 GiB, each bitmap in its own node.
    let reservations = regions(&json, "reservations");
    let kernel = reservations.iter().find(|r| r["kind"] == "kernel").unwrap();
    assert_eq!(number(kernel, "start"), 16 * MIB);
    let initrd = reservations.iter().find(|r| r["kind"] == "initrd").unwrap();
    assert!(number(initrd, "end") <= 4 * GIB);
    let bitmaps: Vec<_> = reservations
        .iter()
        .filter(|r| r["kind"] == "bitmap")
        .map(|r| r["node"].as_u64().unwrap())
        .collect();
    assert_eq!(bitmaps, [0, 1]);
    // The low 64 KiB and the BIOS area are kept.
    assert!(reservations
        .iter()
        .any(|r| r["kind"] == "low-memory" && number(r, "start") == 0));
}

#[test]
fn reasons_name_the_goal_the_hint_the_fallback_and_the_merge() {
    let json = json_of(&[]);
    let steps = steps_of(&json);
    let usemaps = find(&steps, "node 0 usemaps")[0];
    assert!(explains(usemaps, "starts at the goal 0x1000000 (16 MiB)"));
    // The log buffer lands past the gap the 2 MiB-aligned per-CPU chunk left: the hint moved it.
    let log = find(&steps, "log buffer")[0];
    assert!(explains(log, "The search hint moved it"), "{log}");
    // Node 1 starts above the 16 MiB goal.
    let node_1 = find(&steps, "node 1 usemaps")[0];
    assert!(explains(node_1, "The goal lies below node 1"), "{node_1}");

    // A node too small for its per-CPU chunk falls back to another node.
    let scratch = Scratch::new("reasons");
    let map = scratch.file(
        "small-node.toml",
        "[[ram]]\nstart = 0\nend = 0x8000_0000\nnode = 0\n\n[[ram]]\nstart = 0x1_0000_0000\nsize = 0x60_0000\nnode = 1\n",
    );
    let json = json_of(&[&map, "--cpus-per-node", "8"]);
    check_accounting(&json);
    let steps_small = steps_of(&json);
    let per_cpu = find(&steps_small, "CPUs 8-15")[0];
    assert_eq!(per_cpu["arguments"]["node"], 1);
    assert_eq!(per_cpu["node"], 0);
    assert!(explains(per_cpu, "fell back to node 0"), "{per_cpu}");

    // Small allocations share a partly used page: arm64's struct resources.
    let json = json_of(&[&test_map("dt-arm64-numa.log")]);
    let arm64_steps = steps_of(&json);
    let resources = find(&arm64_steps, "struct resource");
    assert!(resources.len() >= 2);
    assert!(
        explains(resources[1], "Merged into the partly used page"),
        "{}",
        resources[1]
    );
    assert_eq!(number(resources[1], "start"), number(resources[0], "end"));
}

#[test]
fn every_architecture_boots_every_shared_machine() {
    let expected = [
        ("dt-riscv64", "riscv64"),
        ("e820-", "x86_64"),
        ("memblock-trace-riscv64", "riscv64"),
        ("memblock-trace-x86_64", "x86_64"),
    ];
    for map in shared_maps() {
        let name = map.to_str().unwrap();
        let file = map.file_name().unwrap().to_str().unwrap();
        let json = json_of(&[name]);
        let arch = expected
            .iter()
            .find(|(prefix, _)| file.starts_with(prefix))
            .map_or_else(|| panic!("no expectation for {file}"), |(_, arch)| *arch);
        assert_eq!(json["arch"], arch, "{file}");
        check_accounting(&json);
        for arch in ["x86_64", "arm64", "riscv64", "arm"] {
            let json = json_of(&[name, "--arch", arch]);
            assert_eq!(json["arch"], arch, "{file}");
            check_accounting(&json);
        }
    }
}

#[test]
fn maps_name_their_architecture() {
    for (map, arch) in [
        ("dt-arm64-numa.log", "arm64"),
        ("numa-reserved.dtb", "arm64"),
        ("efi-only.log", "x86_64"),
        ("qemu.iomem", "x86_64"),
        ("two-nodes.toml", "x86_64"),
    ] {
        let json = json_of(&[&test_map(map)]);
        assert_eq!(json["arch"], arch, "{map}");
        check_accounting(&json);
    }
}

#[test]
fn an_arm64_server_without_ram_below_4gib_uses_its_own_dma_zone() {
    let scratch = Scratch::new("arm64-high");
    let map = scratch.file(
        "server.toml",
        "[[ram]]\nstart = \"0x80_0000_0000\"\nsize = \"0x10_0000_0000\"\nnode = 0\n\n[[ram]]\nstart = \"0x90_0000_0000\"\nsize = \"0x10_0000_0000\"\nnode = 1\n",
    );
    let json = json_of(&[&map, "--arch", "arm64", "--crash-kernel", "256M"]);
    assert_eq!(json["arch"], "arm64");
    assert!(json["panic"].is_null());
    check_accounting(&json);
    let steps = steps_of(&json);
    let window_end = 0x81_0000_0000;
    for word in ["bounce buffer", "crash kernel", "CMA area"] {
        let step = find(&steps, word)[0];
        assert_eq!(step["outcome"], "allocated", "{step}");
        assert!(number(step, "end") <= window_end, "{step}");
    }
    assert!(json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|note| note.as_str().unwrap().contains("no RAM below 4 GiB")));
    // The same machine booted as x86 says what that kernel would do instead.
    let json = json_of(&[&map, "--arch", "x86_64"]);
    check_accounting(&json);
    let notes: Vec<&str> = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|note| note.contains("XLF_CAN_BE_LOADED_ABOVE_4G")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|note| note.contains("No sub-1M memory")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|note| note.contains("Cannot allocate buffer")),
        "{notes:?}"
    );
    let x86_steps = steps_of(&json);
    let skipped = find(&x86_steps, "trampoline")[0];
    assert_eq!(skipped["outcome"], "skipped");
}

#[test]
fn a_32_bit_arm_board_keeps_bootmem_in_lowmem_and_leaves_highmem() {
    let scratch = Scratch::new("arm-highmem");
    let map = scratch.file(
        "board.toml",
        "[[ram]]\nstart = 0x8000_0000\nsize = 0x8000_0000\n",
    );
    let json = json_of(&[&map, "--arch", "arm"]);
    assert_eq!(json["arch"], "arm");
    check_accounting(&json);
    let lowmem_end = 0x8000_0000 + 768 * MIB;
    assert_eq!(regions(&json, "highmem")[0]["start"], lowmem_end);
    for step in steps_of(&json) {
        if let Some(end) = step["end"].as_u64() {
            assert!(end <= lowmem_end, "{step} lies in highmem");
        }
    }
    let steps = steps_of(&json);
    // FLATMEM: 32-byte struct pages over all 2 GiB, highmem included.
    let mem_map = find(&steps, "mem_map")[0];
    assert_eq!(number(&mem_map["arguments"], "size"), (2 * GIB / PAGE) * 32);
    assert_eq!(find(&steps, "usemap").len(), 2, "Normal and HighMem zones");
    assert!(
        !find(&steps, "Dentry cache").is_empty(),
        "no NUMA: early hashes"
    );
    assert!(!find(&steps, "vectors").is_empty());
}

#[test]
fn tiny_boards_boot_or_stop_where_linux_would_panic() {
    let scratch = Scratch::new("tiny");
    let board = scratch.file(
        "board.toml",
        "[[ram]]\nstart = 0x4000_0000\nsize = 0x100_0000\n",
    );
    for arch in ["riscv64", "arm", "arm64"] {
        let json = json_of(&[&board, "--arch", arch]);
        assert!(json["panic"].is_null(), "{arch}: {}", json["panic"]);
        check_accounting(&json);
    }
    // 4 MiB of x86 cannot hold a 2 MiB-aligned per-CPU chunk: a simulated panic, not an error.
    let tiny = scratch.file("tiny.toml", "[[ram]]\nstart = 0\nsize = 0x40_0000\n");
    let outcome = bootmem(&[&tiny]);
    assert!(outcome.success, "{}", outcome.stderr);
    assert!(
        outcome.stdout.contains("Kernel panic (simulated):"),
        "{}",
        outcome.stdout
    );
    let json = json_of(&[&tiny]);
    assert!(json["panic"].as_str().unwrap().contains("out of memory"));
    assert_eq!(steps_of(&json).last().unwrap()["outcome"], "panicked");
    check_accounting(&json);
    // RAM in 4 MiB pieces: a smaller kernel and initrd, the memory map in 2 MiB vmemmap blocks.
    let mut pieces = String::new();
    for index in 0..64u64 {
        pieces.push_str(&format!(
            "[[ram]]\nstart = {}\nsize = 0x40_0000\n\n",
            index * 8 * MIB
        ));
    }
    let fragmented = scratch.file("fragmented.toml", &pieces);
    let json = json_of(&[&fragmented]);
    assert!(json["panic"].is_null(), "{}", json["panic"]);
    check_accounting(&json);
    let steps = steps_of(&json);
    let blocks = find(&steps, "vmemmap block");
    assert!(!blocks.is_empty());
    for block in blocks {
        assert_eq!(number(block, "start") % (2 * MIB), 0);
        assert_eq!(number(block, "end") - number(block, "start"), 2 * MIB);
    }
    // One page: not even room for bootmem's bitmap.
    let page = scratch.file("page.toml", "[[ram]]\nstart = 0x1000\nsize = 0x1000\n");
    let json = json_of(&[&page]);
    assert!(
        json["panic"].as_str().unwrap().contains("set-up: node 0"),
        "{}",
        json["panic"]
    );
}

#[test]
fn the_command_line_asks_for_crash_kernel_and_cma() {
    let scratch = Scratch::new("cmdline");
    let log = scratch.file(
        "dmesg.txt",
        "[    0.000000] Kernel command line: BOOT_IMAGE=/vmlinuz ro crashkernel=256M cma=64M log_buf_len=4M\n\
         [    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable\n\
         [    0.000000] BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable\n\
         [    0.000000] BIOS-e820: [mem 0x0000000100000000-0x000000023fffffff] usable\n",
    );
    let json = json_of(&[&log]);
    check_accounting(&json);
    let steps = steps_of(&json);
    let crash = find(&steps, "crash kernel")[0];
    assert_eq!(number(&crash["arguments"], "size"), 256 * MIB);
    assert!(number(crash, "end") <= 896 * MIB);
    assert_eq!(number(crash, "start") % (16 * MIB), 0);
    assert_eq!(
        number(&find(&steps, "CMA area")[0]["arguments"], "size"),
        64 * MIB
    );
    assert_eq!(
        number(&find(&steps, "log buffer")[0]["arguments"], "size"),
        4 * MIB
    );
    // The options override the command line; 0 drops them.
    let json = json_of(&[&log, "--crash-kernel", "0", "--cma", "0"]);
    let steps = steps_of(&json);
    assert!(find(&steps, "crash kernel").is_empty());
    assert!(find(&steps, "CMA area").is_empty());
}

/// Every size in a text is in the one format: a whole number, or two decimals.
fn assert_one_size_format(text: &str) {
    let words: Vec<&str> = text.split_whitespace().collect();
    for pair in words.windows(2) {
        let unit = pair[1].trim_end_matches([',', ')', ':', '.', ';']);
        if !["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"].contains(&unit) {
            continue;
        }
        let value = pair[0].trim_start_matches(['(', '[']);
        let well_formed = match value.split_once('.') {
            None => value.bytes().all(|byte| byte.is_ascii_digit()),
            Some((whole, decimals)) => {
                whole.bytes().all(|byte| byte.is_ascii_digit())
                    && decimals.len() == 2
                    && decimals.bytes().all(|byte| byte.is_ascii_digit())
            }
        };
        assert!(
            well_formed,
            "`{} {}` is not in the size format",
            pair[0], pair[1]
        );
    }
}

#[test]
fn one_size_format_and_one_node_key_everywhere() {
    for arguments in [vec![], vec![SHARED_RISCV]] {
        let mut with_svg: Vec<&str> = arguments.clone();
        let scratch = Scratch::new("format");
        let svg = scratch.path("picture.svg");
        with_svg.extend(["--svg", svg.to_str().unwrap()]);
        let outcome = bootmem(&with_svg);
        assert!(outcome.success, "{}", outcome.stderr);
        assert_one_size_format(&outcome.stdout);
        let picture = std::fs::read_to_string(&svg).unwrap();
        let document = roxmltree::Document::parse(&picture).unwrap();
        let texts: Vec<&str> = document
            .descendants()
            .filter_map(|node| node.text())
            .collect();
        assert_one_size_format(&texts.join(" "));
        // No JSON object anywhere calls a node anything but "node".
        fn no_nid(value: &Value) {
            match value {
                Value::Object(map) => {
                    assert!(!map.contains_key("nid"), "{value}");
                    map.values().for_each(no_nid);
                }
                Value::Array(items) => items.iter().for_each(no_nid),
                _ => {}
            }
        }
        let mut json_arguments = arguments.clone();
        json_arguments.push("--json");
        let outcome = bootmem(&json_arguments);
        no_nid(&serde_json::from_str(&outcome.stdout).unwrap());
    }
}

const SHARED_RISCV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/dt-riscv64-visionfive2-4g-reserved-mem.txt"
);

fn parse_svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("the SVG was written");
    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert!(root.attribute("viewBox").is_some());
    // Every band of the detail has a positive height, and they run down the page.
    let mut last_y = f64::NEG_INFINITY;
    for band in root.descendants().filter(|node| {
        node.has_tag_name("rect")
            && node
                .attribute("class")
                .is_some_and(|class| !class.starts_with("overview"))
    }) {
        let y: f64 = band.attribute("y").unwrap().parse().unwrap();
        let height: f64 = band.attribute("height").unwrap().parse().unwrap();
        assert!(height > 0.0);
        assert!(y > last_y);
        last_y = y;
    }
    text
}

#[test]
fn the_svg_has_a_linear_overview_limit_lines_and_the_boot_order() {
    let scratch = Scratch::new("svg");
    let path = scratch.path("default.svg");
    let outcome = bootmem(&["--svg", path.to_str().unwrap()]);
    assert!(outcome.success, "{}", outcome.stderr);
    let text = parse_svg(&path);
    let document = roxmltree::Document::parse(&text).unwrap();
    let classes: Vec<&str> = document
        .descendants()
        .filter_map(|node| node.attribute("class"))
        .collect();
    for class in [
        "legend",
        "node",
        "kernel",
        "initrd",
        "bitmap",
        "free",
        "hole",
        "firmware-acpi-nvs",
        "struct-pages",
        "per-cpu",
        "usemap",
        "overview",
        "overview-region",
        "limit",
        "order",
    ] {
        assert!(classes.contains(&class), "no {class} in the picture");
    }
    let texts: Vec<&str> = document
        .descendants()
        .filter(|node| node.is_text())
        .filter_map(|node| node.text())
        .collect();
    assert!(texts.contains(&"node 0") && texts.contains(&"node 1"));
    assert!(
        texts.contains(&"0x000000000000"),
        "the address axis starts at 0"
    );
    for label in [
        "1 MiB (real mode)",
        "16 MiB (DMA goal)",
        "4 GiB (DMA32)",
        "node 1 starts",
    ] {
        assert!(texts.contains(&label), "no limit line {label}");
    }
    // The kernel's band is numbered with its step.
    let json = json_of(&[]);
    let kernel_step = steps_of(&json)
        .iter()
        .position(|step| step["kind"] == "kernel")
        .unwrap()
        + 1;
    assert!(texts
        .iter()
        .any(|text| text.starts_with(&format!("{kernel_step}. kernel image"))));
    let overview: Vec<_> = document
        .descendants()
        .filter(|node| node.attribute("class") == Some("overview-range"))
        .collect();
    assert!(!overview.is_empty());
}

#[test]
fn every_shared_machine_draws_a_picture_and_a_page() {
    let scratch = Scratch::new("pictures");
    for map in shared_maps() {
        let name = map.to_str().unwrap();
        let svg = scratch.path("machine.svg");
        let html = scratch.path("machine.html");
        let outcome = bootmem(&[
            name,
            "--svg",
            svg.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ]);
        assert!(outcome.success, "{name}: {}", outcome.stderr);
        parse_svg(&svg);
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("id=\"slider\""));
        assert!(
            !page.contains("<script src") && !page.contains("<link"),
            "self-contained"
        );
    }
}

fn assert_fails(arguments: &[&str], expected: &str) {
    let outcome = bootmem(arguments);
    assert!(!outcome.success, "{arguments:?} succeeded");
    assert!(
        outcome.stderr.starts_with("error:"),
        "{arguments:?}: {}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains(expected),
        "{arguments:?}: {}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
    assert!(outcome.stdout.is_empty());
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let scratch = Scratch::new("bad");
    let garbage = scratch.file("garbage.txt", "this is not a memory map\n");
    let malformed = scratch.file("malformed.txt", "BIOS-e820: [mem 0x1000-zz] usable\n");
    assert_fails(
        &[scratch.path("absent.txt").to_str().unwrap()],
        "absent.txt",
    );
    assert_fails(&[&garbage], "no memory map found");
    assert_fails(&[&malformed], "malformed.txt:1:");
    assert_fails(&["--kernel-address", "0x90000000"], "is not all RAM");
    assert_fails(&["--kernel-size", "0"], "cannot be empty");
    assert_fails(&["--initrd-size", "100G"], "no room");
    assert_fails(&["--initrd-address", "0x80000000"], "is not all RAM");
    assert_fails(&["--kernel-address", "0xffffffffffffffff"], "past 2^64");
    assert_fails(&["--arch", "sparc"], "sparc");
    let missing = scratch.path("missing").join("picture.svg");
    assert_fails(&["--svg", missing.to_str().unwrap()], "picture.svg");
    let missing = scratch.path("missing").join("page.html");
    assert_fails(&["--html", missing.to_str().unwrap()], "page.html");
    // A per-CPU area no machine holds is Linux's panic, reported, not a crash.
    let json = json_of(&["--percpu-unit", "40G"]);
    assert!(
        json["panic"].as_str().unwrap().contains("per-CPU"),
        "{}",
        json["panic"]
    );
}
