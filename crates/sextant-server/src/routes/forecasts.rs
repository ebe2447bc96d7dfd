//! Forecast routes: a symbol's (`/api/v1/market-data/forecast/{symbol}` and its calibration),
//! a portfolio's (`/api/v1/portfolios/{id}/forecast`), a backtest's equity
//! (`/api/v1/backtests/{id}/forecast`) and stored forecasts (`/api/v1/forecasts/{id}`). Every
//! forecast answers JSON or, with `format=svg`, its fan chart.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::market_data::parse_symbol;
use crate::routes::schemas::runs::{
    ForecastCalibrationDoc as ForecastCalibration, ForecastDoc as Forecast,
    ForecastScoresDoc as ForecastScores, StoredForecastDoc as StoredForecast,
};
use crate::routes::to_json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use sextant_core::forecasts::{
    CalibrationRequest, ForecastReport, ForecastRequest, ForecastServiceError,
};
use sextant_forecasts::chart::FanChart;
use sextant_forecasts::{Drift, FanDay, ModelKind};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

impl From<ForecastServiceError> for ApiError {
    fn from(e: ForecastServiceError) -> Self {
        use ForecastServiceError as F;
        match e {
            F::Data(d) => d.into(),
            F::Portfolio(p) => p.into(),
            F::NotFound(_) => ApiError::not_found(e.to_string()),
            F::Invalid(_) | F::Model(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-request",
                e.to_string(),
            ),
            F::Corrupt { .. } | F::Internal(_) => ApiError::internal(e.to_string()),
        }
    }
}

/// Symbol forecasts and calibration, under `/api/v1/market-data`.
pub fn market_data_routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(symbol_forecast))
        .routes(routes!(symbol_calibration))
        .routes(routes!(symbol_scores))
}

/// Stored forecasts, under `/api/v1/forecasts`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stored))
}

/// A portfolio's forecast, under `/api/v1/portfolios`.
pub fn portfolio_routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(portfolio_forecast))
}

/// A backtest's forecast, under `/api/v1/backtests`.
pub fn backtest_routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(backtest_forecast))
}

/// What to forecast with (every parameter has a default).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// `fhs_gjr` (default for symbols and portfolios: filtered historical simulation with
    /// GJR-GARCH filters), `fhs`, `gjr`, `garch`, `bootstrap` (default for a backtest),
    /// `regime`, or a baseline: `naive`, `historical`.
    #[param(pattern = "^(naive|historical|bootstrap|garch|gjr|fhs|fhs_gjr|regime)$")]
    pub model: Option<String>,
    /// Trading days ahead, 1 to 1,000 (default 10).
    #[param(minimum = 1, maximum = 1000)]
    pub horizon: Option<u32>,
    /// Simulated paths, 100 to 100,000 (default 10,000); paths × max(horizon, 10) at most 10
    /// million.
    #[param(minimum = 100, maximum = 100000)]
    pub paths: Option<u32>,
    /// Seed of the paths (default 7).
    pub seed: Option<u64>,
    /// The origin (YYYY-MM-DD): only history up to this session is used. Default: the latest.
    #[param(value_type = Option<String>, format = Date)]
    pub as_of: Option<NaiveDate>,
    /// The regime model conditioning `model=regime`.
    #[param(pattern = "^[A-Za-z0-9_.^-]{1,64}$")]
    pub regime_model: Option<String>,
    /// `estimated` (default: the drift the model learnt) or `zero` (no drift).
    #[param(pattern = "^(estimated|zero)$")]
    pub drift: Option<String>,
    /// Store the quantiles in DuckDB (default true).
    pub store: Option<bool>,
    /// Add the baselines' figures (default true).
    pub baselines: Option<bool>,
    /// `json` (default) or `svg` (the fan chart).
    #[param(pattern = "^(json|svg)$")]
    pub format: Option<String>,
}

