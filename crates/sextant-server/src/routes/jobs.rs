//! `/api/v1/jobs`: submit, list, status with progress, cancel, and a server-sent-events stream.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::page::PageQuery;
use crate::routes::schemas::{JobDoc as Job, JobPage};
use crate::routes::to_json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Extension, Json};
use futures::stream::{self, Stream};
use serde::Deserialize;
use serde_json::Value;
use sextant_core::jobs::{JobError, JobEvent, JobFilter, JobStatus};
use std::convert::Infallible;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The job routes: submit, list, get, cancel, events.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, submit))
        .routes(routes!(get_one))
        .routes(routes!(cancel))
        .routes(routes!(events))
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::UnknownKind(_) => ApiError::field("kind", e.to_string()),
            JobError::InvalidParams(_) => ApiError::field("params", e.to_string()),
            JobError::Invalid(f) => f.into(),
            JobError::NotFound(_) => ApiError::not_found(e.to_string()),
            JobError::NotCancellable { .. } => {
                ApiError::new(StatusCode::CONFLICT, "not-cancellable", e.to_string())
            }
            JobError::Quota { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "job-quota", e.to_string())
            }
            other => ApiError::internal(other.to_string()),
        }
    }
}

/// A job to queue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitInput {
    /// The job kind; its parameters are the body of the matching route: `backtest` a backtest
    /// request, `walk_forward` `{request, spec}`, `train_signal` a training request,
    /// `ingest_alphavantage` `{symbols, resolution, adjusted, asset, market}`, `ingest_actions`
    /// `{symbols}`, `ingest_macro` `{series}` (when Alpha Vantage is configured), `optimize` a
    /// tuning request (`POST /api/v1/backtests/optimize`), `train_rl` an RL training request
    /// (`POST /api/v1/rl/train`), `materialize_features` `{view}` (a built-in view's name),
    /// `retrain_model` and `drift_check` a schedule's parameters. The same limits apply as on
    /// those routes; at most 64 KiB of parameters. The kinds a job queues for itself on the
    /// workers (`trial_batch`, `backtest_run`, …) are refused.
    #[schema(value_type = String, pattern = "^(backtest|walk_forward|train_signal|ingest_alphavantage|ingest_actions|ingest_macro|optimize|train_rl|materialize_features|retrain_model|drift_check)$")]
    pub kind: String,
    /// The parameters of `kind`, checked when the job is submitted.
    #[schema(value_type = Object)]
    pub params: Value,
}

/// Queue a job; poll it, stream its events, or cancel it.
#[utoipa::path(post, path = "", operation_id = "submit_job", tag = "jobs", request_body = SubmitInput,
    responses((status = 202, body = Job),
              (status = 429, description = "the key's open-job quota or rate limit is used up",
               body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn submit(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(b): ApiJson<SubmitInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let rec = s.jobs.submit(&b.kind, b.params, &caller.key_id).await?;
    Ok((StatusCode::ACCEPTED, to_json(&rec)?))
}

/// Filters and page of the job listing.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// queued, running, succeeded, failed or cancelled.
    #[param(inline)]
    pub status: Option<StatusName>,
    /// Only jobs of this kind, e.g. `backtest`. Without it, child jobs (`trial_batch`,
    /// `walk_forward_windows`, run for a study or a walk-forward) are not listed.
    pub kind: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 2, pattern = "^([0-9a-f]{2})+$")]
    pub cursor: Option<String>,
}

/// A job's status.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum StatusName {
    /// Waiting for a worker.
    Queued,
    /// A worker is running it.
    Running,
    /// Finished; its `result` is set.
    Succeeded,
    /// Ended with an error, given in its `error`.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

/// Jobs, newest first.
#[utoipa::path(get, path = "", operation_id = "list_jobs", tag = "jobs", params(ListQuery),
    responses((status = 200, body = JobPage)), security(("api_key" = [])))]
async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let filter = JobFilter {
        status: q.status.map(|st| match st {
            StatusName::Queued => JobStatus::Queued,
            StatusName::Running => JobStatus::Running,
            StatusName::Succeeded => JobStatus::Succeeded,
            StatusName::Failed => JobStatus::Failed,
            StatusName::Cancelled => JobStatus::Cancelled,
        }),
        kind: q.kind,
        owner: caller.actor().scope().map(str::to_string),
    };
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .to_request()?;
    // Summaries: parameters and results (up to 64 KiB and more each) are on `GET /jobs/{id}`.
    let mut v = serde_json::to_value(s.jobs.list(&filter, &page).await?)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            item.remove("params");
            item.remove("result");
        }
    }
    Ok(super::json_body(v))
}

/// A job with its status and progress.
#[utoipa::path(get, path = "/{id}", operation_id = "get_job", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = Job)), security(("api_key" = [])))]
async fn get_one(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    to_json(&s.jobs.get_as(&id, caller.actor()).await?)
}

/// Cancel a queued or running job.
#[utoipa::path(post, path = "/{id}/cancel", operation_id = "cancel_job", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = Job),
              (status = 409, description = "the job already finished", body = crate::error::Problem,
               content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn cancel(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    s.jobs.get_as(&id, caller.actor()).await?;
    to_json(&s.jobs.cancel(&id).await?)
}

/// One server-sent event of `GET /jobs/{id}/events`.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct JobSseEvent {
    /// The job's status at the event: `queued`, `running`, `succeeded`, `failed` or
    /// `cancelled`.
    pub event: String,
    /// The event as JSON text: `job_id`, `status`, `progress`, and `result` (on `succeeded`)
    /// or `error` (when it failed or was cancelled).
    pub data: String,
}

/// Server-sent events: the job's current state, then every progress and status change until it
/// finishes.
#[utoipa::path(get, path = "/{id}/events", operation_id = "stream_job_events", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = JobSseEvent, content_type = "text/event-stream")), security(("api_key" = [])))]
async fn events(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    s.jobs.get_as(&id, caller.actor()).await?;
    // A slot per open stream, released when the client goes away (the guard lives in the
    // stream's state); a key over its share gets 429.
    let slot = s.sse.acquire(&caller.key_id)?;
    let sub = s.jobs.subscribe(&id).await?;
    let first = JobEvent::from(&sub.snapshot);
    let done = first.is_terminal();
    // Each event's data is the JSON a response body would be (timestamps in a result as RFC
    // 3339 in UTC).
    let to_event = |e: &JobEvent| {
        let data = serde_json::to_value(e)
            .map(|v| super::json_body(v).0.to_string())
            .unwrap_or_default();
        Event::default().event(e.status.as_str()).data(data)
    };
    let head = stream::once({
        let ev = to_event(&first);
        async move { Ok::<_, Infallible>(ev) }
    });
    let rx = sub.events;
    let tail = stream::unfold((rx, done, slot), move |(mut rx, done, slot)| async move {
        if done {
            return None;
        }
        loop {
            match rx.recv().await {
                Ok(e) => {
                    let terminal = e.is_terminal();
                    return Some((Ok(to_event(&e)), (rx, terminal, slot)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream::StreamExt::chain(head, tail)).keep_alive(KeepAlive::default()))
}
