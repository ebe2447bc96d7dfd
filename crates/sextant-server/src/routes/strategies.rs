//! `/api/v1/strategies`: the library with parameter schemas, and saved strategy configs
//! validated against those schemas.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::page::{fetch, Page, PageQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_backtest::strategy::{build_strategy, strategy_library};
use sextant_meta::Filter;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const CONFIGS: &str = "strategy_configs";

/// The strategy routes: the library and the saved configs.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(library))
        .routes(routes!(list_configs, create_config))
        .routes(routes!(get_config, update_config, delete_config))
}

/// A library strategy.
#[derive(Serialize, ToSchema)]
pub struct StrategyDto {
    /// The name to pass as `strategy`, e.g. `sma_cross`.
    pub name: String,
    /// What the strategy does, in prose.
    pub description: String,
    /// JSON Schema of the parameter object.
    #[schema(value_type = Object)]
    pub schema: Value,
}

/// The strategy library with each parameter schema.
#[utoipa::path(get, path = "", tag = "strategies", responses((status = 200, body = Vec<StrategyDto>)),
    security(("api_key" = [])))]
async fn library() -> Json<Vec<StrategyDto>> {
    Json(
        strategy_library()
            .into_iter()
            .map(|i| StrategyDto {
                name: i.name.into(),
                description: i.description.into(),
                schema: i.schema,
            })
            .collect(),
    )
}

/// A saved strategy configuration.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigInput {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// A library strategy name.
    pub strategy: String,
    /// Parameters, validated against the strategy's schema.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    /// Free text, at most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// A saved strategy config as stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConfigDto {
    /// The config's id.
    pub id: String,
    /// Its name, trimmed.
    pub name: String,
    /// The library strategy.
    pub strategy: String,
    /// The parameters as saved (`{}` when none were given).
    #[schema(value_type = Object)]
    pub params: Value,
    /// Free text, if any.
    pub description: Option<String>,
    /// When it was saved first (RFC 3339, UTC).
    pub created_at: String,
    /// When it was last replaced (RFC 3339, UTC).
    pub updated_at: String,
    /// The key that saved it.
    #[serde(default)]
    pub owner: Option<String>,
}

fn validate(input: &ConfigInput) -> ApiResult<Value> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field("name", "1 to 100 characters"));
    }
    if input
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2000)
    {
        return Err(ApiError::field("description", "at most 2000 characters"));
    }
    let params = input.params.clone().unwrap_or_else(|| json!({}));
    build_strategy(&input.strategy, &params).map_err(|e| {
        let field = e
            .field()
            .map(|f| format!("params.{f}"))
            .unwrap_or_else(|| "strategy".into());
        ApiError::field(field, e.to_string())
    })?;
    Ok(params)
}

fn to_dto(v: Value) -> ApiResult<ConfigDto> {
    let mut v = v;
    if let Some(o) = v.as_object_mut() {
        if let Some(id) = o.remove("_id") {
            o.insert("id".into(), id);
        }
    }
    serde_json::from_value(v)
        .map_err(|e| ApiError::internal(format!("stored config unreadable: {e}")))
}

/// Saved configs, newest first.
#[utoipa::path(get, path = "/configs", tag = "strategies", params(PageQuery),
    responses((status = 200, body = inline(Page<ConfigDto>))), security(("api_key" = [])))]
async fn list_configs(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<ConfigDto>>> {
    let filter = match caller.actor().scope() {
        Some(key) => Filter::new().eq("owner", key),
        None => Filter::new(),
    };
    let page = fetch(s.services.meta.as_ref(), CONFIGS, filter, "created_at", &p).await?;
    Ok(Json(Page {
        items: page
            .items
            .into_iter()
            .map(to_dto)
            .collect::<ApiResult<_>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// Save a strategy config.
#[utoipa::path(post, path = "/configs", tag = "strategies", request_body = ConfigInput,
    responses((status = 201, body = ConfigDto)), security(("api_key" = [])))]
async fn create_config(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<ConfigInput>,
) -> ApiResult<(StatusCode, Json<ConfigDto>)> {
    let params = validate(&input)?;
    let now = chrono::Utc::now().to_rfc3339();
    let doc = json!({"name": input.name.trim(), "strategy": input.strategy, "params": params,
        "description": input.description, "created_at": now, "updated_at": now,
        "owner": caller.key_id});
    let id = s.services.meta.insert(CONFIGS, doc).await?;
    let stored = s.services.meta.get_required(CONFIGS, &id).await?;
    Ok((StatusCode::CREATED, Json(to_dto(stored)?)))
}

/// One saved config.
#[utoipa::path(get, path = "/configs/{id}", tag = "strategies", params(("id" = String, Path)),
    responses((status = 200, body = ConfigDto)), security(("api_key" = [])))]
async fn get_config(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ConfigDto>> {
    Ok(Json(to_dto(owned_config(&s, &caller, &id).await?)?))
}

/// The stored config `id` if the caller may use it (its owner, or an admin); another owner's
/// config is reported as not found.
async fn owned_config(s: &AppState, caller: &Caller, id: &str) -> ApiResult<Value> {
    let doc = s
        .services
        .meta
        .get(CONFIGS, id)
        .await
        .map_err(|_| ApiError::not_found("no such config"))?
        .ok_or_else(|| ApiError::not_found(format!("no strategy config {id}")))?;
    // A config saved before configs had owners belongs to no key: admins only.
    let allowed = match doc.get("owner").and_then(Value::as_str) {
        Some(owner) => caller.actor().may(owner),
        None => caller.actor().admin,
    };
    if allowed {
        Ok(doc)
    } else {
        Err(ApiError::not_found(format!("no strategy config {id}")))
    }
}

/// Replace a saved config (validated again).
#[utoipa::path(put, path = "/configs/{id}", tag = "strategies", params(("id" = String, Path)),
    request_body = ConfigInput, responses((status = 200, body = ConfigDto)), security(("api_key" = [])))]
async fn update_config(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ConfigInput>,
) -> ApiResult<Json<ConfigDto>> {
    let params = validate(&input)?;
    let existing = owned_config(&s, &caller, &id).await?;
    let created = existing.get("created_at").cloned().unwrap_or(Value::Null);
    let owner = existing.get("owner").cloned().unwrap_or(Value::Null);
    let doc = json!({"name": input.name.trim(), "strategy": input.strategy, "params": params,
        "description": input.description, "created_at": created,
        "updated_at": chrono::Utc::now().to_rfc3339(), "owner": owner});
    s.services.meta.replace(CONFIGS, &id, doc).await?;
    Ok(Json(to_dto(
        s.services.meta.get_required(CONFIGS, &id).await?,
    )?))
}

/// Delete a saved config.
#[utoipa::path(delete, path = "/configs/{id}", tag = "strategies", params(("id" = String, Path)),
    responses((status = 204)), security(("api_key" = [])))]
async fn delete_config(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    owned_config(&s, &caller, &id).await?;
    let deleted = s
        .services
        .meta
        .delete(CONFIGS, &id)
        .await
        .map_err(|_| ApiError::not_found("no such config"))?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no strategy config {id}")))
    }
}
