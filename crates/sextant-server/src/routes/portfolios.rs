//! `/api/v1/portfolios`: CRUD, transactions, holdings, performance.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::page::PageQuery;
use crate::routes::schemas::portfolios::{
    HoldingsDoc as Holdings, PortfolioDoc as Portfolio, PortfolioPage,
    PortfolioPerformanceDoc as PortfolioPerformance, TransactionDoc as Transaction,
    TransactionPage,
};
use crate::routes::to_json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use sextant_core::portfolios::{NewPortfolio, NewTransaction, PortfolioUpdate, TransactionKind};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The portfolio routes: CRUD, transactions, holdings, performance.
pub fn router() -> OpenApiRouter<AppState> {
    let r = OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(transactions, add_transaction))
        .routes(routes!(delete_transaction))
        .routes(routes!(holdings))
        .routes(routes!(performance));
    crate::routes::forecasts::portfolio_routes(r)
}

fn check_cash(v: Option<f64>) -> ApiResult<()> {
    if v.is_some_and(|c| !(0.0..=1.0e15).contains(&c)) {
        return Err(ApiError::field("base_cash", "between 0 and 1e15"));
    }
    Ok(())
}

/// A portfolio to create; the calling key owns it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortfolioInput {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// Cash held before the first transaction, 0 to 1e15 (default 0); the opening value, not a
    /// deposit.
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1.0e15)]
    pub base_cash: f64,
    /// Whether sells may exceed the quantity held, opening a short position (default false).
    #[serde(default)]
    pub allow_short: bool,
}

/// A partial update: absent fields are left alone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortfolioPatch {
    /// New name, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: Option<String>,
    /// New opening cash, 0 to 1e15.
    #[schema(minimum = 0.0, maximum = 1.0e15)]
    pub base_cash: Option<f64>,
    /// Allow or forbid shorting; forbidding it is refused while the transactions go short at
    /// any time.
    pub allow_short: Option<bool>,
}

/// What a transaction does.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Buy `quantity` of `symbol` at `price`, paying `fee`.
    Buy,
    /// Sell `quantity` of `symbol` at `price`, paying `fee`.
    Sell,
    /// Cash in from outside (an external flow).
    Deposit,
    /// Cash out (an external flow).
    Withdraw,
}

/// A buy/sell (symbol, quantity, price, fee) or a deposit/withdraw (amount).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionInput {
    /// buy, sell, deposit or withdraw.
    pub kind: Kind,
    /// The day it takes effect, at that day's close (YYYY-MM-DD); not in the future.
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// The ticker traded; required for buys and sells, refused otherwise.
    pub symbol: Option<String>,
    /// Shares traded, greater than 0; required for buys and sells, refused otherwise.
    pub quantity: Option<f64>,
    /// Price per share, greater than 0; required for buys and sells, refused otherwise.
    pub price: Option<f64>,
    /// Fee paid on a trade, 0 or more (default 0); buys and sells only.
    pub fee: Option<f64>,
    /// Cash moved, greater than 0; required for deposits and withdrawals, refused for trades.
    pub amount: Option<f64>,
    /// Free text, at most 500 characters.
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Portfolios, newest first.
#[utoipa::path(get, path = "", operation_id = "list_portfolios", tag = "portfolios", params(PageQuery),
    responses((status = 200, body = PortfolioPage)), security(("api_key" = [])))]
async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    to_json(
        &s.services
            .portfolios
            .list(caller.actor().scope(), &p.to_request()?)
            .await?,
    )
}

/// Create a portfolio.
#[utoipa::path(post, path = "", operation_id = "create_portfolio", tag = "portfolios", request_body = PortfolioInput,
    responses((status = 201, body = Portfolio)), security(("api_key" = [])))]
async fn create(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(p): ApiJson<PortfolioInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    check_cash(Some(p.base_cash))?;
    let new = NewPortfolio {
        name: p.name,
        base_cash: p.base_cash,
        allow_short: p.allow_short,
    };
    let created = s
        .services
        .portfolios
        .create_with(&new, &caller.key_id)
        .await?;
    Ok((StatusCode::CREATED, to_json(&created)?))
}

/// One portfolio.
#[utoipa::path(get, path = "/{id}", operation_id = "get_portfolio", tag = "portfolios", params(("id" = String, Path)),
    responses((status = 200, body = Portfolio)), security(("api_key" = [])))]
async fn get_one(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    to_json(&s.services.portfolios.get_as(&id, caller.actor()).await?)
}

/// Update name, base cash or shorting.
#[utoipa::path(patch, path = "/{id}", operation_id = "update_portfolio", tag = "portfolios", params(("id" = String, Path)),
    request_body = PortfolioPatch, responses((status = 200, body = Portfolio)), security(("api_key" = [])))]
