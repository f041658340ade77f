//! The one global allocator behind a spin lock, the direct-map offset and the panic handler.

use bootmem::linux::Bootmem;
use bootmem::memory::OffsetMapped;
use bootmem::Configuration;

use crate::BOOTMEM_MAX_NODES;

/// The Linux-named allocator the C functions drive.
pub(crate) type Allocator = Bootmem<&'static mut [u64], OffsetMapped, BOOTMEM_MAX_NODES>;

/// The global state: the allocator (`None` after teardown) and the offset.
pub(crate) struct State {
    pub(crate) allocator: Option<Allocator>,
    pub(crate) offset: u64,
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

    /// The pointer at which physical `address` is reachable.
    pub(crate) fn pointer(&self, address: u64) -> *mut core::ffi::c_void {
        address.wrapping_add(self.offset) as usize as *mut core::ffi::c_void
    }
}

/// The state, made on first use with an identity map.
static STATE: spin::Mutex<Option<State>> = spin::Mutex::new(None);

/// Runs `call` on the global state under the lock.
pub(crate) fn with_state<T>(call: impl FnOnce(&mut State) -> T) -> T {
    let mut state = STATE.lock();
    call(state.get_or_insert_with(|| State::with_offset(0)))
}

/// Starts over with no nodes, physical memory reached at `offset` above
/// its physical address (wrapping; 0 for an identity map). Returns 0.
///
/// # Safety
///
/// From now on, every physical page of every node registered, and every
/// bitmap frame given to `init_bootmem_node`, must be mapped writable at
/// `physical + offset`, and nothing else may use a free page's contents.
#[no_mangle]
pub unsafe extern "C" fn bootmem_set_direct_map(offset: u64) -> i32 {
    *STATE.lock() = Some(State::with_offset(offset));
    0
}
