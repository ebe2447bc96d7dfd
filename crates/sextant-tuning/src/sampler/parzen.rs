//! Parzen estimators for TPE: a weighted mixture of truncated normals (numeric parameters) and
//! smoothed categorical distributions, one kernel per observation plus a prior kernel.
//!
//! Follows Optuna 5's `_ParzenEstimator`: a numeric kernel's bandwidth is the larger gap to its
//! neighbours among the sorted observations and the bounds (the outermost ones take the inner
//! gap), clipped to `[range / min(100, n + 2), range]`; the prior kernel sits at the middle of
//! the range with the range as bandwidth. An integer or stepped parameter is a *discrete*
//! truncated normal (the mass of its grid cell `x ± step/2`); a log-scale one lives in log
//! coordinates. Kernels are shared across dimensions, so the log density of a point is
//! `logsumexp_k(ln w_k + Σ_d ln p_kd(x_d))`.
//!
//! Values in and out are internal values (not search coordinates).

use super::transform::bounds;
use crate::space::Distribution;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sextant_numeric::{norm_cdf, norm_ppf};
use std::collections::HashMap;

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// One dimension of the mixture.
#[derive(Debug, Clone)]
pub(crate) enum Dim {
    /// A truncated normal per kernel in kernel coordinates (log for a log scale).
    Numeric {
        mus: Vec<f64>,
        sigma: Vec<f64>,
        /// Support in kernel coordinates (half a step wider than the grid on each side).
        low: f64,
        high: f64,
        /// Grid step in value coordinates; 0 for a continuous dimension.
        step: f64,
        log: bool,
        /// `ln σ_k + ln(Φ(high) − Φ(low))` of each kernel.
        ln_norm: Vec<f64>,
        /// For discrete dimensions: the distinct `(μ, σ)` pairs and each kernel's pair, so that
        /// cell masses are computed once per pair (observations on a grid repeat).
        uniq: Vec<(f64, f64)>,
        which: Vec<u32>,
    },
    /// One row of choice probabilities per kernel, as logarithms.
    Categorical { ln_p: Vec<Vec<f64>> },
}

/// The mixture over a group of parameters.
#[derive(Debug, Clone)]
pub(crate) struct Parzen {
    pub ln_w: Vec<f64>,
    w_cum: Vec<f64>,
    pub dims: Vec<Dim>,
    dists: Vec<Distribution>,
    /// For a large mixture: its kernels sorted along one continuous dimension, so a density
    /// only visits the kernels that can matter ([`super::window`]).
    pub window: Option<super::window::Window>,
}

