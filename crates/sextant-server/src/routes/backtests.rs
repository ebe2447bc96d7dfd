//! `/api/v1/backtests`: run (inline), list with filters and pagination, get, trades, equity
//! curve, compare, walk-forward.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::market_data::blocking;
use crate::routes::page::{Page, PageQuery};
use crate::routes::schemas::runs::{
    BacktestPage, BacktestRunDoc as BacktestRun, RegimeSliceDoc as RegimeSlice, TradeDoc as Trade,
    WalkForwardReportDoc as WalkForwardReport,
};
use crate::routes::schemas::JobDoc as Job;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_core::backtest::{
    BacktestRequest, RunOptions, RunOutcome, WalkForwardSpec, WalkOutcome,
};
use sextant_core::jobs::JobKind;
use sextant_domain::SessionModel;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The backtest routes, including the narrative report (`GET /{id}/report`).
pub fn router() -> OpenApiRouter<AppState> {
    let r = OpenApiRouter::new()
        .routes(routes!(list, run))
        .routes(routes!(compare))
        .routes(routes!(walk))
        .routes(routes!(get_run))
        .routes(routes!(trades))
        .routes(routes!(equity))
        .routes(routes!(by_regime))
        .routes(routes!(super::reports::report));
    crate::routes::tuning::backtest_routes(crate::routes::forecasts::backtest_routes(r))
}

/// A backtest request (see the strategy library for `strategy` and `params`).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct BacktestRequestDoc {
    /// A library strategy, e.g. `sma_cross`.
    pub strategy: String,
    /// Validated against the strategy's JSON Schema.
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    /// One or more symbols, e.g. `["MSFT"]` (up to 50; up to 1,000 for the portfolio
    /// strategies `topk_dropout`, `topk_weighted` and `long_short`). Omitted with `universe`.
    #[schema(min_items = 1, max_items = 1000, inline)]
    pub symbols: Option<Vec<SymbolString>>,
    /// A named universe (`GET /api/v1/universes`) traded instead of `symbols`: its members,
    /// each ranked only while a member; the run's manifest records the membership and a
    /// survivorship notice when no member was delisted.
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    pub universe: Option<String>,
    /// Default `daily`.
    #[schema(inline)]
    pub resolution: Option<ResolutionName>,
    /// First session, inclusive (YYYY-MM-DD, 1800-01-01 to 2199-12-31); default: the first
    /// cached bar.
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last session, inclusive (YYYY-MM-DD, not before `from`); default: the last cached bar.
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Simulator settings: initial_cash, fill (next_open | signal_close), costs
    /// {commission_pct, commission_fixed, slippage_bps}, shares (whole | fractional), sizer.
    #[schema(value_type = Option<Object>)]
    pub sim: Option<Value>,
    /// Recorded in the run (and so part of its id) for reproducibility; default 0. The built-in
    /// strategies are deterministic and ignore it.
    pub seed: Option<u64>,
    /// Bars per year used to annualise the metrics; default from the resolution (252 for
    /// daily bars).
    #[schema(exclusive_minimum = 0.0, maximum = 1000000.0)]
    pub periods_per_year: Option<f64>,
}

/// A ticker symbol.
#[derive(Deserialize, ToSchema)]
#[schema(value_type = String, pattern = "^[A-Za-z0-9.^_/-]{1,32}$")]
#[allow(dead_code)]
pub struct SymbolString(pub(crate) String);

/// A bar resolution.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub enum ResolutionName {
    /// One-minute bars (`1min`).
    #[serde(rename = "1min")]
    Min1,
    /// Five-minute bars (`5min`).
    #[serde(rename = "5min")]
    Min5,
    /// Fifteen-minute bars (`15min`).
    #[serde(rename = "15min")]
    Min15,
    /// Thirty-minute bars (`30min`).
    #[serde(rename = "30min")]
    Min30,
    /// Hourly bars (`60min`).
    #[serde(rename = "60min")]
    Min60,
    /// One bar per trading session.
    Daily,
    /// One bar per week.
    Weekly,
    /// One bar per month.
    Monthly,
}

/// A stored run: id, manifest, metrics.
#[derive(Serialize, ToSchema)]
pub struct RunDto {
    /// The run id: `bt_` and 24 hex digits, a hash of the run's manifest.
    pub id: String,
    /// The stored run: manifest (request, data snapshot, engine version), metrics, final
    /// equity, bar and trade counts.
    #[schema(value_type = Object)]
    pub run: Value,
}

