//! The reference-data ingest jobs behind `POST /api/v1/ingest/actions` and
//! `POST /api/v1/ingest/macro`: vendor calls wait on the Alpha Vantage rate limiter (minutes on
//! the free tier), so, like `ingest_alphavantage`, they run as jobs rather than inside a request.
//!
//! Registered by [`crate::AppState::new`] beside the core's built-in handlers (the queue takes
//! any kind a registered handler names). Without an API key each vendor call fails with the
//! client's typed `MissingKey` error before any request is sent, so the job fails with the same
//! message an `ingest_alphavantage` job gives.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use sextant_core::jobs::{parse_params, JobContext, JobError, JobHandler};
use sextant_core::reference::ReferenceService;
use sextant_data::providers::alphavantage::AlphaVantage;
use sextant_domain::{SeriesKey, Symbol};
use std::sync::Arc;

/// Job kind: dividends and splits of symbols (`ReferenceService::refresh_actions`).
pub const INGEST_ACTIONS: &str = "ingest_actions";
/// Job kind: one economic series (`ReferenceService::refresh_macro`).
pub const INGEST_MACRO: &str = "ingest_macro";

/// Most symbols one actions job may refresh: two vendor calls each, so 100 symbols are 200
/// calls (eight days of the free tier's 25 a day).
pub const MAX_ACTION_SYMBOLS: usize = 100;

/// The reference-data handlers over `reference`, calling `av`.
pub fn handlers(
    reference: Arc<ReferenceService>,
    av: Arc<AlphaVantage>,
) -> Vec<Arc<dyn JobHandler>> {
    vec![
        Arc::new(IngestActionsJob {
            reference: reference.clone(),
            av: av.clone(),
        }),
        Arc::new(IngestMacroJob { reference, av }),
    ]
}

/// Parameters of an `ingest_actions` job.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsParams {
    /// 1 to [`MAX_ACTION_SYMBOLS`] symbols, refreshed one after the other; one that fails does
    /// not stop the others.
    pub symbols: Vec<Symbol>,
}

impl ActionsParams {
    fn validated(params: &Value) -> Result<ActionsParams, JobError> {
        let p: ActionsParams = parse_params(params)?;
        if p.symbols.is_empty() || p.symbols.len() > MAX_ACTION_SYMBOLS {
            return Err(JobError::InvalidParams(format!(
                "symbols: between 1 and {MAX_ACTION_SYMBOLS} required"
            )));
        }
        Ok(p)
    }
}

/// `ingest_actions`: each symbol's dividends and splits fetched and stored in one transaction
/// (both or neither). The result lists each symbol's outcome; the job fails only when every
/// symbol failed. Resumable: a refresh replaces the stored copy, so running it again is harmless.
struct IngestActionsJob {
    reference: Arc<ReferenceService>,
    av: Arc<AlphaVantage>,
}

#[async_trait]
impl JobHandler for IngestActionsJob {
    fn kind(&self) -> &'static str {
        INGEST_ACTIONS
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        ActionsParams::validated(params).map(|_| ())
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p = ActionsParams::validated(&params)?;
        let n = p.symbols.len();
        let mut outcomes = Vec::with_capacity(n);
        let mut errors = Vec::new();
        for (i, symbol) in p.symbols.iter().enumerate() {
            ctx.check()?;
            ctx.progress(
                i as f64 / n as f64,
                format!("dividends and splits of {symbol}"),
            )
            .await;
            let refresh = self.reference.refresh_actions(&self.av, symbol);
            let out = tokio::select! {
                r = refresh => r,
                _ = ctx.cancelled() => return Err(JobError::Cancelled),
            };
            match out {
                Ok(o) => outcomes.push(json!({
                    "symbol": o.symbol, "ok": true, "dividends": o.dividends, "splits": o.splits,
                })),
                Err(e) => {
                    tracing::warn!(job = ctx.job_id(), %symbol, error = %e, "actions refresh failed");
                    errors.push(format!("{symbol}: {e}"));
                    outcomes.push(json!({ "symbol": symbol, "ok": false, "error": e.to_string() }));
                }
            }
        }
        if errors.len() == n {
            return Err(JobError::Failed(format!(
                "every symbol failed: {}",
                errors.join("; ")
            )));
        }
        ctx.progress(
            1.0,
            format!("{} of {n} symbols refreshed", n - errors.len()),
        )
        .await;
        Ok(json!({ "symbols": outcomes, "failed": errors.len() }))
    }
}

/// Parameters of an `ingest_macro` job: the series id (`treasury_yield_3month_daily`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroParams {
    /// A served economic series id ([`SeriesKey::id`]).
    pub series: String,
}

impl MacroParams {
    fn key(params: &Value) -> Result<SeriesKey, JobError> {
        let p: MacroParams = parse_params(params)?;
        SeriesKey::parse_id(&p.series).map_err(|e| JobError::InvalidParams(format!("series: {e}")))
    }
}

/// `ingest_macro`: one economic series fetched and its stored copy replaced. Resumable.
struct IngestMacroJob {
    reference: Arc<ReferenceService>,
    av: Arc<AlphaVantage>,
}

#[async_trait]
impl JobHandler for IngestMacroJob {
    fn kind(&self) -> &'static str {
        INGEST_MACRO
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        MacroParams::key(params).map(|_| ())
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let key = MacroParams::key(&params)?;
        ctx.check()?;
        ctx.progress(0.0, format!("fetching {key}")).await;
        let out = tokio::select! {
            r = self.reference.refresh_macro(&self.av, &key) => r?,
            _ = ctx.cancelled() => return Err(JobError::Cancelled),
        };
        ctx.progress(1.0, format!("{} observations of {key}", out.observations))
            .await;
        serde_json::to_value(&out).map_err(|e| JobError::Failed(e.to_string()))
    }
}
