//! Little- and big-endian numbers read out of byte slices, `None` past the end.

/// The little-endian `u32` at `offset`.
pub(crate) fn le_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let field = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_le_bytes(field.try_into().ok()?))
}

/// The little-endian `u64` at `offset`.
pub(crate) fn le_u64(bytes: &[u8], offset: usize) -> Option<u64> {
    let field = bytes.get(offset..offset.checked_add(8)?)?;
    Some(u64::from_le_bytes(field.try_into().ok()?))
}
