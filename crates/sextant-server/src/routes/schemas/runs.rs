//! Backtests, their trades, reports and forecasts, and factor evaluations.

use super::page_schema;
use chrono::{DateTime, NaiveDate, Utc};
use utoipa::ToSchema;

/// A stored backtest run: what was run (the manifest, whose hash is the id), its metrics and
/// its span.
#[derive(ToSchema)]
#[schema(as = BacktestRun)]
pub struct BacktestRunDoc {
    /// The run id: `bt_` and 24 hex digits, a hash of the manifest.
    pub id: String,
    /// Everything the run used: `request` (strategy, params, symbols, range, simulator), the
    /// data snapshot hash, the engine version, the seed, the price basis, the bars held by the
    /// quality checks (`excluded`) and the inputs of external series.
    #[schema(value_type = Object)]
    pub manifest: (),
    /// Performance over the whole run (total return, CAGR, volatility, Sharpe, Sortino,
    /// Calmar, drawdown, VaR, trade statistics, exposure, turnover; null where undefined).
    #[schema(value_type = Object)]
    pub metrics: (),
    /// Equity after the last bar, account currency.
    pub final_equity: f64,
    /// Starting cash, account currency.
    pub initial_cash: f64,
    /// Bars on the run's timeline.
    pub bars: u64,
    /// Time of the first bar (a daily bar is its session date at 00:00 UTC); null without bars.
    pub first_ts: Option<DateTime<Utc>>,
    /// Time of the last bar, as `first_ts`.
    pub last_ts: Option<DateTime<Utc>>,
    /// Trades stored with the run, open ones included.
    pub trade_count: u64,
    /// When this execution finished.
    pub created_at: DateTime<Utc>,
    /// Portfolio strategies: beta, alpha, tracking error and information ratio against the
    /// universe bought in equal weights and held; absent otherwise.
    #[schema(value_type = Option<Object>)]
    pub relative: (),
    /// The risk-free rate Sharpe and Sortino used (`series`, `reason`, `mean_annual_pct`).
    #[schema(value_type = Option<Object>)]
    pub risk_free: (),
}

page_schema!(
    /// A page of stored runs, newest first (each with its `strategy` and `owners` as listed).
    BacktestPage,
    BacktestRunDoc
);

/// One trade of a run.
#[derive(ToSchema)]
#[schema(as = Trade)]
pub struct TradeDoc {
    /// The symbol traded.
    pub symbol: String,
    /// True for a long trade, false for a short.
    pub long: bool,
    /// Units, always positive.
    pub size: f64,
    /// Time of the entry fill's bar.
    pub entry_ts: Option<DateTime<Utc>>,
    /// Entry fill price, slippage included.
    pub entry_price: f64,
    /// Time of the exit fill's bar; null for an open trade.
    pub exit_ts: Option<DateTime<Utc>>,
    /// Exit fill price; for an open trade the last close it is marked at.
    pub exit_price: f64,
    /// Profit or loss in account currency, net of commissions (unrealised when `open`).
    pub pnl: f64,
    /// `pnl` over the entry notional, as a fraction.
    pub return_pct: f64,
    /// Commissions paid, account currency.
    pub commission: f64,
    /// True for a position still held at the end of the data.
    pub open: bool,
}

/// A run's performance on the days of one regime.
#[derive(ToSchema)]
#[schema(as = RegimeSlice)]
pub struct RegimeSliceDoc {
    /// The regime label of the days.
    pub regime: String,
    /// Days labelled with it.
    pub days: u64,
    /// Compounded return over those days (null when undefined).
    pub total_return: Option<f64>,
    /// Annualised volatility of those days' returns.
    pub volatility: Option<f64>,
    /// Annualised Sharpe ratio of those days' returns.
    pub sharpe: Option<f64>,
    /// Maximum drawdown of the equity compounded over those days only.
    pub max_drawdown: Option<f64>,
}

