//! Integration tests of `bootmem replay`: the shared real traces, hand-made old and new logs, bad logs.

mod common;

use common::{Outcome, SHARED};

use std::path::Path;

use serde_json::Value;

const OURS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/replay");

fn bootmem(arguments: &[&str]) -> Outcome {
    common::run("replay", arguments)
}

fn json(path: &Path) -> Value {
    json_with(path, "both")
}

fn json_with(path: &Path, policy: &str) -> Value {
    let path = path.to_str().unwrap();
    let outcome = bootmem(&["--json", "--policy", policy, path]);
    assert!(outcome.success, "{path}: {}", outcome.stderr);
    serde_json::from_str(&outcome.stdout).expect("one JSON object")
}

fn number(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {value}"))
}

/// A figure of bootmem's section.
fn bootmem_figure(value: &Value, key: &str) -> u64 {
    number(&value["bootmem"], key)
}

/// The `(alloc_requests, satisfied)` a shared trace's header states.
fn header_counts(path: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|line| line.starts_with("# alloc_requests:"))
        .expect("alloc_requests header");
    let requests = line["# alloc_requests:".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let satisfied = line
        .split("satisfied ")
        .nth(1)
        .and_then(|rest| rest.trim_end_matches(')').parse().ok())
        .expect("satisfied count");
    (requests, satisfied)
}

/// The bytes of every request line, summed independently of the replayer.
fn requested_bytes(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let message = &line[line.find("memblock_")?..];
            let (function, rest) = message.split_once(": ")?;
            let is_request = [
                "memblock_alloc",
                "memblock_virt_alloc",
                "memblock_phys_alloc",
            ]
            .iter()
            .any(|prefix| function.starts_with(prefix));
            let (size, unit) = rest.split_once(' ')?;
            (is_request && unit.starts_with("bytes")).then(|| size.parse::<u64>().unwrap())
        })
        .sum()
}

#[test]
fn shared_traces_match_their_headers() {
    for name in [
        "memblock-trace-x86_64-qemu-virtme-2node.txt",
        "memblock-trace-riscv64-board-1g.txt",
    ] {
        let path = Path::new(SHARED).join(name);
        let (requests, machine_satisfied) = header_counts(&path);
        let value = json(&path);
        assert_eq!(number(&value, "requests"), requests, "{name}");
        assert_eq!(number(&value, "log_satisfied"), machine_satisfied, "{name}");
        let (satisfied, failed) = (
            bootmem_figure(&value, "satisfied"),
            bootmem_figure(&value, "failed"),
        );
        assert_eq!(satisfied + failed, requests, "{name}");
        // Both machines had memory to spare: bootmem satisfies what they did.
        assert_eq!(satisfied, machine_satisfied, "{name}");
        assert_eq!(
            number(&value, "bytes_requested"),
            requested_bytes(&path),
            "{name}"
        );
        // Every block takes at least the pages its bytes need, minus sharing:
        // never fewer than the total in whole pages rounded down, never
        // more than one page per request beyond that.
        let pages = bootmem_figure(&value, "pages_used");
        let bytes = number(&value, "bytes_requested");
        assert!(
            pages >= bytes / 4096,
            "{name}: {pages} pages for {bytes} bytes"
        );
        assert!(
            pages <= bytes.div_ceil(4096) + requests,
            "{name}: {pages} pages"
        );
        assert_eq!(bootmem_figure(&value, "bytes_used"), pages * 4096);
        assert_eq!(
            value["placements"].as_array().unwrap().len() as u64,
            requests
        );
    }
}

