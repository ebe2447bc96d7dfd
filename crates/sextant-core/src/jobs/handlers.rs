//! The built-in job kinds. Each is a thin adapter over an existing service: parse the
//! parameters, call the service, report progress, return a small JSON result.
//!
//! Cancellation is checked between steps; a step that has started (one backtest, one symbol's
//! ingest transaction) completes, so a cancelled job never leaves half-written data.

use super::JobKind;
use super::{parse_params, JobContext, JobError, JobHandler};
use crate::backtest::{BacktestRequest, BacktestService, WalkForwardSpec, WalkOutcome};
use crate::market_data::MarketDataService;
use crate::Services;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_data::providers::Provider;
use sextant_domain::{AssetClass, Instrument, Resolution, Symbol};
use std::sync::Arc;

/// Most symbols one ingest job may refresh (Alpha Vantage's free tier allows 25 calls a day).
pub const MAX_INGEST_SYMBOLS: usize = 500;

/// Every built-in handler, wired to `services`.
pub fn default_handlers(services: &Services) -> Vec<Arc<dyn JobHandler>> {
    let scale = Arc::new(crate::scale::ScaleOut::new(
        services.snapshots.clone(),
        services.cache.clone(),
    ));
    let mut handlers: Vec<Arc<dyn JobHandler>> = vec![
        Arc::new(BacktestJob::new(services.backtests.clone()).with_scale(scale.clone())),
        Arc::new(WalkForwardJob::new(services.backtests.clone()).with_scale(scale.clone())),
        Arc::new(TrainSignalJob {
            signals: services.signals.clone(),
            scale: Some(scale.clone()),
        }),
        Arc::new(super::OptimizeJob::new(services.tuning.clone()).with_scale(scale.clone())),
        Arc::new(super::features::MaterializeJob::new(
            services.market_data.clone(),
            scale.clone(),
        )),
        Arc::new(crate::mlops::jobs::RetrainModelJob {
            mlops: services.mlops.clone(),
            signals: services.signals.clone(),
            scale: Some(scale.clone()),
        }),
        Arc::new(crate::mlops::jobs::DriftCheckJob {
            mlops: services.mlops.clone(),
        }),
        Arc::new(crate::rl::TrainRlJob {
            rl: services.rl.clone(),
            scale: Some(scale),
        }),
    ];
    match services.alphavantage() {
        Ok(av) => handlers.push(Arc::new(
            IngestAlphaVantageJob::new(
                services.market_data.clone(),
                av,
                services.config.alphavantage.adjusted,
            )
            .with_quality(services.quality.clone())
            .with_regimes(services.regimes.clone())
            .with_mlops(services.mlops.clone()),
        )),
        Err(e) => tracing::warn!(error = %e, "no Alpha Vantage provider: ingest jobs disabled"),
    }
    if services.config.jobs.nats_url.is_some() {
        // The kinds workers run: a server sending them out needs their handlers to validate
        // and queue them (it never claims them itself).
        handlers.extend(crate::scale::handlers::worker_handlers(
            services.meta.clone(),
            services.snapshots.clone(),
        ));
    }
    // The test hooks, with SEXTANT_DEBUG_JOBS=1 only.
    handlers.extend(crate::scale::handlers::debug_handlers());
    handlers
}

/// `backtest`: params are a [`BacktestRequest`]; result `{run_id, final_equity, trade_count}`.
/// Resumable: runs are content-addressed, so running one again stores the same run.
pub struct BacktestJob {
    backtests: Arc<BacktestService>,
    /// Sends the run to a remote worker when a NATS queue is configured.
    scale: Option<Arc<crate::scale::ScaleOut>>,
}

impl BacktestJob {
    /// A handler that runs and stores each request through `backtests` (with its series
    /// source), recording the job's owner, if any, among the run's owners.
    pub fn new(backtests: Arc<BacktestService>) -> Self {
        BacktestJob {
            backtests,
            scale: None,
        }
    }

    /// This handler, executing on a remote worker through `scale` when the job can fan out
    /// and its request travels ([`crate::scale::ScaleOut::travels`]); the run is stored here.
    pub fn with_scale(mut self, scale: Arc<crate::scale::ScaleOut>) -> Self {
        self.scale = Some(scale);
        self
    }

