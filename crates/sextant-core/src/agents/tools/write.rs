//! The write tools: refresh a symbol and cancel a job (analyst), review a quarantined bar
//! (admin). Each does what the matching POST route does, on behalf of `caller.id`. The agent
//! runs them only after the caller confirmed.

use super::{actor, job_err, quality_err, CoreTools};
use crate::jobs::{JobError, JobKind};
use serde_json::{json, Value};
use sextant_agents::chat::{Caller, ToolError};
use sextant_data::cache::Decision;
use sextant_domain::Symbol;

impl CoreTools {
    /// `POST /api/v1/market-data/ingest` with `{"symbols": [symbol]}`: an
    /// `ingest_alphavantage` job owned by `caller.id` (daily bars, the configured `adjusted`
    /// default, incremental), the same job the route queues.
    pub(super) async fn refresh_symbol(
        &self,
        caller: &Caller,
        symbol: Symbol,
    ) -> Result<Value, ToolError> {
        let kind = JobKind::IngestAlphavantage.name();
        let params = json!({ "symbols": [symbol.as_str()] });
        let rec = match self.jobs.submit(kind, params, &caller.id).await {
            Ok(rec) => rec,
            Err(JobError::UnknownKind(_)) => {
                return Err(ToolError::Failed(
                    "Alpha Vantage ingest jobs are not enabled on this server".into(),
                ))
            }
            Err(e) => return Err(job_err(e)),
        };
        tracing::info!(
            job = %rec.id, %symbol, caller = %caller.id, channel = %caller.channel,
            "agent queued a refresh"
        );
        let key_configured = self.alphavantage.as_ref().is_some_and(|av| av.has_key());
        let mut out = json!({
            "job_id": rec.id,
            "kind": rec.kind,
            "status": rec.status,
            "symbol": symbol.as_str(),
            "resolution": "daily",
            "alpha_vantage_key_configured": key_configured,
        });
        if !key_configured {
            if let Some(o) = out.as_object_mut() {
                o.insert(
                    "warning".into(),
                    Value::String(
                        "no Alpha Vantage API key is configured: the job will fail until one is set"
                            .into(),
                    ),
                );
            }
        }
        Ok(out)
    }

    /// `POST /api/v1/jobs/{id}/cancel`: the job must be visible to the caller (its own, or any
    /// for an admin; otherwise not found, as over HTTP), then it is cancelled.
    pub(super) async fn cancel_job(&self, caller: &Caller, id: &str) -> Result<Value, ToolError> {
        self.jobs.get_as(id, actor(caller)).await.map_err(job_err)?;
        let rec = self.jobs.cancel(id).await.map_err(job_err)?;
        tracing::info!(
            job = %rec.id, status = %rec.status, caller = %caller.id, channel = %caller.channel,
            "agent cancelled a job"
        );
        Ok(json!({
            "job_id": rec.id,
            "kind": rec.kind,
            "status": rec.status,
            "cancel_requested": rec.cancel_requested,
            "error": rec.error,
        }))
    }

    /// `POST /api/v1/quality/quarantine/{id}/approve` or `/reject`: the review is recorded
    /// with `caller.id` as the reviewer (the route records the key id) and the optional note.
    pub(super) async fn review(
        &self,
        caller: &Caller,
        id: i64,
        decision: Decision,
        note: Option<String>,
    ) -> Result<Value, ToolError> {
        let out = self
            .quality
            .review(id, decision, &caller.id, note)
            .await
            .map_err(quality_err)?;
        let b = &out.bar;
        tracing::info!(
            quarantine_id = id, status = %b.status, caller = %caller.id, channel = %caller.channel,
            "agent reviewed a quarantined bar"
        );
        Ok(json!({
            "id": b.id,
            "symbol": b.symbol,
            "resolution": b.resolution.to_string(),
            "ts": b.ts.to_string(),
            "status": b.status,
            "reviewed_by": b.reviewed_by,
            "reasons": b.reasons,
            "merged_batch": out.merged.as_ref().map(|m| m.batch_id.clone()),
        }))
    }
}
