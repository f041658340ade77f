//! `bootmem map`: read a firmware memory map and print it normalised (being written).

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `bootmem map`.
#[derive(clap::Args)]
pub struct MapArguments {
    /// The memory map to read.
    pub file: PathBuf,
}

/// Runs `bootmem map`.
pub fn run(arguments: &MapArguments) -> ExitCode {
    eprintln!("error: {}: bootmem map is not written yet", arguments.file.display());
    ExitCode::from(1)
}
