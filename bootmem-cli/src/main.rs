//! The `bootmem` command: argument parsing and dispatch to one module per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bootmem_cli::{bench, boot, map, pipe, replay, script, soak};

/// Linux's boot-time memory allocator, run on scripts and real machines' memory maps.
#[derive(Parser)]
#[command(name = "bootmem", version, about)]
struct Command {
    #[command(subcommand)]
    subcommand: Action,
}

#[derive(Subcommand)]
#[allow(clippy::enum_variant_names)]
enum Action {
    /// Run `.bms` scripts of Linux-named bootmem calls, one result line per call.
    Script(script::ScriptArguments),
    /// Read a firmware memory map (dmesg, /proc/iomem, device tree, TOML) and print it normalised.
    Map(map::MapArguments),
    /// Simulate an architecture's v4.19 early allocations on a memory map: report, JSON, SVG picture, interactive HTML page.
    Boot(boot::BootArguments),
    /// Replay a real memblock=debug boot log: the machine's placements beside memblock's model and bootmem's.
    Replay(replay::ReplayArguments),
    /// Measure the word-at-a-time search against Linux's bit-by-bit scan, side by side.
    Bench(bench::BenchArguments),
    /// Drive millions of random calls over several nodes with every invariant checked after each.
    Soak(soak::SoakArguments),
}

fn main() -> ExitCode {
    pipe::end_quietly_on_closed_pipe();
    let command = Command::parse();
    match command.subcommand {
        Action::Script(arguments) => script::run(&arguments),
        Action::Map(arguments) => map::run(&arguments),
        Action::Boot(arguments) => boot::run(&arguments),
        Action::Replay(arguments) => replay::run(&arguments),
        Action::Bench(arguments) => bench::run(&arguments),
        Action::Soak(arguments) => soak::run(&arguments),
    }
}
