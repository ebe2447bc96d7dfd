//! Monte Carlo paths of the target's value, relative to its value at the origin.
//!
//! Reproducible bit for bit: paths are simulated in chunks of [`CHUNK`], chunk `c` drawing
//! from ChaCha8 seeded with the forecast's seed on stream `c`, so the paths do not depend on
//! how many threads run them.
//!
//! Layout: each chunk is stored day-major (all its paths after day 1, then after day 2, …), so
//! a day's distribution is a few contiguous runs and the per-path statistics (drawdowns, the
//! shortfall path) are loops over days whose inner loop runs along memory. Inside a chunk the
//! day is the outer loop and the assets the inner one, which vectorises (the exponential is
//! `sextant_numeric::exp`, not a libm call).

use crate::model::{Fitted, Learnt};
use crate::{ForecastError, Target};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, StudentT};
use rayon::prelude::*;
use sextant_numeric::exp;

/// Paths per random stream (and per chunk).
pub const CHUNK: usize = 256;

/// Simulated values relative to the origin's value (1.0 = unchanged).
#[derive(Debug, Clone, PartialEq)]
pub struct Paths {
    /// Days per path.
    pub days: usize,
    /// Number of paths.
    pub paths: usize,
    /// Chunks of up to [`CHUNK`] paths, each day-major: `chunk[d · len + j]` is the value of
    /// path `c · CHUNK + j` after day `d + 1`.
    chunks: Vec<Vec<f64>>,
}

impl Paths {
    fn len(&self, c: usize) -> usize {
        self.chunks[c].len() / self.days.max(1)
    }

    /// Path `p`'s values, day 1 first.
    pub fn path(&self, p: usize) -> Vec<f64> {
        let (c, j) = (p / CHUNK, p % CHUNK);
        let len = self.len(c);
        (0..self.days)
            .map(|d| self.chunks[c][d * len + j])
            .collect()
    }

    /// Every path's value after day `d + 1`, in path order.
    pub fn day(&self, d: usize) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.paths);
        for (c, chunk) in self.chunks.iter().enumerate() {
            let len = self.len(c);
            v.extend_from_slice(&chunk[d * len..(d + 1) * len]);
        }
        v
    }

    /// Every path's value after day `d + 1`, ascending.
    pub fn sorted_day(&self, d: usize) -> Vec<f64> {
        let mut v = self.day(d);
        v.sort_unstable_by(f64::total_cmp);
        v
    }

    /// Each path's deepest fall below its running peak over the first `horizon` days, the
    /// origin's value (1.0) counting as the first peak; in path order.
    pub fn max_drawdowns(&self, horizon: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.paths);
        for (c, chunk) in self.chunks.iter().enumerate() {
            let len = self.len(c);
            let mut peak = vec![1.0f64; len];
            let mut worst = vec![0.0f64; len];
            for d in 0..horizon.min(self.days) {
                let row = &chunk[d * len..(d + 1) * len];
                for ((p, w), v) in peak.iter_mut().zip(worst.iter_mut()).zip(row) {
                    *p = p.max(*v);
                    *w = w.max(1.0 - v / *p);
                }
            }
            out.extend(worst);
        }
        out
    }

    /// The mean path (first `horizon` days) of the paths whose value on day `horizon` is at
    /// most `cutoff`.
    pub fn mean_path_below(&self, horizon: usize, cutoff: f64) -> Vec<f64> {
        let h = horizon.min(self.days);
        let mut sum = vec![0.0; h];
        let mut count = 0usize;
        for (c, chunk) in self.chunks.iter().enumerate() {
            let len = self.len(c);
            let last = &chunk[(h - 1) * len..h * len];
            let members: Vec<usize> = (0..len).filter(|&j| last[j] <= cutoff).collect();
            count += members.len();
            for (d, s) in sum.iter_mut().enumerate() {
                let row = &chunk[d * len..(d + 1) * len];
                *s += members.iter().map(|&j| row[j]).sum::<f64>();
            }
        }
        sum.into_iter().map(|s| s / count.max(1) as f64).collect()
    }

    /// Paths whose value left the range of a number within the first `horizon` days: not
    /// finite, saturated (holdings are capped at `f64::MAX`, which also absorbs `0·∞`), or
    /// exactly 0 (an underflow; a portfolio with shorts may be negative, but not exactly 0).
    pub fn non_finite(&self, horizon: usize) -> usize {
        let mut n = 0;
        for (c, chunk) in self.chunks.iter().enumerate() {
            let len = self.len(c);
            let mut bad = vec![false; len];
            for d in 0..horizon.min(self.days) {
                for (b, v) in bad.iter_mut().zip(&chunk[d * len..(d + 1) * len]) {
                    *b |= !v.is_finite() || v.abs() >= 1e300 || *v == 0.0;
                }
            }
            n += bad.iter().filter(|b| **b).count();
        }
        n
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
        if fit.params.nu.is_nan() || fit.params.nu <= 2.0 {
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
    let gross = GrossRows::new(target, &fitted.shift);
    let chunks = (0..paths.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let len = CHUNK.min(paths - c * CHUNK);
            let mut out = vec![0.0; len * days];
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(c as u64);
            run_chunk(fitted, target, &gross, len, &mut out, &mut rng);
            out
        })
        .collect();
    Ok(Paths {
        days,
        paths,
        chunks,
    })
}