async fn update(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(p): ApiJson<PortfolioPatch>,
) -> ApiResult<Json<Value>> {
    s.services.portfolios.get_as(&id, caller.actor()).await?;
    check_cash(p.base_cash)?;
    let up = PortfolioUpdate {
        name: p.name,
        base_cash: p.base_cash,
        allow_short: p.allow_short,
    };
    to_json(&s.services.portfolios.update(&id, &up).await?)
}

/// Delete a portfolio and its transactions.
#[utoipa::path(delete, path = "/{id}", operation_id = "delete_portfolio", tag = "portfolios", params(("id" = String, Path)),
    responses((status = 204)), security(("api_key" = [])))]
async fn delete(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.services.portfolios.get_as(&id, caller.actor()).await?;
    s.services.portfolios.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Transactions by date.
#[utoipa::path(get, path = "/{id}/transactions", operation_id = "list_portfolio_transactions", tag = "portfolios", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = TransactionPage)), security(("api_key" = [])))]
async fn transactions(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    s.services.portfolios.get_as(&id, caller.actor()).await?;
    to_json(
        &s.services
            .portfolios
            .transactions(&id, &p.to_request()?)
            .await?,
    )
}

/// Record a transaction (validated against the whole history: no oversell unless shorting).
#[utoipa::path(post, path = "/{id}/transactions", operation_id = "add_portfolio_transaction", tag = "portfolios", params(("id" = String, Path)),
    request_body = TransactionInput, responses((status = 201, body = Transaction)), security(("api_key" = [])))]
async fn add_transaction(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(t): ApiJson<TransactionInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    s.services.portfolios.get_as(&id, caller.actor()).await?;
    let new = NewTransaction {
        kind: match t.kind {
            Kind::Buy => TransactionKind::Buy,
            Kind::Sell => TransactionKind::Sell,
            Kind::Deposit => TransactionKind::Deposit,
            Kind::Withdraw => TransactionKind::Withdraw,
        },
        date: t.date,
        symbol: t.symbol,
        quantity: t.quantity,
        price: t.price,
        fee: t.fee,
        amount: t.amount,
        note: t.note,
    };
    let tx = s.services.portfolios.add_transaction(&id, &new).await?;
    Ok((StatusCode::CREATED, to_json(&tx)?))
}

/// Delete a transaction (refused if the remaining history would oversell).
#[utoipa::path(delete, path = "/{id}/transactions/{tx}", operation_id = "delete_portfolio_transaction", tag = "portfolios",
    params(("id" = String, Path), ("tx" = String, Path)), responses((status = 204)), security(("api_key" = [])))]
async fn delete_transaction(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((id, tx)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    s.services.portfolios.get_as(&id, caller.actor()).await?;
    s.services.portfolios.delete_transaction(&id, &tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The valuation date of holdings.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOf {
    /// Valuation date (default today).
    #[param(value_type = Option<String>, format = Date)]
    pub as_of: Option<NaiveDate>,
}

/// Holdings with market value, unrealised P&L and weights.
#[utoipa::path(get, path = "/{id}/holdings", operation_id = "get_portfolio_holdings", tag = "portfolios", params(("id" = String, Path), AsOf),
    responses((status = 200, body = Holdings)), security(("api_key" = [])))]
async fn holdings(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AsOf>,
) -> ApiResult<Json<Value>> {
    if let Some(d) = q.as_of {
        sextant_domain::dates::check_date("as_of", d)
            .map_err(|e| ApiError::field("as_of", e.to_string()))?;
    }
    s.services.portfolios.get_as(&id, caller.actor()).await?;
    to_json(&s.services.portfolios.holdings(&id, q.as_of).await?)
}

/// The period of a performance report.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// First day, inclusive (YYYY-MM-DD); default: the first transaction's date (the creation
    /// date when there is none).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Last day, inclusive (YYYY-MM-DD), not before `from`; default: the newest cached close or
    /// transaction.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
}

/// Performance from cached prices: value series, time-weighted returns, KPIs, drawdown, allocation.
#[utoipa::path(get, path = "/{id}/performance", operation_id = "get_portfolio_performance", tag = "portfolios", params(("id" = String, Path), Range),
    responses((status = 200, body = PortfolioPerformance)), security(("api_key" = [])))]
async fn performance(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<Range>,
) -> ApiResult<Json<Value>> {
    crate::extract::date_range(q.from, q.to)?;
    s.services.portfolios.get_as(&id, caller.actor()).await?;
    to_json(
        &s.services
            .portfolios
            .get_portfolio_performance(&id, q.from, q.to)
            .await?,
    )
}
