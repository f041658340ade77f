//! The replay's report: every request with the log's, the memblock model's and bootmem's address; totals; mismatches.
//!
//! The same [`Report`] prints as text ([`Report::write_text`]) and as JSON
//! (serde): every figure of the text is in the JSON, nodes under `"node"`.

use std::io::{self, Write};

use super::bootmem_policy::{BootmemFigures, BootmemRun};
use super::events::{Event, Trace};
use super::memblock_policy::{Inference, MemblockRun, Miss};

/// One request: what the log asked and got, and each policy's placement.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RequestRow {
    /// The request's log line.
    pub line: usize,
    /// The function printed.
    pub function: String,
    /// Bytes.
    pub size: u64,
    /// `align=` as printed.
    pub align: u64,
    /// `nid=` (-1: any node; also -1 where the function prints none).
    pub node: i64,
    /// `from=`.
    pub from: u64,
    /// `max_addr=`.
    pub max_addr: u64,
    /// The calling function as printed, if any.
    pub caller: Option<String>,
    /// Where memblock put it (`null`: the log shows no placement).
    pub log: Option<u64>,
    /// Where the memblock model puts it (absent when that policy did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memblock: Option<Option<u64>>,
    /// Where bootmem puts it (absent when that policy did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootmem: Option<Option<u64>>,
    /// Why the memblock model differs from the log, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memblock_miss: Option<Miss>,
}

/// Placements compared with the log and found identical.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Agreement {
    /// Requests whose placement the log shows.
    pub placements_compared: u64,
    /// Of those, placed at the same address.
    pub placements_identical: u64,
    /// Requests the policy satisfied.
    pub satisfied: u64,
    /// Requests the policy could not satisfy.
    pub failed: u64,
}

impl Agreement {
    fn of<'a>(rows: impl Iterator<Item = (Option<u64>, Option<u64>)> + 'a) -> Self {
        let mut agreement = Self::default();
        for (log, placed) in rows {
            agreement.satisfied += u64::from(placed.is_some());
            agreement.failed += u64::from(placed.is_none());
            if log.is_some() {
                agreement.placements_compared += 1;
                agreement.placements_identical += u64::from(placed == log);
            }
        }
        agreement
    }

    /// The identical share, in percent.
    pub fn percent(&self) -> f64 {
        if self.placements_compared == 0 {
            return 0.0;
        }
        100.0 * self.placements_identical as f64 / self.placements_compared as f64
    }
}

/// The memblock model's part of the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MemblockSection {
    /// Placements compared and identical.
    #[serde(flatten)]
    pub agreement: Agreement,
    /// Placements identical when the model runs free on its own earlier
    /// placements instead of the log's.
    pub placements_identical_free_running: u64,
    /// Where the model's starting state came from.
    pub notes: Vec<String>,
    /// Parameters the log revealed.
    pub inferred: Vec<Inference>,
    /// Requests the model placed otherwise than the log: line, what, why.
    pub mismatches: Vec<Mismatch>,
}

/// One request the memblock model placed otherwise than the log.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Mismatch {
    /// The request's log line.
    pub line: usize,
    /// The function printed.
    pub function: String,
    /// Bytes.
    pub size: u64,
    /// What differs and why.
    #[serde(flatten)]
    pub miss: Miss,
}

/// bootmem's part of the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BootmemSection {
    /// Placements compared and identical.
    #[serde(flatten)]
    pub agreement: Agreement,
    /// The replay's figures.
    #[serde(flatten)]
    pub figures: BootmemFigures,
}

/// What the log itself holds.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct LogFigures {
    /// Allocation request lines.
    pub requests: u64,
    /// Requests the log shows satisfied (a reservation echoes them).
    pub log_satisfied: u64,
    /// Requests naming a node (`nid=` 0 or more).
    pub node_requests: u64,
    /// Bytes asked for by all requests.
    pub bytes_requested: u64,
    /// Reservations no request echoes.
    pub reservations: u64,
    /// Frees.
    pub frees: u64,
    /// Additions and removals of memory.
    pub memory_changes: u64,
    /// `MEMBLOCK configuration:` dumps.
    pub dumps: u64,
    /// Reservations and frees of zero bytes (`[A-(A-1)]`).
    pub zero_length: u64,
}

