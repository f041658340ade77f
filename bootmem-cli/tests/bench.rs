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
