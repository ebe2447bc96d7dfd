//! `/api/v1/quality`: the quarantine review queue, anomaly flags, gaps and per-day counts.
//! Reading is open to viewers; approving or rejecting a held bar is an admin action (see
//! `auth::required_role`), recorded with the reviewer's key id.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::market_data::parse_symbol;
use crate::routes::schemas::quality::{
    QualityDayList, QualityFlagList, QualityGapList, QualitySummaryDoc as QualitySummary,
    QuarantinePageDoc as QuarantinePage, QuarantinedBarDoc as QuarantinedBar,
    ReviewOutcomeDoc as ReviewOutcome,
};
use crate::routes::to_json;
use crate::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use sextant_data::cache::{Decision, QuarantineQuery};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The quality routes: summary, quarantine queue and review, flags, gaps, daily counts.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(flags))
        .routes(routes!(gaps))
        .routes(routes!(daily))
}

const STATUSES: [&str; 3] = ["pending", "approved", "rejected"];

fn check_symbol(symbol: &Option<String>) -> ApiResult<Option<String>> {
    symbol
        .as_deref()
        .map(parse_symbol)
        .transpose()
        .map(|s| s.map(|s| s.as_str().to_string()))
}

/// Filters and window of the quarantine listing.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QuarantineParams {
    /// Only this symbol.
    symbol: Option<String>,
    /// pending, approved or rejected.
    status: Option<String>,
    /// 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 1000000)]
    offset: Option<u32>,
}

/// Symbol filter and size of a flag or gap listing.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SymbolParams {
    /// Only this symbol.
    symbol: Option<String>,
    /// 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u32>,
}

/// Symbol and days of the per-day counts.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DailyParams {
    /// Only this symbol.
    symbol: Option<String>,
    /// First day (default: 1900-01-01).
    from: Option<NaiveDate>,
    /// Last day (default: 2999-12-31).
    to: Option<NaiveDate>,
}

/// A reviewer's decision note.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// Why (kept in the audit record).
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Quarantine and flag totals.
#[utoipa::path(get, path = "/summary", operation_id = "get_quality_summary", tag = "quality",
    responses((status = 200, body = QualitySummary)), security(("api_key" = [])))]
async fn summary(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    to_json(&s.services.quality.totals().await?)
}

/// Held bars, newest first.
#[utoipa::path(get, path = "/quarantine", operation_id = "list_quarantine", tag = "quality", params(QuarantineParams),
    responses((status = 200, body = QuarantinePage)), security(("api_key" = [])))]
async fn list(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<QuarantineParams>,
) -> ApiResult<Json<Value>> {
    let symbol = check_symbol(&p.symbol)?;
    if let Some(st) = &p.status {
        if !STATUSES.contains(&st.as_str()) {
            return Err(ApiError::field("status", "pending, approved or rejected"));
        }
    }
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 500"));
    }
    if p.offset.is_some_and(|o| o > 1_000_000) {
        return Err(ApiError::field("offset", "at most 1000000"));
    }
    let q = QuarantineQuery {
        symbol,
        status: p.status,
        limit: limit as usize,
        offset: p.offset.unwrap_or(0) as usize,
    };
    let (items, total) = s.services.quality.quarantined(q).await?;
    Ok(super::json_body(json!({ "items": items, "total": total })))
}

/// One held bar.
#[utoipa::path(get, path = "/quarantine/{id}", operation_id = "get_quarantined_bar", tag = "quality", params(("id" = i64, Path)),
    responses((status = 200, body = QuarantinedBar)), security(("api_key" = [])))]
async fn get_one(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    to_json(&s.services.quality.get(id).await?)
}

async fn review(
    s: &AppState,
    id: i64,
    decision: Decision,
    caller: &Caller,
    input: ReviewInput,
) -> ApiResult<Json<Value>> {
    let note = input.note;
    if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(ApiError::field("note", "at most 1000 characters"));
    }
    let out = s
        .services
        .quality
        .review(id, decision, &caller.key_id, note)
        .await?;
    let merged = out.merged.as_ref().map(|m| m.batch_id.clone());
    Ok(super::json_body(
        json!({ "bar": out.bar, "merged_batch": merged }),
    ))
}

/// Approve a held bar: it is merged into the cache (admin).
#[utoipa::path(post, path = "/quarantine/{id}/approve", operation_id = "approve_quarantined_bar", tag = "quality", params(("id" = i64, Path)),
    request_body = ReviewInput,
    responses((status = 200, body = ReviewOutcome)), security(("api_key" = [])))]
async fn approve(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReviewInput>,
) -> ApiResult<Json<Value>> {
    review(&s, id, Decision::Approve, &caller, input).await
}

/// Reject a held bar: it never enters the cache (admin).
#[utoipa::path(post, path = "/quarantine/{id}/reject", operation_id = "reject_quarantined_bar", tag = "quality", params(("id" = i64, Path)),
    request_body = ReviewInput,
    responses((status = 200, body = ReviewOutcome)), security(("api_key" = [])))]
async fn reject(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReviewInput>,
) -> ApiResult<Json<Value>> {
    review(&s, id, Decision::Reject, &caller, input).await
}

/// Anomaly flags (every severity), newest bar first.
#[utoipa::path(get, path = "/flags", operation_id = "list_quality_flags", tag = "quality", params(SymbolParams),
    responses((status = 200, body = QualityFlagList)), security(("api_key" = [])))]
async fn flags(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<SymbolParams>,
) -> ApiResult<Json<Value>> {
    let symbol = check_symbol(&p.symbol)?;
    let limit = p.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 10000"));
    }
    let items = s.services.quality.flags(symbol, limit as usize).await?;
    Ok(super::json_body(json!({ "items": items })))
}

/// Missing bars against the exchange calendar, as ranges.
#[utoipa::path(get, path = "/gaps", operation_id = "list_quality_gaps", tag = "quality", params(SymbolParams),
    responses((status = 200, body = QualityGapList)), security(("api_key" = [])))]
async fn gaps(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<SymbolParams>,
) -> ApiResult<Json<Value>> {
    let symbol = check_symbol(&p.symbol)?;
    let limit = p.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 10000"));
    }
    let items = s.services.quality.gaps(symbol, limit as usize).await?;
    Ok(super::json_body(json!({ "items": items })))
}

/// Flag counts and worst severity per symbol and day.
#[utoipa::path(get, path = "/daily", operation_id = "get_quality_daily", tag = "quality", params(DailyParams),
    responses((status = 200, body = QualityDayList)), security(("api_key" = [])))]
async fn daily(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<DailyParams>,
) -> ApiResult<Json<Value>> {
    let symbol = check_symbol(&p.symbol)?;
    crate::extract::date_range(p.from, p.to)?;
    let from = p
        .from
        .or(NaiveDate::from_ymd_opt(1900, 1, 1))
        .unwrap_or_default();
    let to =
        p.to.or(NaiveDate::from_ymd_opt(2999, 12, 31))
            .unwrap_or_default();
    if from > to {
        return Err(ApiError::field("from", "must not be after `to`"));
    }
    let items = s.services.quality.by_day(symbol, from, to).await?;
    Ok(super::json_body(json!({ "items": items })))
}
