//! The backtest service: runs a [`BacktestRequest`] on cached bars, records a content-addressed
//! [`RunManifest`], and persists the result (metadata store) and the equity curve (DuckDB).
//!
//! Reproducibility: the run id is the sha256 of the manifest (request + hash of the
//! exact bars used + engine version + seed), so the same config on the same data snapshot gets
//! the same id, and the run itself is deterministic, so its stored results are bit-identical.

mod context;
mod error;
mod series;

pub use error::BacktestError;
pub use series::{series_needed, SeriesSource, SeriesSources};
pub use sextant_backtest::run::{
    compute_metrics, execute, limits, walk_forward, walk_forward_with, BacktestRequest,
    BacktestRun, LoadedData, RunError, RunManifest, TradeRecord, WalkForwardReport,
    WalkForwardSpec, WindowResult, ENGINE_VERSION,
};

use serde_json::{json, Value};
use sextant_backtest::simulator::{BarSeries, CorporateActions, MarketData, CA_DIVIDEND, CA_SPLIT};
use sextant_data::cache::{BarReader, Slice};
use sextant_data::Cache;
use sextant_domain::{EquityPoint, PriceBasis};
use sextant_meta::MetaStore;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Metadata collection of stored runs: each [`BacktestRun`] plus its `strategy` and `owners`,
/// keyed by run id.
pub const RUNS: &str = "backtests";
/// Metadata collection of each run's trades, `{run_id, trades}`, keyed by run id.
pub const TRADES: &str = "backtest_trades";

/// How [`BacktestService::run_with`] carries out a run. The default reads the service's own
/// bar store, records no owner and has no cost limit.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// The bar store to read, such as a file loaded in memory by the CLI. Default: a
    /// connection of the service's read pool. The run is always stored in the service's store.
    pub cache: Option<Arc<dyn BarReader>>,
    /// The key recorded among the run's owners. Default: none (a run every key may read).
    pub owner: Option<String>,
    /// Largest cost (bars × symbols) to run; a costlier request comes back as
    /// [`RunOutcome::TooLarge`] without running, so the caller can queue it as a job.
    /// Default: no limit.
    pub max_cost: Option<usize>,
}

/// What [`BacktestService::run_with`] did.
#[derive(Debug)]
pub enum RunOutcome {
    /// The run executed and was stored.
    Done(Box<BacktestRun>),
    /// Over [`RunOptions::max_cost`]: nothing ran.
    TooLarge {
        /// The request's cost (bars × symbols).
        cost: usize,
    },
}

/// What [`BacktestService::walk_forward_on`] did.
#[derive(Debug)]
pub enum WalkOutcome {
    /// The walk-forward ran.
    Done {
        /// Windows, chosen parameters and the stitched out-of-sample result.
        report: Box<WalkForwardReport>,
        /// The bar timestamps (epoch seconds) the window indices refer to.
        bar_ts: Vec<i64>,
    },
    /// Over the cost limit (simulations × bars): nothing ran.
    TooLarge {
        /// The walk-forward's cost (simulations × bars).
        cost: usize,
    },
}

/// Runs and stores backtests.
pub struct BacktestService {
    /// The main connection: equity curves are written here.
    cache: Arc<Cache>,
    /// Read connections: requests load their bars here unless told otherwise.
    reads: Arc<sextant_data::cache::ReadPool>,
    meta: Arc<dyn MetaStore>,
    /// What attaches external series (ML probabilities) to a request's bars; without one,
    /// requests for a strategy that needs it (`ml_signal`) are refused.
    series: Option<Arc<dyn SeriesSource>>,
    /// Resolves `universe` requests into their members (none: such requests are refused).
    universes: Option<Arc<crate::universes::UniverseService>>,
}

impl BacktestService {
    /// A service reading bars through `reads` (writing equity curves to its main connection),
    /// storing runs and trades in `meta`, with `series` attaching external series.
    pub fn new(
        reads: Arc<sextant_data::cache::ReadPool>,
        meta: Arc<dyn MetaStore>,
        series: Option<Arc<dyn SeriesSource>>,
    ) -> Self {
        BacktestService {
            cache: reads.main().clone(),
            reads,
            meta,
            series,
            universes: None,
        }
    }