impl ForecastQuery {
    fn request(&self) -> ApiResult<(ForecastRequest, bool)> {
        let d = ForecastRequest::default();
        let model = match &self.model {
            Some(m) => m
                .parse::<ModelKind>()
                .map(Some)
                .map_err(|_| ApiError::field("model", format!("unknown model {m:?}")))?,
            None => None,
        };
        check_as_of(self.as_of)?;
        if let Some(name) = &self.regime_model {
            if !sextant_core::regimes::service::is_model_name(name) {
                return Err(ApiError::field("regime_model", "a regime model name"));
            }
        }
        let svg = match self.format.as_deref() {
            None | Some("json") => false,
            Some("svg") => true,
            Some(other) => {
                return Err(ApiError::field(
                    "format",
                    format!("json or svg, not {other:?}"),
                ))
            }
        };
        Ok((
            ForecastRequest {
                model,
                horizon: self.horizon.map_or(d.horizon, |h| h as usize),
                paths: self.paths.map_or(d.paths, |p| p as usize),
                seed: self.seed.unwrap_or(d.seed),
                as_of: self.as_of,
                regime_model: self.regime_model.clone(),
                drift: parse_drift(self.drift.as_deref())?,
                store: self.store.unwrap_or(d.store),
                baselines: self.baselines.unwrap_or(d.baselines),
            },
            svg,
        ))
    }
}

fn answer(report: &ForecastReport, svg: bool) -> ApiResult<Response> {
    if !svg {
        return Ok(to_json(report)?.into_response());
    }
    let v0 = report.start_value;
    let fan: Vec<FanDay> = report
        .fan
        .iter()
        .map(|p| FanDay {
            day: p.day,
            quantiles: p.quantiles.iter().map(|q| q / v0).collect(),
            mean: p.mean / v0,
        })
        .collect();
    let title = format!(
        "{} {}: {} from {}, {} sessions",
        report.target_kind, report.target, report.model, report.history.last, report.horizon
    );
    let body = FanChart {
        title: &title,
        history: &report.recent_values,
        fan: &fan,
        start_value: v0,
    }
    .svg();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], body).into_response())
}

