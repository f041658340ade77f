//! A token-by-token walk of a blob's reservation and structure blocks, naming the offset and the fault of the first bad token.
//!
//! `dtoolkit` checks the same, but its error keeps the offset to itself and
//! reports some faults (a name offset past the strings block) as a length
//! mismatch at the address it tried to read; this walk runs first, so that
//! the error says which byte is wrong and why.

use crate::error::{FirmwareError, Location, Problem};

use super::HEADER_SIZE;

const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;

fn word(blob: &[u8], offset: usize) -> Option<u32> {
    let bytes = blob.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

fn double_word(blob: &[u8], offset: usize) -> Option<u64> {
    let bytes = blob.get(offset..offset.checked_add(8)?)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

fn align4(value: usize) -> Option<usize> {
    value.checked_add(3).map(|value| value & !3)
}

/// The length of the NUL-terminated UTF-8 string at `offset`, within `limit`.
fn c_string(blob: &[u8], offset: usize, limit: usize) -> Option<usize> {
    let bytes = blob.get(offset..limit)?;
    let length = bytes.iter().position(|&byte| byte == 0)?;
    core::str::from_utf8(&bytes[..length]).ok()?;
    Some(length)
}

fn fault(offset: usize, message: &'static str) -> FirmwareError {
    FirmwareError::malformed(Location::Offset(offset), message)
}

/// The blocks a header places, checked to lie inside the blob.
struct Blocks {
    reservations: usize,
    structure: (usize, usize),
    strings: (usize, usize),
}

fn blocks(blob: &[u8]) -> Result<Blocks, FirmwareError> {
    let field = |index: usize| word(blob, index * 4).map_or(0, |value| value as usize);
    let total = blob.len();
    let (structure, strings, reservations) = (field(2), field(3), field(4));
    let (strings_size, structure_size) = (field(8), field(9));
    let within = |offset: usize, size: usize| offset.checked_add(size).filter(|&end| end <= total);
    let structure_end = within(structure, structure_size)
        .filter(|_| structure >= HEADER_SIZE)
        .ok_or(fault(8, "the structure block lies outside the blob"))?;
    let strings_end = within(strings, strings_size)
        .ok_or(fault(12, "the strings block lies outside the blob"))?;
    if reservations < HEADER_SIZE || reservations % 8 != 0 || reservations >= total {
        return Err(fault(16, "bad memory reservation block offset"));
    }
    Ok(Blocks {
        reservations,
        structure: (structure, structure_end),
        strings: (strings, strings_end),
    })
}

/// Checks the reservation block and every token of the structure block of
/// `blob` (already cut to its `totalsize`, header checked).
///
/// # Errors
///
/// The first fault, at its offset.
pub(super) fn check(blob: &[u8]) -> Result<(), FirmwareError> {
    let blocks = blocks(blob)?;
    check_reservations(blob, blocks.reservations)?;
    check_tokens(blob, &blocks)
}

fn check_reservations(blob: &[u8], start: usize) -> Result<(), FirmwareError> {
    let mut offset = start;
    loop {
        let entry = (
            double_word(blob, offset),
            double_word(blob, offset.saturating_add(8)),
        );
        let (Some(address), Some(size)) = entry else {
            return Err(fault(
                offset,
                "the memory reservation block runs off the blob",
            ));
        };
        if address == 0 && size == 0 {
            return Ok(());
        }
        offset += 16;
    }
}

fn check_tokens(blob: &[u8], blocks: &Blocks) -> Result<(), FirmwareError> {
    let (mut offset, struct_end) = blocks.structure;
    let mut depth = 0usize;
    let mut seen_root = false;
    loop {
        let token = word(blob, offset)
            .filter(|_| offset.saturating_add(4) <= struct_end)
            .ok_or(fault(offset, "the structure block ends without FDT_END"))?;
        let body = offset + 4;
        offset = match token {
            BEGIN_NODE => {
                if depth == 0 && seen_root {
                    return Err(fault(offset, "a second root node"));
                }
                let length = c_string(blob, body, struct_end).ok_or(fault(
                    body,
                    "a node name is not a NUL-terminated UTF-8 string",
                ))?;
                if depth == 0 && length != 0 {
                    return Err(fault(body, "the root node has a name"));
                }
                seen_root = true;
                depth += 1;
                align4(body + length + 1).unwrap_or(usize::MAX)
            }
            END_NODE => {
                depth = depth
                    .checked_sub(1)
                    .ok_or(fault(offset, "FDT_END_NODE without a node"))?;
                body
            }
            PROP if depth == 0 => return Err(fault(offset, "a property outside any node")),
            PROP => check_property(blob, blocks, offset)?,
            NOP => body,
            END if depth != 0 || !seen_root => return Err(fault(offset, "FDT_END inside a node")),
            END => return Ok(()),
            other => {
                return Err(FirmwareError::new(
                    Location::Offset(offset),
                    Problem::UnknownToken(other),
                ))
            }
        };
    }
}

/// Checks the property at `offset`; returns the offset of the next token.
fn check_property(blob: &[u8], blocks: &Blocks, offset: usize) -> Result<usize, FirmwareError> {
    let (_, struct_end) = blocks.structure;
    let (strings, strings_end) = blocks.strings;
    let body = offset + 4;
    let (Some(length), Some(name)) = (word(blob, body), word(blob, body + 4)) else {
        return Err(fault(offset, "truncated property"));
    };
    let value_end = (body + 8)
        .checked_add(length as usize)
        .filter(|&end| end <= struct_end)
        .ok_or(fault(
            body,
            "a property's value runs off the structure block",
        ))?;
    let name_start = strings
        .checked_add(name as usize)
        .filter(|&start| start < strings_end);
    if name_start
        .and_then(|start| c_string(blob, start, strings_end))
        .is_none()
    {
        return Err(fault(
            body + 4,
            "the property name offset is not a string of the strings block",
        ));
    }
    Ok(align4(value_end).unwrap_or(usize::MAX))
}