    /// This service, resolving universe requests with `universes`.
    pub fn with_universes(mut self, universes: Arc<crate::universes::UniverseService>) -> Self {
        self.universes = Some(universes);
        self
    }

    /// `req` with a named universe resolved into its members ([`crate::universes`]); as given
    /// when it names none.
    pub async fn resolve(&self, req: &BacktestRequest) -> Result<BacktestRequest, BacktestError> {
        if req.universe.is_none() {
            return Ok(req.clone());
        }
        let Some(u) = &self.universes else {
            return Err(BacktestError::invalid(
                "universe requests need the universe service",
            ));
        };
        u.expand(req.clone())
            .await
            .map_err(|e| BacktestError::invalid(e.to_string()))
    }

    /// A connection of the read pool, for a caller that loads a request's data itself.
    pub fn reader(&self) -> Arc<Cache> {
        self.reads.get()
    }

    /// [`Self::load_with`] with this service's series source: how every caller that loads a
    /// request's data itself (inline API runs, reports, the CLI, jobs) gets the same series
    /// attached as [`Self::run`].
    pub fn load_for(
        &self,
        cache: &dyn BarReader,
        req: &BacktestRequest,
    ) -> Result<LoadedData, BacktestError> {
        Self::load_with(cache, req, self.series.as_deref())
    }

    /// Reads the request's bars from `cache` (the service's own, or a CSV loaded in memory).
    pub fn load(cache: &dyn BarReader, req: &BacktestRequest) -> Result<LoadedData, BacktestError> {
        Self::load_with(cache, req, None)
    }

