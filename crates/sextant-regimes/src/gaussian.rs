//! What every Gaussian state model shares: starting points, the variance floor, and the
//! M-step of the states' means and covariances from per-row responsibilities.

use crate::hmm::Covariance;
use crate::linalg::LogDensity;
use crate::RegimeError;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Per-feature variance floor: `fraction` of the feature's variance over `x` (or of 1 for a
/// constant feature, so the floor is never zero).
pub(crate) fn variance_floor(x: &[Vec<f64>], d: usize, fraction: f64) -> Vec<f64> {
    let n = x.len() as f64;
    (0..d)
        .map(|f| {
            let mean = x.iter().map(|r| r[f]).sum::<f64>() / n;
            let var = x.iter().map(|r| (r[f] - mean).powi(2)).sum::<f64>() / n;
            fraction * if var > 0.0 { var } else { 1.0 }
        })
        .collect()
}

/// `k` starting means by k-means++ seeding over the rows (distances scaled by the floor, so
/// features of different scales count alike).
pub(crate) fn kmeanspp_means(
    x: &[Vec<f64>],
    d: usize,
    k: usize,
    floor: &[f64],
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<f64>> {
    let mut means: Vec<Vec<f64>> = vec![x[rng.gen_range(0..x.len())].clone()];
    while means.len() < k {
        let dist: Vec<f64> = x
            .iter()
            .map(|r| {
                means
                    .iter()
                    .map(|m| {
                        (0..d)
                            .map(|f| (r[f] - m[f]).powi(2) / floor[f])
                            .sum::<f64>()
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        let total: f64 = dist.iter().sum();
        let pick = if total > 0.0 {
            let mut u = rng.gen::<f64>() * total;
            dist.iter()
                .position(|&w| {
                    u -= w;
                    u <= 0.0
                })
                .unwrap_or(x.len() - 1)
        } else {
            rng.gen_range(0..x.len())
        };
        means.push(x[pick].clone());
    }
    means
}

/// The rows' covariance (population), floored on the diagonal and diagonal-only when asked.
pub(crate) fn data_covariance(
    x: &[Vec<f64>],
    d: usize,
    covariance: Covariance,
    floor: &[f64],
) -> Vec<f64> {
    let n = x.len() as f64;
    let mean: Vec<f64> = (0..d)
        .map(|f| x.iter().map(|r| r[f]).sum::<f64>() / n)
        .collect();
    let mut cov = vec![0.0; d * d];
    for r in x {
        for a in 0..d {
            for b in 0..d {
                cov[a * d + b] += (r[a] - mean[a]) * (r[b] - mean[b]) / n;
            }
        }
    }
    for a in 0..d {
        for b in 0..d {
            if a == b {
                cov[a * d + b] = cov[a * d + b].max(floor[a]);
            } else if covariance == Covariance::Diagonal {
                cov[a * d + b] = 0.0;
            }
        }
    }
    cov
}

/// The M-step of the Gaussian states: each state's mean and covariance weighted by `resp`
/// (`t × k` responsibilities), written into `means` and `covs`; returns each state's total
/// weight. One pass over the rows gathers every state's weight, sums and cross products; the
/// covariance is then E[x xᵀ] − μ μᵀ (the moments hmmlearn accumulates too). A state that no
/// row supports keeps its previous parameters instead of becoming NaN.
pub(crate) fn update_gaussians(
    x: &[Vec<f64>],
    resp: &[f64],
    covariance: Covariance,
    floor: &[f64],
    means: &mut [Vec<f64>],
    covs: &mut [Vec<f64>],
) -> Result<Vec<f64>, RegimeError> {
    let k = means.len();
    let d = floor.len();
    let mut w = vec![0.0; k];
    let mut sum = vec![0.0; k * d];
    let mut cross = vec![0.0; k * d * d];
    for (t, row) in x.iter().enumerate() {
        for j in 0..k {
            let g = resp[t * k + j];
            w[j] += g;
            let s = &mut sum[j * d..(j + 1) * d];
            let c = &mut cross[j * d * d..(j + 1) * d * d];
            for a in 0..d {
                let ga = g * row[a];
                s[a] += ga;
                for b in 0..=a {
                    c[a * d + b] += ga * row[b];
                }
            }
        }
    }
    for j in 0..k {
        let wj = w[j];
        if wj < 1e-10 {
            continue;
        }
        let mean: Vec<f64> = sum[j * d..(j + 1) * d].iter().map(|s| s / wj).collect();
        let mut cov = cross[j * d * d..(j + 1) * d * d].to_vec();
        for a in 0..d {
            for b in 0..=a {
                let v = cov[a * d + b] / wj - mean[a] * mean[b];
                let v = if a == b {
                    v.max(floor[a])
                } else if covariance == Covariance::Diagonal {
                    0.0
                } else {
                    v
                };
                cov[a * d + b] = v;
                cov[b * d + a] = v;
            }
        }
        if LogDensity::new(&mean, &cov).is_none() {
            return Err(RegimeError::NotPositiveDefinite { state: j });
        }
        means[j] = mean;
        covs[j] = cov;
    }
    Ok(w)
}

/// Each state's log density, or the first state whose covariance is not positive definite.
pub(crate) fn densities(
    means: &[Vec<f64>],
    covs: &[Vec<f64>],
) -> Result<Vec<LogDensity>, RegimeError> {
    means
        .iter()
        .zip(covs)
        .enumerate()
        .map(|(j, (m, c))| {
            LogDensity::new(m, c).ok_or(RegimeError::NotPositiveDefinite { state: j })
        })
        .collect()
}
