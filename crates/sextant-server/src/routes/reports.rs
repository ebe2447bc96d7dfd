//! The narrative of a stored backtest (the service lives in `sextant_core::reports`).

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::Value;

/// The narrative of a stored backtest (markdown plus the fact sheet and the validation report).
/// Cached per (backtest, prompt version, model).
#[utoipa::path(get, path = "/{id}/report", operation_id = "get_backtest_report", tag = "backtests", params(("id" = String, Path)),
    responses((status = 200, body = crate::routes::schemas::runs::BacktestReportDoc)), security(("api_key" = [])))]
pub async fn report(
    State(s): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    crate::routes::backtests::visible_run(&s, &caller, &id).await?;
    let report = s
        .services
        .reports
        .report(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no backtest {id}")))?;
    super::to_json(&report)
}
