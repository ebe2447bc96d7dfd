//! GARCH(1,1) with a constant mean and standardised Student-t innovations, fitted by maximum
//! likelihood with the conventions of Kevin Sheppard's `arch` package (so its fits are a
//! reference: `scripts/forecasts-parity`):
//!
//! * returns in **percent** (`100 · ln(Pₜ/Pₜ₋₁)`): the variance parameters are then of order
//!   one, which keeps the optimiser well conditioned;
//! * `σ²₀ = ω + (α + β)·b` where the backcast `b` is the exponentially weighted (0.94) mean of
//!   the first ≤ 75 squared demeaned returns, computed once from the sample mean (not from the
//!   candidate μ), exactly as `arch` does;
//! * `σ²ₜ = ω + (α + γ·[εₜ₋₁ < 0])·ε²ₜ₋₁ + β·σ²ₜ₋₁`, `εₜ = yₜ − μ`: with `γ = 0` the
//!   symmetric GARCH(1,1); with `γ` free the GJR-GARCH(1,1,1) of Glosten, Jagannathan and
//!   Runkle, in which a fall raises tomorrow's variance more than a rise (the leverage effect
//!   of equity indices); the first day's asymmetric term uses `γ·b/2`, as `arch` does;
//! * the log-likelihood of every observation, the first included, is the standardised-t density
//!   `ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(π(ν−2)) − ½ ln σ²ₜ − (ν+1)/2 · ln(1 + ε²ₜ/(σ²ₜ(ν−2)))`.
//!
//! The optimiser works on unconstrained transforms (`ln ω`, the logit of the persistence
//! `α + γ/2 + β`, the shares of it and the logit of ν within `arch`'s bounds (2.05, 500)), so
//! every candidate is stationary and satisfies `arch`'s constraints (`α ≥ 0`, `α + γ ≥ 0`,
//! `β ≥ 0`), with the analytic gradient.

use crate::optim::bfgs;
use crate::stats::{digamma, ln_gamma};
use crate::ForecastError;
use serde::{Deserialize, Serialize};

/// Fewest returns a fit accepts: below this the tail parameter is not identified.
pub const MIN_OBSERVATIONS: usize = 100;
const NU_LO: f64 = 2.05;
const NU_SPAN: f64 = 500.0 - NU_LO;

/// Parameters of a GARCH(1,1)-t on percent returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GarchT {
    /// Constant mean μ (percent per day).
    pub mu: f64,
    /// Variance intercept ω (percent²).
    pub omega: f64,
    /// ARCH coefficient α: the weight of yesterday's squared shock.
    pub alpha: f64,
    /// Asymmetry γ: the extra weight of yesterday's squared shock when it was a fall (0 for
    /// the symmetric model).
    #[serde(default)]
    pub gamma: f64,
    /// GARCH coefficient β: the weight of yesterday's variance.
    pub beta: f64,
    /// Degrees of freedom ν of the standardised Student-t (> 2).
    pub nu: f64,
}

/// A fitted model and how the fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GarchFit {
    /// The maximum-likelihood parameters.
    pub params: GarchT,
    /// The log-likelihood at `params` (sum over all observations).
    pub loglik: f64,
    /// Observations fitted.
    pub nobs: usize,
    /// The variance backcast `b` used for the first observation.
    pub backcast: f64,
    /// Optimiser iterations.
    pub iterations: usize,
    /// Whether the gradient tolerance was met.
    pub converged: bool,
}

/// The conditional variances of a series under fixed parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Filtered {
    /// `σ²ₜ` of every observation.
    pub sigma2: Vec<f64>,
    /// `σ²` of the day after the last observation: the one-step-ahead forecast.
    pub next: f64,
}

/// `arch`'s variance backcast: the 0.94-weighted mean of the first ≤ 75 squared residuals.
pub fn backcast(resids: &[f64]) -> f64 {
    let tau = resids.len().min(75);
    let mut num = 0.0;
    let mut den = 0.0;
    let mut w = 1.0;
    for e in &resids[..tau] {
        num += w * e * e;
        den += w;
        w *= 0.94;
    }
    num / den
}

