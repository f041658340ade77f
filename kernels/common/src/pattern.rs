//! Writing a recognisable pattern over memory and reading it back.

use crate::exit::fail;

/// The pattern byte at `offset` of a block seeded with `seed`.
fn pattern(offset: usize, seed: u8) -> u8 {
    (offset as u8).wrapping_mul(31).wrapping_add(seed) ^ ((offset >> 8) as u8)
}

/// The bytes `[address, address + size)` as a slice.
///
/// # Safety
///
/// The range must be identity-mapped RAM that the caller owns (an
/// allocation it made and has not freed) and that nothing else refers to.
unsafe fn bytes<'a>(address: u64, size: u64) -> &'a mut [u8] {
    // SAFETY: forwarded from the caller.
    unsafe { core::slice::from_raw_parts_mut(address as *mut u8, size as usize) }
}

/// Checks that `[address, address + size)` reads all zero (bootmem zeroes
/// what it allocates).
///
/// # Safety
///
/// As for a slice: identity-mapped RAM the caller owns.
pub unsafe fn check_zeroed(label: &str, address: u64, size: u64) {
    // SAFETY: forwarded from the caller.
    let memory = unsafe { bytes(address, size) };
    if let Some(offset) = memory.iter().position(|&byte| byte != 0) {
        fail(format_args!(
            "{label}: {address:#x}+{offset:#x} reads {:#x}, not zero",
            memory[offset]
        ));
    }
}

/// Writes the pattern of `seed` over `[address, address + size)`.
///
/// # Safety
///
/// As for a slice: identity-mapped RAM the caller owns.
pub unsafe fn write(address: u64, size: u64, seed: u8) {
    // SAFETY: forwarded from the caller.
    let memory = unsafe { bytes(address, size) };
    for (offset, byte) in memory.iter_mut().enumerate() {
        *byte = pattern(offset, seed);
    }
}

/// Reads `[address, address + size)` back and fails the boot on the first
/// byte that is not the pattern of `seed`.
///
/// # Safety
///
/// As for a slice: identity-mapped RAM the caller owns.
pub unsafe fn verify(label: &str, address: u64, size: u64, seed: u8) {
    // SAFETY: forwarded from the caller.
    let memory = unsafe { bytes(address, size) };
    if let Some(offset) = memory
        .iter()
        .enumerate()
        .position(|(offset, &byte)| byte != pattern(offset, seed))
    {
        fail(format_args!(
            "{label}: {address:#x}+{offset:#x} reads {:#x}, wrote {:#x}",
            memory[offset],
            pattern(offset, seed)
        ));
    }
}
