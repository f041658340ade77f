//! `bootmem soak`: a short run passes clean and says what it checked; bad arguments are refused without a panic.

mod common;

use common::run;

#[test]
fn a_short_soak_passes_clean_and_reports_its_checks() {
    let outcome = run("soak", &["--ops", "5000", "--seed", "7"]);
    assert!(outcome.success, "{}{}", outcome.stdout, outcome.stderr);
    for expected in [
        "soak: 5000 calls, seed 7",
        "allocated",
        "reserve -EBUSY",
        "free BUG",
        "checked after every call",
        "failed calls changed nothing",
        "hand-off:",
        "soak: clean",
    ] {
        assert!(
            outcome.stdout.contains(expected),
            "missing {expected:?} in {}",
            outcome.stdout
        );
    }
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let first = run("soak", &["--ops", "3000", "--seed", "11"]);
    let second = run("soak", &["--ops", "3000", "--seed", "11"]);
    assert!(first.success && second.success);
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn bad_arguments_are_an_error_not_a_panic() {
    for arguments in [
        &["--ops", "-1"][..],
        &["--ops", "many"],
        &["--seed", "18446744073709551616"],
    ] {
        let outcome = run("soak", arguments);
        assert!(!outcome.success);
        assert!(outcome.stderr.contains("error"), "{}", outcome.stderr);
        assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
    }
}
