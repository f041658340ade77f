//! Why a firmware table could not be read: where (entry, offset, line) and what was wrong.

use core::fmt;

use bootmem::memory_map::MemoryMapError;

/// Where in its input a problem lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// The entry of a table, counted from 0 in the order the firmware gave them.
    Entry(usize),
    /// A byte offset in a blob (device tree, ACPI table, Multiboot2 tag).
    Offset(usize),
    /// A line of a text file, counted from 1.
    Line(usize),
    /// The input as a whole.
    Table,
}

impl fmt::Display for Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Entry(index) => write!(formatter, "entry {index}"),
            Self::Offset(offset) => write!(formatter, "offset {offset}"),
            Self::Line(line) => write!(formatter, "line {line}"),
            Self::Table => formatter.write_str("the table"),
        }
    }
}

/// What is wrong with an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// `start + size` passes 2^64.
    Wraps {
        /// The first byte.
        start: u64,
        /// The size given.
        size: u64,
    },
    /// The entry covers no byte.
    Empty,
    /// The entry shares addresses with an earlier entry of the same table.
    Overlaps {
        /// Where the earlier entry is.
        other: Location,
    },
    /// The entry repeats an earlier entry of the same table exactly.
    Duplicate {
        /// Where the earlier entry is.
        other: Location,
    },
    /// The table holds more entries than the map has room for.
    TooManyEntries {
        /// The room the map has (its `RANGES` parameter).
        capacity: usize,
    },
    /// A UEFI descriptor size smaller than a UEFI memory descriptor.
    DescriptorTooSmall {
        /// The size given.
        size: usize,
        /// The smallest size allowed.
        minimum: usize,
    },
    /// The input ends inside a structure.
    Truncated {
        /// The bytes the structure needs from its start.
        needed: usize,
        /// The bytes there are.
        available: usize,
    },
    /// A structure's signature or magic number is not the expected one.
    BadMagic,
    /// A structure whose checksum does not add up.
    BadChecksum,
    /// A device tree structure token that is none of the five defined.
    UnknownToken(u32),
    /// Anything else, said in words.
    Malformed(&'static str),
    /// The library refused the map (see [`MemoryMapError`]).
    Map(MemoryMapError),
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Wraps { start, size } => write!(
                formatter,
                "range {start:#x} + {size:#x} runs past the end of the address space (2^64)"
            ),
            Self::Empty => formatter.write_str("zero-length range"),
            Self::Overlaps { other } => write!(formatter, "overlaps {other}"),
            Self::Duplicate { other } => write!(formatter, "repeats {other}"),
            Self::TooManyEntries { capacity } => write!(
                formatter,
                "more entries than the map holds ({capacity} ranges)"
            ),
            Self::DescriptorTooSmall { size, minimum } => write!(
                formatter,
                "descriptor size {size} is smaller than a memory descriptor ({minimum} bytes)"
            ),
            Self::Truncated { needed, available } => write!(
                formatter,
                "truncated: needs {needed} bytes, {available} are there"
            ),
            Self::BadMagic => formatter.write_str("bad magic number or signature"),
            Self::BadChecksum => formatter.write_str("bad checksum"),
            Self::UnknownToken(token) => write!(formatter, "unknown structure token {token:#x}"),
            Self::Malformed(message) => formatter.write_str(message),
            Self::Map(error) => write!(formatter, "{error}"),
        }
    }
}

/// A bad input: where and what.
///
/// ```
/// use bootmem_firmware::{FirmwareError, Location, Problem};
/// let error = FirmwareError::new(Location::Entry(3), Problem::Empty);
/// assert_eq!(error.to_string(), "entry 3: zero-length range");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmwareError {
    /// Where.
    pub location: Location,
    /// What.
    pub problem: Problem,
}

impl FirmwareError {
    /// The error `problem` at `location`.
    pub const fn new(location: Location, problem: Problem) -> Self {
        Self { location, problem }
    }

    /// A problem of the whole input.
    pub const fn of_table(problem: Problem) -> Self {
        Self::new(Location::Table, problem)
    }

    /// A malformed structure at `location`.
    pub const fn malformed(location: Location, message: &'static str) -> Self {
        Self::new(location, Problem::Malformed(message))
    }
}

impl fmt::Display for FirmwareError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::Table => write!(formatter, "{}", self.problem),
            location => write!(formatter, "{location}: {}", self.problem),
        }
    }
}

impl core::error::Error for FirmwareError {}

impl From<MemoryMapError> for FirmwareError {
    fn from(error: MemoryMapError) -> Self {
        Self::of_table(Problem::Map(error))
    }
}
