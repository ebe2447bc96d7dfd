//! The forecast models and what each learns from history before it simulates.
//!
//! | model | sees | learns |
//! |---|---|---|
//! | `naive` (baseline) | proxy | trailing volatility (63 days), mean zero: normal |
//! | `historical` (baseline) | cross-sections | the last 500 days, drawn independently |
//! | `bootstrap` | cross-sections | Politis–White block length; stationary block bootstrap |
//! | `garch` | proxy | GARCH(1,1)-t by maximum likelihood; t innovations |
//! | `gjr` | proxy | GJR-GARCH(1,1,1)-t: falls raise the variance more than rises |
//! | `fhs` | each asset | a GARCH(1,1)-t per asset; whole cross-sections of standardised residuals |
//! | `fhs_gjr` | each asset | the same with a GJR-GARCH-t filter per asset |
//! | `regime` | cross-sections + labels | transition matrix of the point-in-time regime labels; days of each regime |
//!
//! Everything is fitted on rows up to the origin only; the windows are the trailing rows.

use crate::blocklen::stationary_block_length;
use crate::garch::{backcast, GarchFit, GarchT};
use crate::stats::mean_sd;
use crate::{ForecastError, Target};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Which model forecasts.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ModelKind {
    /// Baseline: normal returns with the trailing 63-day volatility and zero mean.
    Naive,
    /// Baseline: historical simulation, the last 500 days' cross-sections drawn with
    /// replacement, each day independently.
    Historical,
    /// Stationary block bootstrap of whole cross-sections, block length by Politis–White.
    Bootstrap,
    /// GARCH(1,1) with Student-t innovations on the portfolio proxy, simulated forward.
    Garch,
    /// GJR-GARCH(1,1,1) with Student-t innovations on the portfolio proxy: a fall raises
    /// tomorrow's variance more than a rise of the same size.
    Gjr,
    /// Filtered historical simulation: a GARCH(1,1)-t per asset, driven by whole historical
    /// cross-sections of standardised residuals (keeps the assets' joint shocks).
    Fhs,
    /// Filtered historical simulation with a GJR-GARCH(1,1,1)-t filter per asset.
    FhsGjr,
    /// Regime-conditioned bootstrap: regimes follow the empirical transition matrix of the
    /// point-in-time labels; each day draws a cross-section from past days of its regime.
    Regime,
}

impl ModelKind {
    /// Whether this is a baseline every report shows beside the models.
    pub fn is_baseline(self) -> bool {
        matches!(self, ModelKind::Naive | ModelKind::Historical)
    }
}

/// The drift of simulated returns.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Drift {
    /// The drift the model learnt: GARCH's μ, the mean of the resampled days.
    #[default]
    Estimated,
    /// No drift (the RiskMetrics and Basel convention for risk): resampled days are demeaned
    /// over their window and GARCH paths drop μ. A drift learnt from a rising window would
    /// otherwise move every quantile up, VaR included.
    Zero,
}

/// The history windows the models use (trailing rows up to the origin) and their drift.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Rows for the naive baseline's volatility. Default 63 (a quarter).
    pub naive: usize,
    /// Rows historical simulation draws from. Default 500 (two years).
    pub historical: usize,
    /// Rows the bootstrap, GARCH, FHS and regime models learn from. Default 2,520 (ten years).
    pub fit: usize,
    /// The drift of the simulated returns. Default `estimated` (the naive baseline always has
    /// none).
    #[serde(default)]
    pub drift: Drift,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            naive: 63,
            historical: 500,
            fit: 2520,
            drift: Drift::Estimated,
        }
    }
}

/// A model ready to simulate: what it learnt and the drift correction of its paths.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// What the model learnt.
    pub learnt: Learnt,
    /// Added to every simulated daily log return, per asset (one value for the models of the
    /// proxy): zero with the estimated drift, minus the learnt drift with [`Drift::Zero`].
    pub shift: Vec<f64>,
    /// The drift setting.
    pub drift: Drift,
}

