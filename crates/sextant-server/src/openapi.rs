//! The OpenAPI 3.1 document.

use crate::error::Problem;
use crate::state::AppState;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{OpenApi as _, PartialSchema, ToSchema};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Sextant API",
        description = "Quant-research backend: market data, strategies, backtests."
    ),
    components(schemas(
        Problem,
        crate::error::FieldError,
        crate::routes::backtests::ResolutionName
    ))
)]
struct Base;

/// The document's fixed part (title, description, shared schemas), before the routes add their
/// paths.
pub fn base() -> OpenApi {
    Base::openapi()
}

/// Adds the bearer security scheme and the error responses every operation can return.
pub fn finish(mut spec: OpenApi) -> OpenApi {
    let components = spec.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "api_key",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components
        .schemas
        .insert(Problem::name().into(), Problem::schema());
    let problem = |desc: &str| {
        ResponseBuilder::new()
            .description(desc)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    let common: [(&str, &str); 9] = [
        ("400", "Malformed request"),
        ("401", "Missing or unknown API key"),
        ("403", "The key's role is too low"),
        ("404", "Not found"),
        ("405", "Method not allowed"),
        ("413", "Body too large"),
        ("415", "Unsupported media type"),
        ("422", "Validation failed; `errors` names the fields"),
        ("429", "Rate limited; see Retry-After"),
    ];
    for item in spec.paths.paths.values_mut() {
        let ops: [&mut Option<Operation>; 5] = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            for (code, desc) in common {
                op.responses
                    .responses
                    .entry(code.to_string())
                    .or_insert_with(|| problem(desc).into());
            }
        }
    }
    spec
}

/// `/api/v1/openapi.json` (the explorer at `/docs` is served by [`crate::web`]).
pub fn router(spec: OpenApi) -> Router<AppState> {
    let json = spec.to_pretty_json().unwrap_or_else(|_| "{}".into());
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    // The strategy names are data (the library), so they are added to the schemas here.
    let names: Vec<serde_json::Value> = sextant_backtest::strategy::strategy_library()
        .into_iter()
        .map(|i| serde_json::Value::from(i.name))
        .collect();
    for schema in ["ConfigInput", "BacktestRequestDoc"] {
        if let Some(p) =
            value.pointer_mut(&format!("/components/schemas/{schema}/properties/strategy"))
        {
            p["enum"] = serde_json::Value::Array(names.clone());
        }
    }
    Router::new().route(
        "/api/v1/openapi.json",
        get(move || async move { Json(value.clone()) }),
    )
}
