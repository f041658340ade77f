//! `bootmem bench`: the JSON report has issue 9's schema, the searches agree, bad sizes are refused.

use std::process::Command;

/// The boot logs of the project's shared data, beside the checkout (or
/// beside the worktrees' folder).
fn logs() -> String {
    let manifest = env!("CARGO_MANIFEST_DIR");
    ["../../shared/data", "../../../shared/data"]
        .iter()
        .map(|relative| format!("{manifest}/{relative}"))
        .find(|path| std::path::Path::new(path).is_dir())
        .expect("the shared data folder with the memblock-trace-*.txt logs")
}

#[test]
fn json_report_has_every_workload_and_column() {
    let output = Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .args([
            "bench",
            "--quick",
            "--json",
            "--gibibytes",
            "8",
            "--logs",
            &logs(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let bits = report["metadata_bits_per_page"].as_f64().unwrap();
    assert!((1.0..1.05).contains(&bits), "{bits} bits per page");
    let rows = report["workloads"].as_array().unwrap();
    let ids: Vec<&str> = rows.iter().map(|row| row["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["W1", "W2", "W3", "W4a", "W4b", "W5"]);
    for row in rows {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 7, "{row}");
        assert!(row["fast_s"].as_f64().unwrap() > 0.0, "{row}");
    }
    // The columns that apply are measured, the others null.
    assert!(rows[1]["reference_s"].is_f64() && rows[1]["bitmap_allocator_s"].is_f64());
    assert!(rows[2]["buddy_s"].is_f64() && rows[2]["bitmap_allocator_s"].is_null());
    assert!(rows[3]["reference_s"].is_null() && rows[5]["buddy_s"].is_null());
}

#[test]
fn table_names_every_target() {
    let output = Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .args([
            "bench",
            "--quick",
            "--gibibytes",
            "4",
            "--only",
            "W3",
            "--only",
            "W5",
        ])
        .args(["--logs", &logs()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let targets = stdout
        .lines()
        .filter(|line| line.starts_with("target "))
        .count();
    assert_eq!(targets, 3, "{stdout}");
}

#[test]
fn bench_refuses_silly_sizes() {
    let output = Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .args(["bench", "--gibibytes", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .starts_with("error:"));
}

/// A script measured both ways: every phase's calls counted, the
/// reference run on every allocation of a small script, the JSON keys.
#[test]
fn a_script_is_measured_on_both_searches() {
    let directory = std::env::temp_dir().join(format!("bench-script-cli-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("small.bms");
    let mut script = String::from(
        "init_bootmem_node 0 0x100 0 0x40000\nfree_bootmem 0 0x40000000\nreserve_bootmem 0 16M 0\n",
    );
    for size in 1..=300 {
        script.push_str(&format!("alloc_bootmem {}\n", size * 13 % 4000 + 8));
    }
    script.push_str("__alloc_bootmem_nopanic 64M 2M 0\nfree_pages\nfree_all_bootmem\n");
    std::fs::write(&path, script).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .args(["bench", "--quick", "--json", "--script"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let row = &report["scripts"][0];
    assert_eq!(row["calls"], 306, "{row}");
    assert_eq!(row["allocations"]["calls"], 301, "{row}");
    assert_eq!(row["allocations"]["sampled_calls"], 301, "{row}");
    assert!(row["allocations"]["sampled_reference_s"].as_f64().unwrap() > 0.0);
    assert_eq!(row["set_up"]["calls"], 3);
    assert_eq!(row["hand_off"]["calls"], 1);
    assert_eq!(row["queries"]["calls"], 1);
    assert_eq!(row["leaf_bitmap_bytes"], 0x40000 / 8);
    assert!(row["limit_read_s"].is_f64() && row["limit_memset_s"].is_f64());
    std::fs::remove_dir_all(&directory).ok();
}

#[test]
fn a_script_that_does_not_parse_stops_the_bench_with_its_line() {
    let directory = std::env::temp_dir().join(format!("bench-script-bad-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("bad.bms");
    std::fs::write(&path, "free_pages\nalloc_bootmem 1 2 3\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .args(["bench", "--script"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("bad.bms:2:"), "{stderr}");
    assert!(output.stdout.is_empty());
    std::fs::remove_dir_all(&directory).ok();
}

/// A reader that goes away before the report is printed ends the
/// command quietly (`SIGPIPE`), not with a panic on standard error.
#[cfg(target_os = "linux")]
#[test]
fn a_closed_pipe_ends_the_bench_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let directory = std::env::temp_dir().join(format!("bench-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("pipe.bms");
    std::fs::write(
        &path,
        "init_bootmem 0x10 0x1000\nfree_bootmem 0 16M\nalloc_bootmem 64\n",
    )
    .unwrap();
    // The reading end is closed before the child starts: dropping it
    // after the spawn raced the child, which on a loaded machine could
    // print its whole report into the pipe first and exit 0.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .args(["bench", "--quick", "--script"])
        .arg(&path)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.signal(), Some(13), "{:?}", output.status);
    std::fs::remove_dir_all(&directory).ok();
}
