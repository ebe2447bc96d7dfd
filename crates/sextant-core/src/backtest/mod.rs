//! The backtest service: runs a [`BacktestRequest`] on cached bars, records a content-addressed
//! [`RunManifest`], and persists the result (metadata store) and the equity curve (DuckDB).
//!
//! Reproducibility: the run id is the sha256 of the manifest (request + hash of the
//! exact bars used + engine version + seed), so the same config on the same data snapshot gets
//! the same id, and the run itself is deterministic, so its stored results are bit-identical.

mod walkforward;

pub use walkforward::{
    walk_forward, walk_forward_with, WalkForwardReport, WalkForwardSpec, WindowResult,
};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_backtest::metrics::{Metrics, MetricsConfig, MetricsInput, TradeStats};
use sextant_backtest::simulator::{
    BacktestResult, BarSeries, CorporateActions, MarketData, SimConfig, Trade, TradingSimulator,
    CA_DIVIDEND, CA_SPLIT,
};
use sextant_backtest::strategy::{build_strategy, required_series};
use sextant_data::cache::{EquityPoint, HeldBar, Slice};
use sextant_data::Cache;
use sextant_domain::{PriceBasis, Resolution, Symbol};
use sextant_meta::MetaStore;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The engine version recorded in every manifest: results are only comparable within one.
pub const ENGINE_VERSION: &str = concat!("sextant-backtest ", env!("CARGO_PKG_VERSION"));

/// Metadata collections the service writes.
pub const RUNS: &str = "backtests";
pub const TRADES: &str = "backtest_trades";

