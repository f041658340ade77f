//! Integration tests of `bootmem boot`: the embedded server, the shared real machines, the picture, bad inputs.

mod common;

use common::{Outcome, SHARED};

use std::path::{Path, PathBuf};

use serde_json::Value;

const PAGE: u64 = 4096;

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

fn shared_e820_maps() -> Vec<PathBuf> {
    let mut maps: Vec<PathBuf> = std::fs::read_dir(SHARED)
        .expect("shared/data beside the repository")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("e820-") && name.ends_with(".txt"))
        })
        .collect();
    maps.sort();
    assert!(!maps.is_empty(), "no e820-*.txt in {SHARED}");
    maps
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

/// The hand-off equals RAM less every reserved or allocated page, with the
/// bitmap pages coming back on top; allocations overlap nothing.
fn check_accounting(json: &Value) {
    let ram: Vec<(u64, u64)> = json["map"]["ranges"]
        .as_array()
        .expect("ranges")
        .iter()
        .filter(|range| range["kind"] == "ram")
        .map(|range| (number(range, "start"), number(range, "end")))
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
    // No allocation overlaps another or a reservation.
    let mut taken: Vec<(u64, u64, String)> = reservations
        .iter()
        .chain(&allocations)
        .map(|region| {
            (
                number(region, "start"),
                number(region, "end"),
                region["purpose"].to_string(),
            )
        })
        .collect();
    taken.sort();
    for pair in taken.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "{pair:?} overlap");
    }
}

