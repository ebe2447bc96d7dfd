//! What a caller asks the inference engine for, and what it answers.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_forecasts::{DrawdownRisk, Drift, FitSummary, ModelKind, QUANTILES};

/// What a forecast is of.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TargetKind {
    /// One symbol, one share.
    Symbol,
    /// A portfolio's holdings and cash at the origin.
    Portfolio,
    /// A stored backtest's equity.
    Backtest,
}

impl TargetKind {
    /// The model a request without one gets: filtered historical simulation with GJR-GARCH
    /// filters for symbols and portfolios (the best or within noise of the best 1-day CRPS on
    /// every real series calibrated, see `sextant forecast evaluate`); the stationary
    /// bootstrap for a backtest's equity, which is not a GARCH process (exposure switches on
    /// and off, and a filter fitted through flat stretches explodes on the first trade).
    pub fn default_model(self) -> ModelKind {
        match self {
            TargetKind::Symbol | TargetKind::Portfolio => ModelKind::FhsGjr,
            TargetKind::Backtest => ModelKind::Bootstrap,
        }
    }
}

/// A forecast request (every field has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastRequest {
    /// The model. Default: the target's (see [`TargetKind::default_model`]).
    pub model: Option<ModelKind>,
    /// Trading days ahead, 1 to 1,000. Default 10.
    pub horizon: usize,
    /// Simulated paths, 100 to 100,000. Default 10,000.
    pub paths: usize,
    /// Seed of the paths. Default 7.
    pub seed: u64,
    /// The origin: forecast from this session's close with the history up to it only.
    /// Default: the last session with data.
    pub as_of: Option<NaiveDate>,
    /// The regime model whose labels condition the `regime` model.
    pub regime_model: Option<String>,
    /// `estimated` (default: the drift the model learnt) or `zero` (no drift, the usual
    /// convention for risk figures).
    pub drift: Drift,
    /// Whether to store the forecast's quantiles in DuckDB. Default true.
    pub store: bool,
    /// Whether to add the two baselines' headline figures (naive normal, historical
    /// simulation) beside a model's. Default true.
    pub baselines: bool,
}

impl Default for ForecastRequest {
    fn default() -> Self {
        ForecastRequest {
            model: None,
            horizon: 10,
            paths: 10_000,
            seed: 7,
            as_of: None,
            regime_model: None,
            drift: Drift::Estimated,
            store: true,
            baselines: true,
        }
    }
}

/// Fewest paths a served forecast simulates: fewer make the 1 % quantile a guess.
pub const MIN_PATHS: usize = 100;

/// One day of the fan, in currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanPoint {
    /// Trading days after the origin.
    pub day: usize,
    /// The session it falls on (XNYS calendar).
    pub date: Option<NaiveDate>,
    /// The value at each level of `quantile_levels`.
    pub quantiles: Vec<f64>,
    /// The mean value.
    pub mean: f64,
}

/// VaR and CVaR as fractions lost and in currency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskLine {
    /// Holding period, trading days.
    pub days: usize,
    /// Confidence level.
    pub level: f64,
    /// Loss exceeded with probability `1 − level`, as a fraction of the origin's value.
    pub var: f64,
    /// Mean loss beyond it, as a fraction.
    pub cvar: f64,
    /// `var` in currency.
    pub var_value: f64,
    /// `cvar` in currency.
    pub cvar_value: f64,
}

/// A baseline's headline figures, beside the model's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineFigures {
    /// The baseline.
    pub model: ModelKind,
    /// Its 5 % and 95 % values at the horizon.
    pub band_5_95: [f64; 2],
    /// Its VaR and CVaR lines.
    pub var: Vec<RiskLine>,
}

/// The history a forecast saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryUsed {
    /// First return's session.
    pub first: NaiveDate,
    /// The origin.
    pub last: NaiveDate,
    /// Return days.
    pub days: usize,
    /// Days left out because some asset had no return that day.
    pub excluded_days: usize,
    /// sha256 of the returns, dates and holdings.
    pub snapshot: String,
}

/// A forecast as served and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastReport {
    /// Content hash of the target, the request and the history: the same inputs give the same
    /// id and the same numbers.
    pub forecast_id: String,
    /// What was forecast.
    pub target_kind: TargetKind,
    /// The symbol, portfolio id or run id.
    pub target: String,
    /// The assets held (symbols, or the run id).
    pub assets: Vec<String>,
    /// The value at the origin.
    pub start_value: f64,
    /// Cash at the origin (portfolios).
    pub cash: f64,
    /// The model.
    pub model: ModelKind,
    /// Trading days ahead.
    pub horizon: usize,
    /// Paths simulated.
    pub paths: usize,
    /// Their seed.
    pub seed: u64,
    /// The levels of every fan point's quantiles.
    pub quantile_levels: Vec<f64>,
    /// One point per day of the horizon.
    pub fan: Vec<FanPoint>,
    /// The 5 % and 95 % values at the horizon.
    pub band_5_95: [f64; 2],
    /// VaR and CVaR at 1 and 10 days, 95 and 99 %.
    pub var: Vec<RiskLine>,
    /// Probabilities of drawdowns within the horizon.
    pub drawdown: Vec<DrawdownRisk>,
    /// Probability of ending below the origin's value.
    pub probability_of_loss: f64,
    /// Mean path of the worst 5 % of paths by final value, in currency.
    pub shortfall_path: Vec<f64>,
    /// What the model learnt.
    pub fit: FitSummary,
    /// The history it learnt from.
    pub history: HistoryUsed,
    /// The value of the origin's holdings (the same quantities and cash) over the 60 sessions
    /// before it and on it, the origin last: the line a fan chart starts from.
    pub recent_values: Vec<f64>,
    /// The baselines' figures (empty when not asked for, or when the model is a baseline).
    pub baselines: Vec<BaselineFigures>,
    /// Whether the quantiles were stored in DuckDB.
    pub stored: bool,
    /// What the reader should know about these numbers (paths whose value overflowed, …).
    pub warnings: Vec<String>,
}

/// The levels of [`FanPoint::quantiles`].
pub fn quantile_levels() -> Vec<f64> {
    QUANTILES.to_vec()
}