impl LogFigures {
    fn of(trace: &Trace) -> Self {
        let mut figures = Self::default();
        for event in &trace.events {
            match event {
                Event::Request(request) => {
                    figures.requests += 1;
                    figures.log_satisfied += u64::from(request.logged.is_some());
                    figures.node_requests += u64::from(request.request.node >= 0);
                    figures.bytes_requested =
                        figures.bytes_requested.saturating_add(request.request.size);
                }
                Event::Reserve { span, .. } => {
                    figures.reservations += 1;
                    figures.zero_length += u64::from(span.is_empty());
                }
                Event::Free { span, .. } => {
                    figures.frees += 1;
                    figures.zero_length += u64::from(span.is_empty());
                }
                Event::Add { .. } | Event::Remove { .. } => figures.memory_changes += 1,
                Event::Dump(_) => figures.dumps += 1,
            }
        }
        figures
    }
}

/// The whole report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The log's name.
    pub file: String,
    /// What the log holds.
    #[serde(flatten)]
    pub log: LogFigures,
    /// The memblock model's results (absent when it did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memblock: Option<MemblockSection>,
    /// bootmem's results (absent when it did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootmem: Option<BootmemSection>,
    /// Why bootmem could not run beside the memblock model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootmem_error: Option<String>,
    /// Every request, in log order.
    #[serde(rename = "placements")]
    pub rows: Vec<RequestRow>,
}

impl Report {
    /// Puts the trace and the policies' runs together.
    pub fn new(
        file: &str,
        trace: &Trace,
        memblock: Option<MemblockRun>,
        bootmem: Option<BootmemRun>,
    ) -> Self {
        let mut rows: Vec<RequestRow> = trace
            .requests()
            .map(|event| RequestRow {
                line: event.line,
                function: event.request.function.clone(),
                size: event.request.size,
                align: event.request.align,
                node: event.request.node,
                from: event.request.minimum,
                max_addr: event.request.maximum,
                caller: event.request.caller.clone(),
                log: event.logged,
                memblock: None,
                bootmem: None,
                memblock_miss: None,
            })
            .collect();
        let memblock = memblock.map(|run| {
            for (row, placement) in rows.iter_mut().zip(&run.placements) {
                row.memblock = Some(placement.address);
                row.memblock_miss.clone_from(&placement.miss);
            }
            MemblockSection {
                agreement: Agreement::of(rows.iter().map(|row| (row.log, row.memblock.flatten()))),
                placements_identical_free_running: run.free_running_identical,
                notes: run.notes,
                inferred: run.inferences,
                mismatches: rows
                    .iter()
                    .filter_map(|row| {
                        Some(Mismatch {
                            line: row.line,
                            function: row.function.clone(),
                            size: row.size,
                            miss: row.memblock_miss.clone()?,
                        })
                    })
                    .collect(),
            }
        });
        let bootmem = bootmem.map(|run| {
            for (row, placement) in rows.iter_mut().zip(&run.placements) {
                row.bootmem = Some(*placement);
            }
            BootmemSection {
                agreement: Agreement::of(rows.iter().map(|row| (row.log, row.bootmem.flatten()))),
                figures: run.figures,
            }
        });
        Self {
            file: file.to_string(),
            log: LogFigures::of(trace),
            memblock,
            bootmem,
            bootmem_error: None,
            rows,
        }
    }

