//! Word-at-a-time scans over plain bit sets: next set or clear bit, runs of set bits.
//!
//! These are the building blocks of the summary levels: each level is a
//! bit set over the words of the level below, and these helpers find bits
//! in it a word at a time. Bit `i` is bit `i % 64` of word `i / 64`.

/// Bits per word.
pub(crate) const WORD: u64 = 64;

/// Words needed for `bits` bits.
pub(crate) const fn words_for(bits: u64) -> u64 {
    bits.div_ceil(WORD)
}

/// The fewest whole words any run of `length` consecutive bits holds: at
/// most 63 of its bits lie in the partly covered word on each side, and
/// the rest fill whole words, rounded up (a remainder does not fit
/// beside 63 on each side). Zero for a run of at most 126 bits.
pub(crate) const fn whole_words_within(length: u64) -> u64 {
    length.saturating_sub(2 * WORD - 2).div_ceil(WORD)
}

/// The shortest run of bits that holds `words` whole words (`words >=
/// 1`): [`whole_words_within`] of it is `words`, and of one bit shorter
/// `words - 1`.
pub(crate) const fn shortest_run_holding(words: u64) -> u64 {
    words * WORD + WORD - 1
}

/// Whether bit `index` of `bits` is set (the tests' reading of a
/// summary set; the library reads a leaf word's two level-1 bits together,
/// [`super::Bitmap::word`]).
#[cfg(test)]
pub(crate) fn get(bits: &[u64], index: u64) -> bool {
    bits[(index / WORD) as usize] & (1 << (index % WORD)) != 0
}

/// Sets or clears bit `index` of `bits`, without a branch on `value`;
/// returns whether the bit changed.
#[inline]
pub(crate) fn put(bits: &mut [u64], index: u64, value: bool) -> bool {
    let word = &mut bits[(index / WORD) as usize];
    let old = *word;
    let mask = 1 << (index % WORD);
    *word = old & !mask | u64::from(value).wrapping_neg() & mask;
    old != *word
}

/// `word` with the bits of `mask` set (`value`) or cleared.
#[inline(always)]
pub(crate) const fn with_mask(word: u64, mask: u64, value: bool) -> u64 {
    if value {
        word | mask
    } else {
        word & !mask
    }
}

/// The mask of bits `[from, to)` within one word, `0 <= from < to <= 64`.
pub(crate) const fn span_mask(from: u64, to: u64) -> u64 {
    let high = if to >= WORD { u64::MAX } else { (1 << to) - 1 };
    high & (u64::MAX << from)
}

/// Sets (`value`) or clears every bit of `[from, to)`, whole words at a time.
pub(crate) fn fill(bits: &mut [u64], from: u64, to: u64, value: bool) {
    if from >= to {
        return;
    }
    let (first, last) = ((from / WORD) as usize, ((to - 1) / WORD) as usize);
    let first_mask = u64::MAX << (from % WORD);
    let last_mask = span_mask(0, to - last as u64 * WORD);
    let apply = |word: &mut u64, mask: u64| *word = with_mask(*word, mask, value);
    if first == last {
        apply(&mut bits[first], first_mask & last_mask);
        return;
    }
    apply(&mut bits[first], first_mask);
    // Word by word: the stretch is usually a few words, too short to gain
    // from a call to `memset`.
    for word in &mut bits[first + 1..last] {
        *word = u64::from(value).wrapping_neg();
    }
    apply(&mut bits[last], last_mask);
}

/// [`fill`] of the same bits in two bit sets at once, in one pass, to
/// `values.0` in `first` and `values.1` in `second`: the summary's sets
/// over the same words change together.
pub(crate) fn fill_both(
    first: &mut [u64],
    second: &mut [u64],
    from: u64,
    to: u64,
    values: (bool, bool),
) {
    if from >= to {
        return;
    }
    let (low, high) = ((from / WORD) as usize, ((to - 1) / WORD) as usize);
    let low_mask = u64::MAX << (from % WORD);
    let high_mask = span_mask(0, to - high as u64 * WORD);
    let mut apply = |index: usize, mask: u64| {
        first[index] = with_mask(first[index], mask, values.0);
        second[index] = with_mask(second[index], mask, values.1);
    };
    if low == high {
        apply(low, low_mask & high_mask);
        return;
    }
    apply(low, low_mask);
    apply(high, high_mask);
    let words = (
        u64::from(values.0).wrapping_neg(),
        u64::from(values.1).wrapping_neg(),
    );
    for (one, other) in first[low + 1..high]
        .iter_mut()
        .zip(&mut second[low + 1..high])
    {
        *one = words.0;
        *other = words.1;
    }
}

