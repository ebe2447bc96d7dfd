//! `/api/v1/strategies`: the library with parameter schemas, and saved strategy configs
//! validated against those schemas.

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::page::{Page, PageQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_backtest::strategy::strategy_library;
use sextant_core::configs;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The strategy routes: the library and the saved configs.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(library))
        .routes(routes!(list_configs, create_config))
        .routes(routes!(get_config, update_config, delete_config))
        .merge(super::definitions::router())
        .merge(super::agents::builder_router())
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
#[utoipa::path(get, path = "", operation_id = "list_strategies", tag = "strategies", responses((status = 200, body = Vec<StrategyDto>)),
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
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it was last replaced (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The key that saved it.
    #[serde(default)]
    pub owner: Option<String>,
}

/// A stored timestamp in the API's spelling (RFC 3339 with `Z`); as stored when it is not one
/// the store writes.
fn utc_text(stored: String) -> String {
    crate::time::normalise_str(&stored).unwrap_or(stored)
}

impl ConfigInput {
    fn to_core(&self) -> configs::ConfigInput {
        configs::ConfigInput {
            name: self.name.clone(),
            strategy: self.strategy.clone(),
            params: self.params.clone(),
            description: self.description.clone(),
        }
    }
}

impl From<configs::StrategyConfig> for ConfigDto {
    fn from(c: configs::StrategyConfig) -> Self {
        ConfigDto {
            id: c.id,
            name: c.name,
            strategy: c.strategy,
            params: c.params,
            description: c.description,
            created_at: utc_text(c.created_at),
            updated_at: utc_text(c.updated_at),
            owner: c.owner,
        }
    }
}

crate::routes::schemas::page_schema!(
    /// A page of saved strategy configs, newest first.
    StrategyConfigPage,
    ConfigDto
);

/// Saved configs, newest first.
#[utoipa::path(get, path = "/configs", operation_id = "list_strategy_configs", tag = "strategies", params(PageQuery),
    responses((status = 200, body = StrategyConfigPage)), security(("api_key" = [])))]
async fn list_configs(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<ConfigDto>>> {
    let page = s
        .services
        .configs
        .list(caller.actor(), &p.to_request()?)
        .await?;
    Ok(Json(Page {
        items: page.items.into_iter().map(ConfigDto::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Save a strategy config.
#[utoipa::path(post, path = "/configs", operation_id = "create_strategy_config", tag = "strategies", request_body = ConfigInput,
    responses((status = 201, body = ConfigDto)), security(("api_key" = [])))]
async fn create_config(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<ConfigInput>,
) -> ApiResult<(StatusCode, Json<ConfigDto>)> {
    let saved = s
        .services
        .configs
        .create(&input.to_core(), &caller.key_id)
        .await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// One saved config.
#[utoipa::path(get, path = "/configs/{id}", operation_id = "get_strategy_config", tag = "strategies", params(("id" = String, Path)),
    responses((status = 200, body = ConfigDto)), security(("api_key" = [])))]
async fn get_config(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ConfigDto>> {
    let config = s.services.configs.get_as(&id, caller.actor()).await?;
    Ok(Json(config.into()))
}

/// Replace a saved config (validated again).
#[utoipa::path(put, path = "/configs/{id}", operation_id = "update_strategy_config", tag = "strategies", params(("id" = String, Path)),
    request_body = ConfigInput, responses((status = 200, body = ConfigDto)), security(("api_key" = [])))]
async fn update_config(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ConfigInput>,
) -> ApiResult<Json<ConfigDto>> {
    let config = s
        .services
        .configs
        .replace_as(&id, &input.to_core(), caller.actor())
        .await?;
    Ok(Json(config.into()))
}

/// Delete a saved config.
#[utoipa::path(delete, path = "/configs/{id}", operation_id = "delete_strategy_config", tag = "strategies", params(("id" = String, Path)),
    responses((status = 204)), security(("api_key" = [])))]
async fn delete_config(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.services.configs.delete_as(&id, caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