    /// The remote path: hash the bars here, execute on a worker, store the run here.
    async fn run_remote(
        &self,
        ctx: &JobContext,
        scale: &crate::scale::ScaleOut,
        req: BacktestRequest,
        owner: Option<&str>,
    ) -> Result<sextant_backtest::run::BacktestRun, JobError> {
        req.validate()?;
        let reader = self.backtests.reader();
        let r = req.clone();
        let data_snapshot =
            tokio::task::spawn_blocking(move || BacktestService::snapshot(reader.as_ref(), &r))
                .await
                .map_err(|e| JobError::Failed(format!("snapshot task failed: {e}")))??;
        let snapshot = scale
            .snapshot_for(&req)
            .await
            .map_err(|e| JobError::Failed(e.to_string()))?;
        ctx.progress(0.1, "on a worker").await;
        let out = crate::scale::runs::run_remote(ctx, &req, snapshot, data_snapshot).await?;
        self.backtests
            .store_for(&out.run, &out.trades, &out.curve, owner)
            .await?;
        Ok(out.run)
    }
}

#[async_trait]
impl JobHandler for BacktestJob {
    fn kind(&self) -> &'static str {
        JobKind::Backtest.name()
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        Ok(parse_params::<BacktestRequest>(params)?.validate()?)
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let req: BacktestRequest = parse_params(&params)?;
        ctx.check()?;
        ctx.progress(0.0, format!("running {}", req.strategy)).await;
        let owner = Some(ctx.owner()).filter(|o| !o.is_empty());
        let remote = match &self.scale {
            Some(s) if ctx.can_fan_out(crate::scale::BACKTEST_RUN).await => {
                let r = self.backtests.resolve(&req).await?;
                crate::scale::ScaleOut::travels(&r).then_some((s, r))
            }
            _ => None,
        };
        let run = match remote {
            Some((scale, r)) => self.run_remote(&ctx, scale, r, owner).await?,
            None => self.backtests.run_for(&req, owner).await?,
        };
        ctx.progress(1.0, "stored").await;
        Ok(json!({
            "run_id": run.id,
            "final_equity": run.final_equity,
            "trade_count": run.trade_count,
        }))
    }
}

/// Parameters of a `walk_forward` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkForwardParams {
    /// The backtest to walk forward; its `params` are the only candidate when `spec` lists
    /// none.
    pub request: BacktestRequest,
    /// Window sizes, anchoring and the candidate parameter sets.
    pub spec: WalkForwardSpec,
}

/// `walk_forward`: params are [`WalkForwardParams`]; the result is the whole
/// [`crate::backtest::WalkForwardReport`] (walk-forwards are not stored elsewhere). Resumable:
/// pure computation.
pub struct WalkForwardJob {
    /// Loads the request's data with the service's series (ML probabilities for `ml_signal`).
    backtests: Arc<BacktestService>,
    /// Sends the windows to remote workers when a NATS queue is configured.
    scale: Option<Arc<crate::scale::ScaleOut>>,
}

impl WalkForwardJob {
    /// A handler that loads bars through `backtests` (its read pool and series source). It
    /// runs with no cost limit beyond [`crate::backtest::limits`].
    pub fn new(backtests: Arc<BacktestService>) -> Self {
        WalkForwardJob {
            backtests,
            scale: None,
        }
    }

    /// This handler, running the windows on remote workers through `scale` when the job can
    /// fan out and its request travels ([`crate::scale::ScaleOut::travels`]).
    pub fn with_scale(mut self, scale: Arc<crate::scale::ScaleOut>) -> Self {
        self.scale = Some(scale);
        self
    }