/// Why a backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("invalid parameters: {0}")]
    Params(#[from] sextant_backtest::strategy::ParamError),
    #[error("invalid simulator configuration: {0}")]
    Sim(#[from] sextant_backtest::simulator::SimError),
    #[error("bad bar data: {0}")]
    Bars(#[from] sextant_backtest::simulator::DataError),
    #[error("metrics: {0}")]
    Metrics(#[from] sextant_backtest::metrics::MetricsError),
    #[error(transparent)]
    Data(#[from] sextant_data::DataError),
    #[error(transparent)]
    Meta(#[from] sextant_meta::MetaError),
    #[error("no {resolution} bars for {symbol} between {from} and {to}")]
    NoBars {
        symbol: String,
        resolution: String,
        from: String,
        to: String,
    },
    #[error("{0}")]
    Invalid(String),
    /// The request exceeds a documented limit or is malformed; `field` names the input.
    #[error("{field}: {message}")]
    Limit { field: String, message: String },
    /// Cancellation was requested while the work ran.
    #[error("cancelled")]
    Cancelled,
    /// The bars a stored run used have changed since (a revision, a backfill, a review): a
    /// report built now would describe a different run than the one it names.
    #[error(
        "the data of run {id} changed since it ran (snapshot {recorded} then, {current} now): \
         re-run the backtest to describe the current data"
    )]
    DataChanged {
        id: String,
        recorded: String,
        current: String,
    },
}

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
    #[serde(default, deserialize_with = "sextant_backtest::simulator::sim_object")]
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
    pub fn validate(&self) -> Result<(), BacktestError> {
        let limit = |field: &str, message: String| {
            Err(BacktestError::Limit {
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
    pub fn run_id(&self) -> Result<String, BacktestError> {
        let text = serde_json::to_string(self)
            .map_err(|e| BacktestError::Invalid(format!("run manifest: {e}")))?;
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

/// Supplies external series (ML probabilities, …) to attach to a symbol's bars for a request,
/// aligned to the bars' timestamps (NaN where there is no value).
pub trait SeriesSource: Send + Sync {
    fn series(
        &self,
        req: &BacktestRequest,
        symbol: &Symbol,
        ts: &[chrono::NaiveDateTime],
    ) -> Result<Vec<(String, Vec<f64>)>, BacktestError>;

    /// What produced the series for `req` (a model's id, version and training parameters):
    /// recorded in the manifest and so in the run id. Null when nothing external is used.
    fn provenance(&self, req: &BacktestRequest) -> Result<Value, BacktestError> {
        let _ = req;
        Ok(Value::Null)
    }
}

/// Runs and stores backtests.
pub struct BacktestService {
    cache: Arc<Cache>,
    meta: Arc<dyn MetaStore>,
    /// Set once the ML signal service exists (it is built after this one).
    series: std::sync::OnceLock<Arc<dyn SeriesSource>>,
}

impl BacktestService {
    pub fn new(cache: Arc<Cache>, meta: Arc<dyn MetaStore>) -> Self {
        BacktestService {
            cache,
            meta,
            series: std::sync::OnceLock::new(),
        }
    }

    /// [`Self::load_with`] with this service's series source: how every caller that loads a
    /// request's data itself (inline API runs, reports, the CLI, jobs) gets the same series
    /// attached as [`Self::run`].
    pub fn load_for(
        &self,
        cache: &Cache,
        req: &BacktestRequest,
    ) -> Result<LoadedData, BacktestError> {
        Self::load_with(cache, req, self.series.get().map(|s| s.as_ref()))
    }

    /// Installs the source of external series (once).
    pub fn set_series_source(&self, source: Arc<dyn SeriesSource>) {
        let _ = self.series.set(source);
    }

    /// Reads the request's bars from `cache` (the service's own, or a CSV loaded in memory).
    pub fn load(cache: &Cache, req: &BacktestRequest) -> Result<LoadedData, BacktestError> {
        Self::load_with(cache, req, None)
    }

    /// [`Self::load`], attaching the series `source` supplies to each symbol's bars.
    pub fn load_with(
        cache: &Cache,
        req: &BacktestRequest,
        source: Option<&dyn SeriesSource>,
    ) -> Result<LoadedData, BacktestError> {
        req.validate()?;
        if let (None, Some((_, supplier))) = (source, required_series(&req.strategy)) {
            // Without its source the strategy would see no values and never trade: refuse
            // rather than report a silent, empty run.
            return Err(BacktestError::Invalid(format!(
                "{} needs {supplier}",
                req.strategy
            )));
        }
        let apply_actions = req.sim.corporate_actions == CorporateActions::Apply;
        if apply_actions && req.prices != PriceBasis::Raw {
            return Err(BacktestError::Invalid(format!(
                "sim.corporate_actions = apply needs prices = raw: {} prices already contain them",
                req.prices
            )));
        }
        let mut series = Vec::with_capacity(req.symbols.len());
        for s in &req.symbols {
            let bars = cache.bars_on(s, req.resolution, req.from, req.to, req.prices)?;
            if bars.is_empty() {
                return Err(BacktestError::NoBars {
                    symbol: s.to_string(),
                    resolution: req.resolution.to_string(),
                    from: req.from.map_or("the start".into(), |d| d.to_string()),
                    to: req.to.map_or("the end".into(), |d| d.to_string()),
                });
            }
            let mut bs = BarSeries::from_bars(&bars)?;
            if apply_actions && !bars.is_empty() {
                // Actions come from the whole history (the vendor ratio needs its neighbours),
                // then are cut to the bars of the range.
                let all = cache.bars(s, req.resolution, None, None)?;
                let acts = sextant_domain::prices::actions(&all);
                let by_ts: std::collections::HashMap<_, _> =
                    all.iter().map(|b| b.ts).zip(acts).collect();
                let pick = |f: fn(&(f64, f64)) -> f64| -> Vec<f64> {
                    bars.iter()
                        .map(|b| by_ts.get(&b.ts).map_or(f64::NAN, f))
                        .collect()
                };
                bs = bs
                    .with_series(CA_SPLIT, pick(|a| a.0))?
                    .with_series(CA_DIVIDEND, pick(|a| a.1))?;
            }
            if let Some(src) = source {
                let ts: Vec<chrono::NaiveDateTime> = bars.iter().map(|b| b.ts).collect();
                for (name, values) in src.series(req, s, &ts)? {
                    bs = bs.with_series(name, values)?;
                }
            }
            series.push(bs);
        }
        let snapshot = Self::snapshot(cache, req)?;
        let excluded = cache.held_bars(&req.symbols, req.resolution, req.from, req.to)?;
        if !excluded.is_empty() {
            tracing::info!(
                held = excluded.len(),
                "backtest range contains bars held by the quality checks; the run excludes them"
            );
        }
        let inputs = match source {
            Some(src) => src.provenance(req)?,
            None => Value::Null,
        };
        Ok(LoadedData {
            market: MarketData::new(series)?,
            snapshot,
            excluded,
            inputs,
        })
    }

    /// Runs a request on the service's cache and stores the run (without an owner: a run every
    /// key may read, as the CLI's are).
    pub async fn run(&self, req: &BacktestRequest) -> Result<BacktestRun, BacktestError> {
        self.run_for(req, None).await
    }

    /// [`Self::run`], recording `owner` among the run's owners.
    pub async fn run_for(
        &self,
        req: &BacktestRequest,
        owner: Option<&str>,
    ) -> Result<BacktestRun, BacktestError> {
        let cache = self.cache.clone();
        let r = req.clone();
        let source = self.series.get().cloned();
        let (run, trades, curve) =
            tokio::task::spawn_blocking(move || -> Result<_, BacktestError> {
                let data = Self::load_with(&cache, &r, source.as_deref())?;
                execute(&r, &data)
            })
            .await
            .map_err(|e| BacktestError::Invalid(format!("backtest task failed: {e}")))??;
        self.store_for(&run, &trades, &curve, owner).await?;
        Ok(run)
    }

    /// Persists a run: the summary and the trades in the metadata store, the curve in DuckDB.
    /// Idempotent: the id is content-addressed, so storing the same run again changes nothing.
    pub async fn store(
        &self,
        run: &BacktestRun,
        trades: &[TradeRecord],
        curve: &[EquityPoint],
    ) -> Result<(), BacktestError> {
        self.store_for(run, trades, curve, None).await
    }

    /// [`Self::store`], adding `owner` to the run's owners. A run is content-addressed, so two
    /// keys that run the same request share one stored run; each is recorded as an owner and
    /// only owners (and admins) may read it. A run stored without any owner (by the CLI) is
    /// readable by every key.
    pub async fn store_for(
        &self,
        run: &BacktestRun,
        trades: &[TradeRecord],
        curve: &[EquityPoint],
        owner: Option<&str>,
    ) -> Result<(), BacktestError> {
        let mut owners = self.owners(&run.id).await?;
        if let Some(o) = owner {
            if !owners.iter().any(|x| x == o) {
                owners.push(o.to_string());
            }
        }
        let cache = self.cache.clone();
        let id = run.id.clone();
        let pts = curve.to_vec();
        tokio::task::spawn_blocking(move || cache.put_equity_curve(&id, &pts))
            .await
            .map_err(|e| BacktestError::Invalid(format!("store task failed: {e}")))??;
        let trades_doc = json!({ "run_id": run.id, "trades": trades });
        self.meta.upsert(TRADES, &run.id, trades_doc).await?;
        let mut doc =
            serde_json::to_value(run).map_err(|e| BacktestError::Invalid(e.to_string()))?;
        if let Some(o) = doc.as_object_mut() {
            o.insert("strategy".into(), json!(run.manifest.request.strategy));
            if !owners.is_empty() {
                o.insert("owners".into(), json!(owners));
            }
        }
        self.meta.upsert(RUNS, &run.id, doc).await?;
        Ok(())
    }

    /// The keys recorded as owners of run `id` (empty: no run, or a run every key may read).
    pub async fn owners(&self, id: &str) -> Result<Vec<String>, BacktestError> {
        Ok(match self.meta.get(RUNS, id).await {
            Ok(Some(doc)) => doc
                .get("owners")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            Ok(None) | Err(sextant_meta::MetaError::Invalid(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        })
    }

    /// A stored run if `actor` may read it: an owner, an admin, or anyone for a run without
    /// owners. Another key's run is reported as absent.
    pub async fn get_as(
        &self,
        id: &str,
        actor: crate::common::Actor<'_>,
    ) -> Result<Option<BacktestRun>, BacktestError> {
        let owners = self.owners(id).await?;
        if !owners.is_empty() && !owners.iter().any(|o| actor.may(o)) {
            return Ok(None);
        }
        self.get(id).await
    }

    /// A stored run.
    pub async fn get(&self, id: &str) -> Result<Option<BacktestRun>, BacktestError> {
        match self.meta.get(RUNS, id).await? {
            Some(v) => Ok(Some(
                serde_json::from_value(v).map_err(|e| BacktestError::Invalid(e.to_string()))?,
            )),
            None => Ok(None),
        }
    }

    /// A stored run's trades.
    pub async fn trades(&self, id: &str) -> Result<Vec<TradeRecord>, BacktestError> {
        let doc = self.meta.get(TRADES, id).await?;
        let trades = doc
            .and_then(|d| d.get("trades").cloned())
            .unwrap_or_else(|| json!([]));
        serde_json::from_value(trades).map_err(|e| BacktestError::Invalid(e.to_string()))
    }

    /// A stored run's equity curve.
    pub fn equity_curve(&self, id: &str) -> Result<Vec<EquityPoint>, BacktestError> {
        Ok(self.cache.equity_curve(id)?)
    }

    /// The data snapshot of a request: the hash of the bars it reads, and for an adjusted basis
    /// of the corporate actions after its range too (they set the adjustment factors).
    pub fn snapshot(cache: &Cache, req: &BacktestRequest) -> Result<String, BacktestError> {
        let mut snapshot = cache.snapshot_hash(&Slice {
            symbols: req.symbols.clone(),
            resolution: Some(req.resolution),
            from: req.from,
            to: req.to,
        })?;
        if req.prices != PriceBasis::Raw && req.to.is_some() {
            let later = cache.actions_hash(&req.symbols, req.resolution, req.to)?;
            snapshot = hex::encode(Sha256::digest(format!("{snapshot}+{later}").as_bytes()));
        }
        Ok(snapshot)
    }

    /// Checks that the bars stored run `id` used are still the cache's (no re-execution).
    /// `Ok(false)` when there is no such run.
    pub async fn check_unchanged(&self, cache: &Cache, id: &str) -> Result<bool, BacktestError> {
        let Some(run) = self.get(id).await? else {
            return Ok(false);
        };
        let current = Self::snapshot(cache, &run.manifest.request)?;
        if current != run.manifest.data_snapshot {
            return Err(BacktestError::DataChanged {
                id: id.to_string(),
                recorded: run.manifest.data_snapshot.chars().take(16).collect(),
                current: current.chars().take(16).collect(),
            });
        }
        Ok(true)
    }

    /// A stored run as it was (its stored trades and equity curve, never a re-execution, so an
    /// ML walk-forward's stitched out-of-sample trades are what is described) with its
    /// buy-and-hold benchmark on the same bars, after checking that those bars are still the
    /// ones the run used. `None` when there is no such run.
    pub async fn stored_with_benchmark(
        &self,
        cache: &Cache,
        id: &str,
    ) -> Result<Option<StoredRun>, BacktestError> {
        let Some(run) = self.get(id).await? else {
            return Ok(None);
        };
        let trades = self.trades(id).await?;
        let curve = self.equity_curve(id)?;
        let mut bench = run.manifest.request.clone();
        bench.strategy = "buy_and_hold".into();
        bench.params = json!({});
        let data = Self::load(cache, &bench)?;
        if data.snapshot != run.manifest.data_snapshot {
            return Err(BacktestError::DataChanged {
                id: id.to_string(),
                recorded: run.manifest.data_snapshot.chars().take(16).collect(),
                current: data.snapshot.chars().take(16).collect(),
            });
        }
        let (benchmark, _, _) = execute(&bench, &data)?;
        Ok(Some(StoredRun {
            run,
            trades,
            curve,
            benchmark,
        }))
    }
}

/// A stored run with what a report needs: its trades and curve as stored, and its buy-and-hold
/// benchmark on the same (unchanged) bars.
pub struct StoredRun {
    pub run: BacktestRun,
    pub trades: Vec<TradeRecord>,
    pub curve: Vec<EquityPoint>,
    pub benchmark: BacktestRun,
}

/// Runs a request on loaded data: pure computation, no storage.
pub fn execute(
    req: &BacktestRequest,
    data: &LoadedData,
) -> Result<(BacktestRun, Vec<TradeRecord>, Vec<EquityPoint>), BacktestError> {
    let mut strategy = build_strategy(&req.strategy, &req.params)?;
    let sim = TradingSimulator::new(req.sim)?;
    let result = sim.run(&data.market, strategy.as_mut());
    if let Some(i) = result.equity.iter().position(|e| !e.is_finite()) {
        // Stored, it could never be read back (JSON has no infinity): refuse it now.
        return Err(BacktestError::Invalid(format!(
            "the run's equity stops being a finite number at bar {i}: lower sim.initial_cash or the position size"
        )));
    }
    let ppy = req
        .periods_per_year
        .unwrap_or_else(|| req.resolution.periods_per_year());
    let metrics = compute_metrics(&result, ppy)?;
    let manifest = RunManifest {
        request: req.clone(),
        data_snapshot: data.snapshot.clone(),
        engine_version: ENGINE_VERSION.to_string(),
        seed: req.seed,
        prices: req.prices,
        excluded: data.excluded.clone(),
        inputs: data.inputs.clone(),
    };
    let trades = trade_records(&result);
    let curve = result
        .ts
        .iter()
        .zip(result.equity.iter().zip(&result.cash))
        .map(|(&ts, (&equity, &cash))| EquityPoint {
            ts: to_utc(ts).map(|d| d.naive_utc()).unwrap_or_default(),
            equity,
            cash,
        })
        .collect();
    let run = BacktestRun {
        id: manifest.run_id()?,
        metrics,
        final_equity: result.final_equity(),
        initial_cash: result.initial_cash,
        bars: result.ts.len(),
        first_ts: result.ts.first().and_then(|&t| to_utc(t)),
        last_ts: result.ts.last().and_then(|&t| to_utc(t)),
        trade_count: result.trades.len(),
        created_at: Utc::now(),
        manifest,
    };
    Ok((run, trades, curve))
}

fn to_utc(ts: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(ts, 0)
}

/// Metrics of a simulator result, with positions and traded value per bar.
pub fn compute_metrics(
    result: &BacktestResult,
    periods_per_year: f64,
) -> Result<Metrics, BacktestError> {
    let returns = result.returns();
    let trades: Vec<TradeStats> = result
        .trades
        .iter()
        .filter(|t| !t.open)
        .map(|t| TradeStats::new(t.pnl, t.ret, t.exit_bar.saturating_sub(t.entry_bar)))
        .collect();
    let mut traded = vec![0.0; result.ts.len()];
    for f in &result.fills {
        if let Some(slot) = traded.get_mut(f.bar) {
            *slot += (f.qty * f.price).abs();
        }
    }
    let input = MetricsInput {
        returns: &returns,
        trades: &trades,
        positions: Some(&result.exposure),
        traded_notional: Some(&traded),
        equity: Some(&result.equity),
    };
    Ok(Metrics::compute(
        &input,
        &MetricsConfig::new(periods_per_year)?,
    )?)
}

fn trade_records(result: &BacktestResult) -> Vec<TradeRecord> {
    result
        .trades
        .iter()
        .map(|t: &Trade| TradeRecord {
            symbol: result.symbols.get(t.symbol).cloned().unwrap_or_default(),
            long: t.long,
            size: t.size,
            entry_ts: to_utc(t.entry_ts),
            entry_price: t.entry_price,
            exit_ts: if t.open { None } else { to_utc(t.exit_ts) },
            exit_price: t.exit_price,
            pnl: t.pnl,
            return_pct: t.ret,
            commission: t.entry_commission + t.exit_commission,
            open: t.open,
        })
        .collect()
}
