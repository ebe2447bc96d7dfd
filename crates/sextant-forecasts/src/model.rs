//! The forecast models and what each learns from history before it simulates.
//!
//! | model | sees | learns |
//! |---|---|---|
//! | `naive` (baseline) | proxy | trailing volatility (63 days), mean zero: normal |
//! | `historical` (baseline) | cross-sections | the last 500 days, drawn independently |
//! | `bootstrap` | cross-sections | Politis–White block length; stationary block bootstrap |
//! | `garch` | proxy | GARCH(1,1)-t by maximum likelihood; t innovations |
//! | `fhs` | each asset | a GARCH(1,1)-t per asset; whole cross-sections of standardised residuals |
//! | `regime` | cross-sections + labels | transition matrix of the point-in-time regime labels; days of each regime |
//!
//! Everything is fitted on rows up to the origin only; the windows are the trailing rows.

use crate::blocklen::stationary_block_length;
use crate::garch::{backcast, GarchFit, GarchT};
use crate::stats::mean_sd;
use crate::{ForecastError, Target};
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
    /// Filtered historical simulation: a GARCH(1,1)-t per asset, driven by whole historical
    /// cross-sections of standardised residuals (keeps the assets' joint shocks).
    Fhs,
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

/// Windows of history the models use (trailing rows up to the origin).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Windows {
    /// Rows for the naive baseline's volatility. Default 63 (a quarter).
    pub naive: usize,
    /// Rows historical simulation draws from. Default 500 (two years).
    pub historical: usize,
    /// Rows the bootstrap, GARCH, FHS and regime models learn from. Default 2,520 (ten years).
    pub fit: usize,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            naive: 63,
            historical: 500,
            fit: 2520,
        }
    }
}

/// A model ready to simulate.
#[derive(Debug, Clone, PartialEq)]
pub enum Fitted {
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
    /// GARCH(1,1)-t on the proxy (percent returns).
    Garch {
        /// The fitted parameters.
        fit: GarchFit,
        /// Tomorrow's variance.
        next_var: f64,
    },
    /// Filtered historical simulation.
    Fhs {
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
        windows: &Windows,
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
        let fit_start = start(windows.fit);
        let percent = |v: Vec<f64>| v.into_iter().map(|r| 100.0 * r).collect::<Vec<f64>>();
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
                None => GarchT::fit(y, None),
            }
        };
        Ok(match kind {
            ModelKind::Naive => {
                let proxy = target.proxy();
                let (_, sigma) = mean_sd(&proxy[start(windows.naive)..]);
                if !sigma.is_finite() {
                    return Err(ForecastError::Data("too few days for a volatility".into()));
                }
                Fitted::Naive { mu: 0.0, sigma }
            }
            ModelKind::Historical => Fitted::Historical {
                start: start(windows.historical),
            },
            ModelKind::Bootstrap => Fitted::Bootstrap {
                start: fit_start,
                block_length: stationary_block_length(&target.proxy()[fit_start..]),
            },
            ModelKind::Garch => {
                let y = percent(target.proxy()[fit_start..].to_vec());
                let fit = garch(&y, 0)?;
                let next_var = fit.params.filter(&y, fit.backcast).next;
                Fitted::Garch { fit, next_var }
            }
            ModelKind::Fhs => {
                let n = target.assets();
                let window = target.window(fit_start, rows);
                let mut fits = Vec::with_capacity(n);
                let mut next_var = Vec::with_capacity(n);
                let mut z = vec![0.0; window.rows() * n];
                for i in 0..n {
                    let y = percent(window.column(i));
                    let fit = garch(&y, i)?;
                    let f = fit.params.filter(&y, fit.backcast);
                    for (t, (yt, s2)) in y.iter().zip(&f.sigma2).enumerate() {
                        z[t * n + i] = (yt - fit.params.mu) / s2.sqrt();
                    }
                    next_var.push(f.next);
                    fits.push(fit);
                }
                Fitted::Fhs { fits, z, next_var }
            }
            ModelKind::Regime => {
                let labels = labels.ok_or_else(|| {
                    ForecastError::Config("the regime model needs regime labels".into())
                })?;
                regime(labels, fit_start, rows)?
            }
        })
    }

    /// What the fit learnt.
    pub fn summary(&self) -> FitSummary {
        let mut s = FitSummary {
            model: self.kind(),
            garch: Vec::new(),
            block_length: None,
            daily_volatility: None,
            regime: None,
            regime_days: Vec::new(),
        };
        match self {
            Fitted::Naive { sigma, .. } => s.daily_volatility = Some(*sigma),
            Fitted::Historical { .. } => {}
            Fitted::Bootstrap { block_length, .. } => s.block_length = Some(*block_length),
            Fitted::Garch { fit, .. } => s.garch = vec![fit.params],
            Fitted::Fhs { fits, .. } => s.garch = fits.iter().map(|f| f.params).collect(),
            Fitted::Regime { pools, current, .. } => {
                s.regime = Some(*current);
                s.regime_days = pools.iter().map(Vec::len).collect();
            }
        }
        s
    }

    /// The model this is a fit of.
    pub fn kind(&self) -> ModelKind {
        match self {
            Fitted::Naive { .. } => ModelKind::Naive,
            Fitted::Historical { .. } => ModelKind::Historical,
            Fitted::Bootstrap { .. } => ModelKind::Bootstrap,
            Fitted::Garch { .. } => ModelKind::Garch,
            Fitted::Fhs { .. } => ModelKind::Fhs,
            Fitted::Regime { .. } => ModelKind::Regime,
        }
    }

    /// The GARCH parameters, for reuse between refits.
    pub fn garch_params(&self) -> Option<Vec<GarchT>> {
        match self {
            Fitted::Garch { fit, .. } => Some(vec![fit.params]),
            Fitted::Fhs { fits, .. } => Some(fits.iter().map(|f| f.params).collect()),
            _ => None,
        }
    }
}

fn demeaned(y: &[f64]) -> Vec<f64> {
    let m = y.iter().sum::<f64>() / y.len() as f64;
    y.iter().map(|v| v - m).collect()
}

fn regime(labels: &[Option<usize>], start: usize, rows: usize) -> Result<Fitted, ForecastError> {
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
    Ok(Fitted::Regime {
        transition,
        pools,
        current,
    })
}
