//! The one global allocator behind a spin lock, the direct-map offset and the panic handler.

use core::sync::atomic::{AtomicBool, Ordering};

use bootmem::linux::Bootmem;
use bootmem::memory::OffsetMapped;
use bootmem::{Configuration, FreeBlock};

use crate::{BOOTMEM_EBUSY, BOOTMEM_MAX_NODES};

/// The Linux-named allocator the C functions drive.
pub(crate) type Allocator = Bootmem<&'static mut [u64], OffsetMapped, BOOTMEM_MAX_NODES>;

/// The global state: the allocator (`None` after teardown) and the offset.
struct State {
    allocator: Option<Allocator>,
    offset: u64,
}

impl State {
    fn with_offset(offset: u64) -> Self {
        // SAFETY: the C side promises, through `bootmem_set_direct_map`'s
        // contract, that every node page is mapped at `offset`.
        let memory = unsafe { OffsetMapped::with_offset(offset) };
        Self {
            allocator: Some(Bootmem::new(Configuration::X86_64, memory)),
            offset,
        }
    }
}

/// The pointer at which physical `address` is reachable, physical memory
/// being mapped at `offset` above its addresses.
pub(crate) fn pointer(offset: u64, address: u64) -> *mut core::ffi::c_void {
    address.wrapping_add(offset) as usize as *mut core::ffi::c_void
}

/// The state, made on first use with an identity map.
static STATE: spin::Mutex<Option<State>> = spin::Mutex::new(None);

/// Set while [`tear_down`] hands blocks out under the lock: a call made
/// meanwhile, from the release function or from another CPU, finds the
/// allocator torn down at once instead of waiting on the lock (or, from
/// the release function, waiting forever).
static TEARING_DOWN: AtomicBool = AtomicBool::new(false);

/// The state in `slot`, made with an identity map if there is none yet.
fn initialized(slot: &mut Option<State>) -> &mut State {
    if slot.is_none() {
        initialize(slot);
    }
    match slot {
        Some(state) => state,
        None => unreachable!("the state was made just above"),
    }
}

/// Makes the identity-mapped state in `slot`, apart from its callers: the
/// allocator of [`BOOTMEM_MAX_NODES`] nodes is about 16 KB, which would
/// otherwise take room in the stack frame of every call.
#[cold]
#[inline(never)]
fn initialize(slot: &mut Option<State>) {
    *slot = Some(State::with_offset(0));
}

/// Runs `call` on the global allocator and the direct map's offset, under
/// the lock; `None`, without calling it, after a teardown, or during one
/// (then without taking the lock).
pub(crate) fn with_allocator_and_offset<T>(
    call: impl FnOnce(&mut Allocator, u64) -> T,
) -> Option<T> {
    if TEARING_DOWN.load(Ordering::Acquire) {
        return None;
    }
    let mut guard = STATE.lock();
    let state = initialized(&mut guard);
    let offset = state.offset;
    state
        .allocator
        .as_mut()
        .map(|allocator| call(allocator, offset))
}

/// `free_all_bootmem`: hands every block of the global allocator to
/// `release` where the allocator lies, under the lock, and leaves the
/// state torn down; `None` when it already was. Nothing is moved out of
/// the lock: the allocator of [`BOOTMEM_MAX_NODES`] nodes is about 16 KB,
/// which a kernel's stack need not hold (it was moved onto the caller's
/// stack, and moved again into the hand-off, before this).
pub(crate) fn tear_down(release: impl FnMut(FreeBlock)) -> Option<u64> {
    let mut guard = STATE.lock();
    let state = initialized(&mut guard);
    let bootmem = state.allocator.as_mut()?;
    TEARING_DOWN.store(true, Ordering::Release);
    let pages = bootmem
        .allocator_mut()
        .free_all_in_place()
        .release_with(release);
    state.allocator = None;
    TEARING_DOWN.store(false, Ordering::Release);
    Some(pages)
}

/// Starts over with no nodes, physical memory reached at `offset` above
/// its physical address (wrapping; 0 for an identity map). Returns 0, or
/// `-EBUSY` (changing nothing) while `free_all_bootmem` is handing blocks
/// out, as when its release function calls this.
///
/// # Safety
///
/// From now on, every physical page of every node registered, and every
/// bitmap frame given to `init_bootmem_node`, must be mapped writable at
/// `physical + offset`, and nothing else may use a free page's contents.
#[no_mangle]
pub unsafe extern "C" fn bootmem_set_direct_map(offset: u64) -> i32 {
    if TEARING_DOWN.load(Ordering::Acquire) {
        return -BOOTMEM_EBUSY;
    }
    *STATE.lock() = Some(State::with_offset(offset));
    0
}
