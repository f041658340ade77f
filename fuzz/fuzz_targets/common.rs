//! What every binary reader target checks: a failed read leaves the builder exactly as it was, a good one builds or fails cleanly.

use bootmem::memory_map::MemoryMapBuilder;
use bootmem::PageSize;
use bootmem_firmware::{FirmwareError, Policy};

/// The builder every target reads into.
pub type Builder = MemoryMapBuilder<64, 8>;

/// Runs `read` under both policies on a builder holding one range already.
pub fn check(read: impl Fn(&mut Builder, Policy) -> Result<(), FirmwareError>) {
    for policy in [Policy::Strict, Policy::Sanitise] {
        let mut builder = Builder::new();
        builder
            .add_reserved(
                bootmem::PhysicalAddress::new(0),
                bootmem::PhysicalAddress::new(0x1000),
            )
            .expect("room for one range");
        let before = (
            builder.added_ranges().len(),
            builder.added_affinities().len(),
        );
        match read(&mut builder, policy) {
            Ok(()) => {
                let _ = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB);
            }
            Err(error) => {
                let _ = error.to_string();
                let after = (
                    builder.added_ranges().len(),
                    builder.added_affinities().len(),
                );
                assert_eq!(before, after, "half added before {error}");
            }
        }
    }
}

/// The little-endian `u64` at `offset`, zero-padded.
#[allow(dead_code)] // used by the `protocols` target only
pub fn word(bytes: &[u8], offset: usize) -> u64 {
    let mut buffer = [0u8; 8];
    if let Some(slice) = bytes.get(offset..) {
        let length = slice.len().min(8);
        buffer[..length].copy_from_slice(&slice[..length]);
    }
    u64::from_le_bytes(buffer)
}
