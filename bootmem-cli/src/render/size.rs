//! The one size format of every table, picture and report: binary units, whole numbers exact, two decimals inexact.
//!
//! A size prints in the largest binary unit (B, KiB, MiB, GiB, TiB, PiB,
//! EiB) that it reaches. When the size is a whole number of that unit it
//! prints as that whole number (`32 GiB`, `4 KiB`, `640 B`): the number is
//! exact. Otherwise it prints with exactly two decimals, truncated toward
//! zero (`31.98 GiB`, `1.50 MiB`): two decimals always mean "not a whole
//! number of the unit", so `32.00 GiB` is a little over 32 GiB and never
//! stands for the exact `32 GiB`. Truncation keeps a size from printing
//! as the next whole unit it has not reached.

/// The binary units, each 1024 times the one before.
const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// `bytes` in the project's size format.
///
/// ```text
/// size(32 << 30)          == "32 GiB"
/// size((32 << 30) - (20 << 20)) == "31.98 GiB"
/// ```
pub fn size(bytes: u64) -> String {
    size_wide(u128::from(bytes))
}

/// As [`size`], for counts that may reach 2^64 (a firmware's sum of ranges).
pub fn size_wide(bytes: u128) -> String {
    let mut unit = 0;
    while unit + 1 < UNITS.len() && bytes >= 1u128 << (10 * (unit + 1)) {
        unit += 1;
    }
    let scale = 1u128 << (10 * unit);
    let whole = bytes / scale;
    let rest = bytes % scale;
    if rest == 0 {
        format!("{whole} {}", UNITS[unit])
    } else {
        let hundredths = rest * 100 / scale;
        format!("{whole}.{hundredths:02} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_units_print_without_decimals() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(640), "640 B");
        assert_eq!(size(4096), "4 KiB");
        assert_eq!(size(32 << 30), "32 GiB");
        assert_eq!(size(1 << 40), "1 TiB");
        assert_eq!(size(u64::MAX), "15.99 EiB");
    }

    #[test]
    fn inexact_sizes_have_two_truncated_decimals() {
        assert_eq!(size((32 << 30) - (20 << 20)), "31.98 GiB");
        assert_eq!(size(1536 << 10), "1.50 MiB");
        // Just under a whole unit never rounds up to it.
        assert_eq!(size((2 << 20) - 1), "1.99 MiB");
        // Just over a whole unit keeps its decimals: not the exact value.
        assert_eq!(size((32 << 30) + 4096), "32.00 GiB");
        assert_eq!(size(1025), "1.00 KiB");
    }

    #[test]
    fn wide_counts_reach_past_64_bits() {
        assert_eq!(size_wide(1u128 << 64), "16 EiB");
        assert_eq!(size_wide(u128::from(u64::MAX) + 2), "16.00 EiB");
    }
}
