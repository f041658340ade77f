//! The `bootmem::` debug lines of Linux's `bootmem_debug`, through `log` when enabled.
//!
//! With the `log` feature each event is logged at debug level with target
//! `bootmem`, in v4.19's format (spec §7): hexadecimal numbers, absolute page
//! frames. Without it every function here compiles to nothing.

#![cfg_attr(not(feature = "log"), allow(unused_variables))]

use crate::address::{FrameRange, PageSize};
use crate::node_id::NodeId;
use crate::search::SearchRequest;

/// `bootmem::init_bootmem_core nid=.. start=.. map=.. end=.. mapsize=..`
/// (`map` is 0 when the bitmap lies outside physical memory).
pub(crate) fn registered(
    node: NodeId,
    frames: FrameRange,
    bitmap: Option<FrameRange>,
    map_bytes: u64,
) {
    #[cfg(feature = "log")]
    log::debug!(
        target: "bootmem",
        "bootmem::init_bootmem_core nid={node} start={:x} map={:x} end={:x} mapsize={map_bytes:x}",
        frames.start(),
        bitmap.map_or(0, |bitmap| bitmap.start().as_u64()),
        frames.end()
    );
}

/// `bootmem::alloc_bootmem_bdata nid=.. size=.. [N pages] align=.. goal=.. limit=..`
pub(crate) fn allocation_attempt(node: NodeId, page: PageSize, request: &SearchRequest) {
    #[cfg(feature = "log")]
    log::debug!(
        target: "bootmem",
        "bootmem::alloc_bootmem_bdata nid={node} size={:x} [{} pages] align={:x} goal={:x} limit={:x}",
        request.size,
        page.pages_for(request.size),
        request.align,
        request.goal.as_u64(),
        // Linux prints 0 for no limit.
        request.limit.map_or(0, |limit| limit.as_u64())
    );
}

/// `bootmem::mark_bootmem_node nid=.. start=.. end=.. reserve=.. flags=..`
pub(crate) fn marked(node: NodeId, frames: FrameRange, reserve: bool, flags: u32) {
    #[cfg(feature = "log")]
    log::debug!(
        target: "bootmem",
        "bootmem::mark_bootmem_node nid={node} start={:x} end={:x} reserve={} flags={flags:x}",
        frames.start(),
        frames.end(),
        u8::from(reserve)
    );
}

/// `bootmem::free_all_bootmem_core nid=.. start=.. end=..` and `released=..`
pub(crate) fn released(node: NodeId, start: u64, end: u64) {
    #[cfg(feature = "log")]
    log::debug!(target: "bootmem", "bootmem::free_all_bootmem_core nid={node} start={start:x} end={end:x}");
}
