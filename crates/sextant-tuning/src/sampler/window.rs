//! Densities of a large Parzen mixture without visiting every kernel.
//!
//! With thousands of observations (a long study's "above" group) the kernels are narrow, and a
//! candidate's density is the sum of the few kernels near it: the others lie more than 50 below
//! the largest term in the log domain, so [`log_sum_exp`] drops them anyway. Here the kernels
//! are kept sorted along one continuous dimension, and only those whose centre is within
//! `σ_max · √(2 (b_max − m + 50))` of the candidate there are visited, where `b_max` bounds
//! every kernel's constant term and `m` is the largest term among the candidate's nearest
//! kernels. Every other kernel's term is at most `m − 50` (the other dimensions only lower
//! it), so it would have been dropped: the density is the same sum, taken in another order.

use super::parzen::{ln_mass, log_sum_exp, Dim, Parzen};

/// Smallest mixture worth a window.
const MIN_KERNELS: usize = 512;
/// Kernels on each side of the candidate that fix the first estimate of the largest term.
const PROBE: usize = 16;

/// The kernels (prior excluded) sorted along dimension `dim`.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    dim: usize,
    /// Kernel index of each sorted position.
    order: Vec<u32>,
    /// Centre of each sorted kernel in `dim`.
    sorted_mu: Vec<f64>,
    /// Largest bandwidth in `dim` among the sorted kernels.
    sigma_max: f64,
}

impl Window {
    /// A window along the first continuous dimension, for a mixture of at least
    /// [`MIN_KERNELS`] observations; `orders[d]` is each numeric dimension's sorted order.
    pub(crate) fn build(
        dims: &[Dim],
        orders: &mut [Option<Vec<usize>>],
        n: usize,
    ) -> Option<Window> {
        if n < MIN_KERNELS {
            return None;
        }
        let (dim, mus, sigma) = dims.iter().enumerate().find_map(|(d, dim)| match dim {
            Dim::Numeric {
                mus, sigma, step, ..
            } if *step == 0.0 => Some((d, mus, sigma)),
            _ => None,
        })?;
        let order: Vec<u32> = orders
            .get_mut(dim)?
            .take()?
            .into_iter()
            .map(|i| i as u32)
            .collect();
        let sorted_mu = order.iter().map(|&k| mus[k as usize]).collect();
        let sigma_max = sigma[..n].iter().copied().fold(0.0, f64::max);
        Some(Window {
            dim,
            order,
            sorted_mu,
            sigma_max,
        })
    }

