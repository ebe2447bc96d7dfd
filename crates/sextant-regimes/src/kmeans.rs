//! k-means on PCA-reduced features: standardise each feature over the fit rows, project onto
//! the leading principal components, cluster by Lloyd's algorithm from seeded k-means++ starts.
//! A row's cluster depends on that row only (and the fitted projection), so it is point in time
//! by construction; it has neither the HMM's persistence nor probabilities (a label's
//! probability is 1).
//!
//! Written here rather than taken from linfa: the features are a handful of columns, so the
//! eigen-decomposition is a few Jacobi sweeps on a `d × d` matrix, and linfa would bring ndarray
//! and its own random-number stack for a hundred lines of arithmetic.

use crate::hmm::{check_rows, HmmConfig};
use crate::RegimeError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A fitted PCA projection and k-means centroids in the projected space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaKMeans {
    /// Mean of each feature over the fit rows.
    pub mean: Vec<f64>,
    /// Standard deviation of each feature over the fit rows (1 for a constant feature).
    pub scale: Vec<f64>,
    /// Principal axes, `components × d`, leading first.
    pub axes: Vec<Vec<f64>>,
    /// Share of the standardised variance each kept component explains.
    pub explained: Vec<f64>,
    /// Cluster centres in component space.
    pub centroids: Vec<Vec<f64>>,
}