fn parse_request(body: Value) -> ApiResult<BacktestRequest> {
    super::parse_body(body)
}

/// Upper bound of bars × symbols run inline; larger requests belong in a job.
const INLINE_LIMIT: usize = 200_000;

/// Run a backtest and store it (content-addressed: the same request returns the same id).
/// Small runs answer inline (201 with the run); large ones are queued as a `backtest` job
/// (202 with the job: follow `/api/v1/jobs/{id}/events`).
#[utoipa::path(post, path = "", operation_id = "run_backtest", tag = "backtests", request_body = BacktestRequestDoc,
    responses((status = 201, description = "the stored run", body = BacktestRun),
              (status = 202, description = "too large to run inline: the queued `backtest` job",
               body = Job),
              (status = 429, description = "the key's open-job quota or rate limit is used up",
               body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn run(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(mut body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    super::definitions::resolve_in(&s, &caller, &mut body, &[]).await?;
    let req = parse_request(body.clone())?;
    // A universe is resolved into its members by `run_with` (and by the job, if it becomes one).
    req.validate()?;
    let opts = RunOptions {
        owner: Some(caller.key_id.clone()),
        max_cost: Some(INLINE_LIMIT),
        ..RunOptions::default()
    };
    match s.services.backtests.run_with(&req, opts).await? {
        RunOutcome::Done(run) => Ok((StatusCode::CREATED, super::to_json(&run)?)),
        RunOutcome::TooLarge { .. } => {
            let job = s
                .jobs
                .submit(JobKind::Backtest.name(), body, &caller.key_id)
                .await?;
            Ok((StatusCode::ACCEPTED, super::to_json(&job)?))
        }
    }
}

/// Filter and page of the run listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only runs of this strategy.
    pub strategy: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 2, pattern = "^([0-9a-f]{2})+$")]
    pub cursor: Option<String>,
}

/// Stored runs, newest first.
#[utoipa::path(get, path = "", operation_id = "list_backtests", tag = "backtests", params(ListQuery),
    responses((status = 200, body = BacktestPage)), security(("api_key" = [])))]