/// The value distribution of one share of a symbol over the next sessions: the fan (nine
/// quantiles per day), VaR and CVaR at 1 and 10 days, drawdown probabilities, the shortfall
/// path, the baselines' figures, and what the model learnt. Stored in DuckDB by default.
#[utoipa::path(get, path = "/forecast/{symbol}", operation_id = "forecast_symbol", tag = "forecasts",
    params(("symbol" = String, Path), ForecastQuery),
    responses((status = 200, description = "The forecast (JSON) or its fan chart (`format=svg`).",
                content((Forecast = "application/json"), (String = "image/svg+xml"))),
              (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn symbol_forecast(
    State(s): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(q): ApiQuery<ForecastQuery>,
) -> ApiResult<Response> {
    let symbol = parse_symbol(&symbol)?;
    let (req, svg) = q.request()?;
    let report = s.services.forecasts.forecast_symbol(&symbol, &req).await?;
    answer(&report, svg)
}

/// A portfolio's value distribution from its holdings and cash at the origin (joint returns of
/// the held symbols).
#[utoipa::path(get, path = "/{id}/forecast", operation_id = "forecast_portfolio", tag = "portfolios",
    params(("id" = String, Path), ForecastQuery),
    responses((status = 200, description = "The forecast (JSON) or its fan chart (`format=svg`).",
                content((Forecast = "application/json"), (String = "image/svg+xml"))),
              (status = 404, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn portfolio_forecast(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ForecastQuery>,
) -> ApiResult<Response> {
    let (req, svg) = q.request()?;
    s.services.portfolios.get_as(&id, caller.actor()).await?;
    let report = s.services.forecasts.forecast_portfolio(&id, &req).await?;
    answer(&report, svg)
}

/// The distribution of a stored run's equity over the next sessions.
#[utoipa::path(get, path = "/{id}/forecast", operation_id = "forecast_backtest", tag = "backtests",
    params(("id" = String, Path), ForecastQuery),
    responses((status = 200, description = "The forecast (JSON) or its fan chart (`format=svg`).",
                content((Forecast = "application/json"), (String = "image/svg+xml"))),
              (status = 404, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn backtest_forecast(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ForecastQuery>,
) -> ApiResult<Response> {
    let (req, svg) = q.request()?;
    let run = crate::routes::backtests::visible_run(&s, &caller, &id).await?;
    let report = s
        .services
        .forecasts
        .forecast_backtest(&run.id, &req)
        .await?;
    answer(&report, svg)
}

/// How to calibrate (every parameter has a default).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CalibrationQuery {
    /// Comma-separated models; default naive, historical, bootstrap, garch, gjr, fhs, fhs_gjr
    /// (and regime with `regime_model`).
    #[param(
        pattern = "^(naive|historical|bootstrap|garch|gjr|fhs|fhs_gjr|regime)(,(naive|historical|bootstrap|garch|gjr|fhs|fhs_gjr|regime)){0,5}$"
    )]
    pub models: Option<String>,
    /// Comma-separated horizons in sessions, 1 to 250 each (default `1,10`).
    #[param(pattern = "^[0-9]{1,3}(,[0-9]{1,3}){0,4}$")]
    pub horizons: Option<String>,
    /// Paths per forecast, 100 to 10,000 (default 1,000).
    #[param(minimum = 100, maximum = 10000)]
    pub paths: Option<u32>,
    /// Sessions between origins, 1 to 250 (default 1).
    #[param(minimum = 1, maximum = 250)]
    pub step: Option<u32>,
    /// Sessions before the first origin, 100 to 5,000 (default 504).
    #[param(minimum = 100, maximum = 5000)]
    pub min_history: Option<u32>,
    /// Seed (default 7).
    pub seed: Option<u64>,
    /// Use history up to this session only (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub as_of: Option<NaiveDate>,
    /// The regime model conditioning `regime`.
    #[param(pattern = "^[A-Za-z0-9_.^-]{1,64}$")]
    pub regime_model: Option<String>,
    /// `estimated` (default) or `zero`.
    #[param(pattern = "^(estimated|zero)$")]
    pub drift: Option<String>,
    /// Also record the calibration as a tracked run (`GET /api/v1/mlops/runs?kind=forecast_eval`,
    /// mirrored to MLflow when configured). Default false: a plain read writes nothing.
    pub track: Option<bool>,
}

/// A supported origin date, or a 422 naming `as_of`.
fn check_as_of(as_of: Option<NaiveDate>) -> ApiResult<()> {
    sextant_domain::dates::check_range(as_of, None)
        .map_err(|(_, message)| ApiError::field("as_of", message))
}

fn parse_drift(d: Option<&str>) -> ApiResult<Drift> {
    match d {
        None => Ok(Drift::Estimated),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::field("drift", format!("estimated or zero, not {v:?}"))),
    }
}

impl CalibrationQuery {
    fn request(&self) -> ApiResult<CalibrationRequest> {
        let d = CalibrationRequest::default();
        let models = match &self.models {
            Some(list) => list
                .split(',')
                .map(|m| {
                    m.parse::<ModelKind>()
                        .map_err(|_| ApiError::field("models", format!("unknown model {m:?}")))
                })
                .collect::<ApiResult<Vec<_>>>()?,
            None => Vec::new(),
        };
        let horizons = match &self.horizons {
            Some(list) => {
                let mut h = list
                    .split(',')
                    .map(|h| match h.parse::<usize>() {
                        Ok(v) if (1..=250).contains(&v) => Ok(v),
                        _ => Err(ApiError::field("horizons", "sessions from 1 to 250")),
                    })
                    .collect::<ApiResult<Vec<_>>>()?;
                h.sort_unstable();
                h.dedup();
                if h.len() > 5 {
                    return Err(ApiError::field("horizons", "at most 5 distinct horizons"));
                }
                h
            }
            None => d.horizons.clone(),
        };
        let bounded = |v: Option<u32>, lo: u32, hi: u32, field: &str, dflt: usize| match v {
            None => Ok(dflt),
            Some(x) if (lo..=hi).contains(&x) => Ok(x as usize),
            Some(_) => Err(ApiError::field(field, format!("from {lo} to {hi}"))),
        };
        check_as_of(self.as_of)?;
        if let Some(name) = &self.regime_model {
            if !sextant_core::regimes::service::is_model_name(name) {
                return Err(ApiError::field("regime_model", "a regime model name"));
            }
        }
        Ok(CalibrationRequest {
            models,
            horizons,
            paths: bounded(self.paths, 100, 10_000, "paths", d.paths)?,
            step: bounded(self.step, 1, 250, "step", d.step)?,
            min_history: bounded(self.min_history, 100, 5_000, "min_history", d.min_history)?,
            seed: self.seed.unwrap_or(d.seed),
            as_of: self.as_of,
            regime_model: self.regime_model.clone(),
            drift: parse_drift(self.drift.as_deref())?,
            max_work: HTTP_MAX_WORK,
            ..d
        })
    }
}

/// Most simulated steps one calibration request may take over HTTP (a few seconds on two
/// cores); the CLI allows more.
const HTTP_MAX_WORK: f64 = 1e9;

/// Walk-forward calibration of every model and baseline on a symbol's history: coverage of
/// the 50/80/90/98 % bands, pinball loss, CRPS, and the Kupiec and Christoffersen VaR tests at
/// 1 and 10 days, side by side, the failing ones included.
#[utoipa::path(get, path = "/forecast/{symbol}/calibration", operation_id = "get_symbol_forecast_calibration", tag = "forecasts",
    params(("symbol" = String, Path), CalibrationQuery),
    responses((status = 200, body = ForecastCalibration),
              (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn symbol_calibration(
    State(s): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(q): ApiQuery<CalibrationQuery>,
) -> ApiResult<Json<Value>> {
    let symbol = parse_symbol(&symbol)?;
    let req = q.request()?;
    let started = chrono::Utc::now().timestamp_millis();
    let mut reports = s
        .services
        .forecasts
        .calibrate_symbols(std::slice::from_ref(&symbol), false, &req)
        .await?;
    if q.track == Some(true) {
        sextant_core::forecasts::tracking::track_calibration(
            &s.services.tracker,
            &reports,
            &req,
            &caller.key_id,
            started,
        )
        .await;
    }
    let report = reports
        .pop()
        .ok_or_else(|| ApiError::internal("calibration returned no report"))?;
    to_json(&report)
}

/// A symbol's stored forecasts judged by the bars that came after them: coverage of the
/// 50/80/90/98 % bands over every realised day and over each forecast's next day.
#[utoipa::path(get, path = "/forecast/{symbol}/scores", operation_id = "get_symbol_forecast_scores", tag = "forecasts",
    params(("symbol" = String, Path)),
    responses((status = 200, body = ForecastScores),
              (status = 404, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn symbol_scores(
    State(s): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let symbol = parse_symbol(&symbol)?;
    to_json(&s.services.forecasts.score_stored(&symbol).await?)
}

/// A stored forecast: what produced it and its quantiles per day (currency).
#[utoipa::path(get, path = "/{id}", operation_id = "get_forecast", tag = "forecasts",
    params(("id" = String, Path)),
    responses((status = 200, body = StoredForecast),
              (status = 404, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn stored(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::not_found(format!("no stored forecast {id}")));
    }
    let (f, quantiles) = s.services.forecasts.stored(&id).await?;
    // A portfolio's or a run's forecast is visible to whoever may see the portfolio or run.
    match f.target_kind.as_str() {
        "portfolio" => {
            s.services
                .portfolios
                .get_as(&f.target, caller.actor())
                .await?;
        }
        "backtest" => {
            crate::routes::backtests::visible_run(&s, &caller, &f.target).await?;
        }
        _ => {}
    }
    let parse = |v: &str| {
        serde_json::from_str::<Value>(v).map_err(|e| {
            ApiError::from(ForecastServiceError::Corrupt {
                id: id.clone(),
                reason: e.to_string(),
            })
        })
    };
    Ok(super::json_body(serde_json::json!({
        "forecast_id": f.id,
        "target_kind": f.target_kind,
        "target": f.target,
        "model": f.model,
        "as_of": f.as_of,
        "horizon": f.horizon,
        "paths": f.paths,
        "seed": f.seed,
        "start_value": f.start_value,
        "snapshot": f.snapshot,
        "request": parse(&f.spec)?,
        "fit": parse(&f.fit)?,
        "risk": parse(&f.risk)?,
        "created_at": f.created_at,
        "quantiles": quantiles.iter().map(|q| serde_json::json!({
            "day": q.day, "quantile": q.quantile, "value": q.value,
        })).collect::<Vec<_>>(),
    })))
}