#[test]
fn x86_trace_node_requests_stay_local() {
    // The x86 guest's log names node 0 or 1 in 9 requests (nid=0 / nid=1),
    // each of which fits easily in its own 2 GiB node.
    let path = Path::new(SHARED).join("memblock-trace-x86_64-qemu-virtme-2node.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let named = text
        .lines()
        .filter(|line| {
            line.contains(" bytes align=") && !line.contains("nid=-1") && line.contains("nid=")
        })
        .count() as u64;
    assert_eq!(named, 9);
    assert_eq!(bootmem_figure(&json(&path), "node_local"), named);
}

#[test]
fn old_kernel_log_with_default_alignment_unsatisfied_request_and_zero_length_free() {
    let value = json(&Path::new(OURS).join("old-kernel.txt"));
    // Three memblock_virt_alloc* lines; the 1 GiB one cannot fit in 64 MiB
    // and the machine did not satisfy it either (the reservation after it
    // is 4 KiB, not an echo).
    assert_eq!(number(&value, "requests"), 3);
    assert_eq!(bootmem_figure(&value, "satisfied"), 2);
    assert_eq!(bootmem_figure(&value, "failed"), 1);
    assert_eq!(bootmem_figure(&value, "node_local"), 1);
    assert_eq!(number(&value, "bytes_requested"), 100 + 4096 + (1 << 30));
    // 100 bytes (align=0x0, so 64) and one page-aligned page: two pages.
    assert_eq!(bootmem_figure(&value, "pages_used"), 2);
    // The 100 bytes go to the goal, 0x1800000, the first free byte past the
    // kernel, as in the log; the page memblock put at the top of memory is
    // placed from the bottom by bootmem; the 1 GiB request has no logged
    // placement to compare.
    assert_eq!(bootmem_figure(&value, "placements_compared"), 2);
    assert_eq!(bootmem_figure(&value, "placements_identical"), 1);
    let report = bootmem(&[Path::new(OURS).join("old-kernel.txt").to_str().unwrap()]);
    assert!(report.success);
    assert!(
        report.stdout.contains("2 reservations"),
        "{}",
        report.stdout
    );
    assert!(
        report.stdout.contains("1 zero-length ranges"),
        "{}",
        report.stdout
    );
}

#[test]
fn new_kernel_log_with_nodes_from_memblock_add_node() {
    let path = Path::new(OURS).join("two-nodes.txt");
    let value = json(&path);
    assert_eq!(number(&value, "requests"), 3);
    assert_eq!(bootmem_figure(&value, "satisfied"), 3);
    assert_eq!(bootmem_figure(&value, "failed"), 0);
    // nid=1 on node 1, exact nid=0 on node 0.
    assert_eq!(bootmem_figure(&value, "node_local"), 2);
    assert_eq!(number(&value, "bytes_requested"), 8192 + 4096 + 4096);
    assert_eq!(bootmem_figure(&value, "pages_used"), 4);
    let report = bootmem(&[path.to_str().unwrap()]);
    assert!(
        report
            .stdout
            .contains("1 reservations, 1 frees (0 skipped)"),
        "{}",
        report.stdout
    );
}

#[test]
fn malformed_lines_are_located_errors() {
    for (name, line, words) in [
        ("malformed-reserve.txt", 2, "ends before it starts"),
        ("malformed-request.txt", 3, "missing from="),
    ] {
        let path = Path::new(OURS).join(name);
        let path = path.to_str().unwrap();
        let outcome = bootmem(&[path]);
        assert!(!outcome.success, "{name}");
        assert!(
            outcome
                .stderr
                .starts_with(&format!("error: {path}:{line}: ")),
            "{name}: {}",
            outcome.stderr
        );
        assert!(outcome.stderr.contains(words), "{name}: {}", outcome.stderr);
        assert!(!outcome.stderr.contains("panicked"), "{name}");
        assert!(outcome.stdout.is_empty());
    }
}

#[test]
fn a_log_without_memory_is_an_error() {
    let path = Path::new(OURS).join("no-map.txt");
    let outcome = bootmem(&[path.to_str().unwrap()]);
    assert!(!outcome.success);
    assert!(outcome.stderr.starts_with("error: "), "{}", outcome.stderr);
    let missing = bootmem(&["/nonexistent/boot.log"]);
    assert!(!missing.success);
    assert!(missing.stderr.contains("cannot read"), "{}", missing.stderr);
}

/// The memblock model's `(placements_compared, placements_identical)`.
fn memblock_agreement(value: &Value) -> (u64, u64) {
    let memblock = &value["memblock"];
    (
        number(memblock, "placements_compared"),
        number(memblock, "placements_identical"),
    )
}

#[test]
fn the_memblock_model_reproduces_the_shared_traces() {
    for name in [
        "memblock-trace-x86_64-qemu-virtme-2node.txt",
        "memblock-trace-riscv64-board-1g.txt",
    ] {
        let path = Path::new(SHARED).join(name);
        let value = json_with(&path, "memblock");
        let (compared, identical) = memblock_agreement(&value);
        let (_, machine_satisfied) = header_counts(&path);
        assert_eq!(compared, machine_satisfied, "{name}");
        // The target: at least 90 % of the placements exactly.
        assert!(
            identical * 10 >= compared * 9,
            "{name}: {identical} of {compared}"
        );
        let mismatches = value["memblock"]["mismatches"].as_array().unwrap();
        assert_eq!(mismatches.len() as u64, compared - identical, "{name}");
        // Also on its own placements, the log's used only for what it
        // reveals: no drift.
        let free_running = number(&value["memblock"], "placements_identical_free_running");
        assert!(
            free_running * 10 >= compared * 9,
            "{name}: {free_running} of {compared}"
        );
        // Each row carries the log's and the model's address side by side.
        for row in value["placements"].as_array().unwrap() {
            assert!(row["log"].is_u64(), "{name}: {row}");
            let same = row["memblock"] == row["log"];
            assert_eq!(same, row.get("memblock_miss").is_none(), "{name}: {row}");
        }
        assert!(
            value.get("bootmem").is_none(),
            "{name}: bootmem did not run"
        );
    }
}

#[test]
fn an_old_32_bit_log_behind_syslog_prefixes_reveals_its_current_limit() {
    let path = Path::new(OURS).join("linux-3.16-x86-pae-syslog.txt");
    let value = json(&path);
    assert_eq!(number(&value, "requests"), 6);
    assert_eq!(number(&value, "zero_length"), 1);
    // memblock_virt_alloc_* with align=0, %#016llx ranges with "flags 0x0",
    // no memblock_add line and no dump: memory from the e820 map. The
    // first request shows the 32-bit lowmem limit; every later one follows.
    assert_eq!(memblock_agreement(&value), (6, 5));
    let inferred = value["memblock"]["inferred"].as_array().unwrap();
    assert_eq!(inferred.len(), 1, "{inferred:?}");
    assert_eq!(inferred[0]["parameter"], "current_limit");
    assert_eq!(inferred[0]["value"], "0x377fc000");
    assert_eq!(inferred[0]["line"], 17);
    let mismatch = &value["memblock"]["mismatches"][0];
    assert_eq!(mismatch["line"], 17);
    assert!(
        mismatch["reason"]
            .as_str()
            .unwrap()
            .contains("current limit was lower"),
        "{mismatch}"
    );
    let notes = value["memblock"]["notes"].to_string();
    assert!(notes.contains("firmware map"), "{notes}");
}

#[test]
fn an_arm64_numa_log_places_node_requests_on_their_nodes_and_shows_unprinted_nomap() {
    let path = Path::new(OURS).join("linux-5.15-arm64-numa-efi.txt");
    let value = json(&path);
    assert_eq!(number(&value, "requests"), 15);
    assert_eq!(number(&value, "node_requests"), 10);
    assert_eq!(number(&value, "memory_changes"), 3);
    // Only the first request misses: EFI marked the top 4 MiB NOMAP without
    // a debug line, which the model learns as a lower ceiling, and the dump
    // later confirms (flags: 0x4).
    assert_eq!(memblock_agreement(&value), (15, 14));
    let mismatch = &value["memblock"]["mismatches"][0];
    assert_eq!(mismatch["line"], 18);
    assert!(mismatch["reason"].as_str().unwrap().contains("NOMAP"));
    // exact_nid requests land on their own node in the log and the model.
    for row in value["placements"].as_array().unwrap() {
        if row["function"] == "memblock_alloc_exact_nid_raw" {
            let address = row["log"].as_u64().unwrap();
            let node_of = if address < 0x8000_0000 { 0 } else { 1 };
            assert_eq!(row["node"].as_i64(), Some(node_of), "{row}");
            assert_eq!(row["memblock"], row["log"], "{row}");
        }
    }
}

#[test]
fn a_riscv_log_without_timestamps_in_the_newest_format() {
    let path = Path::new(OURS).join("linux-6.17-riscv64-virt-no-timestamps.txt");
    let value = json(&path);
    // __memblock_reserve with nid= and flags=, memblock_phys_free, a dump
    // with nodes and flags, memory known only from that dump, and a last
    // request below all memory that neither the machine nor the model
    // satisfies.
    assert_eq!(number(&value, "requests"), 15);
    assert_eq!(number(&value, "log_satisfied"), 14);
    assert_eq!(memblock_agreement(&value), (14, 14));
    assert_eq!(number(&value["memblock"], "failed"), 1);
    let last = value["placements"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["log"].is_null() && last["memblock"].is_null(),
        "{last}"
    );
    let notes = value["memblock"]["notes"].to_string();
    assert!(notes.contains("dump at line 37"), "{notes}");
}

#[test]
fn logs_without_a_trace_say_so() {
    for (name, words) in [
        ("no-trace.txt", "no memblock=debug trace"),
        (
            "reservations-only.txt",
            "no memblock=debug allocation requests",
        ),
    ] {
        let path = Path::new(OURS).join(name);
        for policy in ["memblock", "bootmem", "both"] {
            let outcome = bootmem(&["--policy", policy, path.to_str().unwrap()]);
            assert!(!outcome.success, "{name}");
            assert!(outcome.stderr.contains(words), "{name}: {}", outcome.stderr);
            assert!(outcome.stdout.is_empty(), "{name}: {}", outcome.stdout);
        }
    }
}

#[test]
fn policies_choose_the_sections_and_bootmem_is_the_default() {
    let path = Path::new(OURS).join("two-nodes.txt");
    let path = path.to_str().unwrap();
    let default = bootmem(&["--json", path]);
    let value: Value = serde_json::from_str(&default.stdout).unwrap();
    assert!(value.get("bootmem").is_some() && value.get("memblock").is_none());
    let value = json_with(Path::new(path), "memblock");
    assert!(value.get("memblock").is_some() && value.get("bootmem").is_none());
    // The memblock model needs no memory map: a log whose memory bootmem
    // cannot set up still runs under --policy memblock.
    let no_map = Path::new(OURS).join("no-map.txt");
    let value = json_with(&no_map, "memblock");
    assert_eq!(memblock_agreement(&value), (0, 0));
    // With both, bootmem's failure is reported beside the model's results.
    let value = json_with(&no_map, "both");
    assert!(value.get("bootmem").is_none());
    let problem = value["bootmem_error"].as_str().unwrap();
    assert!(problem.contains("no memory map"), "{problem}");
    // One key for a node everywhere, and both policies side by side.
    let both = bootmem(&["--json", "--policy", "both", path]);
    assert!(!both.stdout.contains("\"nid\""), "{}", both.stdout);
    let value: Value = serde_json::from_str(&both.stdout).unwrap();
    for row in value["placements"].as_array().unwrap() {
        assert!(row["node"].is_i64(), "{row}");
        assert!(row.get("memblock").is_some() && row.get("bootmem").is_some());
    }
}

#[test]
fn the_text_report_lists_every_request_and_every_figure_of_the_json() {
    let path = Path::new(SHARED).join("memblock-trace-riscv64-board-1g.txt");
    let path = path.to_str().unwrap();
    let report = bootmem(&["--policy", "both", path]);
    assert!(report.success, "{}", report.stderr);
    let value: Value =
        serde_json::from_str(&bootmem(&["--json", "--policy", "both", path]).stdout).unwrap();
    for row in value["placements"].as_array().unwrap() {
        let log = format!("{:#x}", row["log"].as_u64().unwrap());
        let line = row["line"].as_u64().unwrap().to_string();
        assert!(
            report
                .stdout
                .lines()
                .any(|text| text.trim_start().starts_with(&line) && text.contains(&log)),
            "line {line} ({log}) missing:\n{}",
            report.stdout
        );
    }
    // Every number of the JSON's summary figures appears in the text
    // (timings differ from run to run: their labels must be there).
    assert!(report.stdout.contains("ns per call on average"));
    for section in [&value, &value["memblock"], &value["bootmem"]] {
        for (key, figure) in section.as_object().unwrap() {
            if key.ends_with("nanoseconds") {
                continue;
            }
            if let Some(figure) = figure.as_u64() {
                assert!(
                    report.stdout.contains(&figure.to_string()),
                    "{key} = {figure} not in the text report"
                );
            }
        }
    }
}

#[test]
fn a_loongarch_log_switching_to_bottom_up_and_back() {
    let path = Path::new(OURS).join("linux-6.1-loongarch64-bottom-up.txt");
    let value = json_with(&path, "memblock");
    // Three switches (bottom-up, top-down for sparse_init, bottom-up again),
    // each costing the one request that reveals it.
    assert_eq!(memblock_agreement(&value), (8, 5));
    let inferred: Vec<(u64, String)> = value["memblock"]["inferred"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["line"].as_u64().unwrap(),
                entry["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        inferred,
        [
            (7, "bottom-up".to_string()),
            (15, "top-down".to_string()),
            (19, "bottom-up".to_string()),
        ]
    );
    // After a free, bottom-up reuses the lowest hole.
    let last = value["placements"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["memblock"], last["log"], "{last}");
}

#[test]
fn only_the_first_boot_of_a_log_is_replayed() {
    let value = json(&Path::new(OURS).join("two-boots.txt"));
    assert_eq!(number(&value, "requests"), 1);
    assert_eq!(memblock_agreement(&value), (1, 1));
}

#[test]
fn reservations_made_before_the_trace_come_from_the_first_dump() {
    // The top page was reserved before memblock=debug took effect: only
    // the dump shows it. Without it the first request would go there.
    let value = json_with(
        &Path::new(OURS).join("reserved-before-the-trace.txt"),
        "memblock",
    );
    assert_eq!(memblock_agreement(&value), (2, 2));
    let notes = value["memblock"]["notes"].to_string();
    assert!(notes.contains("reserved before the trace"), "{notes}");
    assert!(notes.contains("[0x3ffff000-0x3fffffff]"), "{notes}");
}

#[test]
fn a_bottom_up_block_past_a_16k_first_page_reveals_the_page_size() {
    let value = json_with(
        &Path::new(OURS).join("page-size-16k-bottom-up.txt"),
        "memblock",
    );
    assert_eq!(memblock_agreement(&value), (2, 1));
    let inferred = value["memblock"]["inferred"].to_string();
    assert!(inferred.contains("\"page_size\""), "{inferred}");
    assert!(inferred.contains("\"16384\""), "{inferred}");
    assert!(inferred.contains("\"bottom-up\""), "{inferred}");
}

#[test]
fn a_real_armv7m_log_of_linux_3_15_reveals_its_cache_line() {
    // A real boot log posted to linux-mm in 2014: memblock_virt_alloc_*
    // with align=0 everywhere, one dump, no memblock_add line.
    let value = json_with(
        &Path::new(OURS).join("linux-3.15-armv7m-efm32-lkml.txt"),
        "memblock",
    );
    assert_eq!(memblock_agreement(&value), (29, 28));
    let inferred = &value["memblock"]["inferred"][0];
    assert_eq!(inferred["parameter"], "smp_cache_bytes");
    assert_eq!(inferred["value"], "32");
    // from=0xffffffff is above all memory: memblock drops it and so does
    // the model.
    let per_cpu = value["placements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["from"] == 0xffff_ffff_u64)
        .unwrap()
        .clone();
    assert_eq!(per_cpu["memblock"], per_cpu["log"], "{per_cpu}");
}

#[test]
fn a_real_x86_log_of_linux_5_10_is_reproduced() {
    // The memblock=debug lines a QEMU guest printed, posted to
    // linux-kernel in 2020: sparse, per-cpu with partial frees, hashes.
    let value = json_with(
        &Path::new(OURS).join("linux-5.10-x86_64-qemu-lkml.txt"),
        "memblock",
    );
    let (compared, identical) = memblock_agreement(&value);
    assert_eq!(compared, 47);
    assert!(identical * 10 >= compared * 9, "{identical} of {compared}");
}

#[test]
fn a_real_mips_log_wrapped_by_a_mail_is_read_and_reproduced() {
    // A real Linux 5.11 MIPS log pasted into a mail: every long line is
    // wrapped, the dump's lines too; MIPS allocates bottom-up.
    let path = Path::new(OURS).join("linux-5.11-mips-bmips-wrapped-lkml.txt");
    let value = json_with(&path, "memblock");
    assert_eq!(number(&value, "requests"), 28);
    assert_eq!(number(&value, "dumps"), 1);
    assert_eq!(number(&value, "zero_length"), 5);
    assert_eq!(memblock_agreement(&value), (28, 27));
    assert_eq!(value["memblock"]["inferred"][0]["value"], "bottom-up");
    // A wrapped request keeps the number of the line it starts on.
    assert_eq!(value["placements"][0]["line"], 23);
    assert_eq!(
        value["placements"][0]["caller"],
        "early_init_dt_alloc_memory_arch+0x40/0x84"
    );
}