impl GarchT {
    /// Persistence `α + γ/2 + β` (below 1: the variance reverts to its long-run level).
    pub fn persistence(&self) -> f64 {
        self.alpha + 0.5 * self.gamma + self.beta
    }

    /// Unconditional variance `ω / (1 − α − γ/2 − β)`.
    pub fn long_run_variance(&self) -> f64 {
        self.omega / (1.0 - self.persistence())
    }

    /// Tomorrow's variance after a shock `e` today with variance `s2`.
    #[inline]
    pub fn next_variance(&self, e: f64, s2: f64) -> f64 {
        let a = if e < 0.0 {
            self.alpha + self.gamma
        } else {
            self.alpha
        };
        self.omega + a * e * e + self.beta * s2
    }

    /// Fits the symmetric GARCH(1,1)-t to percent returns `y`. `start` (a previous fit, for
    /// walk-forward refits) joins the grid of starting points; the best starting likelihood
    /// wins.
    pub fn fit(y: &[f64], start: Option<&GarchT>) -> Result<GarchFit, ForecastError> {
        Self::fit_with(y, start, false)
    }

    /// Fits the GJR-GARCH(1,1,1)-t (asymmetric) to percent returns `y`.
    pub fn fit_gjr(y: &[f64], start: Option<&GarchT>) -> Result<GarchFit, ForecastError> {
        Self::fit_with(y, start, true)
    }

    fn fit_with(
        y: &[f64],
        start: Option<&GarchT>,
        asymmetric: bool,
    ) -> Result<GarchFit, ForecastError> {
        if y.len() < MIN_OBSERVATIONS {
            return Err(ForecastError::Data(format!(
                "GARCH needs at least {MIN_OBSERVATIONS} returns, got {}",
                y.len()
            )));
        }
        if let Some(bad) = y.iter().position(|v| !v.is_finite()) {
            return Err(ForecastError::Data(format!("return {bad} is not finite")));
        }
        let n = y.len() as f64;
        let mean = y.iter().sum::<f64>() / n;
        let resids: Vec<f64> = y.iter().map(|v| v - mean).collect();
        let var = resids.iter().map(|e| e * e).sum::<f64>() / n;
        if var <= 0.0 {
            return Err(ForecastError::Data("returns have no variance".into()));
        }
        let b = backcast(&resids);
        let mut candidates: Vec<GarchT> = Vec::new();
        for (alpha, beta) in [
            (0.05, 0.9),
            (0.1, 0.85),
            (0.03, 0.95),
            (0.1, 0.6),
            (0.2, 0.75),
        ] {
            let gamma = if asymmetric { alpha } else { 0.0 };
            let alpha = if asymmetric { alpha / 2.0 } else { alpha };
            candidates.push(GarchT {
                mu: mean,
                omega: var * (1.0 - alpha - gamma / 2.0 - beta),
                alpha,
                gamma,
                beta,
                nu: 8.0,
            });
        }
        candidates.extend(start.copied().filter(|s| s.is_valid()).map(|s| {
            if asymmetric {
                s
            } else {
                GarchT { gamma: 0.0, ..s }
            }
        }));
        let mut grad = [0.0; 6];
        let x0 = candidates
            .iter()
            .map(|c| (to_free(c, asymmetric), -c.loglik_grad(y, b, &mut grad)))
            .filter(|(_, f)| f.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(x, _)| x)
            .ok_or_else(|| ForecastError::Data("no finite starting likelihood".into()))?;
        let m = bfgs(
            |x, g| {
                let p = from_free(x);
                let mut gp = [0.0; 6];
                let ll = p.loglik_grad(y, b, &mut gp);
                chain(x, &gp, g);
                for v in g.iter_mut() {
                    *v = -*v / n;
                }
                -ll / n
            },
            &x0,
            1e-10,
            1000,
        );
        let params = from_free(&m.x);
        let loglik = params.loglik(y, b);
        if !loglik.is_finite() {
            return Err(ForecastError::Fit(
                "likelihood is not finite at the optimum".into(),
            ));
        }
        Ok(GarchFit {
            params,
            loglik,
            nobs: y.len(),
            backcast: b,
            iterations: m.iterations,
            converged: m.converged,
        })
    }