    /// The remote path: load here to plan the windows, run them on the workers, stitch.
    async fn run_remote(
        &self,
        ctx: &JobContext,
        scale: &crate::scale::ScaleOut,
        p: WalkForwardParams,
    ) -> Result<Value, JobError> {
        p.spec.validate(&p.request)?;
        let backtests = self.backtests.clone();
        let req = p.request.clone();
        let data = tokio::task::spawn_blocking(move || {
            backtests.load_for(backtests.reader().as_ref(), &req)
        })
        .await
        .map_err(|e| JobError::Failed(format!("load task failed: {e}")))??;
        let snapshot = scale
            .snapshot_for(&p.request)
            .await
            .map_err(|e| JobError::Failed(e.to_string()))?;
        let slots = ctx.remote_slots(crate::scale::WALK_WINDOWS).await;
        let report = crate::scale::windows::walk_forward_remote(
            ctx, &p.request, &p.spec, &data, snapshot, slots,
        )
        .await?;
        let windows = report.windows.len();
        ctx.progress(1.0, format!("{windows} windows")).await;
        serde_json::to_value(&report).map_err(|e| JobError::Failed(e.to_string()))
    }
}

#[async_trait]
impl JobHandler for WalkForwardJob {
    fn kind(&self) -> &'static str {
        JobKind::WalkForward.name()
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        let p = parse_params::<WalkForwardParams>(params)?;
        Ok(p.spec.validate(&p.request)?)
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p: WalkForwardParams = parse_params(&params)?;
        ctx.check()?;
        ctx.progress(0.0, "loading bars").await;
        if let Some(scale) = &self.scale {
            if ctx.can_fan_out(crate::scale::WALK_WINDOWS).await
                && crate::scale::ScaleOut::travels(&p.request)
            {
                return self.run_remote(&ctx, scale, p).await;
            }
        }
        let backtests = self.backtests.clone();
        let c = ctx.clone();
        // Loading and simulating block (DuckDB, CPU): keep them off the async executor.
        let outcome = tokio::task::spawn_blocking(move || -> Result<_, JobError> {
            let stop = || c.is_cancelled();
            Ok(backtests.walk_forward_on(None, &p.request, &p.spec, None, &stop)?)
        })
        .await
        .map_err(|e| JobError::Failed(format!("walk-forward task failed: {e}")))??;
        let report = match outcome {
            WalkOutcome::Done { report, .. } => report,
            WalkOutcome::TooLarge { cost } => {
                return Err(JobError::Failed(format!(
                    "a walk-forward without a cost limit reported a cost of {cost}"
                )))
            }
        };
        let windows = report.windows.len();
        ctx.progress(1.0, format!("{windows} windows")).await;
        serde_json::to_value(&report).map_err(|e| JobError::Failed(e.to_string()))
    }
}

/// Parameters of an `ingest_alphavantage` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestParams {
    /// Required: 1 to [`MAX_INGEST_SYMBOLS`] symbols, refreshed one after the other; one that
    /// fails does not stop the others.
    pub symbols: Vec<Symbol>,
    /// Resolution to refresh. Default: `daily`.
    #[serde(default = "daily")]
    pub resolution: Resolution,
    /// Adjusted endpoints; default from the configuration (`alphavantage.adjusted`).
    #[serde(default)]
    pub adjusted: Option<bool>,
    /// What every symbol is (`fx`, `crypto`, …), recorded with its bars. Default: what the
    /// cache knows each symbol to be (a US equity when it has no record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<AssetClass>,
    /// Crypto only: the market currency (`USD`), so that a symbol may be the coin alone
    /// (`BTC`, stored as `BTCUSD`). Default: none (each symbol a pair such as `BTCUSD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<String>,
}

fn daily() -> Resolution {
    Resolution::Daily
}

impl IngestParams {
    fn validated(params: &Value) -> Result<IngestParams, JobError> {
        let p: IngestParams = parse_params(params)?;
        if p.symbols.is_empty() || p.symbols.len() > MAX_INGEST_SYMBOLS {
            return Err(JobError::InvalidParams(format!(
                "symbols: between 1 and {MAX_INGEST_SYMBOLS} required"
            )));
        }
        p.instruments()?;
        Ok(p)
    }

