//! Everything the command draws or prints about memory: the size format, the palette, the SVG picture, the interactive HTML page.
//!
//! The HTML page takes a generic [`page::Page`]: the machine's nodes, ranges
//! and limit lines, and one or more policies, each a list of
//! [`page::PageStep`]s (call, arguments, result, owner, explanation).
//! `bootmem boot --html` builds one policy from its simulation; `bootmem
//! replay --html` can build two (Linux's placements and bootmem's) and
//! show them side by side.

pub mod html;
pub mod page;
pub mod palette;
pub mod size;
pub mod svg;
