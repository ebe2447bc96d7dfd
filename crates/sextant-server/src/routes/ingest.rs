//! `/api/v1/ingest`: reference-data refreshes from Alpha Vantage, queued as jobs like
//! `POST /api/v1/market-data/ingest` (a vendor call may wait minutes on the rate limiter). Each
//! answers 202 with the job record; poll `/api/v1/jobs/{id}` or stream its events. Without an
//! API key the job fails with the vendor client's `MissingKey` error, as a bar ingest does.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::reference_jobs::{INGEST_ACTIONS, INGEST_MACRO};
use crate::routes::{parse_body, to_json};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use sextant_domain::{AssetClass, Indicator, SeriesKey};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The reference-data ingest routes, under `/api/v1/ingest`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ingest_actions))
        .routes(routes!(ingest_macro))
}

/// What kind of instrument symbols are (the names of `sextant_domain::AssetClass`).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetName {
    /// A US-listed stock or ETF (NYSE calendar).
    UsEquity,
    /// A stock on another venue (Monday to Friday).
    Equity,
    /// A currency pair such as `EURUSD` (24x5, days close 17:00 New York).
    Fx,
    /// A coin against a market such as `BTCUSD`, or `BTC` with `market` (24x7, days close
    /// 00:00 UTC).
    Crypto,
    /// A US index level (NYSE calendar).
    Index,
}

impl From<AssetName> for AssetClass {
    fn from(a: AssetName) -> AssetClass {
        match a {
            AssetName::UsEquity => AssetClass::UsEquity,
            AssetName::Equity => AssetClass::Equity,
            AssetName::Fx => AssetClass::Fx,
            AssetName::Crypto => AssetClass::Crypto,
            AssetName::Index => AssetClass::Index,
        }
    }
}

/// Symbols whose dividends and splits to fetch.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ActionsInput {
    /// Tickers, 1 to 100; each costs two vendor calls (`DIVIDENDS`, `SPLITS`).
    #[schema(min_items = 1, max_items = 100)]
    pub symbols: Vec<crate::routes::backtests::SymbolString>,
}

/// Fetch dividends and splits of symbols as an `ingest_actions` job: each symbol's two
/// histories stored in one transaction, replacing what was stored; raw prices then adjust by
/// them.
#[utoipa::path(post, path = "/actions", operation_id = "ingest_corporate_actions", tag = "ingest", request_body = ActionsInput,
    responses((status = 202, body = crate::routes::schemas::JobDoc),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn ingest_actions(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let _: ActionsInput = parse_body(body.clone())?;
    let rec = s.jobs.submit(INGEST_ACTIONS, body, &caller.key_id).await?;
    Ok((StatusCode::ACCEPTED, to_json(&rec)?))
}

/// An economic indicator (Alpha Vantage's economic endpoints).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorName {
    /// Constant-maturity US Treasury yield, percent (`TREASURY_YIELD`; needs `maturity`).
    TreasuryYield,
    /// Effective federal funds rate, percent (`FEDERAL_FUNDS_RATE`).
    FederalFundsRate,
    /// Consumer price index, all urban consumers (`CPI`).
    Cpi,
}

/// An observation interval.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntervalName {
    /// Business days (Treasury yields, the funds rate).
    Daily,
    /// Weekly averages (Treasury yields, the funds rate).
    Weekly,
    /// Monthly averages (all three).
    Monthly,
    /// Half-yearly (CPI).
    Semiannual,
}

/// A Treasury maturity.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum MaturityName {
    /// Three-month bills.
    #[serde(rename = "3month")]
    M3,
    /// Two-year notes.
    #[serde(rename = "2year")]
    Y2,
    /// Five-year notes.
    #[serde(rename = "5year")]
    Y5,
    /// Seven-year notes.
    #[serde(rename = "7year")]
    Y7,
    /// Ten-year notes.
    #[serde(rename = "10year")]
    Y10,
    /// Thirty-year bonds.
    #[serde(rename = "30year")]
    Y30,
}

impl MaturityName {
    fn as_str(self) -> &'static str {
        match self {
            MaturityName::M3 => "3month",
            MaturityName::Y2 => "2year",
            MaturityName::Y5 => "5year",
            MaturityName::Y7 => "7year",
            MaturityName::Y10 => "10year",
            MaturityName::Y30 => "30year",
        }
    }
}

/// Which economic series to fetch: `series`, or `indicator` with `interval` and `maturity`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroInput {
    /// A series id (`treasury_yield_3month_daily`, `federal_funds_rate_monthly`,
    /// `cpi_monthly`); not together with `indicator`.
    #[schema(
        pattern = "^[A-Za-z0-9_]{1,64}$",
        example = "treasury_yield_3month_daily"
    )]
    pub series: Option<String>,
    /// The indicator, when `series` is not given.
    #[schema(inline)]
    pub indicator: Option<IndicatorName>,
    /// With `indicator`; default `daily` for Treasury yields and the funds rate, `monthly`
    /// for CPI.
    #[schema(inline)]
    pub interval: Option<IntervalName>,
    /// With `indicator: treasury_yield` (required there, refused elsewhere).
    #[schema(inline)]
    pub maturity: Option<MaturityName>,
}

impl MacroInput {
    /// The series asked for, or a 422 naming the field at fault.
    fn key(&self) -> ApiResult<SeriesKey> {
        let parts = self.indicator.is_some() || self.interval.is_some() || self.maturity.is_some();
        match (&self.series, self.indicator) {
            (Some(_), _) if parts => Err(ApiError::field(
                "series",
                "give either series or indicator (with interval and maturity), not both",
            )),
            (Some(id), _) => {
                SeriesKey::parse_id(id).map_err(|e| ApiError::field("series", e.to_string()))
            }
            (None, Some(ind)) => {
                let indicator: Indicator = match ind {
                    IndicatorName::TreasuryYield => Indicator::TreasuryYield,
                    IndicatorName::FederalFundsRate => Indicator::FederalFundsRate,
                    IndicatorName::Cpi => Indicator::Cpi,
                };
                // The first interval the vendor serves is the finest: daily, or monthly (CPI).
                let interval = match self.interval {
                    Some(i) => interval_name(i),
                    None => indicator.intervals().first().copied().unwrap_or("monthly"),
                };
                let maturity = self.maturity.map(MaturityName::as_str);
                SeriesKey::new(indicator, interval, maturity).map_err(|e| {
                    let field = if e.0.contains("maturity") {
                        "maturity"
                    } else {
                        "interval"
                    };
                    ApiError::field(field, e.to_string())
                })
            }
            (None, None) => Err(ApiError::field(
                "series",
                "series (e.g. treasury_yield_3month_daily) or indicator required",
            )),
        }
    }
}

fn interval_name(i: IntervalName) -> &'static str {
    match i {
        IntervalName::Daily => "daily",
        IntervalName::Weekly => "weekly",
        IntervalName::Monthly => "monthly",
        IntervalName::Semiannual => "semiannual",
    }
}

/// Fetch one economic series as an `ingest_macro` job, replacing its stored copy (the default
/// risk-free rate of backtests is `treasury_yield_3month_daily`).
#[utoipa::path(post, path = "/macro", operation_id = "ingest_macro_series", tag = "ingest", request_body = MacroInput,
    responses((status = 202, body = crate::routes::schemas::JobDoc),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn ingest_macro(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<MacroInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let key = input.key()?;
    let rec = s
        .jobs
        .submit(INGEST_MACRO, json!({ "series": key.id() }), &caller.key_id)
        .await?;
    Ok((StatusCode::ACCEPTED, to_json(&rec)?))
}
