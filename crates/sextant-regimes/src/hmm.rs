//! A Gaussian hidden Markov model: Baum–Welch with seeded restarts, and a scaled forward filter.
//!
//! Observations are rows of `d` features. The forward pass is scaled per step (the emission
//! densities are divided by their largest value and the predicted probabilities renormalised),
//! so it neither underflows on long series nor needs log-sum-exp per cell. The filtered
//! probability at `t` is computed from rows `0..=t` only: appending rows never changes it, bit
//! for bit (tests prove it).

use crate::gaussian::{
    data_covariance, densities, kmeanspp_means, variance_floor, GaussianStats, Rows,
};
use crate::lattice::{self, Backward, Lattice, Params};
use crate::RegimeError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The shape of each state's covariance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Covariance {
    /// A full `d × d` matrix per state (features may co-move differently in each regime).
    #[default]
    Full,
    /// Independent features within a state (off-diagonal terms are zero).
    Diagonal,
}

/// How a model is fitted. Every field has a default, so `{}` is a valid configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HmmConfig {
    /// Hidden states, 1 to 8. Default: 3.
    pub states: usize,
    /// Covariance shape. Default: full.
    pub covariance: Covariance,
    /// Independent EM runs from seeded starts; the highest log-likelihood wins. Default: 5.
    pub restarts: usize,
    /// Most EM iterations per run. Default: 500.
    pub max_iter: usize,
    /// A run stops when an iteration improves the total log-likelihood by less than this; a
    /// negative value (`-inf`) runs exactly `max_iter` iterations. Default: 1e-4.
    pub tol: f64,
    /// Floor of every state's variance, as a fraction of the feature's variance over the fit
    /// data (scale-free, so returns and volatilities get comparable floors). It keeps a state
    /// from collapsing onto a few identical observations. Default: 1e-3.
    pub var_floor: f64,
    /// Seed of the starting points; the same data, configuration and seed give the same model,
    /// bit for bit. Default: 0.
    pub seed: u64,
}

impl Default for HmmConfig {
    fn default() -> Self {
        HmmConfig {
            states: 3,
            covariance: Covariance::Full,
            restarts: 5,
            max_iter: 500,
            tol: 1e-4,
            var_floor: 1e-3,
            seed: 0,
        }
    }
}

impl HmmConfig {
    pub(crate) fn check(&self) -> Result<(), RegimeError> {
        let bad = |m: String| Err(RegimeError::Config(m));
        if !(1..=8).contains(&self.states) {
            return bad(format!("states must be 1 to 8, got {}", self.states));
        }
        if !(1..=100).contains(&self.restarts) {
            return bad(format!("restarts must be 1 to 100, got {}", self.restarts));
        }
        if !(1..=10_000).contains(&self.max_iter) {
            return bad(format!(
                "max_iter must be 1 to 10000, got {}",
                self.max_iter
            ));
        }
        if self.tol.is_nan() || self.tol == f64::INFINITY {
            return bad(format!("tol must be a number below +inf, got {}", self.tol));
        }
        if !(self.var_floor.is_finite() && self.var_floor > 0.0 && self.var_floor < 1.0) {
            return bad(format!(
                "var_floor must be in (0, 1), got {}",
                self.var_floor
            ));
        }
        Ok(())
    }
}

/// How a fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Total log-likelihood of the fit data under the returned model's E-step.
    pub log_likelihood: f64,
    /// The winning run's log-likelihood at each iteration (non-decreasing, as EM guarantees).
    pub history: Vec<f64>,
    /// Whether the winning run met `tol` before `max_iter`.
    pub converged: bool,
    /// Which restart won (0-based).
    pub restart: usize,
    /// Final log-likelihood of every restart, in order.
    pub restarts: Vec<f64>,
}

/// A Gaussian hidden Markov model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianHmm {
    /// Probability of each state at the first observation.
    pub start: Vec<f64>,
    /// Transition probabilities, `k × k` row major: `trans[i * k + j]` = p(j at t+1 | i at t).
    pub trans: Vec<f64>,
    /// Mean of each state, `d` features each.
    pub means: Vec<Vec<f64>>,
    /// Covariance of each state, `d × d` row major.
    pub covs: Vec<Vec<f64>>,
    /// The covariance shape the model was fitted with.
    pub covariance: Covariance,
}

/// Observations checked once: `t` rows of `d` finite features.
pub(crate) fn check_rows(x: &[Vec<f64>], min_rows: usize) -> Result<usize, RegimeError> {
    let d = x.first().map_or(0, Vec::len);
    if x.len() < min_rows || d == 0 {
        return Err(RegimeError::Data(format!(
            "need at least {min_rows} rows of at least one feature, got {} rows",
            x.len()
        )));
    }
    if let Some(t) = x.iter().position(|r| r.len() != d) {
        return Err(RegimeError::Data(format!(
            "row {t} has {} features, the first has {d}",
            x[t].len()
        )));
    }
    if let Some(t) = x.iter().position(|r| r.iter().any(|v| !v.is_finite())) {
        return Err(RegimeError::Data(format!("row {t} has a non-finite value")));
    }
    Ok(d)
}

