//! The little linear algebra a Gaussian emission needs: Cholesky factors of small symmetric
//! matrices and the log density through them.

/// Lower-triangular Cholesky factor of the symmetric `d × d` matrix `a` (row major), or `None`
/// when `a` is not positive definite.
pub(crate) fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// A Gaussian's log density, precomputed from its mean and covariance.
#[derive(Debug, Clone)]
pub(crate) struct LogDensity {
    mean: Vec<f64>,
    chol: Vec<f64>,
    /// 1 / the factor's diagonal: the hot loop multiplies instead of dividing.
    inv_diag: Vec<f64>,
    /// −½ (d ln 2π + ln det Σ).
    constant: f64,
}

impl LogDensity {
    /// `None` when the covariance is not positive definite.
    pub(crate) fn new(mean: &[f64], cov: &[f64]) -> Option<LogDensity> {
        let d = mean.len();
        let chol = cholesky(cov, d)?;
        let log_det: f64 = (0..d).map(|i| 2.0 * chol[i * d + i].ln()).sum();
        let inv_diag = (0..d).map(|i| 1.0 / chol[i * d + i]).collect();
        Some(LogDensity {
            mean: mean.to_vec(),
            chol,
            inv_diag,
            constant: -0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + log_det),
        })
    }

    /// ln N(x; mean, cov), by forward substitution through the Cholesky factor.
    pub(crate) fn eval(&self, x: &[f64], work: &mut [f64]) -> f64 {
        let d = self.mean.len();
        let mut q = 0.0;
        for i in 0..d {
            let mut s = x[i] - self.mean[i];
            for (l, w) in self.chol[i * d..i * d + i].iter().zip(&work[..i]) {
                s -= l * w;
            }
            let z = s * self.inv_diag[i];
            work[i] = z;
            q += z * z;
        }
        self.constant - 0.5 * q
    }

    /// [`Self::eval`] for a dimension known at compile time (unrolled, no bounds checks).
    #[inline(always)]
    pub(crate) fn eval_d<const D: usize>(&self, x: &[f64; D]) -> f64 {
        let mut z = [0.0; D];
        let mut q = 0.0;
        for i in 0..D {
            let mut s = x[i] - self.mean[i];
            for (c, zl) in self.chol[i * D..i * D + i].iter().zip(&z[..i]) {
                s -= c * zl;
            }
            z[i] = s * self.inv_diag[i];
            q += z[i] * z[i];
        }
        self.constant - 0.5 * q
    }
}

/// e^x for `x ≤ 0` (the scaled emission densities), written so that a loop over a slice
/// vectorises: libm's `exp` is a call per value, a quarter of an EM iteration. Cody–Waite
/// reduction x = k ln 2 + r with |r| ≤ ln 2 / 2, a degree-13 Taylor polynomial in r (truncation
/// error below 1e-17 relative), 2^k built from its bits. Within a few ulp of libm; inputs
/// below −708 (results under 1e-307) give 0.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // fdlibm's split of ln 2: the high part has trailing zero bits, so k · LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
    const SHIFTER: f64 = 6_755_399_441_055_744.0; // 2^52 + 2^51: adding it rounds to an integer
    let xc = x.max(-708.0);
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
        for i in 0..=200_000 {
            let x = -(i as f64) * 3.5e-3; // 0 down to −700
            let (a, b) = (exp_nonpositive(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-800.0), 0.0);
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn density_matches_the_closed_form() {
        // 2-d with correlation: Σ = [[2, 0.6], [0.6, 1]].
        let cov = [2.0, 0.6, 0.6, 1.0];
        let ld = LogDensity::new(&[0.5, -1.0], &cov).expect("pd");
        let x = [1.0, 0.0];
        let det: f64 = 2.0 * 1.0 - 0.36;
        let (dx, dy) = (0.5, 1.0);
        // Σ⁻¹ = [[1, -0.6], [-0.6, 2]] / det
        let q = (dx * dx * 1.0 - 2.0 * 0.6 * dx * dy + 2.0 * dy * dy) / det;
        let want = -0.5 * (2.0 * (2.0 * std::f64::consts::PI).ln() + det.ln() + q);
        let mut w = [0.0; 2];
        assert!((ld.eval(&x, &mut w) - want).abs() < 1e-12);
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none(), "indefinite");
    }
}