/// Optuna's `default_weights`: flat for the 25 newest observations, a linear ramp from `1/n`
/// for the older ones.
pub(crate) fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let mut w: Vec<f64> = (0..ramp)
        .map(|i| {
            if ramp == 1 {
                1.0 / n as f64
            } else {
                1.0 / n as f64 + (1.0 - 1.0 / n as f64) * i as f64 / (ramp - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// Optuna 5's bandwidths: neighbour gaps among `[low, sorted mus…, high]`, clipped below at
/// Optuna's "magic clip" `range / min(100, n + 2)`, or at `min_factor · range` when that is
/// smaller.
/// An integer key whose order is `f64::total_cmp`'s.
pub(crate) fn sort_key(m: f64) -> u64 {
    let b = m.to_bits() as i64;
    (b ^ (((b >> 63) as u64) >> 1) as i64) as u64 ^ (1 << 63)
}

/// `mus` sorted by value, ties by index (as indices).
fn sorted_order(mus: &[f64]) -> Vec<usize> {
    let mut pairs: Vec<(u64, u32)> = mus
        .iter()
        .enumerate()
        .map(|(i, &m)| (sort_key(m), i as u32))
        .collect();
    pairs.sort_unstable();
    pairs.iter().map(|p| p.1 as usize).collect()
}

fn bandwidths(
    mus: &[f64],
    low: f64,
    high: f64,
    min_factor: Option<f64>,
    order: Option<Vec<usize>>,
) -> (Vec<f64>, Vec<usize>) {
    let n = mus.len();
    // Sorted by value, ties by index; a caller that keeps the order gives it.
    let order = order
        .filter(|o| o.len() == n)
        .unwrap_or_else(|| sorted_order(mus));
    let mut s = Vec::with_capacity(n + 2);
    s.push(low);
    s.extend(order.iter().map(|&i| mus[i]));
    s.push(high);
    let mut sorted: Vec<f64> = (0..n)
        .map(|i| (s[i + 1] - s[i]).max(s[i + 2] - s[i + 1]))
        .collect();
    if n >= 2 {
        sorted[0] = s[2] - s[1];
        sorted[n - 1] = s[n] - s[n - 1];
    }
    let range = high - low;
    let magic = range / ((n + 2) as f64).min(100.0);
    let min_sigma = match min_factor {
        Some(f) => magic.min(f * range),
        None => magic,
    };
    let mut out = vec![0.0; n];
    for (k, &i) in order.iter().enumerate() {
        out[i] = sorted[k].clamp(min_sigma, range);
    }
    (out, order)
}

impl Parzen {
    /// The estimator over `cols[d][i]` (internal values of dimension `d`, oldest observation
    /// first), with the prior kernel last.
    pub fn new(
        dists: &[&Distribution],
        cols: &[Vec<f64>],
        prior_weight: f64,
        min_factor: Option<f64>,
    ) -> Parzen {
        Parzen::with_orders(dists, cols, prior_weight, min_factor, Vec::new())
    }

    /// [`Self::new`] with each dimension's observations already sorted (`orders[d]`: indices
    /// by value, ties by index), as a sampler that keeps them sorted across asks gives them.
    pub fn with_orders(
        dists: &[&Distribution],
        cols: &[Vec<f64>],
        prior_weight: f64,
        min_factor: Option<f64>,
        mut given: Vec<Option<Vec<usize>>>,
    ) -> Parzen {
        let n = cols.first().map_or(0, Vec::len);
        let mut w = default_weights(n);
        w.push(if n == 0 { 1.0 } else { prior_weight });
        let total: f64 = w.iter().sum();
        let ln_w: Vec<f64> = w.iter().map(|x| (x / total).ln()).collect();
        let mut acc = 0.0;
        let w_cum = w
            .iter()
            .map(|x| {
                acc += x / total;
                acc
            })
            .collect();
        let mut orders: Vec<Option<Vec<usize>>> = vec![None; dists.len()];
        let dims: Vec<Dim> = dists
            .iter()
            .enumerate()
            .map(|(d, dist)| match bounds(dist) {
                Some((low, high)) => {
                    let log = dist.is_log();
                    let mut mus: Vec<f64> = cols[d]
                        .iter()
                        .map(|&o| if log { o.ln() } else { o })
                        .collect();
                    let known = given.get_mut(d).and_then(Option::take);
                    let (mut sigma, order) = bandwidths(&mus, low, high, min_factor, known);
                    orders[d] = Some(order);
                    mus.push(low + (high - low) / 2.0);
                    sigma.push(high - low);
                    let step = grid_step(dist);
                    // Most bandwidths sit at the clip: their logarithm is taken once.
                    let mut last = (f64::NAN, f64::NAN);
                    let ln_norm = mus
                        .iter()
                        .zip(&sigma)
                        .map(|(&m, &s)| {
                            let ln_s = if step > 0.0 {
                                0.0
                            } else if s == last.0 {
                                last.1
                            } else {
                                last = (s, s.ln());
                                last.1
                            };
                            ln_mass(m, s, low, high) + ln_s
                        })
                        .collect();
                    let (mut uniq, mut which) = (Vec::new(), Vec::new());
                    if step > 0.0 {
                        let mut seen: HashMap<(u64, u64), u32> = HashMap::new();
                        for (&m, &s) in mus.iter().zip(&sigma) {
                            let id = *seen.entry((m.to_bits(), s.to_bits())).or_insert_with(|| {
                                uniq.push((m, s));
                                (uniq.len() - 1) as u32
                            });
                            which.push(id);
                        }
                    }
                    Dim::Numeric {
                        mus,
                        sigma,
                        low,
                        high,
                        step,
                        log,
                        ln_norm,
                        uniq,
                        which,
                    }
                }
                None => {
                    let k = match dist {
                        Distribution::Categorical { choices } => choices.len(),
                        _ => 1,
                    };
                    let ln_p =
                        categorical_rows(cols[d].iter().map(|&o| o as usize), k, n, prior_weight);
                    Dim::Categorical { ln_p }
                }
            })
            .collect();
        let window = super::window::Window::build(&dims, &mut orders, n);
        Parzen {
            ln_w,
            w_cum,
            dims,
            dists: dists.iter().map(|d| (*d).clone()).collect(),
            window,
        }
    }

    /// One joint draw (internal values, on each parameter's grid): a kernel, then each
    /// dimension from that kernel.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let u: f64 = rng.gen();
        let k = self
            .w_cum
            .partition_point(|&c| c <= u)
            .min(self.w_cum.len() - 1);
        self.dims
            .iter()
            .zip(&self.dists)
            .map(|(d, dist)| match d {
                Dim::Numeric {
                    mus,
                    sigma,
                    low,
                    high,
                    log,
                    ..
                } => {
                    let t = trunc_normal(rng, mus[k], sigma[k], *low, *high);
                    dist.snap(if *log { t.exp() } else { t })
                }
                Dim::Categorical { ln_p } => {
                    let u: f64 = rng.gen();
                    let row = &ln_p[k];
                    let mut acc = 0.0;
                    for (i, lp) in row.iter().enumerate() {
                        acc += lp.exp();
                        if u < acc {
                            return i as f64;
                        }
                    }
                    (row.len() - 1) as f64
                }
            })
            .collect()
    }

    /// `ln p(x)` of each point (internal values on the grid).
    ///
    /// One pass over the kernels per point with a reused row: `ln w_k` and every truncation
    /// and normal constant are folded into one base term per kernel, so the inner loops are
    /// multiply-adds and a vectorised exponential.
    pub fn log_pdf(&self, points: &[Vec<f64>]) -> Vec<f64> {
        let kernels = self.ln_w.len();
        let mut base = self.ln_w.clone();
        let mut inv: Vec<Vec<f64>> = Vec::with_capacity(self.dims.len());
        for dim in &self.dims {
            match dim {
                Dim::Numeric {
                    sigma,
                    step,
                    ln_norm,
                    ..
                } => {
                    let c = if *step > 0.0 { 0.0 } else { LN_SQRT_2PI };
                    for (b, n) in base.iter_mut().zip(ln_norm) {
                        *b -= c + n;
                    }
                    inv.push(sigma.iter().map(|s| 1.0 / s).collect());
                }
                Dim::Categorical { .. } => inv.push(Vec::new()),
            }
        }
        if let Some(w) = &self.window {
            return w.log_pdf(self, &base, &inv, points);
        }
        let mut row = vec![0.0; kernels];
        let mut cell = Vec::new();
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        points
            .iter()
            .map(|p| {
                #[cfg(target_arch = "x86_64")]
                if avx2 {
                    // SAFETY: the CPU has AVX2 and FMA (checked above).
                    return unsafe { self.point_avx2(p, &base, &inv, &mut row, &mut cell) };
                }
                self.point(p, &base, &inv, &mut row, &mut cell)
            })
            .collect()
    }

    /// [`Self::point`] compiled for AVX2 and FMA, so that its loops use 4-wide vectors.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn point_avx2(
        &self,
        p: &[f64],
        base: &[f64],
        inv: &[Vec<f64>],
        row: &mut [f64],
        cell: &mut Vec<f64>,
    ) -> f64 {
        self.point(p, base, inv, row, cell)
    }

    /// `ln p(x)` of one point: the row of kernel terms, then its log-sum-exp.
    #[inline(always)]
    fn point(
        &self,
        p: &[f64],
        base: &[f64],
        inv: &[Vec<f64>],
        row: &mut [f64],
        cell: &mut Vec<f64>,
    ) -> f64 {
        row.copy_from_slice(base);
        for (d, dim) in self.dims.iter().enumerate() {
            let x = p[d];
            match dim {
                Dim::Numeric {
                    mus,
                    low,
                    high,
                    step,
                    log,
                    uniq,
                    which,
                    ..
                } => {
                    if *step > 0.0 {
                        let (mut a, mut b) = (x - step / 2.0, x + step / 2.0);
                        if *log {
                            (a, b) = (a.ln(), b.ln());
                        }
                        let (a, b) = (a.max(*low), b.min(*high));
                        cell.clear();
                        cell.extend(uniq.iter().map(|&(m, s)| ln_mass(m, s, a, b)));
                        for (r, &w) in row.iter_mut().zip(which) {
                            *r += cell[w as usize];
                        }
                    } else {
                        let t = if *log { x.ln() } else { x };
                        for ((r, m), i) in row.iter_mut().zip(mus).zip(&inv[d]) {
                            let z = (t - m) * i;
                            *r -= 0.5 * z * z;
                        }
                    }
                }
                Dim::Categorical { ln_p } => {
                    let i = x as usize;
                    for (r, lp) in row.iter_mut().zip(ln_p) {
                        *r += lp[i];
                    }
                }
            }
        }
        log_sum_exp(row)
    }
}

/// The grid step of an integer or stepped float (0 for a continuous real).
fn grid_step(d: &Distribution) -> f64 {
    match *d {
        Distribution::Int { step, .. } => step as f64,
        Distribution::Float { step: Some(s), .. } => s,
        _ => 0.0,
    }
}

/// Smoothed categorical kernels (Optuna's): each observation's row puts weight 1 on its choice
/// plus `prior_weight / kernels` on every choice; the prior row is uniform.
fn categorical_rows(
    observed: impl Iterator<Item = usize>,
    k: usize,
    n: usize,
    prior_weight: f64,
) -> Vec<Vec<f64>> {
    let base = prior_weight / (n + 1) as f64;
    let mut rows: Vec<Vec<f64>> = observed
        .map(|c| {
            let mut r = vec![base; k];
            if c < k {
                r[c] += 1.0;
            }
            r
        })
        .collect();
    rows.push(vec![1.0; k]);
    rows.iter()
        .map(|r| {
            let s: f64 = r.iter().sum();
            r.iter().map(|x| (x / s).ln()).collect()
        })
        .collect()
}

/// `ln(Φ((b−μ)/σ) − Φ((a−μ)/σ))`, computed on the side of the mean where it keeps precision.
pub(crate) fn ln_mass(mu: f64, sigma: f64, a: f64, b: f64) -> f64 {
    let (za, zb) = ((a - mu) / sigma, (b - mu) / sigma);
    // Both bounds beyond 8.5 σ: Φ(zb) − Φ(za) rounds to exactly 1 (the tails are below half
    // an ulp of 1), so skip the two erfc calls.
    if za < -8.5 && zb > 8.5 {
        return 0.0;
    }
    let m = if za > 0.0 {
        norm_cdf(-za) - norm_cdf(-zb)
    } else {
        // Beyond 8.5 σ, Φ is 1 to the last bit, and a lower tail under 1e-17 taken from at
        // least 0.5 changes nothing: skip the erfc calls that cannot matter.
        let hi = if zb > 8.5 { 1.0 } else { norm_cdf(zb) };
        let lo = if za < -8.5 && hi >= 0.5 {
            0.0
        } else {
            norm_cdf(za)
        };
        hi - lo
    };
    m.max(f64::MIN_POSITIVE).ln()
}

/// A draw from N(μ, σ²) truncated to `[low, high]` by inverting the CDF.
fn trunc_normal(rng: &mut ChaCha8Rng, mu: f64, sigma: f64, low: f64, high: f64) -> f64 {
    let (za, zb) = ((low - mu) / sigma, (high - mu) / sigma);
    let u: f64 = rng.gen();
    // Work in the lower tail for precision: mirror when the interval is above the mean.
    let x = if za > 0.0 {
        let (pa, pb) = (norm_cdf(-zb), norm_cdf(-za));
        -norm_ppf(pa + u * (pb - pa))
    } else {
        let (pa, pb) = (norm_cdf(za), norm_cdf(zb));
        norm_ppf(pa + u * (pb - pa))
    };
    (mu + sigma * x).clamp(low, high)
}

/// `ln Σ exp(x)`. Terms more than 50 below the largest are left out: each is under
/// `e^-50 ≈ 2e-22` of the sum, so with up to 10⁵ kernels the result is unchanged at double
/// precision, and far kernels (most of them, in a long history) cost a comparison instead of
/// an exponential. Eight lanes keep the maximum and the test vectorised.
#[inline(always)]
pub(crate) fn log_sum_exp(xs: &[f64]) -> f64 {
    let mut mx = [f64::NEG_INFINITY; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (m, &x) in mx.iter_mut().zip(c) {
            *m = if x > *m { x } else { *m };
        }
    }
    let m = rest
        .iter()
        .chain(&mx)
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    let cut = m - 50.0;
    let mut sum = 0.0;
    for c in xs.chunks(8) {
        let mut any = false;
        for &x in c {
            any |= x > cut;
        }
        if any {
            for &x in c {
                if x > cut {
                    sum += sextant_numeric::exp(x - m);
                }
            }
        }
    }
    m + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn weights_follow_optuna() {
        assert_eq!(default_weights(3), vec![1.0; 3]);
        let w = default_weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-15);
        assert!((w[4] - 1.0).abs() < 1e-15 && w[5..].iter().all(|&x| x == 1.0));
    }

    #[test]
    fn densities_integrate_to_one() {
        let d = Distribution::Float {
            low: 0.0,
            high: 1.0,
            step: None,
            log: false,
        };
        let p = Parzen::new(&[&d], &[vec![0.2, 0.9]], 1.0, None);
        let n = 20_000;
        let s: f64 = p
            .log_pdf(
                &(0..n)
                    .map(|i| vec![(i as f64 + 0.5) / n as f64])
                    .collect::<Vec<_>>(),
            )
            .iter()
            .map(|l| l.exp() / n as f64)
            .sum();
        assert!((s - 1.0).abs() < 1e-6, "{s}");
        let i = Distribution::Int {
            low: 1,
            high: 5,
            step: 1,
            log: false,
        };
        let p = Parzen::new(&[&i], &[vec![2.0, 2.0, 5.0]], 1.0, None);
        let s: f64 = p
            .log_pdf(&(1..=5).map(|v| vec![v as f64]).collect::<Vec<_>>())
            .iter()
            .map(|l| l.exp())
            .sum();
        assert!((s - 1.0).abs() < 1e-12, "{s}");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            let x = p.sample(&mut rng)[0];
            assert!((0.5..=5.5).contains(&x));
        }
    }
}