/// The first index in `[from, to)` whose bit is `set`, or `to`. `to` must
/// not exceed the bits `bits` holds.
pub(crate) fn next(bits: &[u64], from: u64, to: u64, set: bool) -> u64 {
    if from >= to {
        return to;
    }
    let flip = if set { 0 } else { u64::MAX };
    let mut word_index = from / WORD;
    let mut word = (bits[word_index as usize] ^ flip) & (u64::MAX << (from % WORD));
    loop {
        if word != 0 {
            return (word_index * WORD + u64::from(word.trailing_zeros())).min(to);
        }
        word_index += 1;
        if word_index * WORD >= to {
            return to;
        }
        word = bits[word_index as usize] ^ flip;
    }
}

/// The bits of a word at positions `offset + k * stride` (`stride` a power
/// of two at most 64, `offset < stride`): where step boundaries fall in
/// each word of a bit set whose bits are leaf words.
pub(crate) const fn stride_mask(stride: u64, offset: u64) -> u64 {
    // Bit 0 and every `2^k`-th bit after it, by `k` (a table, not a
    // division: the small searches ask for it on every request).
    const PATTERNS: [u64; 7] = [
        u64::MAX,
        0x5555_5555_5555_5555,
        0x1111_1111_1111_1111,
        0x0101_0101_0101_0101,
        0x0001_0001_0001_0001,
        0x0000_0001_0000_0001,
        1,
    ];
    PATTERNS[stride.trailing_zeros() as usize] << offset
}

/// Bit 7 of each byte of a word, where [`bytes_at_least`] answers.
const BYTE_HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// For eight byte counts packed in a word (each at most 128), bit 7 of
/// each byte that is at least `threshold` (`1 <= threshold <= 128`), all
/// other bits clear: adding `128 - threshold` to a byte sets its bit 7
/// exactly then, and no sum passes 255 into the next byte.
pub(crate) const fn bytes_at_least(counts: u64, threshold: u64) -> u64 {
    counts.wrapping_add((128 - threshold) * (u64::MAX / 0xff)) & BYTE_HIGH_BITS
}

/// Bit 7 of bytes `[from, to)` of a word, `0 <= from < to <= 8`.
pub(crate) const fn byte_span_mask(from: u64, to: u64) -> u64 {
    span_mask(from * 8, to * 8) & BYTE_HIGH_BITS
}

/// The positions `p` where bits `p .. p + length` of `word` are all set
/// (`1 <= length <= 64`), as a mask.
pub(crate) fn run_starts(word: u64, length: u64) -> u64 {
    let mut starts = word;
    let mut covered = 1;
    while covered < length && starts != 0 {
        let shift = covered.min(length - covered);
        starts &= starts >> shift;
        covered += shift;
    }
    starts
}

/// The length of the longest run of set bits in `word` (0 to 64).
///
/// In a fixed number of steps, whatever the word: `spans[k]` has bit `p`
/// set where the `2^k` bits from `p` up are all set, and the length is
/// then built from the largest power of two down, keeping the starts from
/// which a run of the length so far, plus the next power, is all set. A
/// word of many short runs (a page-by-page pattern of reservations)
/// costs no more than one long run; counting run by run cost up to 32
/// passes.
pub(crate) fn longest_run(word: u64) -> u64 {
    if word == u64::MAX {
        return WORD;
    }
    let mut spans = [word; 6];
    for k in 1..spans.len() {
        spans[k] = spans[k - 1] & (spans[k - 1] >> (1 << (k - 1)));
    }
    // Starts from which `length` bits are set (every start, for none).
    let mut starts = u64::MAX;
    let mut length = 0;
    for k in (0..spans.len()).rev() {
        // At most 62 here: the word is not all set, so no run reaches 64.
        let longer = starts & (spans[k] >> length);
        if longer != 0 {
            starts = longer;
            length += 1 << k;
        }
    }
    length
}

/// A run of set bits being followed across words.
#[derive(Clone, Copy)]
struct OpenRun {
    start: u64,
    length: u64,
}