/// Each row's gross returns (with the drift correction): `e^{rᵢ,ₜ + shiftᵢ}` is what one unit
/// of value in asset `i` becomes after day `t`; the holdings start at `vᵢ/V₀`.
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
            assets: n,
        }
    }

    fn row(&self, t: usize) -> &[f64] {
        &self.gross[t * self.assets..(t + 1) * self.assets]
    }

    /// Holdings of `len` paths, each starting at the weights.
    fn start(&self, len: usize) -> Vec<f64> {
        self.weights.repeat(len)
    }
}

/// Simulates one chunk of `len` paths into `out` (day-major).
fn run_chunk(
    fitted: &Fitted,
    target: &Target,
    g: &GrossRows,
    len: usize,
    out: &mut [f64],
    rng: &mut ChaCha8Rng,
) {
    let rows = target.rows();
    let n = g.assets;
    let shift = &fitted.shift;
    match &fitted.learnt {
        Learnt::Naive { mu, sigma } => {
            let mut cum = vec![0.0; len];
            for row in out.chunks_mut(len) {
                for (v, c) in row.iter_mut().zip(cum.iter_mut()) {
                    let z: f64 = StandardNormal.sample(rng);
                    *c += mu + sigma * z;
                    *v = exp(*c);
                }
            }
        }
        Learnt::Historical { start } => {
            let mut holding = g.start(len);
            for row in out.chunks_mut(len) {
                for (v, h) in row.iter_mut().zip(holding.chunks_mut(n)) {
                    *v = step(h, g.row(rng.gen_range(*start..rows)), g.cash);
                }
            }
        }
        Learnt::Bootstrap {
            start,
            block_length,
        } => {
            let p_new = 1.0 / block_length;
            let span = rows - start;
            let mut holding = g.start(len);
            let mut at: Vec<usize> = (0..len).map(|_| rng.gen_range(0..span)).collect();
            for (d, row) in out.chunks_mut(len).enumerate() {
                for ((v, h), t) in row.iter_mut().zip(holding.chunks_mut(n)).zip(at.iter_mut()) {
                    if d > 0 {
                        *t = if rng.gen::<f64>() < p_new {
                            rng.gen_range(0..span)
                        } else {
                            (*t + 1) % span
                        };
                    }
                    *v = step(h, g.row(start + *t), g.cash);
                }
            }
        }
        Learnt::Garch { fit, next_var, .. } => {
            let p = fit.params;
            // `simulate` refused ν ≤ 2 before any chunk ran.
            let Ok(t) = StudentT::new(p.nu) else { return };
            let scale = ((p.nu - 2.0) / p.nu).sqrt();
            let mut s2 = vec![*next_var; len];
            let mut cum = vec![0.0; len];
            for row in out.chunks_mut(len) {
                for ((v, s), c) in row.iter_mut().zip(s2.iter_mut()).zip(cum.iter_mut()) {
                    let e = s.sqrt() * scale * t.sample(rng);
                    *c += (p.mu + e) / 100.0 + shift[0];
                    // Saturate rather than overflow: ∞ · 0 later would be NaN.
                    *s = p.next_variance(e, *s).min(f64::MAX);
                    *v = exp(*c);
                }
            }
        }
        Learnt::Fhs {
            fits, z, next_var, ..
        } => {
            let k = FhsKernel::new(fits, shift, n);
            let mut chunk = FhsChunk {
                k: &k,
                z,
                cash: g.cash,
                s2: next_var.repeat(len),
                holding: g.start(len),
                len,
            };
            run_fhs(&mut chunk, out, rng);
        }
        Learnt::Regime {
            transition,
            pools,
            current,
        } => {
            let mut holding = g.start(len);
            let mut state = vec![*current; len];
            for row in out.chunks_mut(len) {
                for ((v, h), s) in row
                    .iter_mut()
                    .zip(holding.chunks_mut(n))
                    .zip(state.iter_mut())
                {
                    *s = draw_state(&transition[*s], rng);
                    let pool = &pools[*s];
                    let t = pool[rng.gen_range(0..pool.len())];
                    *v = step(h, g.row(t), g.cash);
                }
            }
        }
    }
}

