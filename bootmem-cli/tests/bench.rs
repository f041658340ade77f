//! `bootmem bench` runs, and both searches place every block identically (it fails otherwise).

use std::process::Command;

#[test]
fn bench_runs_and_the_two_searches_agree() {
    let output = Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .args(["bench", "--gibibytes", "2", "--rounds", "1"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.lines().filter(|line| line.ends_with('x')).count(),
        5,
        "{stdout}"
    );
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
