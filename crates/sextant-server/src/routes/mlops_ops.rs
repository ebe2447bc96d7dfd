//! Model operations that act: retraining and drift-check schedules
//! (`/api/v1/mlops/schedules`), promotion records (`/api/v1/mlops/promotions`), a retrain or a
//! drift check as a job (`POST /api/v1/models/{id}/retrain`, `POST /api/v1/mlops/drift-checks`).

use super::{json_body, to_json};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use sextant_core::jobs::JobKind;
use sextant_core::mlops::jobs::DriftCheckParams;
use sextant_core::mlops::{RetrainParams, ScheduleInput};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Schedule, promotion and drift-check routes, nested under `/api/v1/mlops`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_schedules, create_schedule))
        .routes(routes!(get_schedule, delete_schedule))
        .routes(routes!(list_promotions))
        .routes(routes!(submit_drift_check))
}

/// The retrain route, nested under `/api/v1/models`.
pub fn retrain_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(retrain_model))
}

impl From<sextant_core::mlops::OpsError> for ApiError {
    fn from(e: sextant_core::mlops::OpsError) -> Self {
        use sextant_core::mlops::OpsError as E;
        match e {
            E::Signal(s) => s.into(),
            E::Meta(m) => m.into(),
            E::NotFound(_) => ApiError::not_found(e.to_string()),
            E::Duplicate(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            E::Invalid(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-request",
                e.to_string(),
            ),
            E::Corrupt(_) => ApiError::internal(e.to_string()),
        }
    }
}

/// A schedule to create (`sextant_core::mlops::ScheduleInput`).
#[derive(ToSchema)]
#[schema(as = ScheduleInput)]
#[allow(dead_code)]
pub struct ScheduleInputDoc {
    /// 1 to 64 characters of letters, digits, `_` and `-`; unique.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub name: String,
    /// The model's registry name.
    pub model: String,
    /// Five-field cron pattern in UTC (`0 6 * * MON`) or an alias (`@weekly`).
    pub cron: String,
    /// `{kind: every}` (default), `{kind: drift, band: warn|alert}` or
    /// `{kind: age, max_days: 1..3650}`.
    #[schema(value_type = Option<Object>)]
    pub trigger: (),
    /// `retrain` (default) or `drift_check`.
    pub action: Option<String>,
    /// Drift window in calendar days, 30 to 3650 (default 182).
    pub window_days: Option<u32>,
    /// Holdout of a retrain in calendar days, 30 to 3650 (default 182).
    pub holdout_days: Option<u32>,
    /// `{margin, max_auc_drop, resamples, min_days}` of the promotion rule.
    #[schema(value_type = Option<Object>)]
    pub rule: (),
}

/// A stored schedule.
#[derive(ToSchema)]
#[schema(as = Schedule)]
#[allow(dead_code)]
pub struct ScheduleDoc {
    /// `sch_` and 20 hex digits.
    pub id: String,
    /// What was asked for (a ScheduleInput).
    #[schema(value_type = Object)]
    pub spec: (),
    /// The pattern in words.
    pub describe: String,
    /// Whether it fires.
    pub enabled: bool,
    /// Who created it; its jobs run as this key.
    pub owner: String,
    /// The next slot, ms since the epoch (UTC).
    pub next_run_ms: i64,
    /// The last slot fired.
    pub last_fired_ms: Option<i64>,
    /// The job it submitted.
    pub last_job_id: Option<String>,
    /// Set while a claimed slot's job is being submitted.
    pub pending_at_ms: Option<i64>,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// One stage change, or one decision of the promotion rule.
#[derive(ToSchema)]
#[schema(as = PromotionRecord)]
#[allow(dead_code)]
pub struct PromotionRecordDoc {
    /// `prm_` and 20 hex digits.
    pub id: String,
    /// The model.
    pub model_id: String,
    /// Its name.
    pub model_name: String,
    /// Its version.
    pub model_version: u32,
    /// Stage before.
    pub from_stage: String,
    /// Stage asked for.
    pub to_stage: String,
    /// Whether the stage changed.
    pub applied: bool,
    /// `{kind: key, id}`, `{kind: local}` or `{kind: rule, schedule, job}`.
    #[schema(value_type = Object)]
    pub actor: (),
    /// Why.
    pub reason: Option<String>,
    /// The production model a rule decision compared with.
    pub compared_with: Option<String>,
    /// `{promote, reason, evidence: {days, loss_candidate, loss_production, mean_diff,
    /// mean_diff_ci, auc_candidate, auc_production, rule, seed}}`.
    #[schema(value_type = Option<Object>)]
    pub decision: (),
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Filters of the promotion list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PromotionsQuery {
    /// Only this model name's records.
    pub model: Option<String>,
    /// At most this many, newest first (1 to 1000; default 100).
    pub limit: Option<u64>,
}

/// The schedules the key may see (all for an admin), by name.
#[utoipa::path(get, path = "/schedules", operation_id = "list_schedules", tag = "mlops",
    responses((status = 200, body = Vec<ScheduleDoc>)), security(("api_key" = [])))]
async fn list_schedules(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    super::mlops::api_ids(to_json(
        &s.services.mlops.schedules(Some(caller.actor())).await?,
    ))
}

/// Create a retraining or drift-check schedule. Slots are evaluated in UTC; a retrain's new
/// version lands in staging and only the promotion rule (or a person) moves it.
#[utoipa::path(post, path = "/schedules", operation_id = "create_schedule", tag = "mlops",
    request_body = ScheduleInputDoc, responses((status = 201, body = ScheduleDoc)),
    security(("api_key" = [])))]