/// What one E-step produces.
struct Estep {
    log_likelihood: f64,
    /// p(state_0 | all rows) and the expected transition counts.
    backward: Backward,
    /// The Gaussian M-step's statistics under p(state_t | all rows).
    stats: GaussianStats,
}

impl GaussianHmm {
    /// Number of hidden states.
    pub fn n_states(&self) -> usize {
        self.start.len()
    }

    /// Number of features per observation.
    pub fn n_features(&self) -> usize {
        self.means.first().map_or(0, Vec::len)
    }

    /// Fits a model on `x` (rows in time order): `restarts` seeded EM runs, the best kept.
    ///
    /// # Errors
    /// [`RegimeError::Config`] for an invalid configuration, [`RegimeError::Data`] for fewer
    /// rows than `4 × states`, ragged or non-finite rows.
    pub fn fit(x: &[Vec<f64>], cfg: &HmmConfig) -> Result<(GaussianHmm, FitReport), RegimeError> {
        cfg.check()?;
        let d = check_rows(x, 4 * cfg.states)?;
        let floor = variance_floor(x, d, cfg.var_floor);
        let rows = Rows::new(x, d);
        best_of_restarts(cfg, |seed| {
            em_run(initial(x, d, cfg, &floor, seed), &rows, cfg, &floor)
        })
    }

    /// EM from this model as the starting point, with `cfg`'s iteration limits and floor (its
    /// `restarts` and `seed` are not used): what a parity check against another library runs.
    ///
    /// # Errors
    /// As [`GaussianHmm::fit`].
    pub fn refine(
        &self,
        x: &[Vec<f64>],
        cfg: &HmmConfig,
    ) -> Result<(GaussianHmm, Vec<f64>, bool), RegimeError> {
        cfg.check()?;
        let rows = self.rows(x)?;
        let floor = variance_floor(x, rows.d(), cfg.var_floor);
        em_run(self.clone(), &rows, cfg, &floor)
    }

