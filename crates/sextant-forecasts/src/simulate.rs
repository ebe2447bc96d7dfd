//! Monte Carlo paths of the target's value, relative to its value at the origin.
//!
//! Reproducible bit for bit: paths are simulated in chunks of [`CHUNK`], chunk `c` drawing
//! from ChaCha8 seeded with the forecast's seed on stream `c`, so the paths do not depend on
//! how many threads run them.

use crate::model::{Fitted, Learnt};
use crate::{ForecastError, Target};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, StudentT};
use rayon::prelude::*;

/// Paths per random stream.
pub const CHUNK: usize = 256;

/// Simulated values relative to the origin's value (1.0 = unchanged), path-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Paths {
    /// Days per path.
    pub days: usize,
    /// Number of paths.
    pub paths: usize,
    /// `values[p · days + d]`: path `p`'s value after day `d + 1`.
    pub values: Vec<f64>,
}

impl Paths {
    /// Path `p`.
    pub fn path(&self, p: usize) -> &[f64] {
        &self.values[p * self.days..(p + 1) * self.days]
    }

    /// Every path's value after day `d + 1`, ascending.
    pub fn sorted_day(&self, d: usize) -> Vec<f64> {
        let mut v: Vec<f64> = (0..self.paths)
            .map(|p| self.values[p * self.days + d])
            .collect();
        v.sort_unstable_by(f64::total_cmp);
        v
    }
}

/// Simulates `paths` paths of `days` days of `fitted` on `target`'s history.
pub fn simulate(
    fitted: &Fitted,
    target: &Target,
    days: usize,
    paths: usize,
    seed: u64,
) -> Result<Paths, ForecastError> {
    if let Learnt::Garch { fit, .. } = &fitted.learnt {
        if !(fit.params.nu > 2.0) {
            return Err(ForecastError::Config(format!(
                "Student-t degrees of freedom {} must exceed 2",
                fit.params.nu
            )));
        }
    }
    if days == 0 || paths == 0 {
        return Err(ForecastError::Config(
            "need at least one day and one path".into(),
        ));
    }
    let mut values = vec![0.0; paths * days];
    let gross = GrossRows::new(target, &fitted.shift);
    values
        .par_chunks_mut(CHUNK * days.max(1))
        .enumerate()
        .for_each(|(c, out)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(c as u64);
            run_chunk(fitted, target, &gross, days, out, &mut rng);
        });
    Ok(Paths {
        days,
        paths,
        values,
    })
}

/// Each row's gross returns weighted by the origin's holdings: `vᵢ/V₀ · e^{rᵢ,ₜ}` is what one
/// unit of relative value in asset `i` becomes after day `t`.
struct GrossRows {
    gross: Vec<f64>,
    weights: Vec<f64>,
    cash: f64,
    assets: usize,
}

impl GrossRows {
    fn new(t: &Target, shift: &[f64]) -> GrossRows {
        let v0 = t.start_value();
        let n = t.assets();
        GrossRows {
            gross: t
                .returns()
                .iter()
                .enumerate()
                .map(|(k, r)| (r + shift.get(k % n).copied().unwrap_or(0.0)).exp())
                .collect(),
            weights: t.values().iter().map(|v| v / v0).collect(),
            cash: t.cash() / v0,
            assets: t.assets(),
        }
    }

    fn row(&self, t: usize) -> &[f64] {
        &self.gross[t * self.assets..(t + 1) * self.assets]
    }
}

