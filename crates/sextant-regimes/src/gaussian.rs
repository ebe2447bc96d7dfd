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
    kmeanspp(x, k, rng, |r, m| {
        (0..d).map(|f| (r[f] - m[f]).powi(2) / floor[f]).sum()
    })
}

/// k-means++ seeding: a first row at random, then each next row with probability proportional
/// to `dist2` to its nearest seed so far (uniformly when every row sits on a seed).
pub(crate) fn kmeanspp(
    x: &[Vec<f64>],
    k: usize,
    rng: &mut ChaCha8Rng,
    dist2: impl Fn(&[f64], &[f64]) -> f64,
) -> Vec<Vec<f64>> {
    let mut seeds: Vec<Vec<f64>> = vec![x[rng.gen_range(0..x.len())].clone()];
    while seeds.len() < k {
        let dist: Vec<f64> = x
            .iter()
            .map(|r| {
                seeds
                    .iter()
                    .map(|m| dist2(r, m))
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
        seeds.push(x[pick].clone());
    }
    seeds
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

/// Observations as one contiguous `t × d` block: the EM loops walk it without chasing a
/// pointer per row.
pub(crate) struct Rows {
    data: Vec<f64>,
    d: usize,
}

impl Rows {
    /// Copies already-checked rows (all of length `d`).
    pub(crate) fn new(x: &[Vec<f64>], d: usize) -> Rows {
        let mut data = Vec::with_capacity(x.len() * d);
        for r in x {
            data.extend_from_slice(r);
        }
        Rows { data, d }
    }

    pub(crate) fn len(&self) -> usize {
        self.data.len() / self.d.max(1)
    }

    pub(crate) fn d(&self) -> usize {
        self.d
    }

    pub(crate) fn row(&self, t: usize) -> &[f64] {
        &self.data[t * self.d..(t + 1) * self.d]
    }

    /// The rows as fixed-size arrays (rows of another width are skipped: call it with `D`
    /// equal to [`Self::d`]).
    pub(crate) fn fixed<const D: usize>(&self) -> impl Iterator<Item = &[f64; D]> {
        self.data
            .chunks_exact(D)
            .filter_map(|r| <&[f64; D]>::try_from(r).ok())
    }
}

/// The sufficient statistics of the Gaussian M-step: each state's total weight, weighted sum
/// and weighted cross products (lower triangle), gathered one row at a time. The covariance is
/// then E[x xᵀ] − μ μᵀ, the moments hmmlearn accumulates too.
pub(crate) struct GaussianStats {
    k: usize,
    d: usize,
    w: Vec<f64>,
    sum: Vec<f64>,
    cross: Vec<f64>,
}

impl GaussianStats {
    pub(crate) fn new(k: usize, d: usize) -> GaussianStats {
        GaussianStats {
            k,
            d,
            w: vec![0.0; k],
            sum: vec![0.0; k * d],
            cross: vec![0.0; k * d * d],
        }
    }

    /// Adds every row of `x` with weight `resp[t · k + j]` to state `j` (`t × k`
    /// responsibilities), state by state: loops over rows of a width known at compile time
    /// (1 to 4 features) unroll.
    pub(crate) fn add_all(&mut self, x: &Rows, resp: &[f64]) {
        match x.d() {
            1 => self.add_fixed::<1>(x, resp),
            2 => self.add_fixed::<2>(x, resp),
            3 => self.add_fixed::<3>(x, resp),
            4 => self.add_fixed::<4>(x, resp),
            _ => {
                for t in 0..x.len() {
                    self.add(x.row(t), &resp[t * self.k..(t + 1) * self.k]);
                }
            }
        }
    }

    fn add_fixed<const D: usize>(&mut self, x: &Rows, resp: &[f64]) {
        let k = self.k;
        for j in 0..k {
            let (mut w, mut s, mut c) = (0.0, [0.0; D], [[0.0; D]; D]);
            for (row, g) in x.fixed::<D>().zip(resp.iter().skip(j).step_by(k)) {
                w += g;
                for a in 0..D {
                    let ga = g * row[a];
                    s[a] += ga;
                    for (cb, rb) in c[a].iter_mut().zip(row).take(a + 1) {
                        *cb += ga * rb;
                    }
                }
            }
            self.w[j] += w;
            for a in 0..D {
                self.sum[j * D + a] += s[a];
                let dst = &mut self.cross[j * D * D + a * D..j * D * D + a * D + a + 1];
                for (x, v) in dst.iter_mut().zip(&c[a]) {
                    *x += v;
                }
            }
        }
    }

    /// Adds `row` with weight `g[j]` to every state `j`.
    #[inline]
    pub(crate) fn add(&mut self, row: &[f64], g: &[f64]) {
        let d = self.d;
        for (j, &gj) in g.iter().enumerate().take(self.k) {
            self.w[j] += gj;
            let s = &mut self.sum[j * d..(j + 1) * d];
            let c = &mut self.cross[j * d * d..(j + 1) * d * d];
            for a in 0..d {
                let ga = gj * row[a];
                s[a] += ga;
                for b in 0..=a {
                    c[a * d + b] += ga * row[b];
                }
            }
        }
    }

    /// Writes each supported state's mean and (floored) covariance into `means` and `covs`
    /// and returns every state's total weight. A state that no row supports keeps its previous
    /// parameters instead of becoming NaN.
    pub(crate) fn finish(
        self,
        covariance: Covariance,
        floor: &[f64],
        means: &mut [Vec<f64>],
        covs: &mut [Vec<f64>],
    ) -> Result<Vec<f64>, RegimeError> {
        let d = self.d;
        for j in 0..self.k {
            let wj = self.w[j];
            if wj < 1e-10 {
                continue;
            }
            let mean: Vec<f64> = self.sum[j * d..(j + 1) * d]
                .iter()
                .map(|s| s / wj)
                .collect();
            let mut cov = self.cross[j * d * d..(j + 1) * d * d].to_vec();
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
            let cov =
                positive_definite(cov, d).ok_or(RegimeError::NotPositiveDefinite { state: j })?;
            means[j] = mean;
            covs[j] = cov;
        }
        Ok(self.w)
    }
}

/// `cov` itself when it is positive definite; otherwise the same variances with the
/// correlations shrunk (by 10 % a step, at most 60 steps, then none) until it is. The moment
/// formula E[x xᵀ] − μ μᵀ can lose a state's covariance to cancellation when its variance is
/// tiny next to its mean; a fit then carries on with a slightly less correlated state instead of
/// failing. `None` only if even the diagonal is not positive (the floor prevents that).
fn positive_definite(mut cov: Vec<f64>, d: usize) -> Option<Vec<f64>> {
    for _ in 0..60 {
        if LogDensity::new(&vec![0.0; d], &cov).is_some() {
            return Some(cov);
        }
        for a in 0..d {
            for b in 0..d {
                if a != b {
                    cov[a * d + b] *= 0.9;
                }
            }
        }
    }
    for a in 0..d {
        for b in 0..d {
            if a != b {
                cov[a * d + b] = 0.0;
            }
        }
    }
    LogDensity::new(&vec![0.0; d], &cov).map(|_| cov)
}

/// The M-step of the Gaussian states from per-row responsibilities `resp` (`t × k`): see
/// [`GaussianStats`].
pub(crate) fn update_gaussians(
    x: &Rows,
    resp: &[f64],
    covariance: Covariance,
    floor: &[f64],
    means: &mut [Vec<f64>],
    covs: &mut [Vec<f64>],
) -> Result<Vec<f64>, RegimeError> {
    let mut stats = GaussianStats::new(means.len(), floor.len());
    stats.add_all(x, resp);
    stats.finish(covariance, floor, means, covs)
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