    /// The instrument each symbol is fetched as when `asset` is given (see
    /// [`Instrument::requested`]); `None` per symbol otherwise (the cache's record decides).
    ///
    /// # Errors
    ///
    /// [`JobError::InvalidParams`] naming the symbol that is not such an instrument, or a
    /// `market` without `asset: crypto`.
    pub fn instruments(&self) -> Result<Vec<Option<Instrument>>, JobError> {
        let Some(asset) = self.asset else {
            if let Some(m) = &self.market {
                return Err(JobError::InvalidParams(format!(
                    "market: {m:?} needs asset crypto"
                )));
            }
            return Ok(vec![None; self.symbols.len()]);
        };
        self.symbols
            .iter()
            .map(|s| {
                Instrument::requested(s, asset, self.market.as_deref())
                    .map(Some)
                    .map_err(|e| JobError::InvalidParams(format!("symbols: {s}: {e}")))
            })
            .collect()
    }
}

/// `ingest_alphavantage`: an incremental refresh per symbol (see
/// [`MarketDataService::refresh`]), with progress per symbol. The result lists each symbol's
/// outcome; the job fails only when every symbol failed (a missing API key, say). Resumable:
/// a refresh of data already cached asks for nothing.
pub struct IngestAlphaVantageJob {
    market_data: Arc<MarketDataService>,
    provider: Arc<dyn Provider>,
    adjusted_default: bool,
    /// Copies the ingest's anomaly flags to the metadata store when set.
    quality: Option<Arc<crate::quality::QualityService>>,
    /// Refreshes the regime models over the refreshed symbols when set.
    regimes: Option<Arc<crate::regimes::RegimeService>>,
    /// Checks the drift of production models over the refreshed symbols when set.
    mlops: Option<Arc<crate::mlops::MlopsService>>,
}

impl IngestAlphaVantageJob {
    /// A handler that refreshes through `market_data` from `provider` (its rate limiter paces
    /// the calls), using `adjusted_default` when the params omit `adjusted`. Anomaly flags
    /// are not copied to the metadata store unless [`Self::with_quality`] is called.
    pub fn new(
        market_data: Arc<MarketDataService>,
        provider: Arc<dyn Provider>,
        adjusted_default: bool,
    ) -> Self {
        IngestAlphaVantageJob {
            market_data,
            provider,
            adjusted_default,
            quality: None,
            regimes: None,
            mlops: None,
        }
    }

    /// Checks the drift of every production model trained on a refreshed symbol at the end of
    /// the job (the window ending at its newest data); each report is stored and listed in the
    /// result under `drift`, an alert is also a progress event. A failed check is listed, not
    /// an error of the job.
    pub fn with_mlops(mut self, mlops: Arc<crate::mlops::MlopsService>) -> Self {
        self.mlops = Some(mlops);
        self
    }

    /// Refreshes every regime model with a refreshed symbol among its members at the end of
    /// the job: labels recomputed (fits reused unless due), each newly confirmed regime change
    /// reported as a progress event on the job's stream and listed in the result (and posted
    /// to the model's webhook by the regime service). A failed refresh is listed, not an error
    /// of the job.
    pub fn with_regimes(mut self, regimes: Arc<crate::regimes::RegimeService>) -> Self {
        self.regimes = Some(regimes);
        self
    }

    /// Copies the ingest's anomaly flags to the metadata store through `quality` at the end of
    /// every job that is not cancelled (a failed copy is logged, not an error of the job).
    pub fn with_quality(mut self, quality: Arc<crate::quality::QualityService>) -> Self {
        self.quality = Some(quality);
        self
    }
}

