//! The command's door to the memory map readers, which live in `bootmem_firmware::text`: the same names, and the format as a command-line choice.

use std::path::Path;

/// `memblock=debug` traces: `memblock::has_debug_trace` tells `replay` whether a log has one.
#[allow(unused_imports)] // for `replay`
pub use bootmem_firmware::text::memblock;
pub use bootmem_firmware::text::{
    dmesg, dtb, parse_hex, CommandMemoryMap, FirmwareMap, FirmwareRange, MapError, ParseError,
    NODE_CAPACITY, RANGE_CAPACITY,
};

/// An input format, as `--format` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Guess from the content (and the `.toml` extension).
    Auto,
    /// A Linux boot log (`dmesg`, `journalctl -k`, syslog), `memblock=debug` lines included.
    Dmesg,
    /// `/proc/iomem`.
    Iomem,
    /// A flattened device tree blob.
    Dtb,
    /// The native TOML description.
    Toml,
}

impl std::fmt::Display for Format {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}", bootmem_firmware::text::Format::from(*self))
    }
}

impl From<Format> for bootmem_firmware::text::Format {
    fn from(format: Format) -> Self {
        match format {
            Format::Auto => Self::Auto,
            Format::Dmesg => Self::Dmesg,
            Format::Iomem => Self::Iomem,
            Format::Dtb => Self::Dtb,
            Format::Toml => Self::Toml,
        }
    }
}

/// Reads `path` in `format` (see [`bootmem_firmware::text::read_memory_map`]).
///
/// # Errors
///
/// The file cannot be read, or holds a malformed entry, or no memory map.
#[allow(dead_code)] // the entry point of the `boot` and `replay` subcommands
pub fn read_memory_map(path: &Path, format: Format) -> Result<FirmwareMap, MapError> {
    bootmem_firmware::text::read_memory_map(path, format.into())
}

/// As [`read_memory_map`]; a device tree blob is also reserved at `blob_address`.
///
/// # Errors
///
/// As [`read_memory_map`].
pub fn read_memory_map_with_blob_address(
    path: &Path,
    format: Format,
    blob_address: Option<u64>,
) -> Result<FirmwareMap, MapError> {
    bootmem_firmware::text::read_memory_map_with_blob_address(path, format.into(), blob_address)
}

/// Parses the bytes of a memory map (see [`bootmem_firmware::text::parse_memory_map`]).
///
/// # Errors
///
/// A malformed entry, or no memory map at all.
#[allow(dead_code)] // used by `boot`
pub fn parse_memory_map(
    bytes: &[u8],
    format: Format,
    toml_extension: bool,
    blob_address: Option<u64>,
) -> Result<FirmwareMap, ParseError> {
    bootmem_firmware::text::parse_memory_map(bytes, format.into(), toml_extension, blob_address)
}