impl PcaKMeans {
    /// Fits `cfg.states` clusters on `x` projected onto `components` principal components
    /// (clamped to the number of features): `cfg.restarts` seeded k-means++ starts, each run of
    /// Lloyd's algorithm to a fixed point or `cfg.max_iter`, the lowest within-cluster sum of
    /// squares kept.
    ///
    /// # Errors
    /// As [`crate::GaussianHmm::fit`].
    pub fn fit(
        x: &[Vec<f64>],
        cfg: &HmmConfig,
        components: usize,
    ) -> Result<(PcaKMeans, f64), RegimeError> {
        cfg.check()?;
        let d = check_rows(x, 4 * cfg.states)?;
        let n = x.len() as f64;
        let mean: Vec<f64> = (0..d)
            .map(|f| x.iter().map(|r| r[f]).sum::<f64>() / n)
            .collect();
        let scale: Vec<f64> = (0..d)
            .map(|f| {
                let v = x.iter().map(|r| (r[f] - mean[f]).powi(2)).sum::<f64>() / n;
                if v > 0.0 {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        let z: Vec<Vec<f64>> = x
            .iter()
            .map(|r| (0..d).map(|f| (r[f] - mean[f]) / scale[f]).collect())
            .collect();
        let mut corr = vec![0.0; d * d];
        for r in &z {
            for a in 0..d {
                for b in 0..d {
                    corr[a * d + b] += r[a] * r[b] / n;
                }
            }
        }
        let (values, vectors) = jacobi_eigen(&corr, d);
        let p = components.clamp(1, d);
        let total: f64 = values.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let axes: Vec<Vec<f64>> = vectors.into_iter().take(p).collect();
        let explained = values.iter().take(p).map(|v| v / total).collect();
        let mut model = PcaKMeans {
            mean,
            scale,
            axes,
            explained,
            centroids: Vec::new(),
        };
        let y: Vec<Vec<f64>> = z.iter().map(|r| model.project_std(r)).collect();
        let mut best: Option<(Vec<Vec<f64>>, f64)> = None;
        for r in 0..cfg.restarts {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(r as u64));
            let (c, sse) = lloyd(&y, cfg.states, cfg.max_iter, &mut rng);
            if best.as_ref().is_none_or(|(_, b)| sse < *b) {
                best = Some((c, sse));
            }
        }
        let (centroids, sse) = best.ok_or_else(|| RegimeError::Config("no restart ran".into()))?;
        model.centroids = centroids;
        Ok((model, sse))
    }

    /// The cluster of every row (nearest centroid; ties: the lower index).
    ///
    /// # Errors
    /// [`RegimeError::Data`] for rows that do not match the model or are not finite.
    pub fn assign(&self, x: &[Vec<f64>]) -> Result<Vec<usize>, RegimeError> {
        let d = check_rows(x, 1)?;
        if d != self.mean.len() {
            return Err(RegimeError::Data(format!(
                "the model has {} features; the rows have {d}",
                self.mean.len()
            )));
        }
        Ok(x.iter()
            .map(|r| {
                let z: Vec<f64> = (0..d)
                    .map(|f| (r[f] - self.mean[f]) / self.scale[f])
                    .collect();
                nearest(&self.centroids, &self.project_std(&z)).0
            })
            .collect())
    }

    fn project_std(&self, z: &[f64]) -> Vec<f64> {
        self.axes
            .iter()
            .map(|a| a.iter().zip(z).map(|(u, v)| u * v).sum())
            .collect()
    }
}

fn nearest(centroids: &[Vec<f64>], y: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, c) in centroids.iter().enumerate() {
        let d2: f64 = c.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum();
        if d2 < best.1 {
            best = (j, d2);
        }
    }
    best
}

/// Lloyd's algorithm from k-means++ seeds: (centroids, within-cluster sum of squares).
fn lloyd(y: &[Vec<f64>], k: usize, max_iter: usize, rng: &mut ChaCha8Rng) -> (Vec<Vec<f64>>, f64) {
    let p = y[0].len();
    let mut centroids = crate::gaussian::kmeanspp(y, k, rng, |a, b| {
        a.iter().zip(b).map(|(u, v)| (u - v).powi(2)).sum()
    });
    let mut assign = vec![usize::MAX; y.len()];
    let mut sse = 0.0;
    for _ in 0..max_iter {
        let mut changed = false;
        sse = 0.0;
        for (a, r) in assign.iter_mut().zip(y) {
            let (j, d2) = nearest(&centroids, r);
            sse += d2;
            if *a != j {
                *a = j;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![vec![0.0; p]; k];
        let mut counts = vec![0usize; k];
        for (&a, r) in assign.iter().zip(y) {
            counts[a] += 1;
            for (s, v) in sums[a].iter_mut().zip(r) {
                *s += v;
            }
        }
        for j in 0..k {
            // An empty cluster keeps its centre rather than becoming NaN.
            if counts[j] > 0 {
                centroids[j] = sums[j].iter().map(|s| s / counts[j] as f64).collect();
            }
        }
    }
    (centroids, sse)
}

/// Eigenvalues (descending) and unit eigenvectors of the symmetric `d × d` matrix `a`, by
/// cyclic Jacobi rotations.
fn jacobi_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _ in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * d + j].powi(2))
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = m[p * d + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q * d + q] - m[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (mkp, mkq) = (m[k * d + p], m[k * d + q]);
                    m[k * d + p] = c * mkp - s * mkq;
                    m[k * d + q] = s * mkp + c * mkq;
                }
                for k in 0..d {
                    let (mpk, mqk) = (m[p * d + k], m[q * d + k]);
                    m[p * d + k] = c * mpk - s * mqk;
                    m[q * d + k] = s * mpk + c * mqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&i, &j| m[j * d + j].total_cmp(&m[i * d + i]));
    let values = order.iter().map(|&i| m[i * d + i].max(0.0)).collect();
    let vectors = order
        .iter()
        .map(|&i| {
            let col: Vec<f64> = (0..d).map(|k| v[k * d + i]).collect();
            // A sign convention, so the same data always gives the same axes.
            let flip = col
                .iter()
                .copied()
                .find(|x| x.abs() > 1e-12)
                .is_some_and(|x| x < 0.0);
            col.into_iter().map(|x| if flip { -x } else { x }).collect()
        })
        .collect();
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_the_eigenpairs_of_a_known_matrix() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1 along (1, 1)/√2 and (1, −1)/√2.
        let (vals, vecs) = jacobi_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((vals[0] - 3.0).abs() < 1e-12 && (vals[1] - 1.0).abs() < 1e-12);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vecs[0][0] - h).abs() < 1e-12 && (vecs[0][1] - h).abs() < 1e-12);
    }

    #[test]
    fn separates_two_clusters_and_labels_each_row_by_itself() {
        let mut x = Vec::new();
        for i in 0..100 {
            let e = (i % 7) as f64 * 0.01;
            x.push(if i < 50 {
                vec![e, 1.0 + e]
            } else {
                vec![5.0 + e, -3.0 + e]
            });
        }
        let cfg = HmmConfig {
            states: 2,
            ..HmmConfig::default()
        };
        let (m, _) = PcaKMeans::fit(&x, &cfg, 1).expect("fit");
        let a = m.assign(&x).expect("assign");
        assert!(a[..50].iter().all(|&s| s == a[0]) && a[50..].iter().all(|&s| s == a[50]));
        assert_ne!(a[0], a[50]);
        assert!(m.explained[0] > 0.99, "{:?}", m.explained);
        // Point in time: a row's label is the same with or without the rows after it.
        assert_eq!(m.assign(&x[..60]).expect("assign"), a[..60].to_vec());
    }
}