    /// `ln p(x)` of each point; `base` and `inv` as [`Parzen::log_pdf`] builds them.
    pub(crate) fn log_pdf(
        &self,
        p: &Parzen,
        base: &[f64],
        inv: &[Vec<f64>],
        points: &[Vec<f64>],
    ) -> Vec<f64> {
        let prior = base.len() - 1;
        let perm = |v: &[f64]| -> Vec<f64> { self.order.iter().map(|&k| v[k as usize]).collect() };
        let base_s = perm(base);
        let b_max = base_s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // Per dimension, the sorted kernels' centres and inverse bandwidths (continuous) or
        // cell ids (discrete).
        let cols: Vec<(Vec<f64>, Vec<f64>, Vec<u32>)> = p
            .dims
            .iter()
            .zip(inv)
            .map(|(dim, iv)| match dim {
                Dim::Numeric { step, which, .. } if *step > 0.0 => (
                    Vec::new(),
                    Vec::new(),
                    self.order.iter().map(|&k| which[k as usize]).collect(),
                ),
                Dim::Numeric { mus, .. } => (perm(mus), perm(iv), Vec::new()),
                Dim::Categorical { .. } => (Vec::new(), Vec::new(), Vec::new()),
            })
            .collect();
        let mut row = Vec::new();
        let mut cells: Vec<Vec<f64>> = vec![Vec::new(); p.dims.len()];
        points
            .iter()
            .map(|x| {
                // Discrete dimensions: the cell mass of each distinct kernel, once.
                for (d, dim) in p.dims.iter().enumerate() {
                    if let Dim::Numeric {
                        low,
                        high,
                        step,
                        log,
                        uniq,
                        ..
                    } = dim
                    {
                        if *step > 0.0 {
                            let (mut a, mut b) = (x[d] - step / 2.0, x[d] + step / 2.0);
                            if *log {
                                (a, b) = (a.ln(), b.ln());
                            }
                            let (a, b) = (a.max(*low), b.min(*high));
                            cells[d].clear();
                            cells[d].extend(uniq.iter().map(|&(m, s)| ln_mass(m, s, a, b)));
                        }
                    }
                }
                let coord = |d: usize| match &p.dims[d] {
                    Dim::Numeric { log: true, .. } => x[d].ln(),
                    _ => x[d],
                };
                // The rows of sorted kernels lo..hi, into `row`.
                let fill = |row: &mut Vec<f64>, lo: usize, hi: usize| {
                    row.clear();
                    row.extend_from_slice(&base_s[lo..hi]);
                    for (d, (mus, iv, which)) in cols.iter().enumerate() {
                        match &p.dims[d] {
                            Dim::Numeric { step, .. } if *step > 0.0 => {
                                for (r, &w) in row.iter_mut().zip(&which[lo..hi]) {
                                    *r += cells[d][w as usize];
                                }
                            }
                            Dim::Numeric { .. } => {
                                let t = coord(d);
                                for ((r, m), i) in row.iter_mut().zip(&mus[lo..hi]).zip(&iv[lo..hi])
                                {
                                    let z = (t - m) * i;
                                    *r -= 0.5 * z * z;
                                }
                            }
                            Dim::Categorical { ln_p } => {
                                let c = x[d] as usize;
                                for (r, &k) in row.iter_mut().zip(&self.order[lo..hi]) {
                                    *r += ln_p[k as usize][c];
                                }
                            }
                        }
                    }
                };
                // The prior kernel, always included.
                let mut prior_row = base[prior];
                for (d, dim) in p.dims.iter().enumerate() {
                    prior_row += match dim {
                        Dim::Numeric { step, which, .. } if *step > 0.0 => {
                            cells[d][which[prior] as usize]
                        }
                        Dim::Numeric { mus, .. } => {
                            let z = (coord(d) - mus[prior]) * inv[d][prior];
                            -0.5 * z * z
                        }
                        Dim::Categorical { ln_p } => ln_p[prior][x[d] as usize],
                    };
                }
                let n = self.sorted_mu.len();
                let t = coord(self.dim);
                let pos = self.sorted_mu.partition_point(|&m| m < t);
                let (plo, phi) = (pos.saturating_sub(PROBE), (pos + PROBE).min(n));
                fill(&mut row, plo, phi);
                let m_ref = row.iter().copied().fold(prior_row, f64::max);
                let half = self.sigma_max * (2.0 * (b_max - m_ref + 50.0)).max(0.0).sqrt();
                let lo = self.sorted_mu.partition_point(|&m| m < t - half);
                let hi = self.sorted_mu.partition_point(|&m| m <= t + half);
                fill(&mut row, lo.min(plo), hi.max(phi));
                row.push(prior_row);
                log_sum_exp(&row)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Distribution;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn windowed_densities_equal_the_full_sum() {
        let dists = [
            Distribution::Float {
                low: -5.0,
                high: 10.0,
                step: None,
                log: false,
            },
            Distribution::Int {
                low: 1,
                high: 40,
                step: 1,
                log: false,
            },
            Distribution::Float {
                low: 0.01,
                high: 1.0,
                step: None,
                log: true,
            },
            Distribution::Categorical {
                choices: vec![
                    serde_json::json!("a"),
                    serde_json::json!("b"),
                    serde_json::json!("c"),
                ],
            },
        ];
        let refs: Vec<&Distribution> = dists.iter().collect();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for n in [600, 5_000] {
            let cols: Vec<Vec<f64>> = vec![
                (0..n).map(|_| rng.gen_range(-5.0..10.0)).collect(),
                (0..n).map(|_| f64::from(rng.gen_range(1..=40))).collect(),
                (0..n)
                    .map(|_| (rng.gen_range(0.01f64.ln()..0.0)).exp())
                    .collect(),
                (0..n).map(|_| f64::from(rng.gen_range(0..3))).collect(),
            ];
            let windowed = Parzen::new(&refs, &cols, 1.0, None);
            assert!(windowed.window.is_some());
            let mut full = windowed.clone();
            full.window = None;
            let points: Vec<Vec<f64>> = (0..200).map(|_| windowed.sample(&mut rng)).collect();
            for (a, b) in windowed.log_pdf(&points).iter().zip(full.log_pdf(&points)) {
                assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
    }
}