    /// p(state_t | x_0..=t) for every row: the point-in-time probabilities. Row `t` depends on
    /// rows `0..=t` only.
    ///
    /// # Errors
    /// [`RegimeError::Data`] for rows that do not match the model or are not finite.
    pub fn filter(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, RegimeError> {
        let k = self.n_states();
        Ok(self
            .filter_flat(x)?
            .chunks(k)
            .map(<[f64]>::to_vec)
            .collect())
    }

    /// [`Self::filter`] as one `t × k` row-major block (no allocation per row).
    ///
    /// # Errors
    /// As [`Self::filter`].
    pub fn filter_flat(&self, x: &[Vec<f64>]) -> Result<Vec<f64>, RegimeError> {
        let mut lat = Lattice::default();
        self.forward(&self.rows(x)?, &mut lat)?;
        Ok(lat.alpha)
    }

    /// The most probable state at each row under [`Self::filter`] (ties: the lower index).
    ///
    /// # Errors
    /// As [`Self::filter`].
    pub fn filter_states(&self, x: &[Vec<f64>]) -> Result<Vec<usize>, RegimeError> {
        Ok(self.filter(x)?.iter().map(|p| argmax(p)).collect())
    }

    /// p(state_t | all rows): **uses observations after `t`**. Never feed it to a backtest; it
    /// exists to measure how far smoothed labels differ from filtered ones.
    ///
    /// # Errors
    /// As [`Self::filter`].
    pub fn smooth(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, RegimeError> {
        let mut lat = Lattice::default();
        self.estep(&self.rows(x)?, &mut lat)?;
        Ok(lat
            .gamma
            .chunks(self.n_states())
            .map(<[f64]>::to_vec)
            .collect())
    }

    /// Total log-likelihood of `x`.
    ///
    /// # Errors
    /// As [`Self::filter`].
    pub fn log_likelihood(&self, x: &[Vec<f64>]) -> Result<f64, RegimeError> {
        let mut lat = Lattice::default();
        self.forward(&self.rows(x)?, &mut lat)?;
        Ok(lat.log_likelihood)
    }

    fn check_shape(&self, d: usize) -> Result<(), RegimeError> {
        let k = self.n_states();
        let ok = k > 0
            && self.trans.len() == k * k
            && self.means.len() == k
            && self.covs.len() == k
            && self.means.iter().all(|m| m.len() == d)
            && self.covs.iter().all(|c| c.len() == d * d);
        if ok {
            Ok(())
        } else {
            Err(RegimeError::Data(format!(
                "the model has {k} states over {} features; the rows have {d}",
                self.n_features()
            )))
        }
    }

    /// `x` checked against the model and laid out flat.
    fn rows(&self, x: &[Vec<f64>]) -> Result<Rows, RegimeError> {
        let d = check_rows(x, 1)?;
        self.check_shape(d)?;
        Ok(Rows::new(x, d))
    }

    /// The scaled forward pass over `x` into `lat` (see [`lattice::forward`]).
    fn forward(&self, x: &Rows, lat: &mut Lattice) -> Result<(), RegimeError> {
        let dens = densities(&self.means, &self.covs)?;
        let p = Params {
            start: &self.start,
            trans: &self.trans,
            dens: &dens,
        };
        lattice::forward(&p, x, lat)
    }

    /// Forward, then one backward sweep (the smoothed probabilities stay in `lat.gamma`).
    fn estep(&self, x: &Rows, lat: &mut Lattice) -> Result<Estep, RegimeError> {
        let dens = densities(&self.means, &self.covs)?;
        let p = Params {
            start: &self.start,
            trans: &self.trans,
            dens: &dens,
        };
        lattice::forward(&p, x, lat)?;
        let mut stats = GaussianStats::new(self.n_states(), x.d());
        let backward = lattice::backward(&p, x, lat, &mut stats)?;
        Ok(Estep {
            log_likelihood: lat.log_likelihood,
            backward,
            stats,
        })
    }

    /// The M-step: new parameters from the expected statistics. A state that no row supports
    /// keeps its previous parameters instead of becoming NaN.
    fn mstep(&self, e: Estep, floor: &[f64]) -> Result<GaussianHmm, RegimeError> {
        let k = self.n_states();
        let mut next = self.clone();
        next.start = e.backward.gamma0;
        for i in 0..k {
            let row = &e.backward.xi[i * k..(i + 1) * k];
            let s: f64 = row.iter().sum();
            if s > 0.0 {
                for (dst, v) in next.trans[i * k..(i + 1) * k].iter_mut().zip(row) {
                    *dst = v / s;
                }
            }
        }
        e.stats
            .finish(self.covariance, floor, &mut next.means, &mut next.covs)?;
        Ok(next)
    }
}

/// Runs `run` once per restart (seeds `cfg.seed`, `cfg.seed + 1`, …) and keeps the run with the
/// highest final log-likelihood (the first on a tie). `run` returns (model, log-likelihood per
/// iteration, converged).
pub(crate) fn best_of_restarts<M>(
    cfg: &HmmConfig,
    mut run: impl FnMut(u64) -> Result<(M, Vec<f64>, bool), RegimeError>,
) -> Result<(M, FitReport), RegimeError> {
    let mut best: Option<(M, FitReport)> = None;
    let mut finals = Vec::with_capacity(cfg.restarts);
    let mut last_error = None;
    for r in 0..cfg.restarts {
        // A start that fails (a state with no support left, rows impossible under every
        // state) loses to the others; the fit fails only if every start does.
        let (model, history, converged) = match run(cfg.seed.wrapping_add(r as u64)) {
            Ok(out) => out,
            Err(e) => {
                finals.push(f64::NEG_INFINITY);
                last_error = Some(e);
                continue;
            }
        };
        let ll = history.last().copied().unwrap_or(f64::NEG_INFINITY);
        finals.push(ll);
        if best.as_ref().is_none_or(|(_, b)| ll > b.log_likelihood) {
            let report = FitReport {
                log_likelihood: ll,
                history,
                converged,
                restart: r,
                restarts: Vec::new(),
            };
            best = Some((model, report));
        }
    }
    if best.is_none() {
        if let Some(e) = last_error {
            return Err(e);
        }
    }
    let (model, mut report) = best.ok_or_else(|| RegimeError::Config("no restart ran".into()))?;
    report.restarts = finals;
    Ok((model, report))
}

/// EM from `model` until `tol` or `max_iter`: (model after the last M-step, log-likelihood per
/// iteration, converged).
fn em_run(
    mut model: GaussianHmm,
    x: &Rows,
    cfg: &HmmConfig,
    floor: &[f64],
) -> Result<(GaussianHmm, Vec<f64>, bool), RegimeError> {
    let mut history = Vec::new();
    let mut converged = false;
    let mut lat = Lattice::default();
    for _ in 0..cfg.max_iter {
        let e = model.estep(x, &mut lat)?;
        let ll = e.log_likelihood;
        let done = history
            .last()
            .is_some_and(|&prev: &f64| ll - prev < cfg.tol);
        history.push(ll);
        if done {
            converged = true;
            break;
        }
        model = model.mstep(e, floor)?;
    }
    Ok((model, history, converged))
}

/// A seeded starting point: means by k-means++ seeding over the rows, every state with the
/// data's covariance, persistent transitions (0.9 to stay).
fn initial(x: &[Vec<f64>], d: usize, cfg: &HmmConfig, floor: &[f64], seed: u64) -> GaussianHmm {
    let k = cfg.states;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let means = kmeanspp_means(x, d, k, floor, &mut rng);
    let cov = data_covariance(x, d, cfg.covariance, floor);
    let stay = if k == 1 { 1.0 } else { 0.9 };
    let move_to = if k == 1 { 0.0 } else { 0.1 / (k - 1) as f64 };
    let trans = (0..k * k)
        .map(|ij| if ij / k == ij % k { stay } else { move_to })
        .collect();
    GaussianHmm {
        start: vec![1.0 / k as f64; k],
        trans,
        means,
        covs: vec![cov; k],
        covariance: cfg.covariance,
    }
}

fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = i;
        }
    }
    best
}
