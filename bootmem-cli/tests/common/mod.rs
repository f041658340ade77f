//! What the command's integration tests share: running the binary and the shared data folder.

#![allow(dead_code)]

use std::process::Command;

/// The real machines' logs beside the checkout.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

/// How one run of the command ended.
pub struct Outcome {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `bootmem SUBCOMMAND ARGUMENTS...`.
pub fn run(subcommand: &str, arguments: &[&str]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .arg(subcommand)
        .args(arguments)
        .output()
        .expect("run bootmem");
    Outcome {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
