//! What defines a backtest and what a run records: the request and its limits, the manifest
//! (hashed into the run id), the stored run and trades, and the data loaded for a request.

use super::riskfree::{RiskFree, RiskFreeInput, RiskFreeUsed};
use super::RunError;
use crate::metrics::Metrics;
use crate::simulator::{MarketData, SimConfig};
use crate::strategy::build_strategy;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_domain::HeldBar;
use sextant_domain::{PriceBasis, Resolution, SessionModel, Symbol};
use sha2::{Digest, Sha256};

/// Everything that defines a backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    /// A name from the strategy library (`sextant strategies`).
    pub strategy: String,
    /// Parameters, validated against the strategy's JSON Schema; omitted ones take defaults.
    #[serde(default = "empty_object")]
    pub params: Value,
    /// 1 to [`limits::MAX_SYMBOLS`] tickers (upper-cased when parsed), traded together on the
    /// union of their bar times; each needs at least one bar in the range. A portfolio strategy
    /// (`topk_dropout`, `topk_weighted`, `long_short`) takes up to
    /// [`limits::MAX_UNIVERSE_SYMBOLS`]. May be empty when `universe` names one: the service
    /// fills it with the universe's members.
    #[serde(default)]
    pub symbols: Vec<Symbol>,
    /// A named universe (`sextant universe ls`) whose members are traded, each ranked only on
    /// the days it is a member; resolved by the service into `symbols`, with the membership and
    /// a survivorship notice recorded in the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub universe: Option<String>,
    /// Bar resolution to trade (`1min` … `monthly`). Default: `daily`.
    #[serde(default = "daily")]
    pub resolution: Resolution,
    /// First session date included (`YYYY-MM-DD`, inclusive). Default: none, from the first
    /// cached bar. Must lie in 1800-01-01..=2199-12-31 and not after `to`.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Last session date included (inclusive). Default: none, up to the last cached bar.
    /// Same supported dates as `from`.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// Simulator settings, a JSON object (any other JSON type is refused); omitted fields take
    /// [`SimConfig::default`] (10 000 cash, next-open fills, no costs, whole shares, all-in),
    /// unknown ones are refused. `initial_cash` is capped by [`limits::MAX_INITIAL_CASH`].
    #[serde(default, deserialize_with = "crate::simulator::sim_object")]
    pub sim: SimConfig,
    /// Recorded for reproducibility (the built-in strategies are deterministic and ignore it).
    #[serde(default)]
    pub seed: u64,
    /// Annualisation; default from the instruments' session model and the resolution (252 daily
    /// bars a year for US equities, 260 for FX, 365 for crypto; hourly FX 6,240).
    #[serde(default)]
    pub periods_per_year: Option<f64>,
    /// The prices the strategy and the simulator see (default `total_return`: splits neutral,
    /// dividends reinvested, so buy and hold earns what a holder earned). `raw` trades the
    /// printed prices, as backtesting.py and vectorbt do on a raw file.
    #[serde(default)]
    pub prices: PriceBasis,
    /// The risk-free rate Sharpe and Sortino subtract: `auto` (default: the cached 3-month
    /// Treasury yield, else zero), `none`, or an economic series id such as
    /// `treasury_yield_3month_daily`. The run records which it used.
    #[serde(default, skip_serializing_if = "RiskFree::is_auto")]
    pub risk_free: RiskFree,
}

/// Documented maxima of a backtest request, checked by [`BacktestRequest::validate`] for every
/// entry point (routes, the generic jobs route, the CLI, walk-forwards).
pub mod limits {
    /// Symbols in one request.
    pub const MAX_SYMBOLS: usize = 50;
    /// Symbols in one request for a portfolio strategy (a universe).
    pub const MAX_UNIVERSE_SYMBOLS: usize = 1000;
    /// Largest `sim.initial_cash` (a trillion): beyond it equity sums lose cents.
    pub const MAX_INITIAL_CASH: f64 = 1e12;
    /// Largest `periods_per_year` (one bar a second is about 6e6 a year of sessions; 1e6 covers
    /// every resolution the cache holds).
    pub const MAX_PERIODS_PER_YEAR: f64 = 1e6;
    /// Candidate parameter sets in one walk-forward.
    pub const MAX_CANDIDATES: usize = 100;
    /// Simulations in one walk-forward (windows × candidates + windows), checked once the bars
    /// are known.
    pub const MAX_WALK_FORWARD_RUNS: usize = 20_000;
}

