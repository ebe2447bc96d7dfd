//! Model operations over HTTP: a model's drift checks (`/api/v1/models/{id}/drift`) and the
//! tracked runs (`/api/v1/mlops/runs`), with their MLflow export state.

use super::to_json;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Drift routes, nested under `/api/v1/models`.
pub fn drift_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_model_drift, check_model_drift))
}

/// Tracked-run routes, nested under `/api/v1/mlops`.
pub fn runs_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tracked_runs))
        .routes(routes!(get_tracked_run))
        .routes(routes!(sync_tracked_runs))
}

/// A window to check a model's drift on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftInput {
    /// First day of the window (YYYY-MM-DD).
    pub from: NaiveDate,
    /// Last day of the window.
    pub to: NaiveDate,
    /// PSI warn band; default from `[mlops] drift_warn` (0.1).
    pub warn: Option<f64>,
    /// PSI alert band; default from `[mlops] drift_alert` (0.25).
    pub alert: Option<f64>,
}

/// One column's drift: PSI with its band and sampling floor, the exact KS test beside it.
#[derive(ToSchema)]
#[schema(as = FeatureDrift)]
#[allow(dead_code)]
pub struct FeatureDriftDoc {
    /// Feature name, or `prediction`.
    pub feature: String,
    /// PSI over the reference's deciles.
    pub psi: f64,
    /// PSI expected from sampling alone.
    pub null_psi: f64,
    /// none, warn or alert.
    pub band: String,
    /// KS statistic and exact p-value (`{d, p}`).
    #[schema(value_type = Object)]
    pub ks: (),
    /// KS agrees (D ≥ 0.1 and p < 0.01).
    pub ks_corroborates: bool,
    /// Reference values used.
    pub n_reference: usize,
    /// Current values used.
    pub n_current: usize,
}

/// A stored drift check of a model.
#[derive(ToSchema)]
#[schema(as = ModelDrift)]
#[allow(dead_code)]
pub struct ModelDriftDoc {
    /// `drf_` and 20 hex digits.
    pub id: String,
    /// The model checked.
    pub model_id: String,
    /// Its name.
    pub model_name: String,
    /// Its version.
    pub model_version: u32,
    /// First day of the reference (training) span.
    pub reference_from: Option<NaiveDate>,
    /// Last day of the reference span.
    pub reference_to: Option<NaiveDate>,
    /// Reference rows.
    pub reference_rows: usize,
    /// First day checked.
    pub from: NaiveDate,
    /// Last day checked.
    pub to: NaiveDate,
    /// Rows checked.
    pub current_rows: usize,
    /// `features` (each a FeatureDrift), `prediction`, the worst `band`, `alerting` and
    /// `warning` feature names, `excluded` features with reasons, whether the window was long
    /// enough to be `judged`, and the bands applied.
    #[schema(value_type = Object)]
    pub report: (),
    /// When it was computed.
    pub computed_at: DateTime<Utc>,
    /// What `[mlops] drift_webhook` answered to this check's alert (`sent: 200`,
    /// `failed: …`); null when nothing was posted.
    pub webhook: Option<String>,
}

/// A tracked run (training, tuning, evaluation…) and its MLflow export.
#[derive(ToSchema)]
#[schema(as = TrackedRun)]
#[allow(dead_code)]
pub struct TrackedRunDoc {
    /// `run_` and 24 hex digits.
    pub id: String,
    /// training, tuning, forecast_eval or evaluation.
    pub kind: String,
    /// A readable name.
    pub name: String,
    /// What it is about (a model id…).
    pub subject: String,
    /// Start, ms since the epoch.
    pub started_ms: i64,
    /// End, ms since the epoch.
    pub ended_ms: i64,
    /// `[{key, value}]`.
    #[schema(value_type = Vec<Object>)]
    pub params: (),
    /// `[{key, value}]`.
    #[schema(value_type = Vec<Object>)]
    pub tags: (),
    /// `[{key, value, step, timestamp_ms}]`.
    #[schema(value_type = Vec<Object>)]
    pub metrics: (),
    /// `[{path, sha256, bytes}]`.
    #[schema(value_type = Vec<Object>)]
    pub artifacts: (),
    /// The data snapshot read.
    pub data_snapshot: Option<String>,
    /// The code that ran.
    pub code_version: String,
    /// The key that ran it.
    pub owner: String,
    /// `{state: off|pending|done|failed, uri, experiment_id, run_id, model, model_version,
    /// log_batch_calls, calls, error}`.
    #[schema(value_type = Object)]
    pub mlflow: (),
}

