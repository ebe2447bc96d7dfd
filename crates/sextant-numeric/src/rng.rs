//! A tiny deterministic generator (SplitMix64, Steele, Lea & Flood 2014).
//!
//! Used wherever a seeded draw must be replayable outside Rust: its whole output is fixed by the
//! seed and ten lines of integer arithmetic, so a Python reference (the quality benchmark's
//! injector, the MLOps random-entry baseline and bootstrap) reproduces the same draws exactly,
//! which a general-purpose RNG crate's stream does not promise across versions.

/// SplitMix64 with `below(n) = next_u64 % n`.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator whose whole output sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next 64-bit output of the sequence.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0; the modulo bias is below 2^-40 for the sizes used here, and
    /// keeping it makes the stream trivially replayable).
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_first_output() {
        // The reference implementation's first output for seed 0.
        assert_eq!(SplitMix::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }
}