async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    // A key lists the runs it owns; an admin every run.
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .to_request()?;
    let page = s
        .services
        .backtests
        .list(caller.actor(), q.strategy.as_deref(), &page)
        .await?;
    super::to_json(&Page {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// Stored run `id` if the caller may read it (see `BacktestService::get_as`); 404 otherwise.
pub(crate) async fn visible_run(
    s: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<sextant_core::backtest::BacktestRun> {
    let run_id = check_id(id)?;
    s.services
        .backtests
        .get_as(run_id.as_str(), caller.actor())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no backtest {id}")))
}

/// A run id from a path, checked once: anything that is not one names no run.
fn check_id(id: &str) -> ApiResult<sextant_domain::RunId> {
    sextant_domain::RunId::new_checked(id)
        .map_err(|_| ApiError::not_found(format!("no backtest {id:?}")))
}

/// One stored run.
#[utoipa::path(get, path = "/{id}", operation_id = "get_backtest", tag = "backtests", params(("id" = String, Path)),
    responses((status = 200, body = BacktestRun)), security(("api_key" = [])))]
async fn get_run(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    super::to_json(&visible_run(&s, &caller, &id).await?)
}

/// A run's trades.
#[utoipa::path(get, path = "/{id}/trades", operation_id = "get_backtest_trades", tag = "backtests", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Trade>)), security(("api_key" = [])))]
async fn trades(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    visible_run(&s, &caller, &id).await?;
    super::to_json(&s.services.backtests.trades(&id).await?)
}

/// The run's value at the close of one bar.
#[derive(Serialize, ToSchema)]
pub struct EquityPointDto {
    /// The bar's time, RFC 3339 in UTC (`2008-09-26T00:00:00Z`; the session date at 00:00 for
    /// daily and coarser bars).
    #[schema(format = DateTime)]
    pub ts: String,
    /// The exchange-local session the bar belongs to (YYYY-MM-DD): the bar's date for daily and
    /// coarser runs; for intraday runs the session of the first symbol's session model (FX days
    /// roll at 17:00 New York) or its exchange's local date.
    #[schema(value_type = String, format = Date)]
    pub session_date: NaiveDate,
    /// Cash plus positions marked at the bar's close.
    pub equity: f64,
    /// The cash part of `equity`.
    pub cash: f64,
}

/// A run's equity curve.
#[utoipa::path(get, path = "/{id}/equity", operation_id = "get_backtest_equity", tag = "backtests", params(("id" = String, Path)),
    responses((status = 200, body = Vec<EquityPointDto>),
              (status = 409, description = "an intraday run's first bars are no longer cached, so its sessions cannot be dated",
               body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn equity(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<EquityPointDto>>> {
    let run = visible_run(&s, &caller, &id).await?;
    let resolution = run.manifest.request.resolution;
    let first = run.manifest.request.symbols.first().cloned();
    let backtests = s.services.backtests.clone();
    let reads = s.services.reads.clone();
    let id2 = id.clone();
    let (pts, (model, tz)) = blocking(move || {
        let pts = backtests.equity_curve(&id2)?;
        let zone = match (resolution.is_intraday(), first, pts.first()) {
            (true, Some(symbol), Some(p)) => session_zone(&reads.get(), &symbol, resolution, p.ts)?,
            _ => (SessionModel::Xnys, String::new()),
        };
        Ok((pts, zone))
    })
    .await?;
    if pts.is_empty() {
        return Err(ApiError::not_found(format!(
            "no equity curve for backtest {id}"
        )));
    }
    Ok(Json(
        pts.into_iter()
            .map(|p| EquityPointDto {
                ts: crate::time::utc(p.ts),
                session_date: crate::time::session_date(p.ts, resolution, model, &tz),
                equity: p.equity,
                cash: p.cash,
            })
            .collect(),
    ))
}

/// The session model and exchange time zone that date an intraday run's bars: those of its
/// first symbol (its instrument record; the zone of its bars on an exchange other than the
/// NYSE). A run without a symbol (a universe) is dated in UTC.
fn session_zone(
    cache: &sextant_data::Cache,
    symbol: &sextant_domain::Symbol,
    resolution: sextant_domain::Resolution,
    first: chrono::NaiveDateTime,
) -> ApiResult<(SessionModel, String)> {
    let model = cache.instrument(symbol)?.session;
    let tz = match model {
        SessionModel::Xnys => "America/New_York".to_string(),
        SessionModel::Weekdays => {
            let day = Some(first.date());
            match cache.bars(symbol, resolution, day, day)?.first() {
                Some(b) => b.tz.clone(),
                // Dating the curve in UTC would shift its sessions by a day on some exchanges.
                None => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "data-changed",
                        format!(
                            "the cache no longer holds {symbol}'s {resolution} bars of {}, whose \
                             time zone dates this run's sessions",
                            first.date()
                        ),
                    ))
                }
            }
        }
        // Around-the-clock models assign sessions by the clock; no zone is needed.
        SessionModel::Fx24x5 | SessionModel::Crypto24x7 => String::new(),
    };
    Ok((model, tz))
}

/// Which regime model splits the run.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegimeModelQuery {
    /// A regime model name (see `/api/v1/market-data/regime/models`).
    #[param(pattern = "^[A-Za-z0-9_.^-]{1,64}$")]
    pub model: String,
}

/// A run's performance in each regime of a model: its daily returns grouped by the label of
/// the day (return, volatility, Sharpe, drawdown per regime; days before the model's first fit
/// are left out and each slice says how many days it covers).
#[utoipa::path(get, path = "/{id}/regimes", operation_id = "get_backtest_regimes", tag = "backtests",
    params(("id" = String, Path), RegimeModelQuery),
    responses((status = 200, body = Vec<RegimeSlice>),
              (status = 404, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn by_regime(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<RegimeModelQuery>,
) -> ApiResult<Json<Value>> {
    if !sextant_core::regimes::service::is_model_name(&q.model) {
        return Err(ApiError::field(
            "model",
            "a model name: 1 to 64 characters of A-Z, a-z, 0-9, _, ., ^ and -",
        ));
    }
    let run = visible_run(&s, &caller, &id).await?;
    let cache = s.services.backtests.reader();
    let slices = sextant_core::regimes::performance_by_regime(
        &cache,
        &s.services.regimes,
        &run.id,
        &q.model,
    )
    .await?;
    super::to_json(&slices)
}

/// The runs to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// Comma-separated run ids (2 to 20).
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64}){1,19}$")]
    pub ids: String,
}

