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
