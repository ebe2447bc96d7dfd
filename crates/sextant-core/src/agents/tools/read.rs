//! The read tools (viewer): cache status, data freshness, Alpha Vantage, failures, the quality
//! queue, regimes, models. Each calls what the matching GET route calls.

use super::{
    actor, clip, data_err, finite, job_err, quality_err, regime_err, signal_err, CoreTools,
};
use crate::common::{blocking, PageRequest};
use crate::jobs::{JobFilter, JobKind, JobRecord, JobStatus};
use crate::market_data::{plan, RefreshPlan};
use crate::signals::ModelRecord;
use chrono::{NaiveDate, Utc};
use serde_json::{json, Map, Value};
use sextant_agents::chat::{Caller, ToolError};
use sextant_data::cache::{CoverageReport, QuarantineQuery};
use sextant_domain::{ModelId, Resolution, Role, Symbol};
use sextant_ml::ClassificationReport;
use std::collections::BTreeMap;

/// Most symbols `get_data_freshness` lists (the stalest).
const MAX_FRESHNESS_ROWS: usize = 50;
/// Most models `get_model_drift` lists (the newest).
const MAX_MODELS: usize = 20;
/// Recent ingest jobs `get_alpha_vantage_status` reads for errors.
const AV_RECENT_JOBS: usize = 5;
/// Longest error text returned per job or symbol.
const MAX_ERROR_CHARS: usize = 500;
/// Most per-symbol errors returned per partly failed ingest job.
const MAX_SYMBOL_ERRORS: usize = 10;

fn plan_name(p: RefreshPlan) -> &'static str {
    match p {
        RefreshPlan::UpToDate => "up-to-date",
        RefreshPlan::Compact => "compact",
        RefreshPlan::Full => "full",
    }
}

/// A failed job, without its parameters and result (except an ingest's symbols).
fn failed_job(r: &JobRecord) -> Value {
    let symbols = (r.kind == JobKind::IngestAlphavantage.name())
        .then(|| r.params.get("symbols").cloned())
        .flatten();
    json!({
        "id": r.id,
        "kind": r.kind,
        "error": r.error.as_deref().map(|e| clip(e, MAX_ERROR_CHARS)),
        "created_at": r.created_at.to_rfc3339(),
        "finished_at": r.finished_at.map(|t| t.to_rfc3339()),
        "attempts": r.attempts,
        "symbols": symbols,
    })
}