/// One run in a comparison, in the order the ids were given.
#[derive(Serialize, ToSchema)]
pub struct CompareRow {
    /// The run id.
    pub id: String,
    /// The strategy the run used.
    pub strategy: String,
    /// The strategy parameters as requested.
    #[schema(value_type = Object)]
    pub params: Value,
    /// The symbols traded.
    pub symbols: Vec<String>,
    /// The run's performance metrics.
    #[schema(value_type = Object)]
    pub metrics: Value,
    /// Equity at the last bar.
    pub final_equity: f64,
}

/// Compare several runs side by side.
#[utoipa::path(get, path = "/compare", operation_id = "compare_backtests", tag = "backtests", params(CompareQuery),
    responses((status = 200, body = Vec<CompareRow>)), security(("api_key" = [])))]
async fn compare(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> ApiResult<Json<Vec<CompareRow>>> {
    let ids: Vec<&str> = q
        .ids
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect();
    if !(2..=20).contains(&ids.len()) {
        return Err(ApiError::field("ids", "2 to 20 comma-separated run ids"));
    }
    let mut out = Vec::new();
    for id in ids {
        let run = visible_run(&s, &caller, id).await?;
        out.push(CompareRow {
            id: run.id.clone(),
            strategy: run.manifest.request.strategy.clone(),
            params: run.manifest.request.params.clone(),
            symbols: run
                .manifest
                .request
                .symbols
                .iter()
                .map(|x| x.to_string())
                .collect(),
            metrics: serde_json::to_value(&run.metrics)
                .map_err(|e| ApiError::internal(e.to_string()))?,
            final_equity: run.final_equity,
        });
    }
    Ok(Json(out))
}

/// A walk-forward request: the backtest to walk and how to cut its bars into windows.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct WalkForwardDoc {
    /// The backtest; its `params` are used when `spec.candidates` is empty.
    pub request: BacktestRequestDoc,
    /// {train_bars, test_bars, anchored, candidates: [params...]}
    #[schema(value_type = Object)]
    pub spec: Value,
}

/// Bar-simulations (simulations × bars) a walk-forward may cost inline, about two seconds
/// here; a costlier one becomes a `walk_forward` job.
const INLINE_WALK_COST: usize = 300_000;

/// Walk-forward: choose parameters in-sample, trade them out-of-sample, stitch. A small one
/// answers 200 with the report; a larger one is queued as a `walk_forward` job (202 with the
/// job: follow `/api/v1/jobs/{id}/events`). Long work never runs inside a request.
#[utoipa::path(post, path = "/walk-forward", operation_id = "run_walk_forward", tag = "backtests", request_body = WalkForwardDoc,
    responses((status = 200, description = "the walk-forward report", body = WalkForwardReport),
              (status = 202, description = "too costly to run inline: the queued `walk_forward` job",
               body = Job),
              (status = 429, description = "the key's open-job quota or rate limit is used up",
               body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn walk(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(mut body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    super::definitions::resolve_in(&s, &caller, &mut body, &["request"]).await?;
    let req = parse_request(body.get("request").cloned().unwrap_or(Value::Null))?;
    let spec: WalkForwardSpec =
        serde_json::from_value(body.get("spec").cloned().unwrap_or(Value::Null))
            .map_err(|e| ApiError::field("spec", e.to_string()))?;
    spec.validate(&req)?;
    let backtests = s.services.backtests.clone();
    let (r, sp) = (req.clone(), spec.clone());
    let outcome = blocking(move || {
        Ok(backtests.walk_forward_on(None, &r, &sp, Some(INLINE_WALK_COST), &|| false)?)
    })
    .await?;
    match outcome {
        WalkOutcome::Done { report, .. } => Ok((StatusCode::OK, super::to_json(&report)?)),
        WalkOutcome::TooLarge { .. } => {
            let params = serde_json::json!({ "request": req, "spec": spec });
            let job = s
                .jobs
                .submit(JobKind::WalkForward.name(), params, &caller.key_id)
                .await?;
            Ok((StatusCode::ACCEPTED, super::to_json(&job)?))
        }
    }
}
