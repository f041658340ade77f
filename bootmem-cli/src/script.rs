//! `bootmem script`: the `.bms` script runner (being written).

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `bootmem script`.
#[derive(clap::Args)]
pub struct ScriptArguments {
    /// Script files; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `bootmem script`.
pub fn run(arguments: &ScriptArguments) -> ExitCode {
    eprintln!("error: {} scripts: the runner is not written yet", arguments.files.len());
    ExitCode::from(1)
}