    fn is_valid(&self) -> bool {
        self.omega > 0.0
            && self.alpha >= 0.0
            && self.alpha + self.gamma >= 0.0
            && self.beta >= 0.0
            && self.persistence() < 1.0
            && self.nu > NU_LO
            && self.nu < 500.0
            && self.mu.is_finite()
    }

    /// The log-likelihood of `y` with backcast `b`.
    pub fn loglik(&self, y: &[f64], b: f64) -> f64 {
        let mut g = [0.0; 6];
        self.loglik_grad(y, b, &mut g)
    }

    /// The log-likelihood and its gradient in (μ, ω, α, γ, β, ν).
    fn loglik_grad(&self, y: &[f64], b: f64, grad: &mut [f64; 6]) -> f64 {
        let GarchT {
            mu,
            omega,
            alpha,
            gamma,
            beta,
            nu,
        } = *self;
        let c = ln_gamma((nu + 1.0) / 2.0)
            - ln_gamma(nu / 2.0)
            - 0.5 * (std::f64::consts::PI * (nu - 2.0)).ln();
        let dc = 0.5 * digamma((nu + 1.0) / 2.0) - 0.5 * digamma(nu / 2.0) - 0.5 / (nu - 2.0);
        let half = (nu + 1.0) / 2.0;
        let nu2 = nu - 2.0;
        // σ²₀ and its derivatives in (μ, ω, α, γ, β): the backcast does not move with μ.
        let mut s2 = omega + (alpha + 0.5 * gamma + beta) * b;
        let mut ds = [0.0, 1.0, b, 0.5 * b, b];
        let mut ll = 0.0;
        *grad = [0.0; 6];
        let mut prev_e = 0.0;
        for (t, &yt) in y.iter().enumerate() {
            if t > 0 {
                let prev_s2 = s2;
                let neg = if prev_e < 0.0 { 1.0 } else { 0.0 };
                let e2 = prev_e * prev_e;
                s2 = omega + (alpha + gamma * neg) * e2 + beta * prev_s2;
                ds = [
                    -2.0 * (alpha + gamma * neg) * prev_e + beta * ds[0],
                    1.0 + beta * ds[1],
                    e2 + beta * ds[2],
                    neg * e2 + beta * ds[3],
                    prev_s2 + beta * ds[4],
                ];
            }
            let e = yt - mu;
            let q = e * e / (s2 * nu2);
            let l1q = q.ln_1p();
            ll += c - 0.5 * s2.ln() - half * l1q;
            let dl_ds2 = -0.5 / s2 + half * q / (s2 * (1.0 + q));
            let dl_de = -half * 2.0 * e / (s2 * nu2 * (1.0 + q));
            grad[0] += dl_ds2 * ds[0] - dl_de;
            for k in 1..5 {
                grad[k] += dl_ds2 * ds[k];
            }
            grad[5] += dc - 0.5 * l1q + half * q / (nu2 * (1.0 + q));
            prev_e = e;
        }
        if s2 <= 0.0 || !ll.is_finite() {
            return f64::NEG_INFINITY;
        }
        ll
    }

