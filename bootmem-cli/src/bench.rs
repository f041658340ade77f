//! `bootmem bench`: issue 9's workloads, every implementation side by side in one process.
//!
//! W1 replays the allocation requests of real boot logs; W2 allocates on a
//! fragmented TiB; W3 makes a million small allocations; W4a and W4b hand
//! a TiB over; W5 registers a TiB and frees its RAM. Each runs on this
//! crate's summary search and, where it searches, on the bit-by-bit
//! reference (whose placements must be identical, or the bench fails), on
//! the `bitmap-allocator` and `buddy_system_allocator` crates where the
//! workload fits them, and beside the limits: reading the leaf bitmap once
//! and writing it once. Times are the best of `--rounds` runs, the two
//! sides of each target ratio run in turn, round by round.
//!
//! With `--script FILE`, the workloads are scripts instead ([`script`]):
//! each runs on both searches, its calls timed by phase.

mod logs;
pub mod machine;
mod memory;
mod peers;
mod report;
pub mod script;
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;

use machine::Shape;
use report::Report;
use workloads::Scale;

/// Arguments of `bootmem bench`.
#[derive(clap::Args)]
pub struct BenchArguments {
    /// Size of the W2, W4 and W5 machines, in GiB (4 nodes).
    #[arg(long, default_value_t = 1024)]
    pub gibibytes: u64,
    /// Times each measurement runs; the best time counts (default 3, 1 with --quick).
    #[arg(long)]
    pub rounds: Option<u32>,
    /// Fewer rounds and a smaller reference subset: under a minute on 2 cores.
    #[arg(long)]
    pub quick: bool,
    /// Print the JSON report instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Run only these workloads (W1, W2, W3, W4a, W4b, W5; repeatable).
    #[arg(long = "only", value_name = "ID")]
    pub only: Vec<String>,
    /// Directory of the `memblock-trace-*.txt` boot logs for W1 (default:
    /// the first of shared/data, ../shared/data, ../../shared/data).
    #[arg(long)]
    pub logs: Option<PathBuf>,
    /// Measure these `.bms` scripts instead of the six workloads: every
    /// call on the word search, the allocations also on the bit-by-bit
    /// reference (a sample, within --reference-seconds), each phase
    /// timed (repeatable).
    #[arg(long = "script", value_name = "FILE")]
    pub scripts: Vec<PathBuf>,
    /// Seconds a script's reference sample may take a round, about
    /// (default 2, 0.5 with --quick; 0: no reference run). At least ten
    /// calls run, and one call cannot be cut short: a failed search on a
    /// machine of many TiB scans every bit, for minutes.
    #[arg(long, value_name = "SECONDS")]
    pub reference_seconds: Option<f64>,
}

/// Runs `bootmem bench`.
pub fn run(arguments: &BenchArguments) -> ExitCode {
    let rounds = arguments
        .rounds
        .unwrap_or(if arguments.quick { 1 } else { 3 });
    if !(4..=1024).contains(&arguments.gibibytes) || rounds == 0 {
        eprintln!("error: --gibibytes must be 4..=1024 and --rounds at least 1");
        return ExitCode::from(2);
    }
    if !arguments.scripts.is_empty() {
        return run_scripts(arguments, rounds);
    }
    let scale = Scale {
        gibibytes: arguments.gibibytes,
        rounds,
        reference_requests: if arguments.quick { 5 } else { 40 },
        bitmap_allocator_requests: if arguments.quick { 50 } else { 500 },
        log_repeats: if arguments.quick { 20 } else { 200 },
    };
    match measure(arguments, scale) {
        Ok(report) => {
            if arguments.json {
                println!(
                    "{}",
                    serde_json::to_string(&report).expect("plain numbers serialise")
                );
            } else {
                println!(
                    "bootmem bench: W2/W4/W5 on {} GiB in 4 nodes, best of {rounds}",
                    arguments.gibibytes
                );
                report::print_table(&report);
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// `bootmem bench --script`: each script measured, printed as a block or
/// as one JSON list.
fn run_scripts(arguments: &BenchArguments, rounds: u32) -> ExitCode {
    let reference_seconds =
        arguments
            .reference_seconds
            .unwrap_or(if arguments.quick { 0.5 } else { 2.0 });
    if !(reference_seconds.is_finite() && reference_seconds >= 0.0) {
        eprintln!("error: --reference-seconds must be a number of seconds, 0 or more");
        return ExitCode::from(2);
    }
    let scale = script::ScriptScale {
        rounds,
        reference_seconds,
    };
    let mut rows = Vec::new();
    for path in &arguments.scripts {
        match script::measure_file(path, scale) {
            Ok(row) => rows.push(row),
            Err(failure) => {
                eprintln!("error: {failure}");
                let status = match failure {
                    script::Failure::Input(_) => 2,
                    script::Failure::Disagreement(_) => 1,
                };
                return ExitCode::from(status);
            }
        }
    }
    if arguments.json {
        let report = serde_json::json!({ "rounds": rounds, "scripts": rows });
        println!("{report}");
    } else {
        println!("bootmem bench --script: best of {rounds}");
        for row in &rows {
            script::print(row);
        }
    }
    ExitCode::SUCCESS
}

/// One workload's measurement.
type Workload<'a> = dyn Fn() -> Result<report::Row, String> + 'a;

fn measure(arguments: &BenchArguments, scale: Scale) -> Result<Report, String> {
    let directory = logs::log_directory(arguments.logs.as_deref())
        .ok_or("no boot log directory found: give --logs DIR (the memblock-trace-*.txt logs)")?;
    let boot_logs = logs::read_logs(&directory)?;
    let shape = Shape::new(scale.gibibytes, 4);
    let mut workloads = Vec::new();
    let started = std::time::Instant::now();
    let steps: [(&str, &Workload); 6] = [
        ("W1", &|| workloads::w1(&boot_logs, scale)),
        ("W2", &|| workloads::w2(scale)),
        ("W3", &|| workloads::w3(scale)),
        ("W4a", &|| workloads::w4a(scale)),
        ("W4b", &|| workloads::w4b(scale)),
        ("W5", &|| workloads::w5(scale)),
    ];
    for (id, step) in steps {
        if !arguments.only.is_empty() && !arguments.only.iter().any(|only| only == id) {
            continue;
        }
        workloads.push(step()?);
        eprintln!("{id} done at {:.1?}", started.elapsed());
    }
    Ok(Report {
        metadata_bits_per_page: (shape.storage_words() * 64) as f64 / shape.pages() as f64,
        workloads,
    })
}
