//! `/api/v1/market-data`: symbols, bars (JSON or CSV), coverage, cache status.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_domain::{Resolution, Symbol};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(symbols))
        .routes(routes!(bars))
        .routes(routes!(coverage))
        .routes(routes!(status))
        .routes(routes!(ingest))
}

/// What to refresh from Alpha Vantage.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestInput {
    #[schema(min_items = 1, max_items = 500)]
    pub symbols: Vec<crate::routes::backtests::SymbolString>,
    #[schema(inline)]
    pub resolution: Option<crate::routes::backtests::ResolutionName>,
    pub adjusted: Option<bool>,
}

/// Refresh symbols from Alpha Vantage as a job (incremental: only what is missing or stale).
#[utoipa::path(post, path = "/ingest", tag = "market-data", request_body = IngestInput,
    responses((status = 202, body = Object)), security(("api_key" = [])))]
async fn ingest(
    State(s): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    crate::extract::ApiJson(body): crate::extract::ApiJson<serde_json::Value>,
) -> ApiResult<(axum::http::StatusCode, Json<serde_json::Value>)> {
    let _: IngestInput =
        serde_json::from_value(body.clone()).map_err(|e| ApiError::field("body", e.to_string()))?;
    let rec = s
        .jobs
        .submit("ingest_alphavantage", body, &caller.key_id)
        .await?;
    let v = serde_json::to_value(rec).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(v)))
}

/// One symbol in the cache.
#[derive(Serialize, ToSchema)]
pub struct SymbolDto {
    pub symbol: String,
    pub resolutions: Vec<String>,
    pub first: String,
    pub last: String,
    pub rows: u64,
}

/// List the symbols in the cache.
#[utoipa::path(get, path = "/symbols", tag = "market-data",
    responses((status = 200, body = Vec<SymbolDto>)), security(("api_key" = [])))]
async fn symbols(State(s): State<AppState>) -> ApiResult<Json<Vec<SymbolDto>>> {
    let svc = s.services.clone();
    let list = blocking(move || svc.market_data.symbols().map_err(ApiError::from)).await?;
    Ok(Json(
        list.into_iter()
            .map(|i| SymbolDto {
                symbol: i.symbol,
                resolutions: i.resolutions,
                first: i.first_ts.to_string(),
                last: i.last_ts.to_string(),
                rows: i.rows,
            })
            .collect(),
    ))
}

/// Output format of bulk bars.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BarFormat {
    #[default]
    Json,
    Csv,
    /// Arrow IPC stream (`application/vnd.apache.arrow.stream`); stored bars only.
    Arrow,
}

/// The symbol in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct SymbolPath {
    /// Ticker, e.g. MSFT.
    #[param(pattern = "^[A-Za-z0-9.^_-]{1,32}$")]
    pub symbol: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BarsQuery {
    /// 1min, 5min, 15min, 30min, 60min, daily, weekly, monthly (default daily).
    #[param(value_type = Option<crate::routes::backtests::ResolutionName>, example = "daily")]
    pub resolution: Option<String>,
    /// First session, inclusive (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Last session, inclusive (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// json (default) or csv.
    #[param(inline)]
    pub format: Option<BarFormat>,
}

/// One bar. Times are UTC; `ts` of daily and coarser bars is the session date.
#[derive(Serialize, ToSchema)]
pub struct BarDto {
    pub ts: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub adj_close: Option<f64>,
    pub dividend: f64,
    pub split_coefficient: f64,
    pub source: String,
}

#[derive(Serialize, ToSchema)]
pub struct BarsResponse {
    pub symbol: String,
    pub resolution: String,
    pub tz: String,
    pub count: usize,
    pub bars: Vec<BarDto>,
}

pub(crate) fn parse_symbol(raw: &str) -> ApiResult<Symbol> {
    Symbol::new(raw).map_err(|e| ApiError::field("symbol", e.to_string()))
}

pub(crate) fn parse_resolution(raw: Option<&str>) -> ApiResult<Resolution> {
    raw.unwrap_or("daily")
        .parse()
        .map_err(|e: sextant_domain::ParseResolutionError| {
            ApiError::field("resolution", e.to_string())
        })
}