/// A run's narrative with everything needed to audit it.
#[derive(ToSchema)]
#[schema(as = BacktestReport)]
pub struct BacktestReportDoc {
    /// The run narrated.
    pub backtest_id: String,
    /// The narrative in markdown with `## ` sections.
    pub markdown: String,
    /// The fact sheet the narrative was generated from and checked against.
    #[schema(value_type = Object)]
    pub facts: (),
    /// The validation of `markdown` (every number traced to a fact).
    #[schema(value_type = Object)]
    pub validation: (),
    /// Every model call, in order.
    #[schema(value_type = Vec<Object>)]
    pub attempts: (),
    /// True when `markdown` is the grounded template because no model answer passed.
    pub fallback: bool,
    /// True when served from the store without calling the model.
    pub cached: Option<bool>,
    /// The prompt template (name, version, sha256).
    #[schema(value_type = Object)]
    pub prompt: (),
    /// The provider's model name.
    pub model: String,
    /// The provider's name.
    pub provider: String,
}

/// A walk-forward: parameters chosen in-sample, traded out of sample, stitched.
#[derive(ToSchema)]
#[schema(as = WalkForwardReport)]
pub struct WalkForwardReportDoc {
    /// Every train/test step in time order: the windows, the parameters chosen, in- and
    /// out-of-sample metrics.
    #[schema(value_type = Vec<Object>)]
    pub windows: (),
    /// Metrics of the stitched out-of-sample returns.
    #[schema(value_type = Object)]
    pub out_of_sample: (),
    /// Times of the stitched out-of-sample curve, in unix seconds.
    pub oos_ts: Vec<i64>,
    /// The stitched out-of-sample equity, one value per `oos_ts`.
    pub oos_equity: Vec<Option<f64>>,
}

/// A forecast of a symbol's, portfolio's or run's value over the next sessions.
#[derive(ToSchema)]
#[schema(as = Forecast)]
pub struct ForecastDoc {
    /// Content hash of the target, request and history (`GET /api/v1/forecasts/{id}` when
    /// stored).
    pub forecast_id: String,
    /// `symbol`, `portfolio` or `backtest`.
    pub target_kind: String,
    /// The symbol, portfolio id or run id.
    pub target: String,
    /// The assets held.
    pub assets: Vec<String>,
    /// The value at the origin.
    pub start_value: f64,
    /// Cash at the origin (portfolios).
    pub cash: f64,
    /// The model (`fhs_gjr`, `bootstrap`, …).
    pub model: String,
    /// Trading days ahead.
    pub horizon: u64,
    /// Paths simulated.
    pub paths: u64,
    /// Their seed.
    pub seed: u64,
    /// The levels of every fan point's quantiles.
    pub quantile_levels: Vec<f64>,
    /// One point per day of the horizon: the day, nine quantiles and the mean.
    #[schema(value_type = Vec<Object>)]
    pub fan: (),
    /// The 5 % and 95 % values at the horizon.
    pub band_5_95: Vec<Option<f64>>,
    /// VaR and CVaR at 1 and 10 days, 95 and 99 %.
    #[schema(value_type = Vec<Object>)]
    pub var: (),
    /// Probabilities of drawdowns within the horizon.
    #[schema(value_type = Vec<Object>)]
    pub drawdown: (),
    /// Probability of ending below the origin's value.
    pub probability_of_loss: Option<f64>,
    /// Mean path of the worst 5 % of paths by final value.
    pub shortfall_path: Vec<Option<f64>>,
    /// What the model learnt.
    #[schema(value_type = Object)]
    pub fit: (),
    /// The history it learnt from (first and last session, days).
    #[schema(value_type = Object)]
    pub history: (),
    /// The origin's holdings valued over the sessions before it, the origin last.
    pub recent_values: Vec<Option<f64>>,
    /// The baselines' figures.
    #[schema(value_type = Vec<Object>)]
    pub baselines: (),
    /// Whether the quantiles were stored.
    pub stored: bool,
    /// What the reader should know about these numbers.
    pub warnings: Vec<String>,
}

