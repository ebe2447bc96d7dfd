//! `/api/v1/me`: who the presented key is, so a client (the dashboard) can show what the key may
//! do without probing routes that would answer 403.

use crate::auth::{Caller, Role};
use crate::state::AppState;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The route, open to every role.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(current_key))
}

/// The calling key.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The key's id (12 hex digits).
    pub key_id: String,
    /// The key's role: viewer, analyst or admin.
    pub role: Role,
}

/// The key that made this request and its role.
#[utoipa::path(get, path = "", tag = "auth", operation_id = "get_current_key",
    responses((status = 200, body = Me)), security(("api_key" = [])))]
async fn current_key(Extension(caller): Extension<Caller>) -> Json<Me> {
    Json(Me {
        key_id: caller.key_id,
        role: caller.role,
    })
}
