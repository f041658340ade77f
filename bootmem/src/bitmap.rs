//! One node's page bitmap over borrowed storage: one bit per page, 1 = reserved.
//!
//! The layout is Linux's: bit `i` is bit `i % 64` of 64-bit word `i / 64`,
//! counting from the least significant bit. Every scan works a word at a
//! time, which is where this crate gets its speed over Linux's bit-by-bit
//! loops: a run of 64 reserved or 64 free pages costs one comparison.

/// Bits per bitmap word (Linux's `BITS_PER_LONG` on 64-bit machines).
pub const BITS_PER_WORD: u64 = 64;

/// Bytes of bitmap Linux allocates for a node of `pages` pages
/// (`bootmap_bytes`): one bit per page, rounded up to whole words.
///
/// ```
/// assert_eq!(bootmem::bitmap_bytes(0x8000), 4096);
/// assert_eq!(bootmem::bitmap_bytes(100), 16);
/// assert_eq!(bootmem::bitmap_bytes(0), 0);
/// ```
pub const fn bitmap_bytes(pages: u64) -> u64 {
    bitmap_words(pages) * 8
}

/// 64-bit words of bitmap storage a node of `pages` pages needs.
///
/// ```
/// assert_eq!(bootmem::bitmap_words(64), 1);
/// assert_eq!(bootmem::bitmap_words(65), 2);
/// ```
pub const fn bitmap_words(pages: u64) -> u64 {
    pages / BITS_PER_WORD + (pages % BITS_PER_WORD != 0) as u64
}

/// 64-bit words of storage a node of `pages` pages needs: its leaf bitmap
/// and the summary above it. Give [`BootAllocator::register_node`](crate::BootAllocator::register_node)
/// at least this many words.
///
/// ```
/// assert!(bootmem::node_storage_words(0x8000) >= bootmem::bitmap_words(0x8000));
/// ```
pub const fn node_storage_words(pages: u64) -> u64 {
    bitmap_words(pages)
}

/// Bytes of storage a node of `pages` pages needs ([`node_storage_words`] × 8).
///
/// ```
/// assert_eq!(bootmem::node_storage_bytes(64), 8 * bootmem::node_storage_words(64));
/// ```
pub const fn node_storage_bytes(pages: u64) -> u64 {
    node_storage_words(pages) * 8
}

/// The words that bits `[from, to)` fall in, each with the mask of the
/// range's bits within it.
fn word_masks(from: u64, to: u64) -> impl Iterator<Item = (usize, u64)> {
    let mut index = from;
    core::iter::from_fn(move || {
        if index >= to {
            return None;
        }
        let offset = index % BITS_PER_WORD;
        let bits = (BITS_PER_WORD - offset).min(to - index);
        let mask = if bits == BITS_PER_WORD {
            u64::MAX
        } else {
            ((1u64 << bits) - 1) << offset
        };
        let word_index = (index / BITS_PER_WORD) as usize;
        index += bits;
        Some((word_index, mask))
    })
}

/// A bitmap over caller-provided words.
///
/// Indices at or beyond `len` (the node's page count) are pad bits; the
/// bitmap keeps them set, as Linux does, and no method changes them.
#[derive(Debug)]
pub(crate) struct Bitmap<Storage> {
    storage: Storage,
    len: u64,
}

impl<Storage: AsRef<[u64]> + AsMut<[u64]>> Bitmap<Storage> {
    /// Takes `storage` for `len` bits and sets every bit, pad bits included.
    /// The caller has checked that `storage` holds at least
    /// `bitmap_words(len)` words.
    pub(crate) fn new_all_set(mut storage: Storage, len: u64) -> Self {
        let words = bitmap_words(len) as usize;
        for word in &mut storage.as_mut()[..words] {
            *word = u64::MAX;
        }
        Self { storage, len }
    }

    fn words(&self) -> &[u64] {
        self.storage.as_ref()
    }

    fn words_mut(&mut self) -> &mut [u64] {
        self.storage.as_mut()
    }

    /// Whether bit `index` is set. Bits past `len` read as set.
    pub(crate) fn is_set(&self, index: u64) -> bool {
        if index >= self.len {
            return true;
        }
        self.words()[(index / BITS_PER_WORD) as usize] & (1 << (index % BITS_PER_WORD)) != 0
    }

