#![warn(missing_docs)]
//! Sextant's HTTP API.
//!
//! Built from the same [`sextant_core::Services`] registry as the CLI. Every route is declared
//! once with its OpenAPI description (utoipa), so the served spec at `/api/v1/openapi.json` is the
//! code's contract. Errors are RFC 9457 problem+json; roles are enforced in one middleware
//! ([`auth::required_role`]); bodies are limited, requests time out, keys are rate limited.

pub mod auth;
pub mod error;
mod extract;
pub mod metrics;
pub mod openapi;
pub mod reference_jobs;
pub mod routes;
pub mod series_cache;
pub mod state;
pub mod time;
pub mod web;

pub use state::{AppState, Limits};

use axum::http::{HeaderName, StatusCode};
use axum::Router;
use error::ApiError;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

/// The full application router.
pub fn router(state: AppState, limits: &Limits) -> Router {
    let (api, spec) = OpenApiRouter::with_openapi(openapi::base())
        .merge(routes::ops::router())
        .nest("/api/v1/market-data", routes::market_data::router())
        .nest("/api/v1/ingest", routes::ingest::router())
        .nest(
            "/api/v1/instruments",
            routes::reference::instruments_router(),
        )
        .nest("/api/v1/symbols", routes::reference::symbols_router())
        .nest("/api/v1/macro", routes::reference::macro_router())
        .nest("/api/v1/strategies", routes::strategies::router())
        .nest("/api/v1/backtests", routes::backtests::router())
        .nest("/api/v1/watchlists", routes::watchlists::router())
        .nest("/api/v1/portfolios", routes::portfolios::router())
        .nest("/api/v1/dashboard", routes::dashboards::router())
        .nest("/api/v1/jobs", routes::jobs::router())
        .nest("/api/v1/quality", routes::quality::router())
        .nest("/api/v1/forecasts", routes::forecasts::router())
        .nest("/api/v1/studies", routes::tuning::router())
        .nest("/api/v1/universes", routes::universes::router())
        .nest("/api/v1/factors", routes::universes::factors_router())
        .nest("/api/v1/features", routes::ml::features_router())
        .nest("/api/v1/signals", routes::ml::signals_router())
        .nest("/api/v1/models", routes::ml::models_router())
        .nest("/api/v1/rl", routes::rl::router())
        .nest("/api/v1/admin", routes::admin::router())
        .nest("/api/v1/me", routes::me::router())
        .nest(
            "/api/v1/mlops",
            routes::mlops::runs_router()
                .merge(routes::mlops_ops::router())
                .merge(routes::evals::router()),
        )
        .nest("/api/v1/chat", routes::agents::chat_router())
        .split_for_parts();
    let spec = openapi::finish(spec);
    let request_id = HeaderName::from_static("x-request-id");
    api.merge(openapi::router(spec))
        .merge(routes::mcp::router())
        .merge(web::router(state.services.config.server.web_dir.clone()))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "method not allowed on this route")
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::middleware))
        .layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::middleware))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.timeout_secs),
        ))
        .layer(axum::middleware::from_fn(error::request_scope))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string();
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address reaches the auth middleware (failed key checks are limited per client).
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