    /// The conditional variances of `y` (backcast `b`) and the next day's.
    pub fn filter(&self, y: &[f64], b: f64) -> Filtered {
        let mut sigma2 = Vec::with_capacity(y.len());
        let mut s2 = self.omega + (self.alpha + 0.5 * self.gamma + self.beta) * b;
        for &yt in y {
            sigma2.push(s2);
            s2 = self.next_variance(yt - self.mu, s2);
        }
        Filtered { sigma2, next: s2 }
    }
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

/// Free coordinates: `(μ, ln ω, logit s, …shares…, logit((ν−2.05)/497.95))` with the
/// persistence `s = α + γ/2 + β`. Symmetric (5): `logit(α/s)`. Asymmetric (6): the softmax
/// logits `(x₃, x₄, 0)` of the shares `(α/2, (α+γ)/2, β)` of `s`, which keeps `α ≥ 0` and
/// `α + γ ≥ 0` (a fall never lowers tomorrow's variance).
fn to_free(p: &GarchT, asymmetric: bool) -> Vec<f64> {
    let s = p.persistence();
    let nu = logit((p.nu - NU_LO) / NU_SPAN);
    if asymmetric {
        let w = [p.alpha / 2.0, (p.alpha + p.gamma) / 2.0, p.beta].map(|v| (v / s).max(1e-9));
        vec![
            p.mu,
            p.omega.ln(),
            logit(s),
            (w[0] / w[2]).ln(),
            (w[1] / w[2]).ln(),
            nu,
        ]
    } else {
        vec![
            p.mu,
            p.omega.ln(),
            logit(s),
            logit(if s > 0.0 { p.alpha / s } else { 0.5 }),
            nu,
        ]
    }
}

fn from_free(x: &[f64]) -> GarchT {
    let s = logistic(x[2]);
    let nu = NU_LO + NU_SPAN * logistic(x[x.len() - 1]);
    if x.len() == 6 {
        let w = softmax3(x[3], x[4]);
        let alpha = 2.0 * s * w[0];
        GarchT {
            mu: x[0],
            omega: x[1].exp(),
            alpha,
            gamma: 2.0 * s * w[1] - alpha,
            beta: s * w[2],
            nu,
        }
    } else {
        let share = logistic(x[3]);
        GarchT {
            mu: x[0],
            omega: x[1].exp(),
            alpha: s * share,
            gamma: 0.0,
            beta: s * (1.0 - share),
            nu,
        }
    }
}

fn softmax3(a: f64, b: f64) -> [f64; 3] {
    let m = a.max(b).max(0.0);
    let (ea, eb, ec) = ((a - m).exp(), (b - m).exp(), (-m).exp());
    let t = ea + eb + ec;
    [ea / t, eb / t, ec / t]
}

/// The gradient in the free coordinates from the gradient `gp` in (μ, ω, α, γ, β, ν).
fn chain(x: &[f64], gp: &[f64; 6], g: &mut [f64]) {
    let s = logistic(x[2]);
    let ds = s * (1.0 - s);
    let last = x.len() - 1;
    let q = logistic(x[last]);
    g[0] = gp[0];
    g[1] = gp[1] * x[1].exp();
    g[last] = gp[5] * NU_SPAN * q * (1.0 - q);
    if x.len() == 6 {
        // Components (a, c, β) = (2s·w₀, 2s·w₁, s·w₂) with α = a, γ = c − a.
        let w = softmax3(x[3], x[4]);
        let (ga, gc, gb) = (gp[2] - gp[3], gp[3], gp[4]);
        g[2] = (2.0 * w[0] * ga + 2.0 * w[1] * gc + w[2] * gb) * ds;
        let big = [2.0 * s * ga, 2.0 * s * gc, s * gb];
        let mean: f64 = big.iter().zip(&w).map(|(a, b)| a * b).sum();
        g[3] = w[0] * (big[0] - mean);
        g[4] = w[1] * (big[1] - mean);
    } else {
        let share = logistic(x[3]);
        let dshare = share * (1.0 - share);
        g[2] = (gp[2] * share + gp[4] * (1.0 - share)) * ds;
        g[3] = (gp[2] - gp[4]) * s * dshare;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StudentT};

    fn simulate(p: &GarchT, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let t = StudentT::new(p.nu).expect("nu > 0");
        let scale = ((p.nu - 2.0) / p.nu).sqrt();
        let mut s2 = p.long_run_variance();
        (0..n)
            .map(|_| {
                let e = s2.sqrt() * scale * t.sample(&mut rng);
                s2 = p.next_variance(e, s2);
                p.mu + e
            })
            .collect()
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let truth = GarchT {
            mu: 0.05,
            omega: 0.02,
            alpha: 0.03,
            gamma: 0.1,
            beta: 0.9,
            nu: 6.0,
        };
        let y = simulate(&truth, 800, 3);
        let b = backcast(&y);
        let p = GarchT {
            mu: 0.03,
            omega: 0.05,
            alpha: 0.1,
            gamma: 0.05,
            beta: 0.8,
            nu: 7.0,
        };
        let mut g = [0.0; 6];
        p.loglik_grad(&y, b, &mut g);
        let bump = |i: usize, h: f64| {
            let mut q = p;
            match i {
                0 => q.mu += h,
                1 => q.omega += h,
                2 => q.alpha += h,
                3 => q.gamma += h,
                4 => q.beta += h,
                _ => q.nu += h,
            }
            q.loglik(&y, b)
        };
        for (i, gi) in g.iter().enumerate() {
            let h = 1e-6;
            let numeric = (bump(i, h) - bump(i, -h)) / (2.0 * h);
            assert!(
                (gi - numeric).abs() < 1e-4 * (1.0 + numeric.abs()),
                "{i}: {gi} vs {numeric}"
            );
        }
    }

    #[test]
    fn recovers_simulated_parameters() {
        let truth = GarchT {
            mu: 0.04,
            omega: 0.03,
            alpha: 0.09,
            gamma: 0.0,
            beta: 0.89,
            nu: 5.0,
        };
        let y = simulate(&truth, 20_000, 11);
        let fit = GarchT::fit(&y, None).expect("fit");
        assert!(fit.converged, "{fit:?}");
        let p = fit.params;
        assert!((p.alpha - truth.alpha).abs() < 0.015, "{p:?}");
        assert!((p.beta - truth.beta).abs() < 0.02, "{p:?}");
        assert!((p.nu - truth.nu).abs() < 0.6, "{p:?}");
        assert!((p.mu - truth.mu).abs() < 0.03, "{p:?}");
    }

    #[test]
    fn recovers_an_asymmetric_model() {
        let truth = GarchT {
            mu: 0.04,
            omega: 0.02,
            alpha: 0.02,
            gamma: 0.12,
            beta: 0.9,
            nu: 7.0,
        };
        let y = simulate(&truth, 20_000, 13);
        let gjr = GarchT::fit_gjr(&y, None).expect("fit");
        assert!(gjr.converged, "{gjr:?}");
        let p = gjr.params;
        assert!((p.gamma - truth.gamma).abs() < 0.03, "{p:?}");
        assert!((p.alpha - truth.alpha).abs() < 0.02, "{p:?}");
        let sym = GarchT::fit(&y, None).expect("fit");
        assert_eq!(sym.params.gamma, 0.0);
        assert!(
            gjr.loglik > sym.loglik + 10.0,
            "asymmetry should matter: {} vs {}",
            gjr.loglik,
            sym.loglik
        );
    }

    #[test]
    fn free_coordinates_round_trip_and_chain_matches_finite_differences() {
        let p = GarchT {
            mu: 0.03,
            omega: 0.05,
            alpha: 0.04,
            gamma: 0.08,
            beta: 0.85,
            nu: 7.0,
        };
        let y: Vec<f64> = (0..400)
            .map(|i| ((i * 37 % 101) as f64 - 50.0) / 30.0)
            .collect();
        let b = backcast(&y);
        for asym in [false, true] {
            let q = if asym { p } else { GarchT { gamma: 0.0, ..p } };
            let x = to_free(&q, asym);
            let back = from_free(&x);
            for (a, c) in [
                (q.alpha, back.alpha),
                (q.gamma, back.gamma),
                (q.beta, back.beta),
                (q.nu, back.nu),
            ] {
                assert!((a - c).abs() < 1e-9, "{q:?} vs {back:?}");
            }
            let mut gp = [0.0; 6];
            q.loglik_grad(&y, b, &mut gp);
            let mut g = vec![0.0; x.len()];
            chain(&x, &gp, &mut g);
            for i in 0..x.len() {
                let h = 1e-6;
                let (mut up, mut dn) = (x.clone(), x.clone());
                up[i] += h;
                dn[i] -= h;
                let num = (from_free(&up).loglik(&y, b) - from_free(&dn).loglik(&y, b)) / (2.0 * h);
                assert!(
                    (g[i] - num).abs() < 1e-4 * (1.0 + num.abs()),
                    "{asym} {i}: {} vs {num}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn refuses_short_or_non_finite_series() {
        assert!(matches!(
            GarchT::fit(&[0.1; 50], None),
            Err(ForecastError::Data(_))
        ));
        let mut y = vec![0.1; 200];
        y[7] = f64::NAN;
        assert!(matches!(GarchT::fit(&y, None), Err(ForecastError::Data(_))));
        assert!(matches!(
            GarchT::fit(&[0.0; 200], None),
            Err(ForecastError::Data(_))
        ));
    }
}
