//! `/api/v1/dashboard`: one overview for the calling key.

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The overview route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(overview))
}

/// KPIs across the caller's portfolios, recent backtests, data freshness and job activity.
#[utoipa::path(get, path = "", operation_id = "get_dashboard", tag = "dashboard", responses((status = 200, body = crate::routes::schemas::portfolios::DashboardOverviewDoc)),
    security(("api_key" = [])))]
async fn overview(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    let o = s.services.dashboard.overview(&caller.key_id).await?;
    super::to_json(&o)
}