    /// Prints the report as text.
    ///
    /// # Errors
    ///
    /// The writer's.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        let log = &self.log;
        writeln!(
            out,
            "{}: {} allocation requests in the memblock=debug trace ({} satisfied by the machine, {} naming a node, {} bytes)",
            self.file, log.requests, log.log_satisfied, log.node_requests, log.bytes_requested
        )?;
        writeln!(
            out,
            "also in the log:  {} reservations, {} frees, {} memory additions/removals, {} dumps, {} zero-length ranges",
            log.reservations, log.frees, log.memory_changes, log.dumps, log.zero_length
        )?;
        if log.requests > 0 && log.log_satisfied == 0 {
            writeln!(
                out,
                "note:             no reservation line echoes any request, so the log shows no \
                 placement to compare with"
            )?;
        }
        for (name, agreement) in self.agreements() {
            writeln!(
                out,
                "{name:<16}  {} of {} placements identical to the log ({:.1}%); {} satisfied, {} failed",
                agreement.placements_identical,
                agreement.placements_compared,
                agreement.percent(),
                agreement.satisfied,
                agreement.failed
            )?;
        }
        writeln!(out)?;
        self.write_table(out)?;
        if let Some(memblock) = &self.memblock {
            write_memblock(out, memblock)?;
        }
        if let Some(bootmem) = &self.bootmem {
            write_bootmem(out, &bootmem.figures)?;
        }
        if let Some(problem) = &self.bootmem_error {
            writeln!(out)?;
            writeln!(out, "bootmem: not run: {problem}")?;
        }
        Ok(())
    }

    fn agreements(&self) -> Vec<(&'static str, Agreement)> {
        let mut list = Vec::new();
        if let Some(memblock) = &self.memblock {
            list.push(("memblock model:", memblock.agreement));
        }
        if let Some(bootmem) = &self.bootmem {
            list.push(("bootmem:", bootmem.agreement));
        }
        list
    }

    fn write_table(&self, out: &mut impl Write) -> io::Result<()> {
        let mut heading = format!(
            "{:>6}  {:<36} {:>10} {:>8} {:>4}  {:<20}",
            "line", "request", "bytes", "align", "node", "log"
        );
        if self.memblock.is_some() {
            heading.push_str(&format!("  {:<22}", "memblock model"));
        }
        if self.bootmem.is_some() {
            heading.push_str(&format!("  {:<22}", "bootmem"));
        }
        writeln!(out, "{}", heading.trim_end())?;
        for row in &self.rows {
            let mut text = format!(
                "{:>6}  {:<36} {:>10} {:>8} {:>4}  {:<20}",
                row.line,
                row.function,
                row.size,
                format!("{:#x}", row.align),
                if row.node < 0 {
                    "-".to_string()
                } else {
                    row.node.to_string()
                },
                address(row.log)
            );
            for placed in [row.memblock, row.bootmem].into_iter().flatten() {
                let mark = match (row.log, placed) {
                    (Some(log), Some(placed)) if log == placed => " =",
                    (Some(_), _) => " !",
                    _ => "",
                };
                text.push_str(&format!("  {:<22}", format!("{}{mark}", address(placed))));
            }
            writeln!(out, "{}", text.trim_end())?;
        }
        writeln!(
            out,
            "(= the same address as the log, ! another one, - none)"
        )
    }
}

fn address(address: Option<u64>) -> String {
    address.map_or("-".to_string(), |address| format!("{address:#x}"))
}

fn write_memblock(out: &mut impl Write, memblock: &MemblockSection) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "memblock model: running free on its own placements (no dump adopted after the start): {} of {} identical",
        memblock.placements_identical_free_running, memblock.agreement.placements_compared
    )?;
    writeln!(out, "memblock model: starting state")?;
    if memblock.notes.is_empty() {
        writeln!(
            out,
            "  memory and reservations as the log's own lines give them"
        )?;
    }
    for note in &memblock.notes {
        writeln!(out, "  {note}")?;
    }
    writeln!(
        out,
        "memblock model: parameters the log does not print (current limit, direction, SMP_CACHE_BYTES, PAGE_SIZE)"
    )?;
    if memblock.inferred.is_empty() {
        writeln!(
            out,
            "  memblock's defaults throughout (MEMBLOCK_ALLOC_ANYWHERE, top-down, 64, 4096): no placement contradicts them"
        )?;
    }
    for inference in &memblock.inferred {
        writeln!(
            out,
            "  line {}: {} = {}: {}",
            inference.line, inference.parameter, inference.value, inference.how
        )?;
    }
    writeln!(
        out,
        "memblock model: {} mismatches",
        memblock.mismatches.len()
    )?;
    for mismatch in &memblock.mismatches {
        writeln!(
            out,
            "  line {} {} ({} bytes): {}\n    likeliest reason: {}",
            mismatch.line,
            mismatch.function,
            mismatch.size,
            mismatch.miss.differs,
            mismatch.miss.reason
        )?;
    }
    Ok(())
}

fn write_bootmem(out: &mut impl Write, figures: &BootmemFigures) -> io::Result<()> {
    writeln!(out)?;
    for line in &figures.set_up {
        writeln!(out, "bootmem: set-up       {line}")?;
    }
    writeln!(
        out,
        "bootmem: node-local   {} of {} requests naming a node the map knows",
        figures.node_local, figures.node_requests
    )?;
    writeln!(
        out,
        "bootmem: memory       {} pages used ({} bytes)",
        figures.pages_used, figures.bytes_used
    )?;
    writeln!(
        out,
        "bootmem: time         {} ns per call on average, {} ns the slowest, {} ns in all",
        figures.mean_call_nanoseconds,
        figures.slowest_call_nanoseconds,
        figures.allocation_nanoseconds
    )?;
    writeln!(
        out,
        "bootmem: applied      {} reservations, {} frees ({} skipped), {} zero-length ranges skipped",
        figures.reservations, figures.frees, figures.frees_skipped, figures.zero_length
    )
}
