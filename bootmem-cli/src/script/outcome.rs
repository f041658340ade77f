//! What one script call returned, kept as a value until it is printed as its output line.
//!
//! The runner prints each [`Outcome`] through its `Display`; the script
//! benchmark (`bootmem bench --script`) compares the outcomes of its two
//! runs without printing them, so that neither side's time holds the
//! formatting of a line.

use std::fmt;
use std::io::{self, Write};

/// One call's result. Its `Display` is the line `bootmem script` prints
/// (docs/script-format.md, "What it prints").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An address: `0x` and lowercase hexadecimal digits.
    Address(u64),
    /// A count, a size or a flag, in decimal.
    Number(u64),
    /// A reservation's result: `0`, or `-16` (`-EBUSY`).
    Reservation(i32),
    /// A call that returns nothing: `ok`.
    Done,
    /// A `_nopanic` allocation that found no room: `NULL`.
    Null,
    /// A panicking allocation that found no room, of this many bytes.
    Panic(u64),
    /// A call Linux would `BUG()` on, and why.
    Bug(String),
    /// A query's text (`reserved_ranges`).
    Text(String),
}

impl Outcome {
    /// A `BUG:` outcome.
    pub fn bug(reason: impl fmt::Display) -> Self {
        Self::Bug(reason.to_string())
    }
}

/// `value` as `0x` and lowercase hexadecimal digits without leading
/// zeros, as `{:#x}` writes it, and a newline: the text is the first
/// `length` bytes, the line one more. Written out directly, without the
/// formatter's machinery: a script of a million allocations prints a
/// million addresses.
fn address_line(value: u64) -> ([u8; 19], usize) {
    let mut text = [0u8; 19];
    let digits = (u64::BITS - value.leading_zeros()).div_ceil(4).max(1) as usize;
    text[..2].copy_from_slice(b"0x");
    for (position, byte) in text[2..2 + digits].iter_mut().enumerate() {
        let shift = 4 * (digits - 1 - position);
        *byte = b"0123456789abcdef"[(value >> shift & 0xf) as usize];
    }
    text[2 + digits] = b'\n';
    (text, 2 + digits)
}

impl Outcome {
    /// Writes the output line, newline included.
    pub fn write_line(&self, out: &mut impl Write) -> io::Result<()> {
        match self {
            Self::Address(value) => {
                let (text, length) = address_line(*value);
                out.write_all(&text[..=length])
            }
            other => writeln!(out, "{other}"),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(value) => {
                let (text, length) = address_line(*value);
                // Only `0x` and ASCII digits were written.
                formatter.write_str(std::str::from_utf8(&text[..length]).map_err(|_| fmt::Error)?)
            }
            Self::Number(value) => write!(formatter, "{value}"),
            Self::Reservation(value) => write!(formatter, "{value}"),
            Self::Done => formatter.write_str("ok"),
            Self::Null => formatter.write_str("NULL"),
            Self::Panic(size) => write!(formatter, "PANIC: bootmem alloc of {size} bytes failed!"),
            Self::Bug(reason) => write!(formatter, "BUG: {reason}"),
            Self::Text(text) => formatter.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_as_format_prints_them() {
        let mut values = vec![0, 1, 0xf, 0x10, 0xff, 0x100, u64::MAX, 1 << 63];
        values.extend((0..64).map(|shift| (1u64 << shift) - 1));
        values.extend((0..64).map(|shift| 0x9e37_79b9_7f4a_7c15u64 >> shift));
        for value in values {
            let outcome = Outcome::Address(value);
            assert_eq!(outcome.to_string(), format!("{value:#x}"));
            let mut line = Vec::new();
            outcome
                .write_line(&mut line)
                .expect("a vector takes every byte");
            assert_eq!(line, format!("{value:#x}\n").into_bytes());
        }
    }

    #[test]
    fn every_outcome_prints_its_line() {
        let cases = [
            (Outcome::Number(4096), "4096"),
            (Outcome::Reservation(-16), "-16"),
            (Outcome::Reservation(0), "0"),
            (Outcome::Done, "ok"),
            (Outcome::Null, "NULL"),
            (
                Outcome::Panic(64),
                "PANIC: bootmem alloc of 64 bytes failed!",
            ),
            (Outcome::bug("size is zero"), "BUG: size is zero"),
            (Outcome::Text("0x0-0x10".to_owned()), "0x0-0x10"),
        ];
        for (outcome, line) in cases {
            assert_eq!(outcome.to_string(), line);
            let mut written = Vec::new();
            outcome
                .write_line(&mut written)
                .expect("a vector takes every byte");
            assert_eq!(written, format!("{line}\n").into_bytes());
        }
    }
}
