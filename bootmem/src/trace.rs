//! The `bootmem::` debug lines of Linux's `bootmem_debug`, through `log` when enabled.
//!
//! With the `log` feature each event is logged at debug level with target
//! `bootmem`, in v4.19's format (spec §7): hexadecimal numbers, absolute page
//! frames. Without it every function here compiles to nothing.

#![cfg_attr(not(feature = "log"), allow(unused_variables))]

use crate::address::PageSize;
use crate::node_id::NodeId;
use crate::search::SearchRequest;

/// `bootmem::init_bootmem_core nid=.. start=.. map=.. end=.. mapsize=..`
pub(crate) fn registered(node: NodeId, start: u64, map: u64, end: u64, map_bytes: u64) {
    #[cfg(feature = "log")]
    log::debug!(target: "bootmem", "bootmem::init_bootmem_core nid={node} start={start:x} map={map:x} end={end:x} mapsize={map_bytes:x}");
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
        request.goal,
        request.limit
    );
}

/// `bootmem::mark_bootmem_node nid=.. start=.. end=.. reserve=.. flags=..`
pub(crate) fn marked(node: NodeId, start: u64, end: u64, reserve: bool, flags: u32) {
    #[cfg(feature = "log")]
    log::debug!(target: "bootmem", "bootmem::mark_bootmem_node nid={node} start={start:x} end={end:x} reserve={} flags={flags:x}", u8::from(reserve));
}

/// `bootmem::free_all_bootmem_core nid=.. start=.. end=..` and `released=..`
pub(crate) fn released(node: NodeId, start: u64, end: u64) {
    #[cfg(feature = "log")]
    log::debug!(target: "bootmem", "bootmem::free_all_bootmem_core nid={node} start={start:x} end={end:x}");
}
