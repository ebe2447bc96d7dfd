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

/// e^x for `x ≤ 0` (the scaled emission densities): the shared vectorisable kernel (see
/// `sextant_numeric::exp`); inputs below −708 give 0.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f64) -> f64 {
    sextant_numeric::exp(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_of_nonpositive_values() {
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-800.0), 0.0);
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
        assert!((exp_nonpositive(-3.0) - (-3f64).exp()).abs() < 1e-16);
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