/// How many pending or failed exports now succeeded.
#[derive(serde::Serialize, ToSchema)]
pub struct SyncResult {
    /// Runs exported by this call.
    pub synced: usize,
    /// Whether an MLflow server is configured at all.
    pub mlflow: bool,
}

/// Filters of the run list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    /// training, tuning, forecast_eval or evaluation.
    pub kind: Option<String>,
    /// A subject id (a model id…).
    pub subject: Option<String>,
    /// At most this many, newest first (1 to 500; default 50).
    pub limit: Option<u64>,
}

/// The stored documents keep their store key `_id`; the API calls it `id`, as everywhere else.
pub(crate) fn api_ids(v: ApiResult<Json<Value>>) -> ApiResult<Json<Value>> {
    fn fix(v: &mut Value) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(fix),
            Value::Object(map) => {
                if let Some(id) = map.remove("_id") {
                    map.insert("id".into(), id);
                }
            }
            _ => {}
        }
    }
    v.map(|Json(mut v)| {
        fix(&mut v);
        Json(v)
    })
}

/// A model's stored drift checks, newest first.
#[utoipa::path(get, path = "/{id}/drift", operation_id = "list_model_drift", tag = "models",
    params(("id" = String, Path)), responses((status = 200, body = Vec<ModelDriftDoc>)),
    security(("api_key" = [])))]
async fn list_model_drift(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    s.services.signals.get(&id).await?;
    api_ids(to_json(&s.services.signals.drift_reports(&id, 50).await?))
}

/// Check a model's drift on a window: every feature and the predictions against its training
/// rows; stored, and logged as an alert when a feature reaches the alert band.
#[utoipa::path(post, path = "/{id}/drift", operation_id = "check_model_drift", tag = "models",
    params(("id" = String, Path)), request_body = DriftInput,
    responses((status = 200, body = ModelDriftDoc)), security(("api_key" = [])))]
async fn check_model_drift(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<DriftInput>,
) -> ApiResult<Json<Value>> {
    let cfg = &s.services.config.mlops;
    let bands = sextant_mlops::drift::Bands::new(
        input.warn.unwrap_or(cfg.drift_warn),
        input.alert.unwrap_or(cfg.drift_alert),
    )
    .map_err(|e| ApiError::field("warn", e.to_string()))?;
    let signals = s.services.signals.clone();
    api_ids(to_json(
        &signals.drift(&id, input.from, input.to, bands).await?,
    ))
}

/// Tracked runs, newest first.
#[utoipa::path(get, path = "/runs", operation_id = "list_tracked_runs", tag = "mlops",
    params(RunsQuery), responses((status = 200, body = Vec<TrackedRunDoc>)),
    security(("api_key" = [])))]
async fn list_tracked_runs(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<RunsQuery>,
) -> ApiResult<Json<Value>> {
    let kind = match q.kind.as_deref() {
        Some(k) => Some(
            k.parse::<sextant_mlops::tracking::RunKind>()
                .map_err(|_| ApiError::field("kind", format!("unknown run kind {k:?}")))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "limit must be 1 to 500"));
    }
    let runs = s
        .services
        .tracker
        .list(kind, q.subject.as_deref(), limit)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    api_ids(to_json(&runs))
}

/// One tracked run.
#[utoipa::path(get, path = "/runs/{id}", operation_id = "get_tracked_run", tag = "mlops",
    params(("id" = String, Path)), responses((status = 200, body = TrackedRunDoc)),
    security(("api_key" = [])))]
async fn get_tracked_run(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    match s.services.tracker.get(&id).await {
        Ok(r) => api_ids(to_json(&r)),
        Err(sextant_mlops::tracking::TrackingError::NotFound(_)) => {
            Err(ApiError::not_found(format!("no tracked run {id}")))
        }
        Err(e) => Err(ApiError::internal(e.to_string())),
    }
}

/// Retry every pending or failed MLflow export.
#[utoipa::path(post, path = "/sync", operation_id = "sync_tracked_runs", tag = "mlops",
    responses((status = 200, body = SyncResult)), security(("api_key" = [])))]
async fn sync_tracked_runs(State(s): State<AppState>) -> ApiResult<Json<SyncResult>> {
    let synced = s
        .services
        .tracker
        .sync_pending()
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(SyncResult {
        synced,
        mlflow: s.services.tracker.mlflow().is_some(),
    }))
}
