//! `/api/v1/admin`: API keys (admin only).

use crate::auth::{KeyInfo, NewKey, Role};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The key routes: list, create, revoke. The admin role they need is enforced by
/// [`crate::auth::middleware`].
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
        .merge(super::agents::audit_router())
}

/// A key to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// viewer, analyst or admin.
    pub role: Role,
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
}

/// API keys (never their secrets).
#[utoipa::path(get, path = "/keys", operation_id = "list_api_keys", tag = "admin", responses((status = 200, body = Vec<KeyInfo>)),
    security(("api_key" = [])))]
async fn list_keys(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    // Stored as `+00:00`; the API spells UTC `Z` like every other time it returns.
    super::to_json(&s.auth.list().await?)
}

/// Create a key; the response shows the secret once.
#[utoipa::path(post, path = "/keys", operation_id = "create_api_key", tag = "admin", request_body = KeyInput,
    responses((status = 201, body = NewKey)), security(("api_key" = [])))]
async fn create_key(
    State(s): State<AppState>,
    ApiJson(k): ApiJson<KeyInput>,
) -> ApiResult<(StatusCode, Json<NewKey>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.auth.create(k.role, &k.name).await?),
    ))
}

/// Revoke a key.
#[utoipa::path(delete, path = "/keys/{id}", operation_id = "revoke_api_key", tag = "admin", params(("id" = String, Path)),
    responses((status = 204)), security(("api_key" = [])))]
async fn revoke_key(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::not_found(format!("no key {id:?}")));
    }
    if s.auth
        .revoke(&id)
        .await
        .map_err(|_| ApiError::not_found("no such key"))?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no key {id}")))
    }
}