/// One stored quantile of a stored forecast.
#[derive(ToSchema)]
#[schema(as = StoredQuantile)]
pub struct StoredQuantileDoc {
    /// Session after the origin, from 1.
    pub day: u64,
    /// The quantile level (0.05 = 5 %).
    pub quantile: f64,
    /// The value at that quantile, currency.
    pub value: f64,
}

/// A stored forecast: what produced it and its quantiles per day.
#[derive(ToSchema)]
#[schema(as = StoredForecast)]
pub struct StoredForecastDoc {
    /// The forecast's id.
    pub forecast_id: String,
    /// `symbol`, `portfolio` or `backtest`.
    pub target_kind: String,
    /// The symbol, portfolio id or run id.
    pub target: String,
    /// The model.
    pub model: String,
    /// The origin session.
    pub as_of: NaiveDate,
    /// Trading days ahead.
    pub horizon: u64,
    /// Paths simulated.
    pub paths: u64,
    /// Their seed.
    pub seed: u64,
    /// The value at the origin.
    pub start_value: f64,
    /// Hash of the history used.
    pub snapshot: String,
    /// The request as made.
    #[schema(value_type = Object)]
    pub request: (),
    /// What the model learnt.
    #[schema(value_type = Object)]
    pub fit: (),
    /// VaR, CVaR and drawdown figures.
    #[schema(value_type = Object)]
    pub risk: (),
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Its quantiles, by day and level.
    pub quantiles: Vec<StoredQuantileDoc>,
}

/// Walk-forward calibration of every model and baseline on one history.
#[derive(ToSchema)]
#[schema(as = ForecastCalibration)]
pub struct ForecastCalibrationDoc {
    /// The symbol.
    pub target: String,
    /// The assets held.
    pub assets: Vec<String>,
    /// The first origin's session.
    pub first_origin: NaiveDate,
    /// The last origin's session.
    pub last_origin: NaiveDate,
    /// Origins forecast from.
    pub origins: u64,
    /// Return days in the history.
    pub days: u64,
    /// Days left out because a member had no return.
    pub excluded_days: u64,
    /// Every model, baselines included: band coverage, pinball loss, CRPS, VaR tests per
    /// horizon (or why it could not be evaluated).
    #[schema(value_type = Vec<Object>)]
    pub models: (),
    /// The best model per horizon.
    #[schema(value_type = Vec<Object>)]
    pub best: (),
    /// The evaluation's settings.
    #[schema(value_type = Object)]
    pub spec: (),
}

/// A symbol's stored forecasts judged by the bars that came after them.
#[derive(ToSchema)]
#[schema(as = ForecastScores)]
pub struct ForecastScoresDoc {
    /// The symbol.
    pub target: String,
    /// Stored forecasts of it.
    pub forecasts: u64,
    /// Forecasts with no realised day yet.
    pub pending: u64,
    /// Realised (forecast, day) pairs.
    pub scored_days: u64,
    /// Coverage of every band over every realised day.
    #[schema(value_type = Vec<Object>)]
    pub bands: (),
    /// The same over each forecast's first day only.
    #[schema(value_type = Vec<Object>)]
    pub next_day: (),
    /// Stored forecasts whose origin is not a session with a bar any more.
    pub orphaned: u64,
}

/// A signal judged over a universe.
#[derive(ToSchema)]
#[schema(as = FactorEvaluation)]
pub struct FactorEvaluationDoc {
    /// The request, with defaults filled.
    #[schema(value_type = Object)]
    pub request: (),
    /// The universe as used: members, those left out, delisted count, survivorship notice.
    #[schema(value_type = Object)]
    pub universe: (),
    /// Hash of the bars read.
    pub data_snapshot: String,
    /// Bars held by the quality checks inside the range (left out).
    pub excluded_bars: u64,
    /// What produced attached scores (a model's id and version, a feature view's version).
    #[schema(value_type = Object)]
    pub inputs: (),
    /// Rank IC per horizon, quantile returns, spread, turnover, autocorrelation, IC by regime.
    #[schema(value_type = Object)]
    pub report: (),
}
