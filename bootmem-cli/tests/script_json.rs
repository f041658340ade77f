//! `bootmem script --json`: one JSON object per call, carrying the same result as the plain run.

mod common;

use std::path::Path;

use serde_json::Value;

#[test]
fn every_conformance_script_prints_one_object_per_call_with_the_plain_result() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts");
    let mut checked = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".bms") || name.starts_with("syntax-") {
            continue;
        }
        let path = path.to_str().unwrap();
        let plain = common::run("script", &[path]);
        let json = common::run("script", &["--json", path]);
        assert!(plain.success && json.success, "{name}: {}", json.stderr);
        let text = std::fs::read_to_string(path).unwrap();
        // The lines holding a call, in order (comments and blanks hold none).
        let call_lines: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.split('#').next().unwrap().trim().is_empty())
            .map(|(index, _)| index + 1)
            .collect();
        let records: Vec<Value> = json
            .stdout
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
            .collect();
        let results: Vec<&str> = plain.stdout.lines().collect();
        assert_eq!(records.len(), results.len(), "{name}");
        assert_eq!(records.len(), call_lines.len(), "{name}");
        for ((record, result), line) in records.iter().zip(&results).zip(&call_lines) {
            assert_eq!(record["result"].as_str(), Some(*result), "{name}: {record}");
            assert_eq!(
                record["line"].as_u64(),
                Some(*line as u64),
                "{name}: {record}"
            );
            assert_eq!(record["file"].as_str(), Some(path), "{name}");
            // The command is the first word of its line, the arguments follow.
            let source = text.lines().nth(line - 1).unwrap();
            let first_word = source.split_whitespace().next().unwrap();
            assert_eq!(record["command"].as_str(), Some(first_word), "{name}");
            assert!(record["arguments"].is_array(), "{name}: {record}");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} scripts found");
}

#[test]
fn a_syntax_error_prints_no_json_at_all() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts");
    let broken = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("syntax-")
        })
        .expect("a syntax- script");
    let outcome = common::run("script", &["--json", broken.to_str().unwrap()]);
    assert!(!outcome.success);
    assert!(outcome.stdout.is_empty(), "{}", outcome.stdout);
    assert!(outcome.stderr.starts_with("error: "), "{}", outcome.stderr);
}
