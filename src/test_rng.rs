//! A tiny xorshift generator for the randomised unit tests (decoder garbage,
//! negotiation simulations, hostile text): random enough to explore, seeded so a
//! failure repeats. Test builds only.

/// Xorshift64; the seed must not be zero.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n` must not be zero).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