impl BacktestRequest {
    /// Checks the request against [`limits`] and the strategy's schema before any bar is read:
    /// symbols, supported dates, simulator settings, annualisation and parameters.
    pub fn validate(&self) -> Result<(), RunError> {
        let limit = |field: &str, message: String| {
            Err(RunError::Limit {
                field: field.into(),
                message,
            })
        };
        let max = if crate::strategy::PORTFOLIO_STRATEGIES.contains(&self.strategy.as_str()) {
            limits::MAX_UNIVERSE_SYMBOLS
        } else {
            limits::MAX_SYMBOLS
        };
        if let Some(u) = &self.universe {
            if !crate::strategy::is_identifier(u) {
                return limit(
                    "universe",
                    "1 to 64 characters of A-Z, a-z, 0-9, _, . and -".into(),
                );
            }
        }
        // A universe request names no symbols until the service resolves it (then this runs
        // again with its members).
        let unresolved = self.symbols.is_empty() && self.universe.is_some();
        if !unresolved && !(1..=max).contains(&self.symbols.len()) {
            return limit(
                "symbols",
                format!(
                    "1 to {max} symbols for {}, got {}",
                    self.strategy,
                    self.symbols.len()
                ),
            );
        }
        if let Err((field, message)) = sextant_domain::dates::check_range(self.from, self.to) {
            return limit(&field, message);
        }
        self.sim.validate()?;
        if self.sim.initial_cash > limits::MAX_INITIAL_CASH {
            return limit(
                "sim.initial_cash",
                format!(
                    "at most {:e}, got {}",
                    limits::MAX_INITIAL_CASH,
                    self.sim.initial_cash
                ),
            );
        }
        if let Some(p) = self.periods_per_year {
            if !(p.is_finite() && p > 0.0 && p <= limits::MAX_PERIODS_PER_YEAR) {
                return limit(
                    "periods_per_year",
                    format!(
                        "must be in (0, {:e}], got {p}",
                        limits::MAX_PERIODS_PER_YEAR
                    ),
                );
            }
        }
        build_strategy(&self.strategy, &self.params)?;
        Ok(())
    }
}

fn empty_object() -> Value {
    json!({})
}
fn daily() -> Resolution {
    Resolution::Daily
}

/// What a run used, hashed into its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// The request as parsed: omitted request fields appear with their defaults, but `params`
    /// is kept as given (a default spelled out gives a different id than one left out).
    pub request: BacktestRequest,
    /// sha256 over the exact bars read (see `Cache::snapshot_hash`), and for an adjusted basis
    /// over the corporate actions after the range too (they set the adjustment factors).
    pub data_snapshot: String,
    /// [`super::ENGINE_VERSION`] of the engine that ran: a new engine version changes every id.
    pub engine_version: String,
    /// The request's `seed`, repeated next to the other reproducibility inputs.
    pub seed: u64,
    /// The price basis the run used (also in the request; repeated so a reader of the manifest
    /// alone cannot miss it).
    #[serde(default)]
    pub prices: PriceBasis,
    /// Bars inside the range that the run did not see because the quality checks hold them
    /// (pending review) or a reviewer rejected them. Empty means nothing was left out.
    #[serde(default)]
    pub excluded: Vec<HeldBar>,
    /// What produced any external series the strategy traded on (the model id and version and
    /// its training parameters for `ml_signal`), so two runs on different models never share
    /// an id.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub inputs: Value,
    /// The risk-free series the run used, with a hash of its observations (absent when the
    /// rate was zero, so ids of runs against zero are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_free: Option<RiskFreeUsed>,
    /// The instruments' session model when it is not the NYSE calendar (FX, crypto, other
    /// venues): it sets the annualisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionModel>,
}

impl RunManifest {
    /// `bt_` + the first 24 hex digits of sha256(canonical JSON). serde_json sorts object keys,
    /// so the JSON is canonical.
    /// A manifest that cannot be serialised has no id (never the hash of an empty string,
    /// which every such manifest would share).
    pub fn run_id(&self) -> Result<String, RunError> {
        let text = serde_json::to_string(self)
            .map_err(|e| RunError::Invalid(format!("run manifest: {e}")))?;
        let digest = Sha256::digest(text.as_bytes());
        Ok(format!(
            "{}{}",
            sextant_domain::RunId::PREFIX,
            &hex::encode(digest)[..24]
        ))
    }
}

