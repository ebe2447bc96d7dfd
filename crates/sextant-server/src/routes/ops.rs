//! Liveness, readiness and Prometheus metrics.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/health`, `/ready` (both public) and `/metrics` (admin), at the root rather than under
/// `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics))
}

/// Liveness answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// Seconds since the server started.
    pub uptime_secs: u64,
    /// The server's version.
    pub version: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", operation_id = "get_health", tag = "ops", responses((status = 200, body = Health)))]
async fn health(State(s): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        uptime_secs: s.started.elapsed().as_secs(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// The outcome of one dependency check.
#[derive(Serialize, ToSchema)]
pub struct Check {
    /// True when the dependency answered.
    pub ok: bool,
    /// `ok` (DuckDB) or the metadata backend's name when it answered, the error otherwise.
    pub detail: String,
}

/// The Alpha Vantage provider's key and request quota (informational: it does not affect
/// readiness).
#[derive(Serialize, ToSchema)]
pub struct AlphaVantageState {
    /// True when an API key is configured; without one every ingest fails.
    pub key_configured: bool,
    /// Requests started within the last rolling day.
    pub used_today: u32,
    /// Requests left within the rolling day; null when there is no daily limit.
    pub remaining_today: Option<u32>,
}

/// Readiness answer: 200 when `ready`, 503 otherwise, with the same body.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// True when DuckDB and the metadata store answer and the quarantine totals can be read.
    pub ready: bool,
    /// The DuckDB bar cache.
    pub duckdb: Check,
    /// The metadata store.
    pub metadata: Check,
    /// The Alpha Vantage key and quota.
    pub alphavantage: AlphaVantageState,
    /// The review queue's totals (zeros when they could not be read, and `ready` is then false).
    pub quarantine: QuarantineState,
    /// Where jobs run: the in-process pool, or NATS workers (then a lost NATS connection makes
    /// the server unready: jobs that travel could not be sent).
    pub jobs: JobsState,
}

/// The job transport and the remote workers.
#[derive(Serialize, ToSchema)]
pub struct JobsState {
    /// `in-process` (the embedded default) or `nats`.
    pub transport: String,
    /// With NATS: whether the connection is up. Null for the in-process pool.
    pub nats_connected: Option<bool>,
    /// Live workers (heartbeat younger than the stale threshold), from the registry.
    pub workers: Vec<WorkerState>,
}

/// One live `sextant worker`.
#[derive(Serialize, ToSchema)]
pub struct WorkerState {
    /// Instance id (`<node>/<uuid>`).
    pub id: String,
    /// Kinds it serves.
    pub kinds: Vec<String>,
    /// Jobs it runs at once.
    pub concurrency: usize,
    /// Jobs it runs now.
    pub running: usize,
    /// `active` or `draining`.
    pub state: String,
    /// Its last heartbeat (RFC 3339).
    pub heartbeat_at: String,
}

async fn jobs_state(s: &AppState) -> JobsState {
    let Some(q) = s.jobs.queue() else {
        return JobsState {
            transport: "in-process".into(),
            nats_connected: None,
            workers: Vec::new(),
        };
    };
    let workers = match s.jobs.workers().await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "worker registry unavailable");
            Vec::new()
        }
    };
    JobsState {
        transport: "nats".into(),
        nats_connected: Some(q.is_connected()),
        workers: workers
            .into_iter()
            .map(|w| WorkerState {
                id: w.id,
                kinds: w.kinds,
                concurrency: w.concurrency,
                running: w.running,
                state: w.state,
                heartbeat_at: w.heartbeat_at,
            })
            .collect(),
    }
}

/// The data-quality review queue (informational: a backlog does not make the service unready).
#[derive(Serialize, ToSchema)]
pub struct QuarantineState {
    /// Held bars awaiting review.
    pub pending: u64,
    /// Held bars approved into the cache.
    pub approved: u64,
    /// Held bars rejected (never cached).
    pub rejected: u64,
}

/// Readiness: DuckDB and the metadata store answer; Alpha Vantage key and quota state.
#[utoipa::path(get, path = "/ready", operation_id = "get_readiness", tag = "ops",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
async fn ready(State(s): State<AppState>) -> impl IntoResponse {
    let md = s.services.market_data.clone();
    let duck = tokio::task::spawn_blocking(move || md.ping()).await;
    let duckdb = match duck {
        Ok(Ok(())) => Check {
            ok: true,
            detail: "ok".into(),
        },
        Ok(Err(e)) => Check {
            ok: false,
            detail: e.to_string(),
        },
        Err(e) => Check {
            ok: false,
            detail: e.to_string(),
        },
    };
    let metadata = match s.services.meta.ping().await {
        Ok(()) => Check {
            ok: true,
            detail: s.services.meta.backend_name().into(),
        },
        Err(e) => Check {
            ok: false,
            detail: e.to_string(),
        },
    };
    let (key_configured, used_today, remaining_today) = match s.services.alphavantage() {
        Ok(av) => {
            let q = av.quota();
            (av.has_key(), q.used_today, q.remaining_today)
        }
        Err(_) => (false, 0, None),
    };
    // Unknown quarantine totals are a failed readiness check, not zeros.
    let (totals, totals_ok) = match s.services.quality.totals().await {
        Ok(t) => (t, true),
        Err(e) => {
            tracing::warn!(error = %e, "quarantine totals unavailable");
            (Default::default(), false)
        }
    };
    let jobs = jobs_state(&s).await;
    let ready = duckdb.ok && metadata.ok && totals_ok && jobs.nats_connected != Some(false);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            ready,
            duckdb,
            metadata,
            alphavantage: AlphaVantageState {
                key_configured,
                used_today,
                remaining_today,
            },
            quarantine: QuarantineState {
                pending: totals.pending,
                approved: totals.approved,
                rejected: totals.rejected,
            },
            jobs,
        }),
    )
}

/// Prometheus metrics (admin).
#[utoipa::path(get, path = "/metrics", operation_id = "get_metrics", tag = "ops",
    responses((status = 200, body = String, content_type = "text/plain")), security(("api_key" = [])))]
async fn metrics(State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    let md = s.services.market_data.clone();
    let symbols = tokio::task::spawn_blocking(move || md.symbols())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::from)?;
    let rows: u64 = symbols.iter().map(|i| i.rows).sum();
    let q = s.services.quality.totals().await?;
    let body = s.metrics.render(&[
        ("sextant_cache_rows", "gauge", rows as f64),
        ("sextant_cache_symbols", "gauge", symbols.len() as f64),
        ("sextant_quarantine_pending", "gauge", q.pending as f64),
        (
            "sextant_uptime_seconds",
            "gauge",
            s.started.elapsed().as_secs_f64(),
        ),
    ]);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body))
}