#[async_trait]
impl JobHandler for IngestAlphaVantageJob {
    fn kind(&self) -> &'static str {
        JobKind::IngestAlphavantage.name()
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        IngestParams::validated(params).map(|_| ())
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p = IngestParams::validated(&params)?;
        let instruments = p.instruments()?;
        let adjusted = p.adjusted.unwrap_or(self.adjusted_default);
        let today = chrono::Utc::now().date_naive();
        let n = p.symbols.len();
        // The symbols as stored (`BTC` with market `USD` is `BTCUSD`).
        let symbols: Vec<Symbol> = p
            .symbols
            .iter()
            .zip(&instruments)
            .map(|(s, i)| i.as_ref().map_or_else(|| s.clone(), |i| i.symbol.clone()))
            .collect();
        let mut outcomes = Vec::with_capacity(n);
        let mut errors = Vec::new();
        for (i, (symbol, instrument)) in symbols.iter().zip(&instruments).enumerate() {
            ctx.check()?;
            ctx.progress(i as f64 / n as f64, format!("refreshing {symbol}"))
                .await;
            let provider = self.provider.as_ref();
            let refresh = async {
                match instrument {
                    Some(inst) => {
                        self.market_data
                            .refresh_instrument(provider, inst, p.resolution, adjusted, today)
                            .await
                    }
                    None => {
                        self.market_data
                            .refresh(provider, symbol, p.resolution, adjusted, today)
                            .await
                    }
                }
            };
            // Waiting on the rate limiter can take minutes: a cancel interrupts the wait. An
            // ingest already under way finishes on its blocking thread (one transaction).
            let out = tokio::select! {
                r = refresh => r,
                _ = ctx.cancelled() => return Err(JobError::Cancelled),
            };
            match out {
                Ok(o) => outcomes.push(json!({
                    "symbol": o.symbol, "ok": true, "plan": o.plan, "summary": o.summary,
                })),
                Err(e) => {
                    tracing::warn!(job = ctx.job_id(), %symbol, error = %e, "refresh failed");
                    errors.push(format!("{symbol}: {e}"));
                    outcomes.push(json!({ "symbol": symbol, "ok": false, "error": e.to_string() }));
                }
            }
        }
        if let Some(q) = &self.quality {
            if let Err(e) = q.sync_flags().await {
                tracing::warn!(error = %e, "copying anomaly flags to the metadata store failed");
            }
        }
        if errors.len() == n {
            return Err(JobError::Failed(format!(
                "every symbol failed: {}",
                errors.join("; ")
            )));
        }
        let mut regimes = Vec::new();
        let refreshed: Vec<Symbol> = symbols
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| o["ok"] == json!(true))
            .map(|(s, _)| s.clone())
            .collect();
        if let Some(svc) = &self.regimes {
            for (name, r) in svc.refresh_touching(&refreshed).await {
                match r {
                    Ok((state, alerts)) => {
                        for a in alerts.iter().filter(|a| !a.backfill) {
                            ctx.progress(
                                (n - 1) as f64 / n as f64,
                                format!(
                                    "regime change: {name} {} -> {} confirmed on {} (began {})",
                                    a.from, a.to, a.day, a.began
                                ),
                            )
                            .await;
                        }
                        regimes.push(json!({
                            "model": name, "ok": true, "latest": state.latest,
                            "fitted": state.fitted_last_update, "alerts": alerts,
                        }));
                    }
                    Err(e) => {
                        tracing::warn!(model = %name, error = %e, "regime refresh failed");
                        regimes.push(json!({ "model": name, "ok": false, "error": e.to_string() }));
                    }
                }
            }
        }
        let mut drift = Vec::new();
        if let Some(svc) = &self.mlops {
            for (model, r) in svc.drift_touching(&refreshed).await {
                match r {
                    Ok(d) => {
                        if d.report.band >= sextant_mlops::drift::DriftBand::Alert {
                            let msg =
                                format!("drift alert: {model} on {}", d.report.alerting.join(", "));
                            ctx.progress((n - 1) as f64 / n as f64, msg).await;
                        }
                        drift.push(json!({
                            "model_id": model, "ok": true, "drift_id": d.id,
                            "band": d.report.band, "alerting": d.report.alerting,
                        }));
                    }
                    Err(e) => {
                        tracing::warn!(model = %model, error = %e, "drift check after refresh failed");
                        drift.push(
                            json!({ "model_id": model, "ok": false, "error": e.to_string() }),
                        );
                    }
                }
            }
        }
        ctx.progress(
            1.0,
            format!("{} of {n} symbols refreshed", n - errors.len()),
        )
        .await;
        Ok(json!({
            "symbols": outcomes, "failed": errors.len(), "regimes": regimes, "drift": drift,
        }))
    }
}

pub use super::train_signal::TrainSignalJob;