/// Bars of one symbol (JSON, or CSV with `format=csv`).
#[utoipa::path(get, path = "/bars/{symbol}", tag = "market-data",
    params(SymbolPath, BarsQuery),
    responses((status = 200, description = "Bars, oldest first",
                content((BarsResponse = "application/json"), (String = "text/csv"),
                        (Vec<u8> = "application/vnd.apache.arrow.stream"))),
               (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
               (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn bars(
    State(s): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(q): ApiQuery<BarsQuery>,
) -> ApiResult<Response> {
    let symbol = parse_symbol(&symbol)?;
    let resolution = parse_resolution(q.resolution.as_deref())?;
    crate::extract::date_range(q.from, q.to)?;
    if matches!(q.format, Some(BarFormat::Arrow)) {
        return arrow_bars(&s, symbol, resolution, q.from, q.to).await;
    }
    let csv = matches!(q.format, Some(BarFormat::Csv));
    let generation = s.services.cache.generation();
    let key = format!("bars|{symbol}|{resolution}|{:?}|{:?}|{csv}", q.from, q.to);
    if let Some((ctype, body)) = s.responses.get(generation, &key) {
        return Ok(([(header::CONTENT_TYPE, ctype)], body).into_response());
    }
    let cache = s.read_cache();
    let sym = symbol.clone();
    let bars = blocking(move || {
        cache
            .bars(&sym, resolution, q.from, q.to)
            .map_err(ApiError::from)
    })
    .await?;
    if bars.is_empty() {
        return Err(ApiError::not_found(format!(
            "no {resolution} bars for {symbol} in that range"
        )));
    }
    let tz = bars[0].tz.clone();
    if csv {
        let mut out = String::with_capacity(bars.len() * 64);
        out.push_str("ts,open,high,low,close,volume,adj_close,dividend,split_coefficient,source\n");
        for b in &bars {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{}\n",
                b.ts,
                b.open,
                b.high,
                b.low,
                b.close,
                b.volume,
                b.adj_close.map(|a| a.to_string()).unwrap_or_default(),
                b.dividend,
                b.split_coefficient,
                b.source
            ));
        }
        let body = axum::body::Bytes::from(out);
        s.responses
            .put(generation, key, "text/csv; charset=utf-8", body.clone());
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response());
    }
    let dtos: Vec<BarDto> = bars
        .into_iter()
        .map(|b| BarDto {
            ts: b.ts.to_string(),
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume,
            adj_close: b.adj_close,
            dividend: b.dividend,
            split_coefficient: b.split_coefficient,
            source: b.source.to_string(),
        })
        .collect();
    let resp = BarsResponse {
        symbol: symbol.to_string(),
        resolution: resolution.to_string(),
        tz,
        count: dtos.len(),
        bars: dtos,
    };
    let body = axum::body::Bytes::from(
        serde_json::to_vec(&resp).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    s.responses
        .put(generation, key, "application/json", body.clone());
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CoverageQuery {
    /// Only this symbol.
    #[param(pattern = "^[A-Za-z0-9.^_/-]{1,32}$")]
    pub symbol: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CoverageRangeDto {
    pub first: String,
    pub last: String,
    pub sources: Vec<String>,
    pub last_refreshed: String,
}

#[derive(Serialize, ToSchema)]
pub struct CoverageDto {
    pub symbol: String,
    pub resolution: String,
    pub rows: u64,
    pub ranges: Vec<CoverageRangeDto>,
}

/// Which ranges are cached, from which source, refreshed when.
#[utoipa::path(get, path = "/coverage", tag = "market-data", params(CoverageQuery),
    responses((status = 200, body = Vec<CoverageDto>),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn coverage(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<CoverageQuery>,
) -> ApiResult<Json<Vec<CoverageDto>>> {
    let symbol = q.symbol.as_deref().map(parse_symbol).transpose()?;
    let cache = s.read_cache();
    let reports = blocking(move || cache.coverage(symbol.as_ref()).map_err(ApiError::from)).await?;
    Ok(Json(
        reports
            .into_iter()
            .map(|r| CoverageDto {
                symbol: r.symbol,
                resolution: r.resolution,
                rows: r.rows,
                ranges: r
                    .ranges
                    .into_iter()
                    .map(|g| CoverageRangeDto {
                        first: g.first_ts.to_string(),
                        last: g.last_ts.to_string(),
                        sources: g.sources,
                        last_refreshed: g.last_refreshed.to_string(),
                    })
                    .collect(),
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CacheStatus {
    pub symbols: usize,
    pub rows: u64,
    pub path: Option<String>,
    pub file_bytes: Option<u64>,
}

/// Cache status: symbols, rows, file size.
#[utoipa::path(get, path = "/status", tag = "market-data",
    responses((status = 200, body = CacheStatus)), security(("api_key" = [])))]
async fn status(
    State(s): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
) -> ApiResult<Json<CacheStatus>> {
    let cache = s.read_cache();
    let symbols = blocking(move || cache.symbols().map_err(ApiError::from)).await?;
    // The server's file layout is for admins only.
    let path = s
        .services
        .cache
        .path()
        .filter(|_| caller.role >= crate::auth::Role::Admin)
        .map(|p| p.display().to_string());
    let file_bytes = s
        .services
        .cache
        .path()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len());
    Ok(Json(CacheStatus {
        symbols: symbols.len(),
        rows: symbols.iter().map(|i| i.rows).sum(),
        path,
        file_bytes,
    }))
}

/// Runs blocking (DuckDB) work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("worker task failed: {e}")))?
}

const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// Bars as an Arrow IPC stream, straight from DuckDB's Arrow batches.
async fn arrow_bars(
    s: &AppState,
    symbol: Symbol,
    resolution: Resolution,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<Response> {
    let cache = s.read_cache();
    let sym = symbol.clone();
    let bytes = blocking(move || {
        let batches = cache
            .bars_arrow(&sym, resolution, from, to)
            .map_err(ApiError::from)?;
        let Some(first) = batches.iter().find(|b| b.num_rows() > 0) else {
            return Err(ApiError::not_found(format!(
                "no stored {resolution} bars for {sym} in that range"
            )));
        };
        let mut buf = Vec::new();
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &first.schema())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        for b in &batches {
            w.write(b).map_err(|e| ApiError::internal(e.to_string()))?;
        }
        w.finish().map_err(|e| ApiError::internal(e.to_string()))?;
        drop(w);
        Ok(buf)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, ARROW_STREAM)], bytes).into_response())
}
