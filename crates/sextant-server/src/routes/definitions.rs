//! `/api/v1/strategies/definitions`: user-defined strategies in the rule language, checked,
//! truncation-tested and versioned; `/api/v1/strategies/examples`: the library strategies
//! written as definitions, to start from.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::page::{Page, PageQuery};
use crate::routes::schemas::research::{
    DefinitionCheckDoc as DefinitionCheck, DefinitionExampleList, DefinitionPage,
    DefinitionVersionDoc as DefinitionVersion, DefinitionVersionList,
};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use sextant_core::definitions::{check_definition, DefinitionError};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The definition routes, merged into the strategy router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(examples))
        .routes(routes!(check))
        .routes(routes!(list, create))
        .routes(routes!(get_latest, add_version, delete))
        .routes(routes!(versions))
        .routes(routes!(get_version))
}

impl From<DefinitionError> for ApiError {
    fn from(e: DefinitionError) -> Self {
        match e {
            DefinitionError::Invalid(f) => f.into(),
            DefinitionError::NotFound(_) => ApiError::not_found(e.to_string()),
            DefinitionError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            DefinitionError::Meta(m) => m.into(),
            DefinitionError::Corrupt { .. } => ApiError::internal(e.to_string()),
        }
    }
}

/// A definition to check or save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionInput {
    /// The definition: `name`, `params`, `require`, `let`, `long`, `short` (see
    /// `sextant strategy check --help` and ARCHITECTURE.md).
    #[schema(value_type = Object)]
    pub definition: Value,
}

fn out<T: serde::Serialize>(v: &T) -> ApiResult<Json<Value>> {
    super::to_json(v)
}

/// The library strategies the language expresses, as definitions (bit-identical trades).
#[utoipa::path(get, path = "/examples", operation_id = "list_definition_examples", tag = "strategies",
    responses((status = 200, body = DefinitionExampleList)), security(("api_key" = [])))]
async fn examples() -> Json<Value> {
    let items: Vec<Value> = sextant_backtest::rules::library_definitions()
        .into_iter()
        .map(|(name, d)| json!({"library_strategy": name, "definition": d}))
        .collect();
    super::json_body(json!({ "items": items }))
}

/// Check a definition without saving it: the compiled rules, parameter schema, warm-up and
/// the truncation test; 422 names the field and the offending token.
#[utoipa::path(post, path = "/definitions/check", operation_id = "check_definition", tag = "strategies", request_body = DefinitionInput,
    responses((status = 200, body = DefinitionCheck),
              (status = 422, description = "the definition is invalid", body = crate::error::Problem,
               content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn check(ApiJson(input): ApiJson<DefinitionInput>) -> ApiResult<Json<Value>> {
    let (_, report) = tokio::task::spawn_blocking(move || check_definition(&input.definition))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    out(&report)
}

/// Saved definitions of the caller (all for an admin), most recently changed first.
#[utoipa::path(get, path = "/definitions", operation_id = "list_definitions", tag = "strategies", params(PageQuery),
    responses((status = 200, body = DefinitionPage)), security(("api_key" = [])))]
async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    let page = s
        .services
        .definitions
        .list(caller.actor(), &p.to_request()?)
        .await?;
    out(&Page {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// Save a new strategy (version 1) after checking it and running the truncation test.
#[utoipa::path(post, path = "/definitions", operation_id = "create_definition", tag = "strategies", request_body = DefinitionInput,
    responses((status = 201, body = DefinitionVersion),
              (status = 422, description = "the definition is invalid", body = crate::error::Problem,
               content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<DefinitionInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let saved = s
        .services
        .definitions
        .create(&input.definition, &caller.key_id)
        .await?;
    Ok((StatusCode::CREATED, out(&saved)?))
}

/// The latest version of a saved strategy.
#[utoipa::path(get, path = "/definitions/{id}", operation_id = "get_definition", tag = "strategies", params(("id" = String, Path)),
    responses((status = 200, body = DefinitionVersion)), security(("api_key" = [])))]
async fn get_latest(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    out(&s
        .services
        .definitions
        .get_as(&id, None, caller.actor())
        .await?)
}

/// Save a new version of a strategy (checked and truncation-tested like the first).
#[utoipa::path(put, path = "/definitions/{id}", operation_id = "add_definition_version", tag = "strategies", params(("id" = String, Path)),
    request_body = DefinitionInput,
    responses((status = 201, body = DefinitionVersion),
              (status = 409, description = "a concurrent save took this version", body = crate::error::Problem,
               content_type = "application/problem+json"),
              (status = 422, description = "the definition is invalid", body = crate::error::Problem,
               content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn add_version(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<DefinitionInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let saved = s
        .services
        .definitions
        .add_version(&id, &input.definition, caller.actor())
        .await?;
    Ok((StatusCode::CREATED, out(&saved)?))
}

/// Delete a saved strategy and its versions (runs made with it keep their copy).
#[utoipa::path(delete, path = "/definitions/{id}", operation_id = "delete_definition", tag = "strategies", params(("id" = String, Path)),
    responses((status = 204)), security(("api_key" = [])))]
async fn delete(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.services
        .definitions
        .delete_as(&id, caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of a saved strategy, newest first.
#[utoipa::path(get, path = "/definitions/{id}/versions", operation_id = "list_definition_versions", tag = "strategies", params(("id" = String, Path)),
    responses((status = 200, body = DefinitionVersionList)), security(("api_key" = [])))]
async fn versions(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let v = s
        .services
        .definitions
        .versions_as(&id, caller.actor())
        .await?;
    Ok(super::json_body(json!({ "items": v })))
}

/// One version of a saved strategy.
#[utoipa::path(get, path = "/definitions/{id}/versions/{version}", operation_id = "get_definition_version", tag = "strategies",
    params(("id" = String, Path), ("version" = u32, Path, minimum = 1)),
    responses((status = 200, body = DefinitionVersion)), security(("api_key" = [])))]
async fn get_version(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((id, version)): ApiPath<(String, u32)>,
) -> ApiResult<Json<Value>> {
    out(&s
        .services
        .definitions
        .get_as(&id, Some(version), caller.actor())
        .await?)
}

/// Puts the saved definition in place of a `usd_…` reference in the backtest request at
/// `path` of `body` (`[]`: the body itself), checked against the caller, before the request is
/// parsed, run or queued.
pub(crate) async fn resolve_in(
    s: &AppState,
    caller: &Caller,
    body: &mut Value,
    path: &[&str],
) -> ApiResult<()> {
    let mut req = &mut *body;
    for p in path {
        match req.get_mut(*p) {
            Some(v) => req = v,
            None => return Ok(()),
        }
    }
    let Some(strategy) = req
        .get("strategy")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Ok(());
    };
    if let Some(params) = req.get_mut("params") {
        s.services
            .definitions
            .resolve_params(&strategy, params, caller.actor())
            .await?;
    }
    Ok(())
}