fn run_chunk(
    fitted: &Fitted,
    target: &Target,
    g: &GrossRows,
    days: usize,
    out: &mut [f64],
    rng: &mut ChaCha8Rng,
) {
    let rows = target.rows();
    let n = g.assets;
    let mut holding = vec![0.0; n];
    let shift = &fitted.shift;
    match &fitted.learnt {
        Learnt::Naive { mu, sigma } => {
            for path in out.chunks_mut(days) {
                let mut cum = 0.0;
                for v in path.iter_mut() {
                    let z: f64 = StandardNormal.sample(rng);
                    cum += mu + sigma * z;
                    *v = cum.exp();
                }
            }
        }
        Learnt::Historical { start } => {
            for path in out.chunks_mut(days) {
                holding.copy_from_slice(&g.weights);
                for v in path.iter_mut() {
                    let t = rng.gen_range(*start..rows);
                    *v = step(&mut holding, g.row(t), g.cash);
                }
            }
        }
        Learnt::Bootstrap {
            start,
            block_length,
        } => {
            let p_new = 1.0 / block_length;
            let len = rows - start;
            for path in out.chunks_mut(days) {
                holding.copy_from_slice(&g.weights);
                let mut t = rng.gen_range(0..len);
                for (d, v) in path.iter_mut().enumerate() {
                    if d > 0 {
                        t = if rng.gen::<f64>() < p_new {
                            rng.gen_range(0..len)
                        } else {
                            (t + 1) % len
                        };
                    }
                    *v = step(&mut holding, g.row(start + t), g.cash);
                }
            }
        }
        Learnt::Garch { fit, next_var, .. } => {
            let p = fit.params;
            // `simulate` refused ν ≤ 2 before any chunk ran.
            let Ok(t) = StudentT::new(p.nu) else { return };
            let scale = ((p.nu - 2.0) / p.nu).sqrt();
            for path in out.chunks_mut(days) {
                let mut s2 = *next_var;
                let mut cum = 0.0;
                for v in path.iter_mut() {
                    let e = s2.sqrt() * scale * t.sample(rng);
                    cum += (p.mu + e) / 100.0 + shift[0];
                    // Saturate rather than overflow: ∞ · 0 later would be NaN.
                    s2 = p.next_variance(e, s2).min(f64::MAX);
                    *v = cum.exp();
                }
            }
        }
        Learnt::Fhs {
            fits, z, next_var, ..
        } => {
            let zrows = z.len() / n;
            let mu: Vec<f64> = fits.iter().map(|f| f.params.mu).collect();
            let omega: Vec<f64> = fits.iter().map(|f| f.params.omega).collect();
            let alpha: Vec<f64> = fits.iter().map(|f| f.params.alpha).collect();
            let gamma: Vec<f64> = fits.iter().map(|f| f.params.gamma).collect();
            let beta: Vec<f64> = fits.iter().map(|f| f.params.beta).collect();
            let mut s2 = vec![0.0; n];
            for path in out.chunks_mut(days) {
                holding.copy_from_slice(&g.weights);
                s2.copy_from_slice(next_var);
                for v in path.iter_mut() {
                    let t = rng.gen_range(0..zrows);
                    let zt = &z[t * n..(t + 1) * n];
                    let mut value = g.cash;
                    for i in 0..n {
                        let e = s2[i].sqrt() * zt[i];
                        let a = if e < 0.0 {
                            alpha[i] + gamma[i]
                        } else {
                            alpha[i]
                        };
                        s2[i] = (omega[i] + a * e * e + beta[i] * s2[i]).min(f64::MAX);
                        holding[i] =
                            (holding[i] * ((mu[i] + e) * 0.01 + shift[i]).exp()).min(f64::MAX);
                        value += holding[i];
                    }
                    *v = value;
                }
            }
        }
        Learnt::Regime {
            transition,
            pools,
            current,
        } => {
            for path in out.chunks_mut(days) {
                holding.copy_from_slice(&g.weights);
                let mut state = *current;
                for v in path.iter_mut() {
                    state = draw_state(&transition[state], rng);
                    let pool = &pools[state];
                    let t = pool[rng.gen_range(0..pool.len())];
                    *v = step(&mut holding, g.row(t), g.cash);
                }
            }
        }
    }
}

/// Grows each holding by its gross return; the portfolio's relative value.
#[inline]
fn step(holding: &mut [f64], gross: &[f64], cash: f64) -> f64 {
    let mut value = cash;
    for (h, g) in holding.iter_mut().zip(gross) {
        *h = (*h * g).min(f64::MAX);
        value += *h;
    }
    value
}

fn draw_state(row: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let u: f64 = rng.gen();
    let mut acc = 0.0;
    for (j, p) in row.iter().enumerate() {
        acc += p;
        if u < acc {
            return j;
        }
    }
    // Rounding left the cumulative sum a hair under 1: the last reachable state.
    row.iter().rposition(|p| *p > 0.0).unwrap_or(0)
}
