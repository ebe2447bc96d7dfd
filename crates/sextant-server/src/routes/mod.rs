//! Route groups, one module per resource.

pub mod admin;
pub mod backtests;
pub mod dashboards;
pub mod forecasts;
pub mod jobs;
pub mod market_data;
pub mod ml;
pub mod ops;
pub mod page;
pub mod portfolios;
pub mod quality;
pub mod regimes;
pub mod reports;
pub mod strategies;
pub mod tuning;
pub mod watchlists;

use crate::error::{ApiError, ApiResult};

/// Serializes a service's answer as the JSON response body.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> ApiResult<axum::Json<serde_json::Value>> {
    serde_json::to_value(v)
        .map(axum::Json)
        .map_err(|e| ApiError::internal(e.to_string()))
}