/// What a model learnt.
#[derive(Debug, Clone, PartialEq)]
pub enum Learnt {
    /// Normal daily log returns of the proxy.
    Naive {
        /// Mean (zero).
        mu: f64,
        /// Standard deviation.
        sigma: f64,
    },
    /// Independent draws of the rows in `[start, rows)`.
    Historical {
        /// First row drawn from.
        start: usize,
    },
    /// Stationary bootstrap over `[start, rows)`.
    Bootstrap {
        /// First row drawn from.
        start: usize,
        /// Expected block length.
        block_length: f64,
    },
    /// GARCH(1,1)-t or GJR-GARCH-t on the proxy (percent returns).
    Garch {
        /// Whether the model is the asymmetric GJR-GARCH.
        asymmetric: bool,
        /// The fitted parameters.
        fit: GarchFit,
        /// Tomorrow's variance.
        next_var: f64,
    },
    /// Filtered historical simulation.
    Fhs {
        /// Whether the filters are GJR-GARCH.
        asymmetric: bool,
        /// One fit per asset (percent returns).
        fits: Vec<GarchFit>,
        /// Standardised residuals, row-major over the fit window.
        z: Vec<f64>,
        /// Tomorrow's variance per asset.
        next_var: Vec<f64>,
    },
    /// Regime-conditioned bootstrap.
    Regime {
        /// Row-stochastic transition matrix between regime ids (k × k).
        transition: Vec<Vec<f64>>,
        /// Rows of each regime (within the fit window).
        pools: Vec<Vec<usize>>,
        /// The regime of the origin row.
        current: usize,
    },
}

/// What a fit learnt, in a form to store beside its forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSummary {
    /// The model.
    pub model: ModelKind,
    /// GARCH parameters (one for `garch`, one per asset for `fhs`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub garch: Vec<GarchT>,
    /// The bootstrap's expected block length.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub block_length: Option<f64>,
    /// The naive baseline's daily volatility (log return).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub daily_volatility: Option<f64>,
    /// The drift of the paths.
    pub drift: Drift,
    /// The regime of the origin (an id of the labels given).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub regime: Option<usize>,
    /// Days of history each regime's draws come from.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub regime_days: Vec<usize>,
}

