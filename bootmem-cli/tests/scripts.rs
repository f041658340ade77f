//! The conformance suite: every `.bms` script in `tests/scripts` against the expectations in its comments.
//!
//! Each command line of a script ends in `#=> EXPECTED`: the exact line the
//! runner must print, or `BUG` for any `BUG: ...` line. Scripts whose name
//! starts with `syntax-` must instead fail to parse: `#=> error LINE` on their
//! first line names the line the error must point at.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scripts_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts")
}

fn run(arguments: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .arg("script")
        .args(arguments)
        .output()
        .expect("the bootmem binary runs")
}

/// The expected output of each command line of a script.
fn expectations(text: &str, path: &Path) -> Vec<(usize, String)> {
    let mut expected = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let command = line.split('#').next().unwrap_or("").trim();
        if command.is_empty() {
            continue;
        }
        let marker = line.find("#=>").unwrap_or_else(|| {
            panic!(
                "{}:{}: command without #=> expectation",
                path.display(),
                index + 1
            )
        });
        expected.push((index + 1, line[marker + 3..].trim().to_owned()));
    }
    expected
}

fn scripts(prefix_is_syntax: bool) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scripts_folder())
        .expect("tests/scripts exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "bms"))
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("syntax-") == prefix_is_syntax
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    paths
}

#[test]
fn every_script_prints_what_its_comments_expect() {
    let mut failures = Vec::new();
    for path in scripts(false) {
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = expectations(&text, &path);
        let output = run(&[&path]);
        assert!(
            output.status.success(),
            "{} exited with {}",
            path.display(),
            output.status
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let actual: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            actual.len(),
            expected.len(),
            "{}: one line per command",
            path.display()
        );
        for ((line, want), got) in expected.iter().zip(&actual) {
            let matches = if want == "BUG" {
                got.starts_with("BUG: ")
            } else {
                got == want
            };
            if !matches {
                failures.push(format!(
                    "{}:{line}: expected {want:?}, got {got:?}",
                    path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn syntax_errors_name_file_and_line_and_run_nothing() {
    for path in scripts(true) {
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap();
        let line: usize = first
            .split("#=> error ")
            .nth(1)
            .and_then(|rest| rest.trim().parse().ok())
            .unwrap_or_else(|| panic!("{}: first line needs '#=> error LINE'", path.display()));
        let output = run(&[&path]);
        assert_eq!(output.status.code(), Some(2), "{}", path.display());
        assert!(
            output.stdout.is_empty(),
            "{}: nothing may run",
            path.display()
        );
        let stderr = String::from_utf8(output.stderr).unwrap();
        let prefix = format!("error: {}:{line}: ", path.display());
        assert!(
            stderr.starts_with(&prefix),
            "{}: stderr {stderr:?} should start with {prefix:?}",
            path.display()
        );
    }
}

#[test]
fn a_syntax_error_in_any_file_stops_them_all() {
    let good = scripts_folder().join("deviation-03-misaligned-teardown.bms");
    let bad = scripts(true).remove(0);
    let output = run(&[&good, &bad]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}

#[test]
fn each_file_starts_from_a_fresh_allocator() {
    let script = scripts_folder().join("deviation-03-misaligned-teardown.bms");
    let output = run(&[&script, &script]);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[..4], lines[4..]);
}

#[test]
fn standard_input_is_named_dash() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .args(["script", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"free_pages\nbogus\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .starts_with("error: -:2: unknown command"));
}