    /// The first index in `[from, to)` whose bit equals `set`, or `to` when
    /// there is none. `to` must not exceed `len`.
    fn find_next(&self, from: u64, to: u64, set: bool) -> u64 {
        debug_assert!(to <= self.len);
        if from >= to {
            return to;
        }
        let words = self.words();
        let mut word_index = from / BITS_PER_WORD;
        let flip = if set { 0 } else { u64::MAX };
        // Bits below `from` in the first word are masked away.
        let mut word = (words[word_index as usize] ^ flip) & (u64::MAX << (from % BITS_PER_WORD));
        loop {
            if word != 0 {
                let found = word_index * BITS_PER_WORD + u64::from(word.trailing_zeros());
                return found.min(to);
            }
            word_index += 1;
            if word_index * BITS_PER_WORD >= to {
                return to;
            }
            word = words[word_index as usize] ^ flip;
        }
    }

    /// The first clear bit in `[from, to)`, or `to` (Linux's `find_next_zero_bit`).
    pub(crate) fn next_clear(&self, from: u64, to: u64) -> u64 {
        self.find_next(from, to, false)
    }

    /// The first set bit in `[from, to)`, or `to`.
    pub(crate) fn next_set(&self, from: u64, to: u64) -> u64 {
        self.find_next(from, to, true)
    }

    /// Applies `operation` to each word of `[from, to)` with its mask.
    fn for_each_word_in(&mut self, from: u64, to: u64, mut operation: impl FnMut(&mut u64, u64)) {
        debug_assert!(to <= self.len);
        let words = self.words_mut();
        for (word_index, mask) in word_masks(from, to) {
            operation(&mut words[word_index], mask);
        }
    }

    /// Sets every bit of `[from, to)`.
    pub(crate) fn set_range(&mut self, from: u64, to: u64) {
        self.for_each_word_in(from, to, |word, mask| *word |= mask);
    }

    /// Clears every bit of `[from, to)`.
    pub(crate) fn clear_range(&mut self, from: u64, to: u64) {
        self.for_each_word_in(from, to, |word, mask| *word &= !mask);
    }

    /// Number of clear bits in `[from, to)`.
    pub(crate) fn count_clear(&self, from: u64, to: u64) -> u64 {
        debug_assert!(to <= self.len);
        let words = self.words();
        word_masks(from, to)
            .map(|(word_index, mask)| u64::from((!words[word_index] & mask).count_ones()))
            .sum()
    }

    /// The 64 "free" flags of indices `[from, from + 64)`: bit `k` is set
    /// when index `from + k` is below `len` and clear in the bitmap.
    pub(crate) fn free_flags_at(&self, from: u64) -> u64 {
        if from >= self.len {
            return 0;
        }
        let words = self.words();
        let word_index = (from / BITS_PER_WORD) as usize;
        let shift = from % BITS_PER_WORD;
        let mut flags = !words[word_index] >> shift;
        if shift != 0 && ((word_index + 1) as u64) * BITS_PER_WORD < self.len {
            flags |= !words[word_index + 1] << (BITS_PER_WORD - shift);
        }
        let valid = self.len - from;
        if valid < BITS_PER_WORD {
            flags &= (1u64 << valid) - 1;
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn bitmap(len: u64) -> Bitmap<Vec<u64>> {
        Bitmap::new_all_set(vec![0; bitmap_words(len) as usize], len)
    }

    #[test]
    fn sizes_match_linux() {
        assert_eq!(bitmap_bytes(0x8001), 4104);
        assert_eq!(bitmap_bytes(1), 8);
    }

    #[test]
    fn set_clear_and_find_across_words() {
        let mut map = bitmap(300);
        assert_eq!(map.next_clear(0, 300), 300);
        map.clear_range(60, 200);
        assert_eq!(map.next_clear(0, 300), 60);
        assert_eq!(map.next_set(60, 300), 200);
        assert_eq!(map.next_set(60, 150), 150);
        assert_eq!(map.count_clear(0, 300), 140);
        map.set_range(63, 65);
        assert!(map.is_set(63) && map.is_set(64) && !map.is_set(65) && !map.is_set(62));
        assert_eq!(map.next_set(61, 300), 63);
        assert_eq!(map.next_clear(63, 300), 65);
        assert!(map.is_set(300), "indices past the end read as reserved");
    }

    #[test]
    fn free_flags_stop_at_the_end() {
        let mut map = bitmap(100);
        map.clear_range(0, 100);
        assert_eq!(map.free_flags_at(0), u64::MAX);
        assert_eq!(map.free_flags_at(3), u64::MAX);
        assert_eq!(map.free_flags_at(40), (1 << 60) - 1);
        assert_eq!(map.free_flags_at(99), 1);
        assert_eq!(map.free_flags_at(100), 0);
    }
}