impl Fitted {
    /// Fits `kind` on `target`'s history. `labels` (one per row, `None` before the regime
    /// model's first fit) are needed by `regime` only. `fixed` reuses GARCH parameters instead
    /// of fitting (walk-forward evaluation between refits; the variances are still filtered
    /// through every row up to the origin).
    pub fn fit(
        kind: ModelKind,
        target: &Target,
        config: &FitConfig,
        labels: Option<&[Option<usize>]>,
        fixed: Option<&[GarchT]>,
    ) -> Result<Fitted, ForecastError> {
        let rows = target.rows();
        if rows < 2 {
            return Err(ForecastError::Data(format!(
                "{rows} days of returns: need history"
            )));
        }
        let start = |w: usize| rows.saturating_sub(w.max(1));
        let fit_start = start(config.fit);
        let percent = |v: Vec<f64>| v.into_iter().map(|r| 100.0 * r).collect::<Vec<f64>>();
        let asymmetric = matches!(kind, ModelKind::Gjr | ModelKind::FhsGjr);
        let garch = |y: &[f64], i: usize| -> Result<GarchFit, ForecastError> {
            match fixed.and_then(|f| f.get(i)) {
                Some(p) => {
                    let resid = demeaned(y);
                    let b = backcast(&resid);
                    Ok(GarchFit {
                        params: *p,
                        loglik: p.loglik(y, b),
                        nobs: y.len(),
                        backcast: b,
                        iterations: 0,
                        converged: true,
                    })
                }
                None if asymmetric => GarchT::fit_gjr(y, None),
                None => GarchT::fit(y, None),
            }
        };
        let learnt = match kind {
            ModelKind::Naive => {
                let proxy = target.proxy();
                let (_, sigma) = mean_sd(&proxy[start(config.naive)..]);
                if !sigma.is_finite() {
                    return Err(ForecastError::Data("too few days for a volatility".into()));
                }
                Learnt::Naive { mu: 0.0, sigma }
            }
            ModelKind::Historical => Learnt::Historical {
                start: start(config.historical),
            },
            ModelKind::Bootstrap => Learnt::Bootstrap {
                start: fit_start,
                block_length: stationary_block_length(&target.proxy()[fit_start..]),
            },
            ModelKind::Garch | ModelKind::Gjr => {
                let y = percent(target.proxy()[fit_start..].to_vec());
                let fit = garch(&y, 0)?;
                let next_var = fit.params.filter(&y, fit.backcast).next;
                Learnt::Garch {
                    asymmetric,
                    fit,
                    next_var,
                }
            }
            ModelKind::Fhs | ModelKind::FhsGjr => {
                let n = target.assets();
                let window = target.window(fit_start, rows);
                // One independent fit per asset: in parallel.
                let per_asset: Vec<(GarchFit, Vec<f64>, f64)> = (0..n)
                    .into_par_iter()
                    .map(|i| {
                        let y = percent(window.column(i));
                        let fit = garch(&y, i)?;
                        let f = fit.params.filter(&y, fit.backcast);
                        let z: Vec<f64> = y
                            .iter()
                            .zip(&f.sigma2)
                            .map(|(yt, s2)| (yt - fit.params.mu) / s2.sqrt())
                            .collect();
                        Ok((fit, z, f.next))
                    })
                    .collect::<Result<_, ForecastError>>()?;
                let mut fits = Vec::with_capacity(n);
                let mut next_var = Vec::with_capacity(n);
                let mut z = vec![0.0; window.rows() * n];
                for (i, (fit, zi, next)) in per_asset.into_iter().enumerate() {
                    // Without drift the residuals are centred too: the t likelihood's μ is a
                    // robust location, not the mean, so the raw residuals keep a small drift.
                    let centre = match config.drift {
                        Drift::Zero => zi.iter().sum::<f64>() / zi.len().max(1) as f64,
                        Drift::Estimated => 0.0,
                    };
                    for (t, v) in zi.into_iter().enumerate() {
                        z[t * n + i] = v - centre;
                    }
                    next_var.push(next);
                    fits.push(fit);
                }
                Learnt::Fhs {
                    asymmetric,
                    fits,
                    z,
                    next_var,
                }
            }
            ModelKind::Regime => {
                let labels = labels.ok_or_else(|| {
                    ForecastError::Config("the regime model needs regime labels".into())
                })?;
                regime(labels, fit_start, rows)?
            }
        };
        let shift = shift(&learnt, target, config);
        Ok(Fitted {
            learnt,
            shift,
            drift: config.drift,
        })
    }

    /// What the fit learnt.
    pub fn summary(&self) -> FitSummary {
        let mut s = FitSummary {
            model: self.kind(),
            drift: self.drift,
            garch: Vec::new(),
            block_length: None,
            daily_volatility: None,
            regime: None,
            regime_days: Vec::new(),
        };
        match &self.learnt {
            Learnt::Naive { sigma, .. } => s.daily_volatility = Some(*sigma),
            Learnt::Historical { .. } => {}
            Learnt::Bootstrap { block_length, .. } => s.block_length = Some(*block_length),
            Learnt::Garch { fit, .. } => s.garch = vec![fit.params],
            Learnt::Fhs { fits, .. } => s.garch = fits.iter().map(|f| f.params).collect(),
            Learnt::Regime { pools, current, .. } => {
                s.regime = Some(*current);
                s.regime_days = pools.iter().map(Vec::len).collect();
            }
        }
        s
    }

