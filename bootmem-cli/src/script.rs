//! `bootmem script`: the `.bms` script runner, one result line per call.
//!
//! Every file is read and parsed before anything runs; one syntax error in
//! any file stops them all with `error: FILE:LINE: message` and exit status
//! 2. Each file then runs on a fresh allocator.
//!
//! With `--json` each call prints one JSON object on its own line instead
//! of its result line: `{"file", "line", "command", "arguments", "result"}`,
//! where `result` is the line the plain run prints.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub mod interpreter;
pub mod outcome;
pub mod parser;
pub mod storage;

use interpreter::Interpreter;
use parser::parse_script;

/// Arguments of `bootmem script`.
#[derive(clap::Args)]
pub struct ScriptArguments {
    /// Script files; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print one JSON object per call (file, line, command, arguments, result).
    #[arg(long)]
    pub json: bool,
}

/// One call's outcome, as `--json` prints it.
#[derive(serde::Serialize)]
struct CallRecord<'a> {
    file: &'a str,
    line: usize,
    command: &'static str,
    arguments: &'a [u64],
    result: String,
}

fn read(path: &Path) -> io::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
    }
}

/// Runs `bootmem script`.
pub fn run(arguments: &ScriptArguments) -> ExitCode {
    let mut scripts = Vec::new();
    for path in &arguments.files {
        let name = path.display();
        let text = match read(path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("error: {name}: cannot read: {error}");
                return ExitCode::from(2);
            }
        };
        match parse_script(&text) {
            Ok(calls) => scripts.push((name.to_string(), calls)),
            Err(error) => {
                eprintln!("error: {name}:{error}");
                return ExitCode::from(2);
            }
        }
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for (file, calls) in &scripts {
        let mut interpreter = Interpreter::new();
        for call in calls {
            let result = interpreter.execute(call);
            let written = if arguments.json {
                let record = CallRecord {
                    file,
                    line: call.line,
                    command: call.command.name(),
                    arguments: call.arguments(),
                    result: result.to_string(),
                };
                match serde_json::to_string(&record) {
                    Ok(json) => writeln!(out, "{json}"),
                    Err(error) => Err(io::Error::other(error)),
                }
            } else {
                result.write_line(&mut out)
            };
            if written.is_err() {
                return ExitCode::from(1);
            }
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
