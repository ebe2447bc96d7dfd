//! `/api/v1/watchlists`: CRUD, symbol edits, and quotes (latest close, trailing returns).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::page::PageQuery;
use crate::routes::schemas::portfolios::{
    WatchlistDoc as Watchlist, WatchlistPage, WatchlistQuotesDoc as WatchlistQuotes,
};
use crate::routes::to_json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::Value;
use sextant_core::watchlists::WatchlistUpdate;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The watchlist routes: CRUD, symbol edits, quotes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(add_symbols, remove_symbols))
        .routes(routes!(quotes))
}

/// The API's page bounds (1 to 200) applied before the service sees the request.
fn non_empty(symbols: &[String]) -> ApiResult<()> {
    if symbols.is_empty() || symbols.len() > 500 {
        return Err(ApiError::field("symbols", "1 to 500 symbols"));
    }
    Ok(())
}

/// A watchlist to create; the calling key owns it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchlistInput {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// Up to 500 tickers (default none); duplicates are dropped, and tickers the cache does not
    /// hold yet are accepted.
    #[serde(default)]
    #[schema(max_items = 500)]
    pub symbols: Vec<String>,
}

/// A partial update: absent fields are left alone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchlistPatch {
    /// New name, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: Option<String>,
    /// Replaces the whole list, up to 500 tickers.
    #[schema(max_items = 500)]
    pub symbols: Option<Vec<String>>,
}

/// Tickers to add to or remove from a watchlist.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SymbolsInput {
    /// 1 to 500 tickers.
    #[schema(min_items = 1, max_items = 500)]
    pub symbols: Vec<String>,
}

/// Watchlists, newest first.
#[utoipa::path(get, path = "", operation_id = "list_watchlists", tag = "watchlists", params(PageQuery),
    responses((status = 200, body = WatchlistPage)), security(("api_key" = [])))]
async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    to_json(
        &s.services
            .watchlists
            .list(caller.actor().scope(), &p.to_request()?)
            .await?,
    )
}

/// Create a watchlist.
#[utoipa::path(post, path = "", operation_id = "create_watchlist", tag = "watchlists", request_body = WatchlistInput,
    responses((status = 201, body = Watchlist)), security(("api_key" = [])))]
async fn create(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(w): ApiJson<WatchlistInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = s
        .services
        .watchlists
        .create(&w.name, &w.symbols, &caller.key_id)
        .await?;
    Ok((StatusCode::CREATED, to_json(&created)?))
}

/// One watchlist.
#[utoipa::path(get, path = "/{id}", operation_id = "get_watchlist", tag = "watchlists", params(("id" = String, Path)),
    responses((status = 200, body = Watchlist)), security(("api_key" = [])))]
async fn get_one(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    to_json(&s.services.watchlists.get_as(&id, caller.actor()).await?)
}

/// Rename and/or replace the symbols.
#[utoipa::path(patch, path = "/{id}", operation_id = "update_watchlist", tag = "watchlists", params(("id" = String, Path)),
    request_body = WatchlistPatch, responses((status = 200, body = Watchlist)), security(("api_key" = [])))]
async fn update(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(w): ApiJson<WatchlistPatch>,
) -> ApiResult<Json<Value>> {
    let up = WatchlistUpdate {
        name: w.name,
        symbols: w.symbols,
    };
    s.services.watchlists.get_as(&id, caller.actor()).await?;
    to_json(&s.services.watchlists.update(&id, &up).await?)
}

/// Delete a watchlist.
#[utoipa::path(delete, path = "/{id}", operation_id = "delete_watchlist", tag = "watchlists", params(("id" = String, Path)),
    responses((status = 204)), security(("api_key" = [])))]
async fn delete(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.services.watchlists.get_as(&id, caller.actor()).await?;
    s.services.watchlists.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add symbols.
#[utoipa::path(post, path = "/{id}/symbols", operation_id = "add_watchlist_symbols", tag = "watchlists", params(("id" = String, Path)),
    request_body = SymbolsInput, responses((status = 200, body = Watchlist)), security(("api_key" = [])))]
async fn add_symbols(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<SymbolsInput>,
) -> ApiResult<Json<Value>> {
    non_empty(&b.symbols)?;
    s.services.watchlists.get_as(&id, caller.actor()).await?;
    to_json(&s.services.watchlists.add_symbols(&id, &b.symbols).await?)
}

/// Remove symbols.
#[utoipa::path(delete, path = "/{id}/symbols", operation_id = "remove_watchlist_symbols", tag = "watchlists", params(("id" = String, Path)),
    request_body = SymbolsInput, responses((status = 200, body = Watchlist)), security(("api_key" = [])))]
async fn remove_symbols(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<SymbolsInput>,
) -> ApiResult<Json<Value>> {
    non_empty(&b.symbols)?;
    s.services.watchlists.get_as(&id, caller.actor()).await?;
    to_json(
        &s.services
            .watchlists
            .remove_symbols(&id, &b.symbols)
            .await?,
    )
}

/// Latest close and returns over 1D, 1W, 1M, 3M, YTD, 1Y for each symbol.
#[utoipa::path(get, path = "/{id}/quotes", operation_id = "get_watchlist_quotes", tag = "watchlists", params(("id" = String, Path)),
    responses((status = 200, body = WatchlistQuotes)), security(("api_key" = [])))]
async fn quotes(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    s.services.watchlists.get_as(&id, caller.actor()).await?;
    to_json(&s.services.watchlists.quotes(&id).await?)
}
