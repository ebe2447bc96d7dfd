//! Tuning: `POST /api/v1/backtests/optimize` queues a study as an `optimize` job; studies,
//! their trials and leaderboards live under `/api/v1/studies`. A leaderboard is only served
//! with its deflated Sharpe ratio, PBO and out-of-sample result.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::page::{Page, PageQuery};
use crate::routes::schemas::research::{
    StudyDoc as Study, StudyLeaderboardDoc as StudyLeaderboard, StudyPage,
    TrialPageDoc as TrialPage,
};
use crate::routes::schemas::StudyJob;
use crate::routes::to_json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use sextant_core::jobs::JobKind;
use sextant_core::tuning::{OptimizeRequest, StudyState, TuningServiceError};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

impl From<TuningServiceError> for ApiError {
    fn from(e: TuningServiceError) -> Self {
        use TuningServiceError as T;
        match e {
            T::Invalid { field, message } => ApiError::field(field, message),
            T::Backtest(b) => b.into(),
            T::Meta(m) => m.into(),
            T::NotFound(_) => ApiError::not_found(e.to_string()),
            T::Cancelled => ApiError::new(StatusCode::CONFLICT, "cancelled", e.to_string()),
            T::Busy(_) => ApiError::new(StatusCode::CONFLICT, "study-running", e.to_string()),
            T::Internal(_) => ApiError::internal(e.to_string()),
        }
    }
}

/// `POST /optimize`, under `/api/v1/backtests`.
pub fn backtest_routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(optimize))
}

/// Studies, under `/api/v1/studies`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_study))
        .routes(routes!(trials))
        .routes(routes!(leaderboard))
}

/// Tunes a library strategy's parameters: `{backtest, search, objectives, sampler, pruner,
/// trials, batch, seed, validation, constraints, name}`. Always a job (202): follow
/// `/api/v1/jobs/{id}/events`, then read `/api/v1/studies/{study_id}/leaderboard`. The same
/// request on the same bars is the same study: a finished one is answered at once, an
/// interrupted one resumes, more `trials` extend it.
#[utoipa::path(post, path = "/optimize", operation_id = "start_study", tag = "tuning", request_body = Object,
    responses((status = 202, body = StudyJob),
              (status = 409, description = "the same study is running", body = crate::error::Problem,
               content_type = "application/problem+json"),
              (status = 422, description = "invalid request", body = crate::error::Problem,
               content_type = "application/problem+json"),
              (status = 429, description = "the key's open-job quota or rate limit is used up",
               body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn optimize(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(mut body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    super::definitions::resolve_in(&s, &caller, &mut body, &["backtest"]).await?;
    let req: OptimizeRequest = crate::routes::parse_body(body)?;
    // Recorded at once (state `queued`, readable) when the study is new.
    let study_id = s.services.tuning.queue(&req, &caller.key_id).await?;
    if s.services.tuning.is_running(&study_id) {
        return Err(TuningServiceError::Busy(study_id).into());
    }
    let params = serde_json::to_value(&req).map_err(|e| ApiError::internal(e.to_string()))?;
    let job = s
        .jobs
        .submit(JobKind::Optimize.name(), params, &caller.key_id)
        .await?;
    let mut out = serde_json::to_value(&job).map_err(|e| ApiError::internal(e.to_string()))?;
    out["study_id"] = json!(study_id);
    out["links"] = json!({
        "events": format!("/api/v1/jobs/{}/events", job.id),
        "study": format!("/api/v1/studies/{study_id}"),
        "leaderboard": format!("/api/v1/studies/{study_id}/leaderboard"),
    });
    Ok((StatusCode::ACCEPTED, super::json_body(out)))
}

/// A page of studies.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 2, pattern = "^([0-9a-f]{2})+$")]
    pub cursor: Option<String>,
}

/// The caller's studies (every study for an admin), newest first, without their analysis.
#[utoipa::path(get, path = "", operation_id = "list_studies", tag = "tuning", params(ListQuery),
    responses((status = 200, body = StudyPage)), security(("api_key" = [])))]
async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .to_request()?;
    let p = s.services.tuning.list(caller.actor(), &page).await?;
    to_json(&Page {
        items: p.items,
        next_cursor: p.next_cursor,
    })
}

/// A study: request, state, counts, best trial and analysis.
#[utoipa::path(get, path = "/{id}", operation_id = "get_study", tag = "tuning",
    params(("id" = String, Path, pattern = "^stu_[0-9a-f]{24}$")),
    responses((status = 200, body = Study), (status = 404, body = crate::error::Problem,
               content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn get_study(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let rec = s.services.tuning.get_as(&id, caller.actor()).await?;
    to_json(&rec)
}

/// A page of trials.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrialsQuery {
    /// First trial number (default 0).
    pub offset: Option<usize>,
    /// Trials per page, 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// A study's trials by number: parameters, state, values, per-fold values, duration.
#[utoipa::path(get, path = "/{id}/trials", operation_id = "list_study_trials", tag = "tuning",
    params(("id" = String, Path, pattern = "^stu_[0-9a-f]{24}$"), TrialsQuery),
    responses((status = 200, body = TrialPage), (status = 404, body = crate::error::Problem,
               content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn trials(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TrialsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "1 to 1000"));
    }
    let offset = q.offset.unwrap_or(0);
    let (total, items) = s
        .services
        .tuning
        .trials_as(&id, caller.actor(), offset, limit)
        .await?;
    Ok(super::json_body(
        json!({"total": total, "offset": offset, "items": items}),
    ))
}

/// The leaderboard with what discounts it: the deflated Sharpe ratio of the best trial, the
/// probability of backtest overfitting, the walk-forward out-of-sample result beside buy and
/// hold, and notes on what the figures exclude. 409 until the study is complete: the best
/// trial is never shown without them.
#[utoipa::path(get, path = "/{id}/leaderboard", operation_id = "get_study_leaderboard", tag = "tuning",
    params(("id" = String, Path, pattern = "^stu_[0-9a-f]{24}$")),
    responses((status = 200, body = StudyLeaderboard),
              (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "the study is not complete", body = crate::error::Problem,
               content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn leaderboard(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let rec = s.services.tuning.get_as(&id, caller.actor()).await?;
    let analysis = match (&rec.analysis, rec.state) {
        (Some(a), StudyState::Complete) => a.clone(),
        _ => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "study-not-complete",
                format!(
                    "study {id} is {}: its leaderboard is served with DSR and PBO once it is \
                     complete (run it again to resume it)",
                    rec.state
                ),
            ))
        }
    };
    Ok(super::json_body(json!({
        "study_id": rec.id,
        "strategy": rec.strategy,
        "counts": rec.counts,
        "analysis": analysis,
        "excluded_bars": rec.excluded.len(),
    })))
}
