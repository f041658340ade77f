//! A fixed pseudo-random sequence for the unit tests: xorshift64, the same numbers on every run.

/// Marsaglia's xorshift64 generator. Its state must not be zero.
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator starting from `seed` (not zero).
    pub(crate) const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next number of the sequence.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next number reduced below `bound` (not zero).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}