    /// The model this is a fit of.
    pub fn kind(&self) -> ModelKind {
        match &self.learnt {
            Learnt::Naive { .. } => ModelKind::Naive,
            Learnt::Historical { .. } => ModelKind::Historical,
            Learnt::Bootstrap { .. } => ModelKind::Bootstrap,
            Learnt::Garch { asymmetric, .. } => {
                if *asymmetric {
                    ModelKind::Gjr
                } else {
                    ModelKind::Garch
                }
            }
            Learnt::Fhs { asymmetric, .. } => {
                if *asymmetric {
                    ModelKind::FhsGjr
                } else {
                    ModelKind::Fhs
                }
            }
            Learnt::Regime { .. } => ModelKind::Regime,
        }
    }

    /// The GARCH parameters, for reuse between refits.
    pub fn garch_params(&self) -> Option<Vec<GarchT>> {
        match &self.learnt {
            Learnt::Garch { fit, .. } => Some(vec![fit.params]),
            Learnt::Fhs { fits, .. } => Some(fits.iter().map(|f| f.params).collect()),
            _ => None,
        }
    }
}

fn demeaned(y: &[f64]) -> Vec<f64> {
    let m = y.iter().sum::<f64>() / y.len() as f64;
    y.iter().map(|v| v - m).collect()
}

fn regime(labels: &[Option<usize>], start: usize, rows: usize) -> Result<Learnt, ForecastError> {
    if labels.len() != rows {
        return Err(ForecastError::Data(format!(
            "{} regime labels for {rows} days",
            labels.len()
        )));
    }
    let current = labels[rows - 1].ok_or_else(|| {
        ForecastError::Data("the origin has no regime label (before the model's first fit)".into())
    })?;
    let k = labels.iter().flatten().max().map_or(0, |m| m + 1);
    let mut pools = vec![Vec::new(); k];
    let mut counts = vec![vec![0.0; k]; k];
    for t in start..rows {
        if let Some(s) = labels[t] {
            pools[s].push(t);
            if let Some(Some(p)) = t.checked_sub(1).map(|u| labels[u]) {
                if t > start {
                    counts[p][s] += 1.0;
                }
            }
        }
    }
    // A regime never left within the window stays put; one never reached is never drawn.
    let transition = counts
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let total: f64 = row.iter().sum();
            if total > 0.0 {
                row.into_iter().map(|c| c / total).collect()
            } else {
                (0..k).map(|j| if i == j { 1.0 } else { 0.0 }).collect()
            }
        })
        .collect();
    Ok(Learnt::Regime {
        transition,
        pools,
        current,
    })
}

/// The drift correction of each simulated return (see [`Fitted::shift`]).
fn shift(learnt: &Learnt, target: &Target, config: &FitConfig) -> Vec<f64> {
    let n = target.assets();
    let zero = config.drift == Drift::Zero;
    let demean = |start: usize| -> Vec<f64> {
        let rows = (target.rows() - start) as f64;
        (0..n)
            .map(|i| {
                let s: f64 = (start..target.rows()).map(|t| target.row(t)[i]).sum();
                if zero {
                    -s / rows
                } else {
                    0.0
                }
            })
            .collect()
    };
    match learnt {
        Learnt::Naive { .. } => vec![0.0],
        Learnt::Historical { start } | Learnt::Bootstrap { start, .. } => demean(*start),
        Learnt::Regime { pools, .. } => {
            // The mean of the days the regimes draw from (labelled rows only).
            let rows: Vec<usize> = pools.iter().flatten().copied().collect();
            (0..n)
                .map(|i| {
                    let s: f64 = rows.iter().map(|&t| target.row(t)[i]).sum();
                    if zero && !rows.is_empty() {
                        -s / rows.len() as f64
                    } else {
                        0.0
                    }
                })
                .collect()
        }
        Learnt::Garch { fit, .. } => vec![if zero { -fit.params.mu / 100.0 } else { 0.0 }],
        Learnt::Fhs { fits, .. } => fits
            .iter()
            .map(|f| if zero { -f.params.mu / 100.0 } else { 0.0 })
            .collect(),
    }
}
