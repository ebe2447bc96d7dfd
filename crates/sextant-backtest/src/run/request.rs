//! What defines a backtest and what a run records: the request and its limits, the manifest
//! (hashed into the run id), the stored run and trades, and the data loaded for a request.

use super::RunError;
use crate::metrics::Metrics;
use crate::simulator::{MarketData, SimConfig};
use crate::strategy::build_strategy;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_domain::HeldBar;
use sextant_domain::{PriceBasis, Resolution, Symbol};
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
    pub symbols: Vec<Symbol>,
    #[serde(default = "daily")]
    pub resolution: Resolution,
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::simulator::sim_object")]
    pub sim: SimConfig,
    /// Recorded for reproducibility (the built-in strategies are deterministic and ignore it).
    #[serde(default)]
    pub seed: u64,
    /// Annualisation; default from the resolution (252 daily bars a year for equities).
    #[serde(default)]
    pub periods_per_year: Option<f64>,
    /// The prices the strategy and the simulator see (default `total_return`: splits neutral,
    /// dividends reinvested, so buy and hold earns what a holder earned). `raw` trades the
    /// printed prices, as backtesting.py and vectorbt do on a raw file.
    #[serde(default)]
    pub prices: PriceBasis,
}

/// Documented maxima of a backtest request, checked by [`BacktestRequest::validate`] for every
/// entry point (routes, the generic jobs route, the CLI, walk-forwards).
pub mod limits {
    /// Symbols in one request.
    pub const MAX_SYMBOLS: usize = 50;
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
        if !(1..=limits::MAX_SYMBOLS).contains(&self.symbols.len()) {
            return limit(
                "symbols",
                format!(
                    "1 to {} symbols, got {}",
                    limits::MAX_SYMBOLS,
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
    pub request: BacktestRequest,
    /// sha256 over the exact bars read (see `Cache::snapshot_hash`), and for an adjusted basis
    /// over the corporate actions after the range too (they set the adjustment factors).
    pub data_snapshot: String,
    pub engine_version: String,
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
        Ok(format!("bt_{}", &hex::encode(digest)[..24]))
    }
}

/// A completed run as stored and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestRun {
    pub id: String,
    pub manifest: RunManifest,
    pub metrics: Metrics,
    pub final_equity: f64,
    pub initial_cash: f64,
    pub bars: usize,
    pub first_ts: Option<DateTime<Utc>>,
    pub last_ts: Option<DateTime<Utc>>,
    pub trade_count: usize,
    pub created_at: DateTime<Utc>,
}

/// A trade as stored (symbol by name, times as UTC instants).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRecord {
    pub symbol: String,
    pub long: bool,
    pub size: f64,
    pub entry_ts: Option<DateTime<Utc>>,
    pub entry_price: f64,
    pub exit_ts: Option<DateTime<Utc>>,
    pub exit_price: f64,
    pub pnl: f64,
    pub return_pct: f64,
    pub commission: f64,
    pub open: bool,
}

/// Loaded data for a request: the simulator's columns, the snapshot hash, what the range
/// excludes and what produced the external series.
pub struct LoadedData {
    pub market: MarketData,
    pub snapshot: String,
    /// Held or rejected bars inside the range (see [`RunManifest::excluded`]).
    pub excluded: Vec<HeldBar>,
    /// Provenance of the external series (see [`RunManifest::inputs`]).
    pub inputs: Value,
}
