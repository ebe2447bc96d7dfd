//! GARCH(1,1) with a constant mean and standardised Student-t innovations, fitted by maximum
//! likelihood with the conventions of Kevin Sheppard's `arch` package (so its fits are a
//! reference: `scripts/forecasts-parity`):
//!
//! * returns in **percent** (`100 · ln(Pₜ/Pₜ₋₁)`): the variance parameters are then of order
//!   one, which keeps the optimiser well conditioned;
//! * `σ²₀ = ω + (α + β)·b` where the backcast `b` is the exponentially weighted (0.94) mean of
//!   the first ≤ 75 squared demeaned returns, computed once from the sample mean (not from the
//!   candidate μ), exactly as `arch` does;
//! * `σ²ₜ = ω + α·ε²ₜ₋₁ + β·σ²ₜ₋₁`, `εₜ = yₜ − μ`;
//! * the log-likelihood of every observation, the first included, is the standardised-t density
//!   `ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(π(ν−2)) − ½ ln σ²ₜ − (ν+1)/2 · ln(1 + ε²ₜ/(σ²ₜ(ν−2)))`.
//!
//! The optimiser works on unconstrained transforms (`ln ω`, logits of the persistence `α + β`,
//! of `α`'s share of it and of ν within `arch`'s bounds (2.05, 500)), so every candidate is
//! stationary (`α + β < 1`), with the analytic gradient.

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
    /// Unconditional variance `ω / (1 − α − β)`.
    pub fn long_run_variance(&self) -> f64 {
        self.omega / (1.0 - self.alpha - self.beta)
    }

    /// Fits the model to percent returns `y`. `start` (a previous fit, for walk-forward refits)
    /// joins the grid of starting points; the best starting likelihood wins.
    pub fn fit(y: &[f64], start: Option<&GarchT>) -> Result<GarchFit, ForecastError> {
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
            candidates.push(GarchT {
                mu: mean,
                omega: var * (1.0 - alpha - beta),
                alpha,
                beta,
                nu: 8.0,
            });
        }
        candidates.extend(start.copied().filter(|s| s.is_valid()));
        let mut grad = [0.0; 5];
        let x0 = candidates
            .iter()
            .map(|c| (to_free(c), -c.loglik_grad(y, b, &mut grad)))
            .filter(|(_, f)| f.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(x, _)| x)
            .ok_or_else(|| ForecastError::Data("no finite starting likelihood".into()))?;
        let m = bfgs(
            |x, g| {
                let p = from_free(x);
                let mut gp = [0.0; 5];
                let ll = p.loglik_grad(y, b, &mut gp);
                chain(x, &p, &gp, g);
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
            && self.beta >= 0.0
            && self.alpha + self.beta < 1.0
            && self.nu > NU_LO
            && self.nu < 500.0
            && self.mu.is_finite()
    }

    /// The log-likelihood of `y` with backcast `b`.
    pub fn loglik(&self, y: &[f64], b: f64) -> f64 {
        let mut g = [0.0; 5];
        self.loglik_grad(y, b, &mut g)
    }

    /// The log-likelihood and its gradient in (μ, ω, α, β, ν).
    fn loglik_grad(&self, y: &[f64], b: f64, grad: &mut [f64; 5]) -> f64 {
        let GarchT {
            mu,
            omega,
            alpha,
            beta,
            nu,
        } = *self;
        let c = ln_gamma((nu + 1.0) / 2.0)
            - ln_gamma(nu / 2.0)
            - 0.5 * (std::f64::consts::PI * (nu - 2.0)).ln();
        let dc = 0.5 * digamma((nu + 1.0) / 2.0) - 0.5 * digamma(nu / 2.0) - 0.5 / (nu - 2.0);
        let half = (nu + 1.0) / 2.0;
        let nu2 = nu - 2.0;
        // σ²₀ and its derivatives in (μ, ω, α, β): the backcast does not move with μ.
        let mut s2 = omega + (alpha + beta) * b;
        let mut ds = [0.0, 1.0, b, b];
        let mut ll = 0.0;
        *grad = [0.0; 5];
        let mut prev_e = 0.0;
        for (t, &yt) in y.iter().enumerate() {
            if t > 0 {
                let prev_s2 = s2;
                s2 = omega + alpha * prev_e * prev_e + beta * prev_s2;
                ds = [
                    -2.0 * alpha * prev_e + beta * ds[0],
                    1.0 + beta * ds[1],
                    prev_e * prev_e + beta * ds[2],
                    prev_s2 + beta * ds[3],
                ];
            }
            let e = yt - mu;
            let q = e * e / (s2 * nu2);
            let l1q = q.ln_1p();
            ll += c - 0.5 * s2.ln() - half * l1q;
            let dl_ds2 = -0.5 / s2 + half * q / (s2 * (1.0 + q));
            let dl_de = -half * 2.0 * e / (s2 * nu2 * (1.0 + q));
            grad[0] += dl_ds2 * ds[0] - dl_de;
            grad[1] += dl_ds2 * ds[1];
            grad[2] += dl_ds2 * ds[2];
            grad[3] += dl_ds2 * ds[3];
            grad[4] += dc - 0.5 * l1q + half * q / (nu2 * (1.0 + q));
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
        let mut s2 = self.omega + (self.alpha + self.beta) * b;
        for &yt in y {
            sigma2.push(s2);
            let e = yt - self.mu;
            s2 = self.omega + self.alpha * e * e + self.beta * s2;
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

/// (μ, ln ω, logit(α+β), logit(α/(α+β)), logit((ν−2.05)/497.95)).
fn to_free(p: &GarchT) -> Vec<f64> {
    let s = p.alpha + p.beta;
    vec![
        p.mu,
        p.omega.ln(),
        logit(s),
        logit(if s > 0.0 { p.alpha / s } else { 0.5 }),
        logit((p.nu - NU_LO) / NU_SPAN),
    ]
}

fn from_free(x: &[f64]) -> GarchT {
    let s = logistic(x[2]);
    let share = logistic(x[3]);
    GarchT {
        mu: x[0],
        omega: x[1].exp(),
        alpha: s * share,
        beta: s * (1.0 - share),
        nu: NU_LO + NU_SPAN * logistic(x[4]),
    }
}

/// The gradient in the free coordinates from the gradient `gp` in (μ, ω, α, β, ν).
fn chain(x: &[f64], p: &GarchT, gp: &[f64; 5], g: &mut [f64]) {
    let s = logistic(x[2]);
    let share = logistic(x[3]);
    let ds = s * (1.0 - s);
    let dshare = share * (1.0 - share);
    let q = logistic(x[4]);
    g[0] = gp[0];
    g[1] = gp[1] * p.omega;
    g[2] = (gp[2] * share + gp[3] * (1.0 - share)) * ds;
    g[3] = (gp[2] * s - gp[3] * s) * dshare;
    g[4] = gp[4] * NU_SPAN * q * (1.0 - q);
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
                s2 = p.omega + p.alpha * e * e + p.beta * s2;
                p.mu + e
            })
            .collect()
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let truth = GarchT {
            mu: 0.05,
            omega: 0.02,
            alpha: 0.08,
            beta: 0.9,
            nu: 6.0,
        };
        let y = simulate(&truth, 800, 3);
        let b = backcast(&y);
        let p = GarchT {
            mu: 0.03,
            omega: 0.05,
            alpha: 0.1,
            beta: 0.85,
            nu: 7.0,
        };
        let mut g = [0.0; 5];
        p.loglik_grad(&y, b, &mut g);
        let bump = |i: usize, h: f64| {
            let mut q = p;
            match i {
                0 => q.mu += h,
                1 => q.omega += h,
                2 => q.alpha += h,
                3 => q.beta += h,
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