#[test]
fn the_default_machine_boots_on_two_nodes() {
    let outcome = bootmem(&[]);
    assert!(outcome.success, "{}", outcome.stderr);
    let text = &outcome.stdout;
    assert!(text.contains("(embedded two-socket server)"));
    assert!(text.contains("node 0 struct page array"));
    assert!(text.contains("node 1 struct page array"));
    assert!(text.contains("free_all_bootmem: "));
    let handoff = text
        .lines()
        .skip_while(|line| !line.starts_with("free_all_bootmem:"))
        .collect::<Vec<_>>();
    assert!(handoff
        .iter()
        .any(|line| line.trim_start().starts_with("0 ")));
    assert!(handoff
        .iter()
        .any(|line| line.trim_start().starts_with("1 ")));

    let json = json_of(&[]);
    assert_eq!(json["map"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(json["handoff"]["nodes"].as_array().unwrap().len(), 2);
    check_accounting(&json);
}

#[test]
fn the_default_machine_places_every_allocation_where_linux_would() {
    let json = json_of(&[]);
    let allocations = regions(&json, "allocations");
    let find = |word: &str| -> Vec<&Value> {
        allocations
            .iter()
            .filter(|region| region["purpose"].as_str().unwrap().contains(word))
            .collect()
    };
    let trampoline = find("trampoline");
    assert_eq!(trampoline.len(), 1);
    assert!(number(trampoline[0], "end") <= 1 << 20);
    let bounce = find("bounce");
    assert!(number(bounce[0], "end") <= 1 << 32);
    assert!(number(bounce[0], "start") >= 16 << 20, "above the DMA goal");
    for nid in [0, 1] {
        let pages = find(&format!("node {nid} struct page array"));
        assert_eq!(pages[0]["node"], nid);
        assert!(number(pages[0], "start") >= 1 << 32, "above 4 GiB");
        let node_data = find(&format!("NODE_DATA({nid})"));
        assert_eq!(node_data[0]["node"], nid);
    }
    let per_cpu = find("per-CPU");
    assert_eq!(per_cpu.len(), 2);
    assert_eq!(per_cpu[0]["node"], 0);
    assert_eq!(per_cpu[1]["node"], 1);
    // 64 GiB: 8M dentry buckets of 8 bytes, as Linux prints on such a machine.
    assert_eq!(number(find("Dentry")[0], "size"), 64 << 20);
    // The kernel at 16 MiB, the initrd below 4 GiB, each bitmap in its own node.
    let reservations = regions(&json, "reservations");
    let kernel = reservations.iter().find(|r| r["kind"] == "kernel").unwrap();
    assert_eq!(number(kernel, "start"), 16 << 20);
    let initrd = reservations.iter().find(|r| r["kind"] == "initrd").unwrap();
    assert!(number(initrd, "end") <= 1 << 32);
    let bitmaps: Vec<_> = reservations
        .iter()
        .filter(|r| r["kind"] == "bitmap")
        .map(|r| r["node"].as_u64().unwrap())
        .collect();
    assert_eq!(bitmaps, [0, 1]);
}

#[test]
fn options_move_the_kernel_and_drop_the_initrd() {
    let json = json_of(&[
        "--kernel-address",
        "0x2000000",
        "--kernel-size",
        "8M",
        "--initrd-size",
        "0",
        "--bounce-buffer",
        "0",
        "--cpus-per-node",
        "4",
    ]);
    let reservations = regions(&json, "reservations");
    let kernel = reservations.iter().find(|r| r["kind"] == "kernel").unwrap();
    assert_eq!(number(kernel, "start"), 0x200_0000);
    assert_eq!(number(kernel, "size"), 8 << 20);
    assert!(reservations.iter().all(|r| r["kind"] != "initrd"));
    let allocations = regions(&json, "allocations");
    assert!(allocations.iter().all(|r| r["kind"] != "bounce-buffer"));
    let per_cpu = allocations.iter().find(|r| r["kind"] == "per-cpu").unwrap();
    assert_eq!(number(per_cpu, "size"), 4 * 256 * 1024);
    check_accounting(&json);
}

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
    // Every drawn band has a positive height, and they run down the page.
    let mut last_y = f64::NEG_INFINITY;
    for band in root
        .descendants()
        .filter(|node| node.has_tag_name("rect") && node.attribute("class").is_some())
    {
        let y: f64 = band.attribute("y").unwrap().parse().unwrap();
        let height: f64 = band.attribute("height").unwrap().parse().unwrap();
        assert!(height > 0.0);
        assert!(y > last_y);
        last_y = y;
    }
    text
}

#[test]
fn the_svg_is_well_formed_with_legend_axis_nodes_and_regions() {
    let directory = std::env::temp_dir().join(format!("bootmem-boot-svg-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("default.svg");
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
        "hash-table",
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
    assert!(texts.iter().any(|text| text.starts_with("kernel image")));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn every_shared_e820_machine_boots() {
    let directory = std::env::temp_dir().join(format!("bootmem-boot-e820-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    for map in shared_e820_maps() {
        let name = map.to_str().unwrap();
        let json = json_of(&[name]);
        check_accounting(&json);
        let expected_nodes = json["map"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|node| number(node, "ram_bytes") > 0)
            .count();
        assert_eq!(
            json["handoff"]["nodes"].as_array().unwrap().len(),
            expected_nodes,
            "{name}"
        );
        let svg = directory.join("machine.svg");
        let outcome = bootmem(&[name, "--svg", svg.to_str().unwrap()]);
        assert!(outcome.success, "{name}: {}", outcome.stderr);
        parse_svg(&svg);
    }
    std::fs::remove_dir_all(&directory).unwrap();
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
    let directory = std::env::temp_dir().join(format!("bootmem-boot-bad-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let garbage = directory.join("garbage.txt");
    std::fs::write(&garbage, "this is not a memory map\n").unwrap();
    let malformed = directory.join("malformed.txt");
    std::fs::write(&malformed, "BIOS-e820: [mem 0x1000-zz] usable\n").unwrap();
    let tiny = directory.join("tiny.txt");
    std::fs::write(
        &tiny,
        "BIOS-e820: [mem 0x0000000000000000-0x0000000003ffffff] usable\n",
    )
    .unwrap();
    assert_fails(
        &[directory.join("absent.txt").to_str().unwrap()],
        "absent.txt",
    );
    assert_fails(&[garbage.to_str().unwrap()], "no memory map found");
    assert_fails(&[malformed.to_str().unwrap()], "malformed.txt:1:");
    // 64 MiB: the kernel and initrd fit, the 64 MiB bounce buffer cannot.
    assert_fails(
        &[tiny.to_str().unwrap(), "--initrd-size", "0"],
        "out of memory",
    );
    assert_fails(&["--kernel-address", "0x90000000"], "is not all RAM");
    assert_fails(&["--kernel-size", "0"], "cannot be empty");
    assert_fails(&["--initrd-size", "100G"], "no room");
    assert_fails(&["--initrd-address", "0x80000000"], "is not all RAM");
    assert_fails(&["--percpu-unit", "40G"], "out of memory");
    assert_fails(&["--kernel-address", "0xffffffffffffffff"], "past 2^64");
    let svg_in_missing_directory = directory.join("missing").join("picture.svg");
    assert_fails(
        &["--svg", svg_in_missing_directory.to_str().unwrap()],
        "picture.svg",
    );
    std::fs::remove_dir_all(&directory).unwrap();
}