/// The per-asset constants of filtered historical simulation, as slices of one length.
struct FhsKernel {
    n: usize,
    omega: Vec<f64>,
    alpha: Vec<f64>,
    gamma: Vec<f64>,
    beta: Vec<f64>,
    /// `μ/100 + shift`: the constant part of each daily log return.
    drift: Vec<f64>,
}

impl FhsKernel {
    fn new(fits: &[crate::GarchFit], shift: &[f64], n: usize) -> FhsKernel {
        let p: Vec<_> = fits.iter().map(|f| f.params).collect();
        FhsKernel {
            n,
            omega: p.iter().map(|q| q.omega).collect(),
            alpha: p.iter().map(|q| q.alpha).collect(),
            gamma: p.iter().map(|q| q.gamma).collect(),
            beta: p.iter().map(|q| q.beta).collect(),
            drift: p.iter().zip(shift).map(|(q, s)| q.mu * 0.01 + s).collect(),
        }
    }
}

/// One chunk of filtered historical simulation: its state and where its values go.
struct FhsChunk<'a> {
    k: &'a FhsKernel,
    /// Standardised residuals, row-major.
    z: &'a [f64],
    cash: f64,
    /// Each path's variance per asset (`len × n`).
    s2: Vec<f64>,
    /// Each path's holdings relative to the origin's value (`len × n`).
    holding: Vec<f64>,
    /// Paths in the chunk.
    len: usize,
}

/// Runs one chunk of filtered historical simulation into `out` (day-major). Compiled twice,
/// for AVX2 (chosen at run time when the CPU has it) and the baseline: the same IEEE
/// operations (no fused multiply-add) on wider lanes, so both give the same bits.
fn run_fhs(c: &mut FhsChunk, out: &mut [f64], rng: &mut ChaCha8Rng) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { run_fhs_avx2(c, out, rng) };
        return;
    }
    run_fhs_body(c, out, rng);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_fhs_avx2(c: &mut FhsChunk, out: &mut [f64], rng: &mut ChaCha8Rng) {
    run_fhs_body(c, out, rng);
}

#[inline(always)]
fn run_fhs_body(c: &mut FhsChunk, out: &mut [f64], rng: &mut ChaCha8Rng) {
    let k = c.k;
    let n = k.n;
    let zrows = c.z.len() / n;
    let (om, al, ga, be, dr) = (
        &k.omega[..n],
        &k.alpha[..n],
        &k.gamma[..n],
        &k.beta[..n],
        &k.drift[..n],
    );
    for row in out.chunks_mut(c.len) {
        for ((v, h), s) in row
            .iter_mut()
            .zip(c.holding.chunks_exact_mut(n))
            .zip(c.s2.chunks_exact_mut(n))
        {
            let t = rng.gen_range(0..zrows);
            let zt = &c.z[t * n..(t + 1) * n];
            // Every slice has length n: the loop runs without bounds checks and vectorises.
            for i in 0..n {
                let e = s[i].sqrt() * zt[i];
                let neg = if e < 0.0 { 1.0 } else { 0.0 };
                let a = al[i] + ga[i] * neg;
                s[i] = (om[i] + a * e * e + be[i] * s[i]).min(f64::MAX);
                h[i] = (h[i] * exp(e * 0.01 + dr[i])).min(f64::MAX);
            }
            *v = c.cash + h.iter().sum::<f64>();
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
