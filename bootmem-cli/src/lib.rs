//! The `bootmem` command's subcommands as a library, so the binary and the fuzz targets share one copy.
//!
//! The binary (`src/main.rs`) only parses arguments and dispatches here; the
//! fuzz targets under `fuzz/` call the script runner, the readers and the
//! replay through this crate instead of compiling its files in by path.

pub mod bench;
pub mod boot;
pub mod map;
pub mod parse;
pub mod pipe;
pub mod render;
pub mod replay;
pub mod script;
pub mod soak;
