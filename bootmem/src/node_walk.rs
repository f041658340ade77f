//! The node walk: which nodes are tried, in what order, with what goal and limit.
//!
//! These are Linux's outer loops (spec §4): `alloc_bootmem_core` walks every
//! node in address order; `___alloc_bootmem_nopanic` drops the goal once;
//! `___alloc_bootmem_node_nopanic` tries the preferred node before all nodes
//! and drops a limit that `goal + size` passes; `__alloc_bootmem_node_high`
//! first tries the preferred node above 4 GiB.

use crate::address::{PageSize, PhysicalAddress};
use crate::config::Configuration;
use crate::registry::{NodeRegistry, StreakStep};
use crate::search::SearchRequest;
use crate::sequential::StreakOrigin;

/// Tries one node and commits the placement if it fits.
#[inline]
fn try_node<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize>(
    registry: &mut NodeRegistry<Storage, MAX_NODES>,
    position: usize,
    page: PageSize,
    request: &SearchRequest,
) -> Option<PhysicalAddress> {
    registry.get_mut(position).allocate(page, request)
}

/// `alloc_bootmem_core`: every node in address order, skipping nodes wholly
/// below the goal's page and stopping at the first node at or above the
/// limit's page.
pub(crate) fn all_nodes<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize>(
    registry: &mut NodeRegistry<Storage, MAX_NODES>,
    page: PageSize,
    request: &SearchRequest,
) -> Option<PhysicalAddress> {
    walk(registry, WalkStart::FIRST_NODE, page, request).map(|placed| placed.address)
}

/// Where [`walk`] placed a block.
struct Placed {
    address: PhysicalAddress,
    /// Registry position of the node.
    position: usize,
    /// Whether that node was the first the walk tried.
    first_tried: bool,
}

/// Where the walk starts: at the first node, or after the node a streak
/// just asked (the walk's first node for the request, which had no room).
#[derive(Clone, Copy)]
struct WalkStart {
    position: usize,
    /// Whether a node was already tried, so none from `position` on is
    /// the first.
    tried: bool,
}

impl WalkStart {
    const FIRST_NODE: Self = Self {
        position: 0,
        tried: false,
    };
}

/// The walk of [`all_nodes`], telling which node took the block.
fn walk<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize>(
    registry: &mut NodeRegistry<Storage, MAX_NODES>,
    start: WalkStart,
    page: PageSize,
    request: &SearchRequest,
) -> Option<Placed> {
    let goal_frame = page.frame_containing(request.goal);
    let limit_frame = request.limit.map(|limit| page.frame_containing(limit));
    let mut first_tried = !start.tried;
    for position in start.position..registry.len() {
        let node = registry.get(position);
        if node.frames.end() <= goal_frame {
            continue;
        }
        if limit_frame.is_some_and(|limit| node.frames.start() >= limit) {
            break;
        }
        if let Some(address) = try_node(registry, position, page, request) {
            return Some(Placed {
                address,
                position,
                first_tried,
            });
        }
        first_tried = false;
    }
    None
}

/// `___alloc_bootmem_nopanic`: all nodes at the goal, then all nodes from 0.
/// The limit is kept.
pub(crate) fn any_node<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize>(
    registry: &mut NodeRegistry<Storage, MAX_NODES>,
    page: PageSize,
    request: &SearchRequest,
) -> Option<PhysicalAddress> {
    let start = match registry.extend_streak(page, request) {
        StreakStep::Placed(address) => return Some(address),
        // The walk's first node had no room: the walk goes on after it,
        // as Linux's does (that node is not asked, nor traced, twice).
        StreakStep::NoRoom(position) => WalkStart {
            position: position + 1,
            tried: true,
        },
        StreakStep::NoStreak => WalkStart::FIRST_NODE,
    };
    if let Some(placed) = walk(registry, start, page, request) {
        if placed.first_tried {
            registry.start_streak(placed.position, StreakOrigin::Walk, request);
        }
        return Some(placed.address);
    }
    if request.goal == PhysicalAddress::ZERO {
        return None;
    }
    all_nodes(
        registry,
        page,
        &SearchRequest {
            goal: PhysicalAddress::ZERO,
            ..*request
        },
    )
}