async fn create_schedule(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let input: ScheduleInput = super::parse_body(body)?;
    let now = chrono::Utc::now().timestamp_millis();
    let sch = s
        .services
        .mlops
        .create_schedule(input, &caller.key_id, now)
        .await?;
    Ok((StatusCode::CREATED, super::mlops::api_ids(to_json(&sch))?))
}

/// One schedule, by id or name.
#[utoipa::path(get, path = "/schedules/{id}", operation_id = "get_schedule", tag = "mlops",
    params(("id" = String, Path)), responses((status = 200, body = ScheduleDoc)),
    security(("api_key" = [])))]
async fn get_schedule(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    super::mlops::api_ids(to_json(
        &s.services.mlops.schedule(&id, Some(caller.actor())).await?,
    ))
}

/// Delete a schedule (its past jobs and promotion records stay).
#[utoipa::path(delete, path = "/schedules/{id}", operation_id = "delete_schedule", tag = "mlops",
    params(("id" = String, Path)), responses((status = 204)), security(("api_key" = [])))]
async fn delete_schedule(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.services
        .mlops
        .delete_schedule(&id, Some(caller.actor()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Promotion records, newest first: every stage change by hand (who, why) and every decision
/// of the promotion rule (with its evidence), applied or not.
#[utoipa::path(get, path = "/promotions", operation_id = "list_promotions", tag = "mlops",
    params(PromotionsQuery), responses((status = 200, body = Vec<PromotionRecordDoc>)),
    security(("api_key" = [])))]
async fn list_promotions(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PromotionsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "limit must be 1 to 1000"));
    }
    super::mlops::api_ids(to_json(
        &s.services
            .mlops
            .promotions(q.model.as_deref(), limit)
            .await?,
    ))
}

/// A retrain of a model (`sextant_core::mlops::RetrainParams` without `model`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RetrainInput {
    /// `{kind: every}` (default), `{kind: drift, band}` or `{kind: age, max_days}`.
    #[schema(value_type = Option<Object>)]
    pub trigger: Option<Value>,
    /// Last day of data (YYYY-MM-DD); default: the newest day with features for every symbol.
    #[schema(value_type = Option<String>, format = Date)]
    pub as_of: Option<String>,
    /// Drift window in calendar days, 30 to 3650 (default 182).
    pub window_days: Option<u32>,
    /// Holdout in calendar days, 30 to 3650 (default 182).
    pub holdout_days: Option<u32>,
    /// `{margin, max_auc_drop, resamples, min_days}`.
    #[schema(value_type = Option<Object>)]
    pub rule: Option<Value>,
}

fn accepted(job: &sextant_core::jobs::JobRecord) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut out = serde_json::to_value(job).map_err(|e| ApiError::internal(e.to_string()))?;
    out["links"] = json!({ "events": format!("/api/v1/jobs/{}/events", job.id) });
    Ok((StatusCode::ACCEPTED, json_body(out)))
}

/// Retrain a model as a job: train on data up to `as_of` with a holdout at the end (when the
/// trigger holds); the candidate lands in staging and the promotion rule judges it against
/// production. Follow the job for the outcome.
#[utoipa::path(post, path = "/{id}/retrain", operation_id = "retrain_model", tag = "models",
    params(("id" = String, Path)), request_body = RetrainInput,
    responses((status = 202, body = crate::routes::schemas::JobDoc)), security(("api_key" = [])))]
async fn retrain_model(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(mut body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let rec = s.services.signals.resolve(&id).await?;
    let actor = caller.actor();
    if !(actor.admin || rec.owner.as_deref().is_some_and(|o| actor.may(o))) {
        return Err(ApiError::not_found(format!("no model {id:?}")));
    }
    match body.as_object_mut() {
        Some(m) if !m.contains_key("model") && !m.contains_key("schedule") => {
            m.insert("model".into(), json!(rec.id));
        }
        _ => {
            return Err(ApiError::field(
                "body",
                "a JSON object without model or schedule",
            ))
        }
    }
    let params: RetrainParams = super::parse_body(body)?;
    let params = serde_json::to_value(params).map_err(|e| ApiError::internal(e.to_string()))?;
    let job = s
        .jobs
        .submit(JobKind::RetrainModel.name(), params, &caller.key_id)
        .await?;
    accepted(&job)
}

/// A drift check of one model or every production model (`DriftCheckParams`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct DriftCheckInput {
    /// A model name or id; default every production model.
    pub model: Option<String>,
    /// Window in calendar days, 30 to 3650 (default 182).
    pub window_days: Option<u32>,
    /// Last day of the window (YYYY-MM-DD); default each model's newest data.
    #[schema(value_type = Option<String>, format = Date)]
    pub as_of: Option<String>,
}

/// Check drift as a job: each model's features and predictions over the window against its
/// training rows; reports are stored (`GET /api/v1/models/{id}/drift`).
#[utoipa::path(post, path = "/drift-checks", operation_id = "submit_drift_check", tag = "mlops",
    request_body = DriftCheckInput,
    responses((status = 202, body = crate::routes::schemas::JobDoc)), security(("api_key" = [])))]
async fn submit_drift_check(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let params: DriftCheckParams = super::parse_body(body)?;
    if let Some(m) = &params.model {
        s.services.signals.resolve(m).await?;
    }
    let params = serde_json::to_value(params).map_err(|e| ApiError::internal(e.to_string()))?;
    let job = s
        .jobs
        .submit(JobKind::DriftCheck.name(), params, &caller.key_id)
        .await?;
    accepted(&job)
}
