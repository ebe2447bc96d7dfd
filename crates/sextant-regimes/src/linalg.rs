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
    /// −½ (d ln 2π + ln det Σ).
    constant: f64,
}

impl LogDensity {
    /// `None` when the covariance is not positive definite.
    pub(crate) fn new(mean: &[f64], cov: &[f64]) -> Option<LogDensity> {
        let d = mean.len();
        let chol = cholesky(cov, d)?;
        let log_det: f64 = (0..d).map(|i| 2.0 * chol[i * d + i].ln()).sum();
        Some(LogDensity {
            mean: mean.to_vec(),
            chol,
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
            let z = s / self.chol[i * d + i];
            work[i] = z;
            q += z * z;
        }
        self.constant - 0.5 * q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