    /// [`Self::load`], attaching the series `source` supplies to each symbol's bars.
    pub fn load_with(
        cache: &dyn BarReader,
        req: &BacktestRequest,
        source: Option<&dyn SeriesSource>,
    ) -> Result<LoadedData, BacktestError> {
        req.validate()?;
        if let (true, Some(u)) = (req.symbols.is_empty(), &req.universe) {
            return Err(BacktestError::invalid(format!(
                "universe {u:?} must be resolved into its members before loading (BacktestService::resolve)"
            )));
        }
        if source.is_none() {
            if let Some(why) = series::series_needed(req)? {
                // Without its source the strategy would see no values and never trade: refuse
                // rather than report a silent, empty run.
                return Err(BacktestError::invalid(why));
            }
        }
        let apply_actions = req.sim.corporate_actions == CorporateActions::Apply;
        if apply_actions && req.prices != PriceBasis::Raw {
            return Err(BacktestError::invalid(format!(
                "sim.corporate_actions = apply needs prices = raw: {} prices already contain them",
                req.prices
            )));
        }
        let mut series = Vec::with_capacity(req.symbols.len());
        for s in &req.symbols {
            // With corporate actions applied, the actions come from the whole history (the
            // vendor ratio needs its neighbours): read it once and cut the range from it.
            let (bars, acts) = if apply_actions {
                let all = cache.bars(s, req.resolution, None, None)?;
                let acts = sextant_domain::prices::actions(&all);
                let in_range = |b: &sextant_domain::Bar| {
                    let d = b.ts.date();
                    req.from.is_none_or(|f| d >= f) && req.to.is_none_or(|t| d <= t)
                };
                let (bars, acts): (Vec<_>, Vec<_>) = all
                    .into_iter()
                    .zip(acts)
                    .filter(|(b, _)| in_range(b))
                    .unzip();
                (bars, Some(acts))
            } else {
                let bars = cache.bars_on(s, req.resolution, req.from, req.to, req.prices)?;
                (bars, None)
            };
            if bars.is_empty() {
                return Err(BacktestError::NoBars {
                    symbol: s.to_string(),
                    resolution: req.resolution.to_string(),
                    from: req.from.map_or("the start".into(), |d| d.to_string()),
                    to: req.to.map_or("the end".into(), |d| d.to_string()),
                });
            }
            let mut bs = BarSeries::from_bars(&bars)?;
            if let Some(acts) = acts {
                bs = bs
                    .with_series(CA_SPLIT, acts.iter().map(|a| a.0).collect())?
                    .with_series(CA_DIVIDEND, acts.iter().map(|a| a.1).collect())?;
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
        let mut inputs = match source {
            Some(src) => src.provenance(req)?,
            None => Value::Null,
        };
        // Adjusted bases of a series with no adjustment data are its raw prints: say so in the
        // manifest (and so in every result and narrative) instead of calling them adjusted.
        if req.prices != PriceBasis::Raw {
            let mut unadjusted = Vec::new();
            let mut moves = Vec::new();
            for s in &req.symbols {
                if !cache.adjustment_known(s, req.resolution)? {
                    unadjusted.push(s.to_string());
                    for day in cache.split_like_moves(s, req.resolution, req.from, req.to)? {
                        moves.push(json!({"symbol": s.as_str(), "session": day}));
                    }
                }
            }
            if !unadjusted.is_empty() {
                tracing::info!(
                    symbols = unadjusted.len(),
                    "symbols without adjustment data: their adjusted prices are the raw prints"
                );
                if !inputs.is_object() {
                    inputs = json!({});
                }
                inputs["unadjusted_symbols"] = json!(unadjusted);
                if !moves.is_empty() {
                    // Flagged at ingest and kept: in as-traded prices these may be splits or
                    // consolidations, which then count as returns.
                    inputs["split_like_moves"] = json!(moves);
                }
            }
        }
        let market = MarketData::new(series)?;
        let (session, risk_free, risk_free_reason) = context::resolve(cache, req, &market)?;
        Ok(LoadedData {
            market,
            snapshot,
            excluded,
            inputs,
            session,
            risk_free,
            risk_free_reason,
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
        let opts = RunOptions {
            owner: owner.map(str::to_string),
            ..RunOptions::default()
        };
        match self.run_with(req, opts).await? {
            RunOutcome::Done(run) => Ok(*run),
            RunOutcome::TooLarge { cost } => Err(BacktestError::invalid(format!(
                "a run without a cost limit reported a cost of {cost}"
            ))),
        }
    }

    /// The one path from a request to a stored run, shared by the API, the CLI and jobs: load
    /// the bars (with this service's external series), check the cost, execute, store.
    pub async fn run_with(
        &self,
        req: &BacktestRequest,
        opts: RunOptions,
    ) -> Result<RunOutcome, BacktestError> {
        let cache: Arc<dyn BarReader> = match opts.cache {
            Some(c) => c,
            None => self.reads.get(),
        };
        let r = self.resolve(req).await?;
        let source = self.series.clone();
        let max_cost = opts.max_cost;
        let executed = tokio::task::spawn_blocking(move || -> Result<_, BacktestError> {
            let data = Self::load_with(cache.as_ref(), &r, source.as_deref())?;
            let cost = data.market.len().saturating_mul(r.symbols.len());
            if max_cost.is_some_and(|m| cost > m) {
                return Ok(Err(cost));
            }
            Ok(Ok(execute(&r, &data)?))
        })
        .await
        .map_err(|e| BacktestError::invalid(format!("backtest task failed: {e}")))??;
        match executed {
            Err(cost) => Ok(RunOutcome::TooLarge { cost }),
            Ok((run, trades, curve)) => {
                self.store_for(&run, &trades, &curve, opts.owner.as_deref())
                    .await?;
                Ok(RunOutcome::Done(Box::new(run)))
            }
        }
    }

    /// A walk-forward of `req` on `cache` (default: a connection of the read pool) with this
    /// service's external series. Blocking (reads
    /// DuckDB, simulates): call it off the async executor. `stop` is checked before every
    /// simulation, so a cancelled job stops within one.
    pub fn walk_forward_on(
        &self,
        cache: Option<&dyn BarReader>,
        req: &BacktestRequest,
        spec: &WalkForwardSpec,
        max_cost: Option<usize>,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<WalkOutcome, BacktestError> {
        spec.validate(req)?;
        let data = match cache {
            Some(c) => self.load_for(c, req)?,
            None => self.load_for(self.reads.get().as_ref(), req)?,
        };
        let n = data.market.len();
        let cost = spec.runs(n).saturating_mul(n);
        if max_cost.is_some_and(|m| cost > m) {
            return Ok(WalkOutcome::TooLarge { cost });
        }
        if stop() {
            return Err(BacktestError::cancelled());
        }
        let report = walk_forward_with(req, spec, &data, stop)?;
        Ok(WalkOutcome::Done {
            report: Box::new(report),
            bar_ts: data.market.ts().to_vec(),
        })
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
            .map_err(|e| BacktestError::invalid(format!("store task failed: {e}")))??;
        let trades_doc = json!({ "run_id": run.id, "trades": trades });
        self.meta.upsert(TRADES, &run.id, trades_doc).await?;
        let mut doc =
            serde_json::to_value(run).map_err(|e| BacktestError::invalid(e.to_string()))?;
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
            Ok(Some(doc)) => match doc.get("owners") {
                None | Some(Value::Null) => Vec::new(),
                // A malformed list must not read as "every key may read it": an error instead.
                Some(v) => serde_json::from_value::<Vec<String>>(v.clone()).map_err(|e| {
                    sextant_meta::MetaError::Backend(format!(
                        "run {id}: its owners are not a list of keys ({e})"
                    ))
                })?,
            },
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

    /// Stored runs `actor` owns (every run for an admin), newest first, optionally of one
    /// strategy. Items are the stored documents (the run plus `strategy` and `owners`).
    pub async fn list(
        &self,
        actor: crate::common::Actor<'_>,
        strategy: Option<&str>,
        page: &crate::common::PageRequest,
    ) -> Result<crate::common::Page<Value>, BacktestError> {
        let mut filter = actor.scope().map_or_else(sextant_meta::Filter::new, |key| {
            sextant_meta::Filter::new().eq("owners", key)
        });
        if let Some(st) = strategy {
            filter = filter.eq("strategy", st);
        }
        let query = sextant_meta::Query::new()
            .filter(filter)
            .sort_desc("created_at");
        crate::common::find_page::<BacktestError>(self.meta.as_ref(), RUNS, query, page).await
    }

    /// A stored run.
    pub async fn get(&self, id: &str) -> Result<Option<BacktestRun>, BacktestError> {
        match self.meta.get(RUNS, id).await? {
            Some(v) => Ok(Some(
                serde_json::from_value(v).map_err(|e| BacktestError::invalid(e.to_string()))?,
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
        serde_json::from_value(trades).map_err(|e| BacktestError::invalid(e.to_string()))
    }

    /// A stored run's equity curve.
    pub fn equity_curve(&self, id: &str) -> Result<Vec<EquityPoint>, BacktestError> {
        Ok(self.reads.get().equity_curve(id)?)
    }

    /// The data snapshot of a request: the hash of the bars it reads, and for an adjusted basis
    /// of the corporate actions after its range too (they set the adjustment factors).
    pub fn snapshot(cache: &dyn BarReader, req: &BacktestRequest) -> Result<String, BacktestError> {
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
    pub async fn check_unchanged(
        &self,
        cache: &dyn BarReader,
        id: &str,
    ) -> Result<bool, BacktestError> {
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
        cache: &dyn BarReader,
        id: &str,
    ) -> Result<Option<StoredRun>, BacktestError> {
        let Some(run) = self.get(id).await? else {
            return Ok(None);
        };
        let trades = self.trades(id).await?;
        let curve = self.equity_curve(id)?;
        let bench = sextant_backtest::run::benchmark_request(&run.manifest.request);
        // A universe's membership series comes from the universe service; without it every
        // member counts on every bar, which the equal-weight benchmark does not read anyway.
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
    /// The run as stored.
    pub run: BacktestRun,
    /// Its trades as stored: closed trades in exit order, then open ones in entry order.
    pub trades: Vec<TradeRecord>,
    /// Its equity curve as stored, one point per bar.
    pub curve: Vec<EquityPoint>,
    /// `buy_and_hold` (default params) on the run's request otherwise unchanged (symbols,
    /// range, resolution, `sim`, prices), executed on the same bars and not stored.
    pub benchmark: BacktestRun,
}