/// Succeeded ingest jobs whose result counts failed symbols, with those symbols' errors.
fn partial_ingests(records: &[JobRecord]) -> Vec<Value> {
    records
        .iter()
        .filter_map(|r| {
            let result = r.result.as_ref()?;
            let failed = result
                .get("failed")
                .and_then(Value::as_u64)
                .filter(|n| *n > 0)?;
            let errors: Vec<Value> = result
                .get("symbols")
                .and_then(Value::as_array)
                .map(|outcomes| {
                    outcomes
                        .iter()
                        .filter(|o| o.get("ok") == Some(&Value::Bool(false)))
                        .take(MAX_SYMBOL_ERRORS)
                        .map(|o| {
                            json!({
                                "symbol": o.get("symbol"),
                                "error": o.get("error").and_then(Value::as_str)
                                    .map(|e| clip(e, MAX_ERROR_CHARS)),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(json!({
                "id": r.id,
                "finished_at": r.finished_at.map(|t| t.to_rfc3339()),
                "failed_symbols": failed,
                "errors": errors,
            }))
        })
        .collect()
}

fn report(c: &ClassificationReport) -> Value {
    json!({
        "auc": finite(c.auc),
        "brier": finite(c.brier),
        "baseline_brier": finite(c.baseline_brier),
        "log_loss": finite(c.log_loss),
        "baseline_log_loss": finite(c.baseline_log_loss),
        "ece": finite(c.ece),
        "accuracy": finite(c.accuracy),
        "base_rate": finite(c.base_rate),
        "n": c.n,
    })
}

fn model_summary(r: &ModelRecord, today: NaiveDate) -> Value {
    let m = &r.metrics;
    json!({
        "id": r.id,
        "name": r.name,
        "version": r.version,
        "stage": r.stage,
        "trained_at": r.created_at.to_rfc3339(),
        "symbols": r.request.symbols,
        "view": format!("{}@{}", r.view, r.view_version),
        "resolution": r.resolution.to_string(),
        "features": r.features.len(),
        "train_first": m.train_first.map(|t| t.date().to_string()),
        "train_last": m.train_last.map(|t| t.date().to_string()),
        "days_since_train_end": m.train_last.map(|t| (today - t.date()).num_days()),
        "train_samples": m.train_samples,
        "test_samples": m.test_samples,
        "in_sample": report(&m.in_sample),
        "cross_validation": m.cross_validation.as_ref().map(|c| report(&c.report)),
        "holdout": m.holdout.as_ref().map(report),
        "excluded_bars": r.excluded.len(),
    })
}

impl CoreTools {
    /// `GET /api/v1/market-data/status` (symbols, rows, file; the path for admins only) plus
    /// counts per resolution from `GET /api/v1/market-data/coverage`.
    pub(super) async fn cache_status(&self, caller: &Caller) -> Result<Value, ToolError> {
        let md = self.market_data.clone();
        let (symbols, coverage) = blocking(move || Ok((md.symbols()?, md.coverage(None)?)))
            .await
            .map_err(data_err)?;
        let mut by_res: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for c in &coverage {
            let e = by_res.entry(c.resolution.to_string()).or_default();
            e.0 += 1;
            e.1 += c.rows;
        }
        let by_resolution: Map<String, Value> = by_res
            .into_iter()
            .map(|(r, (s, b))| (r, json!({ "symbols": s, "bars": b })))
            .collect();
        let file = self.market_data.file();
        let mut out = json!({
            "symbols": symbols.len(),
            "bars": symbols.iter().map(|s| s.rows).sum::<u64>(),
            "first_bar": symbols.iter().map(|s| s.first_ts).min().map(|t| t.to_string()),
            "last_bar": symbols.iter().map(|s| s.last_ts).max().map(|t| t.to_string()),
            "by_resolution": Value::Object(by_resolution),
            "file_bytes": file.as_ref().and_then(|(_, bytes)| *bytes),
        });
        // The server's file layout is for admins only, as on the HTTP route.
        if let (true, Some((path, _)), Some(o)) = (
            caller.role >= Role::Admin,
            file.as_ref(),
            out.as_object_mut(),
        ) {
            o.insert("path".into(), Value::String(path.display().to_string()));
        }
        Ok(out)
    }

    /// `GET /api/v1/market-data/symbols` and `/coverage`, per symbol, with the staleness of the
    /// newest bar and what the refresh policy would fetch for daily bars.
    pub(super) async fn data_freshness(&self, symbol: Option<Symbol>) -> Result<Value, ToolError> {
        let md = self.market_data.clone();
        let sym = symbol.clone();
        let (symbols, coverage) = blocking(move || Ok((md.symbols()?, md.coverage(sym.as_ref())?)))
            .await
            .map_err(data_err)?;
        let today = Utc::now().date_naive();
        let mut rows: Vec<(i64, Value)> = Vec::new();
        let wanted = symbols
            .iter()
            .filter(|i| symbol.as_ref().is_none_or(|s| s.as_str() == i.symbol));
        for info in wanted {
            let mine: Vec<&CoverageReport> = coverage
                .iter()
                .filter(|c| c.symbol == info.symbol)
                .collect();
            let last_refreshed = mine
                .iter()
                .flat_map(|c| c.ranges.iter())
                .map(|r| r.last_refreshed)
                .max();
            let daily_last = mine
                .iter()
                .filter(|c| c.resolution == Resolution::Daily)
                .flat_map(|c| c.ranges.iter())
                .map(|r| r.last_ts.date())
                .max();
            let per_resolution: Vec<Value> = mine
                .iter()
                .map(|c| {
                    json!({
                        "resolution": c.resolution.to_string(),
                        "bars": c.rows,
                        "first": c.ranges.iter().map(|r| r.first_ts).min().map(|t| t.to_string()),
                        "last": c.ranges.iter().map(|r| r.last_ts).max().map(|t| t.to_string()),
                        "ranges": c.ranges.len(),
                    })
                })
                .collect();
            let staleness = (today - info.last_ts.date()).num_days();
            rows.push((
                staleness,
                json!({
                    "symbol": info.symbol,
                    "last_bar_date": info.last_ts.date().to_string(),
                    "first_bar_date": info.first_ts.date().to_string(),
                    "bars": info.rows,
                    "staleness_days": staleness,
                    "last_refreshed": last_refreshed.map(|t| t.to_string()),
                    "daily_refresh_plan": daily_last
                        .map(|d| plan_name(plan(Some(d), Resolution::Daily, today))),
                    "coverage": per_resolution,
                }),
            ));
        }
        if let (Some(s), true) = (&symbol, rows.is_empty()) {
            return Err(ToolError::NotFound(format!("no cached bars for {s}")));
        }
        rows.sort_by_key(|(staleness, _)| std::cmp::Reverse(*staleness));
        let total = rows.len();
        rows.truncate(MAX_FRESHNESS_ROWS);
        let max_staleness = rows.first().map(|(s, _)| *s);
        let shown: Vec<Value> = rows.into_iter().map(|(_, v)| v).collect();
        Ok(json!({
            "today": today.to_string(),
            "total_symbols": total,
            "shown": shown.len(),
            "truncated": total > shown.len(),
            "max_staleness_days": max_staleness,
            "symbols": shown,
            "note": "staleness_days counts calendar days (1-3 over a weekend is normal); \
                     daily_refresh_plan is what a refresh would fetch: up-to-date means the \
                     last completed weekday session is cached",
        }))
    }

    /// The jobs `caller` may list (every owner's for admins), newest first, as
    /// `GET /api/v1/jobs?status=…&kind=…` lists them.
    async fn jobs_of(
        &self,
        caller: &Caller,
        status: JobStatus,
        kind: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JobRecord>, ToolError> {
        let filter = JobFilter {
            status: Some(status),
            kind: kind.map(str::to_string),
            owner: actor(caller).scope().map(str::to_string),
        };
        let page = PageRequest::first(u32::try_from(limit).unwrap_or(u32::MAX));
        Ok(self.jobs.list(&filter, &page).await.map_err(job_err)?.items)
    }

    /// What `/ready` reports about Alpha Vantage (key configured, quota), the limits behind
    /// the quota, and the errors of the caller's recent ingest jobs.
    pub(super) async fn alpha_vantage_status(&self, caller: &Caller) -> Result<Value, ToolError> {
        let ingest = JobKind::IngestAlphavantage.name();
        let failed = self
            .jobs_of(caller, JobStatus::Failed, Some(ingest), AV_RECENT_JOBS)
            .await?;
        let done = self
            .jobs_of(caller, JobStatus::Succeeded, Some(ingest), AV_RECENT_JOBS)
            .await?;
        let recent_errors = json!({
            "failed_jobs": failed.iter().map(failed_job).collect::<Vec<_>>(),
            "partly_failed_jobs": partial_ingests(&done),
        });
        let ingest_enabled = self.jobs.kinds().contains(&ingest);
        let Some(av) = &self.alphavantage else {
            return Ok(json!({
                "provider": "alphavantage",
                "configured": false,
                "ingest_jobs_enabled": ingest_enabled,
                "recent_errors": recent_errors,
                "note": "no Alpha Vantage provider was built in this process, so no quota counters are kept",
            }));
        };
        let q = av.quota();
        let c = av.config();
        Ok(json!({
            "provider": "alphavantage",
            "configured": av.has_key(),
            "ingest_jobs_enabled": ingest_enabled,
            "quota": {
                "used_today": q.used_today,
                "remaining_today": q.remaining_today,
                "daily_limit": q.daily_limit,
                "day_window_hours": c.day_window.as_secs() / 3600,
                "used_in_window": q.used_in_window,
                "window_limit": q.window_limit,
                "window_secs": c.rate_window.as_secs(),
                "in_flight": q.in_flight,
            },
            "recent_errors": recent_errors,
            "note": "quota figures are this server process's client-side rate limiter (rolling \
                     windows, reset when the process restarts), not Alpha Vantage's own count; \
                     recent_errors come from the Alpha Vantage ingest jobs you can see",
        }))
    }

    /// `GET /api/v1/jobs?status=failed` (the caller's jobs; every owner's for admins), plus
    /// succeeded ingest jobs whose result lists failed symbols.
    pub(super) async fn recent_failures(
        &self,
        caller: &Caller,
        limit: usize,
    ) -> Result<Value, ToolError> {
        let failed = self.jobs_of(caller, JobStatus::Failed, None, limit).await?;
        let ingest = JobKind::IngestAlphavantage.name();
        let done = self
            .jobs_of(caller, JobStatus::Succeeded, Some(ingest), limit)
            .await?;
        let mut partial = partial_ingests(&done);
        partial.truncate(limit);
        let scope = if caller.role >= Role::Admin {
            "every owner's jobs"
        } else {
            "your jobs only"
        };
        Ok(json!({
            "scope": scope,
            "failed_jobs": failed.iter().map(failed_job).collect::<Vec<_>>(),
            "partly_failed_ingests": partial,
        }))
    }

    /// `GET /api/v1/quality/quarantine?status=pending&limit=…`.
    pub(super) async fn quality_queue(&self, limit: usize) -> Result<Value, ToolError> {
        let q = QuarantineQuery {
            symbol: None,
            status: Some("pending".into()),
            limit,
            offset: 0,
        };
        let (items, total) = self.quality.quarantined(q).await.map_err(quality_err)?;
        let items: Vec<Value> = items
            .iter()
            .map(|b| {
                json!({
                    "id": b.id,
                    "symbol": b.symbol,
                    "resolution": b.resolution.to_string(),
                    "date": b.ts.date().to_string(),
                    "ts": b.ts.to_string(),
                    "reasons": b.reasons,
                    "severity": b.severity,
                    "score": finite(b.score),
                    "close": finite(b.close),
                    "source": b.source,
                })
            })
            .collect();
        Ok(json!({ "pending_total": total, "shown": items.len(), "items": items }))
    }

    /// `GET /api/v1/market-data/regime?symbol=…`: the symbol's own model (fitted with the
    /// defaults on first use), its label on the latest day.
    pub(super) async fn current_regime(&self, symbol: Symbol) -> Result<Value, ToolError> {
        let name = self
            .regimes
            .for_symbol(&symbol)
            .await
            .map_err(regime_err)?
            .spec
            .name;
        let (state, now) = self.regimes.at(&name, None).await.map_err(regime_err)?;
        let today = Utc::now().date_naive();
        Ok(json!({
            "symbol": symbol.as_str(),
            "model": state.spec.name,
            "model_kind": state.spec.walk.kind.to_string(),
            "day": now.day.to_string(),
            "days_behind_today": (today - now.day).num_days(),
            "regime": now.regime,
            "probabilities": now.probabilities,
            "fitted_to": now.fitted_to.to_string(),
            "updated_at": state.updated_at,
        }))
    }

    /// `GET /api/v1/models/{id}` for an id, `GET /api/v1/models?name=…` for a name, the newest
    /// models otherwise, each with its newest stored drift check.
    pub(super) async fn model_drift(&self, model: Option<&str>) -> Result<Value, ToolError> {
        let records = match model {
            Some(id) if id.starts_with(ModelId::PREFIX) => {
                vec![self.signals.get(id).await.map_err(signal_err)?]
            }
            Some(name) => {
                let v = self.signals.list(Some(name)).await.map_err(signal_err)?;
                if v.is_empty() {
                    return Err(ToolError::NotFound(format!("no model named {name:?}")));
                }
                v
            }
            None => self.signals.list(None).await.map_err(signal_err)?,
        };
        let total = records.len();
        let today = Utc::now().date_naive();
        let mut models = Vec::new();
        for r in records.iter().take(MAX_MODELS) {
            let mut m = model_summary(r, today);
            // The newest stored drift check (`POST /api/v1/models/{id}/drift`), if any.
            let latest = self
                .signals
                .drift_reports(&r.id, 1)
                .await
                .map_err(signal_err)?;
            m["drift"] = match latest.first() {
                Some(d) => json!({
                    "checked_at": d.computed_at,
                    "window": [d.from, d.to],
                    "band": d.report.band,
                    "judged": d.report.judged,
                    "alerting": d.report.alerting,
                    "warning": d.report.warning,
                    "prediction_psi": d.report.prediction.as_ref().map(|p| p.psi),
                }),
                None => Value::Null,
            };
            models.push(m);
        }
        let checked = models.iter().filter(|m| !m["drift"].is_null()).count();
        Ok(json!({
            "drift_monitor": true,
            "total_models": total,
            "shown": models.len(),
            "checked": checked,
            "models": models,
            "note": "drift is PSI over the training rows' deciles per feature and on the \
                     predictions (bands: warn 0.1, alert 0.25), with the exact KS test beside it; \
                     `drift` is null for a model never checked (POST /api/v1/models/{id}/drift). \
                     days_since_train_end is the age of the training data.",
        }))
    }
}
