#![warn(missing_docs)]
//! Numerical kernels shared by the model crates (`sextant-regimes`, `sextant-forecasts`), and the
//! one seeded generator whose draws Python references replay ([`SplitMix`]).
//!
//! libm's `exp` is a function call per value, so a loop that calls it never vectorises; in the
//! regime lattice it was a quarter of an EM iteration, in a filtered-historical-simulation path
//! most of a step. [`exp`] is branch-free in its range and inlines, so such loops vectorise.

mod normal;
mod rng;
pub use normal::{norm_cdf, norm_ppf};
pub use rng::SplitMix;

/// `e^x`, within a few ulp of libm, written so that a loop over a slice vectorises.
///
/// Cody–Waite reduction `x = k ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-13 Taylor polynomial
/// in `r` (truncation error below 1e-17 relative), `2^k` built from its bits. Below −708 the
/// result is 0 (true values under 1e-307), above 709 it is +∞; NaN stays NaN.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // fdlibm's split of ln 2: the high part has trailing zero bits, so k · LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
    const SHIFTER: f64 = 6_755_399_441_055_744.0; // 2^52 + 2^51: adding it rounds to an integer
    let xc = x.clamp(-708.0, 709.0);
    let y = xc * LOG2E + SHIFTER;
    let kf = y - SHIFTER;
    let r = (xc - kf * LN2_HI) - kf * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    // The low bits of y hold k (two's complement); 2^k has exponent field k + 1023.
    let k = y.to_bits().wrapping_sub(SHIFTER.to_bits());
    let scale = f64::from_bits(k.wrapping_add(1023) << 52);
    if x < -708.0 {
        0.0
    } else if x > 709.0 {
        f64::INFINITY
    } else {
        p * scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_within_a_few_ulp() {
        let mut worst = 0.0f64;
        for i in 0..=400_000 {
            let x = -700.0 + (i as f64) * 3.5e-3; // −700 up to +700
            let (a, b) = (exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
        assert!((exp(709.0) - 709f64.exp()).abs() / 709f64.exp() < 1e-15);
    }
}
