//! Route groups, one module per resource.

pub mod admin;
pub mod agents;
pub mod backtests;
pub mod dashboards;
pub mod definitions;
pub mod evals;
pub mod forecasts;
pub mod ingest;
pub mod jobs;
pub mod market_data;
pub mod mcp;
pub mod me;
pub mod ml;
pub mod mlops;
pub mod mlops_ops;
pub mod ops;
pub mod page;
pub mod portfolios;
pub mod quality;
pub mod reference;
pub mod regimes;
pub mod reports;
pub mod rl;
pub mod schemas;
pub mod strategies;
pub mod tuning;
pub mod universes;
pub mod watchlists;

use crate::error::{ApiError, ApiResult};

/// A JSON body as `T`, a deserialisation error as a 422 naming the field serde names.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> ApiResult<T> {
    serde_json::from_value(body).map_err(|e| {
        let text = e.to_string();
        let field = text
            .split('`')
            .nth(1)
            .map(str::to_string)
            .unwrap_or_else(|| "body".into());
        crate::error::ApiError::field(field, text)
    })
}

/// Serializes a service's answer as the JSON response body, its timestamps as RFC 3339 in UTC
/// (see [`crate::time`]): the services keep naive UTC times, the wire says so.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> ApiResult<axum::Json<serde_json::Value>> {
    serde_json::to_value(v)
        .map(json_body)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// An already built JSON value as the response body, normalised like [`to_json`].
pub(crate) fn json_body(mut v: serde_json::Value) -> axum::Json<serde_json::Value> {
    crate::time::normalise(&mut v);
    axum::Json(v)
}