/// A completed run as stored and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestRun {
    /// [`RunManifest::run_id`] of `manifest` (`bt_` + 24 hex digits): the same manifest always
    /// gets the same id, so storing a re-run replaces the earlier copy.
    pub id: String,
    /// Everything the run used (request, data snapshot, engine version, held bars, inputs).
    pub manifest: RunManifest,
    /// Performance over the whole run, annualised with the request's `periods_per_year` (or
    /// the resolution's); trade statistics count closed trades only.
    pub metrics: Metrics,
    /// Equity after the last bar, account currency, open positions marked at their last close.
    pub final_equity: f64,
    /// Starting cash (`sim.initial_cash`), account currency.
    pub initial_cash: f64,
    /// Bars on the run's timeline (the union of the symbols' bar times).
    pub bars: usize,
    /// Time of the first bar (UTC; a daily or coarser bar is its session date at 00:00).
    /// `None` only when there is no bar.
    pub first_ts: Option<DateTime<Utc>>,
    /// Time of the last bar, as `first_ts`.
    pub last_ts: Option<DateTime<Utc>>,
    /// Number of trades stored with the run, trades still open at the end included.
    pub trade_count: usize,
    /// When this execution finished (wall clock, UTC). Not in the manifest, so not in the id.
    pub created_at: DateTime<Utc>,
    /// A portfolio strategy's performance against its universe bought in equal weights and
    /// held, on the same bars and costs (absent for single-symbol strategies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<Relative>,
    /// The risk-free rate Sharpe and Sortino used (`series: none` for zero) and why.
    #[serde(default = "zero_risk_free")]
    pub risk_free: RiskFreeUsed,
}

fn zero_risk_free() -> RiskFreeUsed {
    RiskFreeUsed::zero("not recorded (a run stored before the risk-free option existed)")
}

/// Performance against a benchmark with empyrical's definitions
/// ([`crate::metrics::relative`]); null where a figure is undefined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relative {
    /// What the run is compared with.
    pub benchmark: String,
    /// The benchmark's total return.
    pub benchmark_total_return: Option<f64>,
    /// The run's total return minus the benchmark's.
    pub excess_return: Option<f64>,
    /// `cov(r, b) / var(b)` of per-bar returns.
    pub beta: Option<f64>,
    /// Annualised Jensen's alpha (zero risk-free rate).
    pub alpha: Option<f64>,
    /// Annualised standard deviation of the active return.
    pub tracking_error: Option<f64>,
    /// Annualised mean active return over its standard deviation.
    pub information_ratio: Option<f64>,
}

/// A trade as stored (symbol by name, times as UTC instants).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRecord {
    /// The symbol traded, as named in the request (upper case).
    pub symbol: String,
    /// `true` for a long trade, `false` for a short.
    pub long: bool,
    /// Units, always positive (`long` gives the direction).
    pub size: f64,
    /// Time of the entry fill's bar (UTC); `None` only for a time outside chrono's range.
    pub entry_ts: Option<DateTime<Utc>>,
    /// Entry fill price, slippage included.
    pub entry_price: f64,
    /// Time of the exit fill's bar (UTC); `None` for an open trade.
    pub exit_ts: Option<DateTime<Utc>>,
    /// Exit fill price, slippage included; for an open trade the last close it is marked at.
    pub exit_price: f64,
    /// Profit or loss in account currency, net of both commissions (unrealised when `open`).
    pub pnl: f64,
    /// `pnl` over the entry notional as a fraction despite the name (0.05 = +5 %).
    pub return_pct: f64,
    /// Entry plus exit commission, account currency (no exit commission while `open`).
    pub commission: f64,
    /// `true` for a position still held at the end of the data (see `exit_price`).
    pub open: bool,
}

/// Loaded data for a request: the simulator's columns, the snapshot hash, what the range
/// excludes and what produced the external series.
pub struct LoadedData {
    /// The symbols' bars in request order, aligned on the union of their times, with any
    /// corporate-action and external series attached.
    pub market: MarketData,
    /// Hash of the bars read, recorded as [`RunManifest::data_snapshot`].
    pub snapshot: String,
    /// Held or rejected bars inside the range (see [`RunManifest::excluded`]).
    pub excluded: Vec<HeldBar>,
    /// Provenance of the external series (see [`RunManifest::inputs`]).
    pub inputs: Value,
    /// When the symbols trade: sets the annualisation when the request gives none.
    pub session: SessionModel,
    /// The risk-free rate per bar, resolved from the request's `risk_free`; `None` is zero.
    pub risk_free: Option<RiskFreeInput>,
    /// Why the rate is zero when `risk_free` is `None` (recorded with the run).
    pub risk_free_reason: String,
}