/// The preferred node alone, as `___alloc_bootmem_node_nopanic` and
/// `__alloc_bootmem_node_high` try it first: by the streak on that node
/// when the request has its goal and limit, else through the node's
/// search, a placement starting a streak there.
#[inline]
fn try_preferred_node<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize>(
    registry: &mut NodeRegistry<Storage, MAX_NODES>,
    position: usize,
    page: PageSize,
    request: &SearchRequest,
) -> Option<PhysicalAddress> {
    match registry.extend_streak_on(position, page, request) {
        StreakStep::Placed(address) => return Some(address),
        // The node was asked and had no room, as `try_node` would find.
        StreakStep::NoRoom(_) => return None,
        StreakStep::NoStreak => {}
    }
    let address = try_node(registry, position, page, request)?;
    registry.start_streak(position, StreakOrigin::Preferred, request);
    Some(address)
}

/// `___alloc_bootmem_node_nopanic`: the preferred node at the goal, all
/// nodes at the goal, the preferred node from 0, all nodes from 0. A limit
/// that `goal + size` passes is dropped for the rest of the call.
///
/// A request whose limit stands is first put to the streak on the
/// preferred node, if it has one: the first try of a run of `_node`
/// calls, without the rest of the call's steps around it.
#[inline(never)]
pub(crate) fn preferred_node<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize>(
    registry: &mut NodeRegistry<Storage, MAX_NODES>,
    position: usize,
    page: PageSize,
    request: &SearchRequest,
) -> Option<PhysicalAddress> {
    let mut first_try_done = false;
    if !passes_limit(request) {
        match registry.extend_streak_on(position, page, request) {
            StreakStep::Placed(address) => return Some(address),
            // The preferred node was asked and had no room: its first try
            // is done, and failed.
            StreakStep::NoRoom(_) => first_try_done = true,
            StreakStep::NoStreak => {}
        }
    }
    preferred_node_in_turn(registry, position, page, request, first_try_done)
}

/// Whether `goal + size` passes the request's limit (which the `_node`
/// calls then drop).
fn passes_limit(request: &SearchRequest) -> bool {
    let goal_end = request.goal.as_u64().saturating_add(request.size);
    request.limit.is_some_and(|limit| goal_end > limit.as_u64())
}

/// [`preferred_node`]'s steps in turn; the preferred node's first try is
/// skipped when `first_try_done` (it failed).
#[inline(never)]
fn preferred_node_in_turn<Storage: AsRef<[u64]> + AsMut<[u64]>, const MAX_NODES: usize>(
    registry: &mut NodeRegistry<Storage, MAX_NODES>,
    position: usize,
    page: PageSize,
    request: &SearchRequest,
    mut first_try_done: bool,
) -> Option<PhysicalAddress> {
    let mut request = *request;
    loop {
        if passes_limit(&request) {
            request.limit = None;
        }
        if !first_try_done {
            if let Some(address) = try_preferred_node(registry, position, page, &request) {
                return Some(address);
            }
        }
        first_try_done = false;
        if let Some(address) = all_nodes(registry, page, &request) {
            return Some(address);
        }
        if request.goal == PhysicalAddress::ZERO {
            return None;
        }
        request.goal = PhysicalAddress::ZERO;
    }
}

/// `__alloc_bootmem_node_high`: when the node reaches 128 MiB past the end
/// of DMA32 memory and the goal lies below it, the preferred node alone from
/// the end of DMA32 memory, with no limit; then as [`preferred_node`] with no
/// limit. The margin is 128 MiB in pages (deviation 5).
pub(crate) fn preferred_node_above_dma32<
    Storage: AsRef<[u64]> + AsMut<[u64]>,
    const MAX_NODES: usize,
>(
    registry: &mut NodeRegistry<Storage, MAX_NODES>,
    position: usize,
    configuration: &Configuration,
    request: &SearchRequest,
) -> Option<PhysicalAddress> {
    let page = configuration.page_size;
    let dma32_end = configuration.dma32_end;
    let margin = (128u64 << 20) >> page.shift();
    let node_end = registry.get(position).frames.end();
    let reaches_high_memory = dma32_end
        .checked_add(margin)
        .is_some_and(|threshold| node_end > threshold);
    if reaches_high_memory && page.frame_containing(request.goal) < dma32_end {
        if let Some(high_goal) = page.start_of(dma32_end) {
            let high = SearchRequest {
                goal: high_goal,
                limit: None,
                ..*request
            };
            if let Some(address) = try_preferred_node(registry, position, page, &high) {
                return Some(address);
            }
        }
    }
    preferred_node(
        registry,
        position,
        page,
        &SearchRequest {
            limit: None,
            ..*request
        },
    )
}
