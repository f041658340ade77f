//! The bench's output: one row per workload, a table with ratios and targets, or JSON.

use serde::Serialize;

/// One workload's times in seconds (`None`: the column does not apply).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// `W1`, `W2`, `W3`, `W4a`, `W4b` or `W5`.
    pub id: &'static str,
    /// This crate.
    pub fast_s: f64,
    /// The bit-by-bit reference search.
    pub reference_s: Option<f64>,
    /// The `bitmap-allocator` crate.
    pub bitmap_allocator_s: Option<f64>,
    /// `buddy_system_allocator`'s `FrameAllocator`.
    pub buddy_s: Option<f64>,
    /// Reading the workload's leaf bitmap once.
    pub limit_read_s: Option<f64>,
    /// Writing the workload's leaf bitmap once.
    pub limit_memset_s: Option<f64>,
    /// What the workload was, for the table.
    #[serde(skip)]
    pub note: String,
}

/// The whole report in the JSON schema.
#[derive(Serialize)]
pub struct Report {
    /// Storage bits (leaf bitmap and summary) per page of the W2 machine.
    pub metadata_bits_per_page: f64,
    /// One entry per workload.
    pub workloads: Vec<Row>,
}

/// How a target compares two columns.
#[derive(Clone, Copy)]
enum Want {
    /// `other / fast` at least this.
    FasterThan(fn(&Row) -> Option<f64>, &'static str, f64),
    /// `fast / other` at most this.
    AtMost(fn(&Row) -> Option<f64>, &'static str, f64),
}

fn targets(id: &str) -> &'static [Want] {
    use Want::{AtMost, FasterThan};
    match id {
        "W1" => &[FasterThan(|row| row.reference_s, "reference", 2.0)],
        "W2" => &[
            FasterThan(|row| row.reference_s, "reference", 100.0),
            FasterThan(|row| row.bitmap_allocator_s, "bitmap-allocator", 10.0),
            AtMost(|row| row.buddy_s, "buddy", 5.0),
        ],
        "W3" => &[
            FasterThan(|row| row.reference_s, "reference", 2.0),
            AtMost(|row| row.buddy_s, "buddy", 2.0),
        ],
        "W4a" => &[AtMost(|row| row.limit_read_s, "read once", 0.25)],
        "W4b" => &[AtMost(|row| row.limit_read_s, "read once", 2.0)],
        "W5" => &[AtMost(|row| row.limit_memset_s, "memset once", 2.0)],
        _ => &[],
    }
}

/// A time in seconds, in the unit that suits it; `-` when not measured.
pub(super) fn time(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(seconds) if seconds >= 1.0 => format!("{seconds:.2} s"),
        Some(seconds) if seconds >= 1e-3 => format!("{:.2} ms", seconds * 1e3),
        Some(seconds) => format!("{:.1} µs", seconds * 1e6),
    }
}

/// `numerator / denominator` with two decimals; `-` when either is not
/// measured or the denominator is zero.
pub(super) fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> String {
    match (numerator, denominator) {
        (Some(top), Some(bottom)) if bottom > 0.0 => format!("{:.2}", top / bottom),
        _ => "-".into(),
    }
}

/// Prints the table, the ratios and every target with whether it is met.
/// Returns the number of targets missed.
pub fn print_table(report: &Report) -> usize {
    println!(
        "{:<4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} | {:>9} {:>8} {:>8} {:>8} {:>8}",
        "id",
        "fast",
        "reference",
        "bitmap-al",
        "buddy",
        "read-once",
        "memset",
        "ref/fast",
        "bm/fast",
        "f/buddy",
        "f/read",
        "f/memset"
    );
    for row in &report.workloads {
        let fast = Some(row.fast_s);
        println!(
            "{:<4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} | {:>9} {:>8} {:>8} {:>8} {:>8}",
            row.id,
            time(fast),
            time(row.reference_s),
            time(row.bitmap_allocator_s),
            time(row.buddy_s),
            time(row.limit_read_s),
            time(row.limit_memset_s),
            ratio(row.reference_s, fast),
            ratio(row.bitmap_allocator_s, fast),
            ratio(fast, row.buddy_s),
            ratio(fast, row.limit_read_s),
            ratio(fast, row.limit_memset_s),
        );
    }
    println!();
    for row in &report.workloads {
        println!("{}: {}", row.id, row.note);
    }
    println!(
        "metadata: {:.4} bits per page (leaf bitmap and summary)",
        report.metadata_bits_per_page
    );
    println!();
    let mut missed = 0;
    for row in &report.workloads {
        for want in targets(row.id) {
            let (text, met) = match *want {
                Want::FasterThan(column, name, factor) => match column(row) {
                    Some(other) => {
                        let value = other / row.fast_s;
                        (
                            format!("{name} / fast = {value:.2} (want >= {factor})"),
                            value >= factor,
                        )
                    }
                    None => (format!("{name}: not measured"), false),
                },
                Want::AtMost(column, name, factor) => match column(row) {
                    Some(other) => {
                        let value = row.fast_s / other;
                        (
                            format!("fast / {name} = {value:.2} (want <= {factor})"),
                            value <= factor,
                        )
                    }
                    None => (format!("{name}: not measured"), false),
                },
            };
            missed += usize::from(!met);
            println!(
                "target {} {text}: {}",
                row.id,
                if met { "met" } else { "MISSED" }
            );
        }
    }
    missed
}