/// Finds the first `length` consecutive set bits inside `[from, to)` of
/// `bits` (`length >= 1`); returns where they start. `nonzero`, when given,
/// has one bit per word of `bits`, set when that word is not zero, and lets
/// the scan skip empty stretches.
pub(crate) fn find_run(
    bits: &[u64],
    nonzero: Option<&[u64]>,
    from: u64,
    to: u64,
    length: u64,
) -> Option<u64> {
    if from >= to || to - from < length {
        return None;
    }
    let last_word = (to - 1) / WORD;
    let mut word_index = from / WORD;
    let mut open = OpenRun {
        start: from,
        length: 0,
    };
    loop {
        let base = word_index * WORD;
        let mut word = bits[word_index as usize];
        if word_index == from / WORD {
            word &= u64::MAX << (from % WORD);
        }
        if word_index == last_word {
            word &= span_mask(0, to - base);
        }
        if word == u64::MAX {
            if open.length == 0 {
                open.start = base;
            }
            open.length += WORD;
        } else if word == 0 {
            open.length = 0;
            if let Some(summary) = nonzero {
                // Jump to the next word holding a set bit.
                let next_word = next(summary, word_index + 1, last_word + 1, true);
                if next_word > last_word {
                    return None;
                }
                word_index = next_word;
                continue;
            }
        } else {
            let head = u64::from(word.trailing_ones());
            if open.length == 0 {
                open.start = base;
            }
            if open.length + head >= length {
                return Some(open.start);
            }
            if length <= WORD {
                let starts = run_starts(word, length);
                if starts != 0 {
                    return Some(base + u64::from(starts.trailing_zeros()));
                }
            }
            open.length = u64::from(word.leading_ones());
            open.start = base + WORD - open.length;
        }
        if open.length >= length {
            return Some(open.start);
        }
        if word_index == last_word {
            return None;
        }
        word_index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_finds_set_and_clear_bits() {
        let bits = [0b1011_0000u64, 0, 1 << 5];
        assert_eq!(next(&bits, 0, 192, true), 4);
        assert_eq!(next(&bits, 6, 192, true), 7);
        assert_eq!(next(&bits, 8, 192, true), 133);
        assert_eq!(next(&bits, 8, 100, true), 100);
        assert_eq!(next(&bits, 4, 192, false), 6);
    }

    #[test]
    fn runs_are_found_inside_and_across_words() {
        let bits = [0xf0u64 | (0xff << 56), u64::MAX, 0b111];
        assert_eq!(find_run(&bits, None, 0, 192, 4), Some(4));
        assert_eq!(find_run(&bits, None, 5, 192, 4), Some(56));
        assert_eq!(find_run(&bits, None, 0, 192, 75), Some(56));
        assert_eq!(find_run(&bits, None, 0, 192, 76), None);
        assert_eq!(find_run(&bits, None, 0, 130, 74), Some(56));
        assert_eq!(find_run(&bits, None, 0, 129, 74), None);
        let summary = [0b101u64];
        let sparse = [0b1u64, 0, 0b11];
        assert_eq!(find_run(&sparse, Some(&summary), 0, 192, 2), Some(128));
    }

    #[test]
    fn stride_masks_mark_every_boundary_in_a_word() {
        assert_eq!(stride_mask(1, 0), u64::MAX);
        assert_eq!(stride_mask(2, 1), 0xaaaa_aaaa_aaaa_aaaa);
        assert_eq!(stride_mask(8, 3), 0x0808_0808_0808_0808);
        assert_eq!(stride_mask(32, 0), 0x0000_0001_0000_0001);
        assert_eq!(stride_mask(64, 5), 1 << 5);
        for stride in (0..=6).map(|shift| 1u64 << shift) {
            for offset in 0..stride {
                let mask = stride_mask(stride, offset);
                for bit in 0..WORD {
                    assert_eq!(mask >> bit & 1 == 1, bit % stride == offset);
                }
            }
        }
    }

    #[test]
    fn whole_words_within_agrees_with_every_placement_of_a_run() {
        // The fewest whole words a run of `length` bits covers, over every
        // offset of its first bit in a word.
        for length in 0..400u64 {
            let fewest = (0..WORD)
                .map(|offset| ((offset + length) / WORD).saturating_sub(offset.div_ceil(WORD)))
                .min()
                .unwrap();
            assert_eq!(whole_words_within(length), fewest, "{length} bits");
            if fewest > 0 {
                assert!(shortest_run_holding(fewest) <= length);
                assert_eq!(whole_words_within(shortest_run_holding(fewest)), fewest);
                assert_eq!(
                    whole_words_within(shortest_run_holding(fewest) - 1),
                    fewest - 1
                );
            }
        }
    }

    #[test]
    fn longest_runs_agree_with_counting_bit_by_bit() {
        let naive = |word: u64| {
            let (mut longest, mut current) = (0, 0);
            for bit in 0..WORD {
                current = if word >> bit & 1 == 1 { current + 1 } else { 0 };
                longest = longest.max(current);
            }
            longest
        };
        let mut random = crate::test_random::XorShift::new(99);
        let samples = if cfg!(miri) { 200 } else { 100_000 };
        for _ in 0..samples {
            // Sparse, dense and mixed words, and single runs of every length.
            let a = random.below(u64::MAX);
            let b = random.below(u64::MAX);
            let length = random.below(65);
            let shift = random.below(64);
            let run = if length == 64 {
                u64::MAX
            } else {
                ((1u64 << length) - 1) << shift
            };
            // And words of many short runs, as page-by-page reservations
            // leave them.
            let comb = 0x5555_5555_5555_5555u64.rotate_left(shift as u32);
            for word in [
                a,
                a & b,
                a | b,
                run,
                run | (a & b & (b >> 7)),
                comb | run,
                0x3333_3333_3333_3333 | run,
            ] {
                assert_eq!(longest_run(word), naive(word), "{word:#x}");
            }
        }
        assert_eq!(longest_run(0), 0);
        assert_eq!(longest_run(u64::MAX), 64);
        assert_eq!(longest_run(u64::MAX >> 1), 63);
        assert_eq!(longest_run(u64::MAX << 1), 63);
    }

    #[test]
    fn fill_agrees_with_setting_each_bit() {
        let ends: &[u64] = if cfg!(miri) {
            &[0, 5, 64, 130, 192]
        } else {
            &[0, 1, 5, 63, 64, 65, 127, 128, 130, 191, 192]
        };
        for &from in ends {
            for &to in ends {
                for value in [false, true] {
                    let start = [
                        0x0123_4567_89ab_cdef_u64,
                        0xfedc_ba98_7654_3210,
                        0x5555_aaaa_3333_cccc,
                    ];
                    let mut filled = start;
                    fill(&mut filled, from, to, value);
                    let mut expected = start;
                    for index in from..to {
                        put(&mut expected, index, value);
                    }
                    assert_eq!(filled, expected, "from {from} to {to} value {value}");
                }
            }
        }
    }

    #[test]
    fn filling_two_sets_at_once_agrees_with_filling_each() {
        let ends: &[u64] = if cfg!(miri) {
            &[0, 5, 64, 130, 256]
        } else {
            &[0, 1, 5, 63, 64, 65, 127, 128, 130, 191, 192, 255, 256]
        };
        let start = [
            0x0123_4567_89ab_cdef_u64,
            0xfedc_ba98_7654_3210,
            0x5555_aaaa_3333_cccc,
            0x0f0f_f0f0_1248_8421,
        ];
        for &from in ends {
            for &to in ends {
                for values in [(false, false), (false, true), (true, false), (true, true)] {
                    let (mut first, mut second) = (start, start.map(|word| !word));
                    fill_both(&mut first, &mut second, from, to, values);
                    let (mut expected_first, mut expected_second) = (start, start.map(|w| !w));
                    fill(&mut expected_first, from, to, values.0);
                    fill(&mut expected_second, from, to, values.1);
                    assert_eq!(first, expected_first, "from {from} to {to} {values:?}");
                    assert_eq!(second, expected_second, "from {from} to {to} {values:?}");
                }
            }
        }
    }

    #[test]
    fn fill_and_masks() {
        let mut bits = [0u64; 3];
        fill(&mut bits, 60, 130, true);
        assert_eq!(bits, [0xf << 60, u64::MAX, 0b11]);
        fill(&mut bits, 61, 129, false);
        assert_eq!(bits, [1 << 60, 0, 0b10]);
        assert_eq!(span_mask(0, 64), u64::MAX);
        assert_eq!(span_mask(3, 5), 0b11000);
    }
}
