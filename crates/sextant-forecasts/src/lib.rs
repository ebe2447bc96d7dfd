#![warn(missing_docs)]
//! Probabilistic forecasts of a portfolio's value, judged against what happened.
//!
//! A forecast is the distribution of the value of fixed holdings over the next `1..H` trading
//! days, simulated from a model fitted on history up to the origin only. What users of risk
//! numbers need is intervals that are right as often as they claim, so every model sits beside
//! two baselines (a normal with trailing volatility and historical simulation) and
//! [`evaluate`] re-forecasts the past at each date with only the data known then, scoring band
//! coverage, pinball loss, CRPS and the VaR backtests of Kupiec and Christoffersen.
//!
//! - [`target`]: holdings, their return history and the portfolio proxy.
//! - [`garch`]: GARCH(1,1) with standardised Student-t innovations, `arch`'s conventions.
//! - [`blocklen`]: the stationary bootstrap's block length (Politis–White).
//! - [`model`]: the six models and their fits.
//! - [`simulate`]: seeded Monte Carlo paths (independent of the thread count).
//! - [`summary`]: the fan, VaR/CVaR, drawdown probabilities, the shortfall path.
//! - [`evaluate`]: walk-forward calibration.
//! - [`chart`]: the fan as an SVG image.

pub mod blocklen;
pub mod chart;
pub mod evaluate;
pub mod garch;
pub mod model;
mod optim;
pub mod simulate;
pub mod stats;
pub mod summary;
pub mod target;

pub use evaluate::{evaluate, EvalSpec, Evaluation, ModelScore};
pub use garch::{GarchFit, GarchT};
pub use model::{Drift, FitConfig, FitSummary, Fitted, Learnt, ModelKind};
pub use simulate::{simulate, Paths};
pub use summary::{summarise, DrawdownRisk, FanDay, RiskFigure, Summary, QUANTILES};
pub use target::Target;

use serde::{Deserialize, Serialize};

/// Why a forecast could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    /// The history is unusable: too short, ragged, or not finite.
    #[error("data: {0}")]
    Data(String),
    /// The request is out of range.
    #[error("configuration: {0}")]
    Config(String),
    /// The model could not be fitted.
    #[error("fit: {0}")]
    Fit(String),
}

/// Longest horizon, in trading days (four years).
pub const MAX_HORIZON: usize = 1_000;
/// Most paths a forecast simulates.
pub const MAX_PATHS: usize = 100_000;

/// What to forecast with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastSpec {
    /// The model. Default `fhs_gjr`.
    pub model: ModelKind,
    /// Trading days ahead, 1..=[`MAX_HORIZON`]. Default 10.
    pub horizon: usize,
    /// Simulated paths, 1..=[`MAX_PATHS`]. Default 10,000.
    pub paths: usize,
    /// Seed of the paths. Default 7.
    pub seed: u64,
    /// The models' history windows and drift.
    pub config: FitConfig,
    /// Drawdown depths whose probability within the horizon is reported. Default 5, 10, 20 %.
    pub drawdowns: Vec<f64>,
}

impl Default for ForecastSpec {
    fn default() -> Self {
        ForecastSpec {
            model: ModelKind::FhsGjr,
            horizon: 10,
            paths: 10_000,
            seed: 7,
            config: FitConfig::default(),
            drawdowns: vec![0.05, 0.10, 0.20],
        }
    }
}

impl ForecastSpec {
    /// Refuses horizons, path counts and drawdown depths out of range.
    pub fn validate(&self) -> Result<(), ForecastError> {
        if !(1..=MAX_HORIZON).contains(&self.horizon) {
            return Err(ForecastError::Config(format!(
                "horizon {} is outside 1..={MAX_HORIZON} trading days",
                self.horizon
            )));
        }
        if !(1..=MAX_PATHS).contains(&self.paths) {
            return Err(ForecastError::Config(format!(
                "paths {} is outside 1..={MAX_PATHS}",
                self.paths
            )));
        }
        if let Some(d) = self.drawdowns.iter().find(|d| !(**d > 0.0 && **d < 1.0)) {
            return Err(ForecastError::Config(format!(
                "drawdown depth {d} is not a fraction in (0, 1)"
            )));
        }
        let w = &self.config;
        if w.naive < 2 || w.historical < 1 || w.fit < garch::MIN_OBSERVATIONS {
            return Err(ForecastError::Config(format!(
                "history windows {w:?}: naive needs 2 days, the fit window {} days",
                garch::MIN_OBSERVATIONS
            )));
        }
        Ok(())
    }
}

/// A forecast and what produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The request.
    pub spec: ForecastSpec,
    /// What the model learnt.
    pub fit: FitSummary,
    /// Days of history the target had.
    pub history_days: usize,
    /// The distribution.
    pub summary: Summary,
}

/// Fits `spec.model` on all of `target`'s history and simulates it. `labels` (one per row) are
/// needed by the regime model only.
pub fn forecast(
    target: &Target,
    spec: &ForecastSpec,
    labels: Option<&[Option<usize>]>,
) -> Result<Forecast, ForecastError> {
    spec.validate()?;
    let fitted = Fitted::fit(spec.model, target, &spec.config, labels, None)?;
    let days = spec.horizon.max(summary::VAR_DAYS[1]);
    let paths = simulate(&fitted, target, days, spec.paths, spec.seed)?;
    Ok(Forecast {
        spec: spec.clone(),
        fit: fitted.summary(),
        history_days: target.rows(),
        summary: summarise(&paths, spec.horizon, &spec.drawdowns),
    })
}
