//! `/api/v1/market-data`: symbols, bars (JSON or CSV), coverage, cache status.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::reference::{class_and_session, recorded_instruments};
use crate::series_cache::{RenderedSeries, SeriesMeta};
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

/// The market-data routes: symbols, bars, coverage, status, ingest.
pub fn router() -> OpenApiRouter<AppState> {
    let r = OpenApiRouter::new()
        .routes(routes!(symbols))
        .routes(routes!(bars))
        .routes(routes!(coverage))
        .routes(routes!(status))
        .routes(routes!(ingest));
    crate::routes::forecasts::market_data_routes(crate::routes::regimes::routes(r))
}

/// What to refresh from Alpha Vantage.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestInput {
    /// Tickers to refresh, 1 to 500.
    #[schema(min_items = 1, max_items = 500)]
    pub symbols: Vec<crate::routes::backtests::SymbolString>,
    /// Default `daily`.
    #[schema(inline)]
    pub resolution: Option<crate::routes::backtests::ResolutionName>,
    /// Use Alpha Vantage's adjusted endpoints; default from the server's configuration.
    pub adjusted: Option<bool>,
    /// What every symbol is, recorded with its bars (its session model then judges them):
    /// `fx` for pairs such as `EURUSD`, `crypto` for `BTCUSD` (or `BTC` with `market`). Default:
    /// what the cache knows each symbol to be, a US equity when it has no record.
    #[schema(inline)]
    pub asset: Option<crate::routes::ingest::AssetName>,
    /// Crypto only: the market currency (`USD`), so that symbols may be coins (`BTC`, stored
    /// as `BTCUSD`). Default: none (every symbol a pair).
    #[schema(pattern = "^[A-Za-z]{3}$")]
    pub market: Option<String>,
}

impl IngestInput {
    /// Refuses what the job would refuse, naming the field: a `market` without `asset:
    /// crypto`, a symbol that is not the instrument `asset` says (an FX symbol not a pair).
    fn check(&self) -> ApiResult<()> {
        let Some(asset) = self.asset else {
            return match &self.market {
                Some(_) => Err(ApiError::field("market", "applies to asset crypto only")),
                None => Ok(()),
            };
        };
        let asset = sextant_domain::AssetClass::from(asset);
        if self.market.is_some() && asset != sextant_domain::AssetClass::Crypto {
            return Err(ApiError::field(
                "market",
                format!("applies to asset crypto only, not {asset}"),
            ));
        }
        for raw in &self.symbols {
            let symbol =
                Symbol::new(&raw.0).map_err(|e| ApiError::field("symbols", e.to_string()))?;
            sextant_domain::Instrument::requested(&symbol, asset, self.market.as_deref())
                .map_err(|e| ApiError::field("symbols", e.to_string()))?;
        }
        Ok(())
    }
}

/// Refresh symbols from Alpha Vantage as a job (incremental: only what is missing or stale);
/// with `asset` the symbols are fetched as that kind of instrument (FX, crypto) and recorded so.
#[utoipa::path(post, path = "/ingest", operation_id = "ingest_bars", tag = "market-data", request_body = IngestInput,
    responses((status = 202, description = "the queued `ingest_alphavantage` job",
               body = crate::routes::schemas::JobDoc),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn ingest(
    State(s): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    crate::extract::ApiJson(body): crate::extract::ApiJson<serde_json::Value>,
) -> ApiResult<(axum::http::StatusCode, Json<serde_json::Value>)> {
    let input: IngestInput =
        serde_json::from_value(body.clone()).map_err(|e| ApiError::field("body", e.to_string()))?;
    input.check()?;
    let rec = s
        .jobs
        .submit(
            sextant_core::jobs::JobKind::IngestAlphavantage.name(),
            body,
            &caller.key_id,
        )
        .await?;
    Ok((axum::http::StatusCode::ACCEPTED, super::to_json(&rec)?))
}

/// One symbol in the cache.
#[derive(Serialize, ToSchema)]
pub struct SymbolDto {
    /// The ticker.
    pub symbol: String,
    /// The resolutions held, e.g. `["1min", "daily"]`.
    pub resolutions: Vec<String>,
    /// Time of the oldest bar at any resolution, RFC 3339 in UTC.
    #[schema(format = DateTime)]
    pub first: String,
    /// Time of the newest bar at any resolution, RFC 3339 in UTC.
    #[schema(format = DateTime)]
    pub last: String,
    /// Bars held, all resolutions together.
    pub rows: u64,
    /// `us_equity` (also for a symbol without an instrument record), `equity`, `fx`,
    /// `crypto` or `index`.
    #[schema(example = "us_equity")]
    pub asset_class: String,
    /// The session model: `xnys` (also without a record), `weekdays`, `fx_24x5`,
    /// `crypto_24x7`.
    #[schema(example = "xnys")]
    pub session: String,
}

/// List the symbols in the cache.
#[utoipa::path(get, path = "/symbols", operation_id = "list_market_symbols", tag = "market-data",
    responses((status = 200, body = Vec<SymbolDto>)), security(("api_key" = [])))]
async fn symbols(State(s): State<AppState>) -> ApiResult<Json<Vec<SymbolDto>>> {
    let svc = s.services.clone();
    let (list, records) = blocking(move || {
        let records = recorded_instruments(&svc.reads.get())?;
        Ok((svc.market_data.symbols()?, records))
    })
    .await?;
    Ok(Json(
        list.into_iter()
            .map(|i| {
                let (asset_class, session) = class_and_session(&records, &i.symbol);
                SymbolDto {
                    symbol: i.symbol,
                    resolutions: i.resolutions,
                    first: crate::time::utc(i.first_ts),
                    last: crate::time::utc(i.last_ts),
                    rows: i.rows,
                    asset_class,
                    session,
                }
            })
            .collect(),
    ))
}

/// Output format of bulk bars.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BarFormat {
    /// JSON: symbol, resolution, time zone and the bars (the default).
    #[default]
    Json,
    /// CSV with a header row, one bar per line.
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

/// Which bars to return, and in what format.
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
    /// json (default), csv or arrow.
    #[param(inline)]
    pub format: Option<BarFormat>,
}

/// One bar. Times are UTC; `ts` of daily and coarser bars is the session date at 00:00.
#[derive(Serialize, ToSchema)]
pub struct BarDto {
    /// Interval start (intraday) or session date at 00:00 (daily and coarser), RFC 3339 in
    /// UTC: `2008-09-26T00:00:00Z`.
    #[schema(format = DateTime)]
    pub ts: String,
    /// The exchange-local session the bar belongs to (YYYY-MM-DD): its date for daily and
    /// coarser bars; for intraday bars the session the instrument's session model assigns (FX
    /// days roll at 17:00 New York, crypto days at 00:00 UTC) or, on an exchange, the local
    /// date in `tz`.
    #[schema(value_type = String, format = Date)]
    pub session_date: NaiveDate,
    /// Opening price, as traded (unadjusted).
    pub open: f64,
    /// Highest price of the interval, unadjusted.
    pub high: f64,
    /// Lowest price of the interval, unadjusted.
    pub low: f64,
    /// Closing price, unadjusted.
    pub close: f64,
    /// Shares traded, not split-adjusted.
    pub volume: f64,
    /// The vendor's split- and dividend-adjusted close; null when the source gives none.
    pub adj_close: Option<f64>,
    /// Cash dividend per share going ex on this bar; 0 when there is none.
    pub dividend: f64,
    /// Split ratio effective on this bar (2 for a 2:1 split); 1 when there is no split.
    pub split_coefficient: f64,
    /// Where the bar came from: `alphavantage`, `file`, `sample` or `resampled`.
    pub source: String,
}

/// Bars of one symbol and resolution, oldest first.
#[derive(Serialize, ToSchema)]
pub struct BarsResponse {
    /// The ticker.
    pub symbol: String,
    /// The bars' resolution, e.g. `daily`.
    pub resolution: String,
    /// IANA time zone of the exchange, e.g. `America/New_York`.
    pub tz: String,
    /// What the symbol is: `us_equity` (also without an instrument record), `equity`, `fx`,
    /// `crypto` or `index`.
    #[schema(example = "us_equity")]
    pub asset_class: String,
    /// Its session model (`xnys`, `weekdays`, `fx_24x5`, `crypto_24x7`): where a daily bar
    /// closes and how metrics annualise.
    #[schema(example = "xnys")]
    pub session: String,
    /// Number of bars.
    pub count: usize,
    /// The bars.
    pub bars: Vec<BarDto>,
}

impl BarDto {
    /// The DTO of a stored bar whose session is `session_date`.
    pub fn of(b: &sextant_domain::Bar, session_date: NaiveDate) -> BarDto {
        BarDto {
            ts: crate::time::utc(b.ts),
            session_date,
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume,
            adj_close: b.adj_close,
            dividend: b.dividend,
            split_coefficient: b.split_coefficient,
            source: b.source.to_string(),
        }
    }
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
#[utoipa::path(get, path = "/bars/{symbol}", operation_id = "get_bars", tag = "market-data",
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
    let series = bar_series(&s, &symbol, resolution, q.from, q.to).await?;
    let body = match &series {
        Some(r) if csv => r.csv(q.from, q.to),
        Some(r) => r.json(q.from, q.to),
        None => None,
    };
    let Some(body) = body else {
        return Err(ApiError::not_found(format!(
            "no {resolution} bars for {symbol} in that range"
        )));
    };
    let ctype = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/json"
    };
    Ok(([(header::CONTENT_TYPE, ctype)], body).into_response())
}

/// The bars of `symbol` at `resolution`, rendered; `None` when there are none. Daily and
/// coarser series (at most a few thousand bars a decade) are read and rendered whole, once per
/// data generation, and kept in the series cache; an intraday series can hold millions of
/// bars, so only the sessions `from..=to` are read and rendered, per request.
async fn bar_series(
    s: &AppState,
    symbol: &Symbol,
    resolution: Resolution,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<Option<std::sync::Arc<RenderedSeries>>> {
    let whole = !resolution.is_intraday();
    let generation = s.services.market_data.generation();
    if whole {
        if let Some(hit) = s.series.get(generation, symbol.as_str(), resolution) {
            return Ok(Some(hit));
        }
    }
    let (from, to) = if whole { (None, None) } else { (from, to) };
    let md = s.services.market_data.clone();
    let reads = s.services.reads.clone();
    let sym = symbol.clone();
    let rendered = blocking(move || {
        let bars = md.bars(&sym, resolution, from, to)?;
        let Some(first) = bars.first() else {
            return Ok(None);
        };
        let instrument = reads.get().instrument(&sym)?;
        let model = instrument.session;
        let (asset_class, session) = (
            instrument.asset_class.to_string(),
            instrument.session.to_string(),
        );
        let meta = SeriesMeta {
            symbol: sym.as_str(),
            resolution: resolution.as_str(),
            tz: &first.tz,
            asset_class: &asset_class,
            session: &session,
        };
        let r = RenderedSeries::render(&meta, &bars, |b| {
            crate::time::session_date(b.ts, resolution, model, &b.tz)
        })
        .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(Some(std::sync::Arc::new(r)))
    })
    .await?;
    if let (true, Some(r)) = (whole, &rendered) {
        s.series
            .put(generation, symbol.as_str(), resolution, r.clone());
    }
    Ok(rendered)
}

/// Which symbols' coverage to report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CoverageQuery {
    /// Only this symbol.
    #[param(pattern = "^[A-Za-z0-9.^_/-]{1,32}$")]
    pub symbol: Option<String>,
}

/// A contiguous cached range: the ingested batches merged where they overlap or touch.
#[derive(Serialize, ToSchema)]
pub struct CoverageRangeDto {
    /// Start of the range, RFC 3339 in UTC.
    #[schema(format = DateTime)]
    pub first: String,
    /// End of the range, RFC 3339 in UTC.
    #[schema(format = DateTime)]
    pub last: String,
    /// Where its bars came from, e.g. `["alphavantage"]`.
    pub sources: Vec<String>,
    /// When the newest batch in the range was recorded, RFC 3339 in UTC.
    #[schema(format = DateTime)]
    pub last_refreshed: String,
}

/// What is cached for one symbol at one resolution.
#[derive(Serialize, ToSchema)]
pub struct CoverageDto {
    /// The ticker.
    pub symbol: String,
    /// The resolution, e.g. `daily`.
    pub resolution: String,
    /// Bars held for this symbol and resolution.
    pub rows: u64,
    /// `us_equity` (also without an instrument record), `equity`, `fx`, `crypto` or `index`.
    #[schema(example = "us_equity")]
    pub asset_class: String,
    /// The session model (`xnys`, `weekdays`, `fx_24x5`, `crypto_24x7`): what a gap in the
    /// ranges means.
    #[schema(example = "xnys")]
    pub session: String,
    /// The cached ranges, oldest first.
    pub ranges: Vec<CoverageRangeDto>,
}

/// Which ranges are cached, from which source, refreshed when.
#[utoipa::path(get, path = "/coverage", operation_id = "get_coverage", tag = "market-data", params(CoverageQuery),
    responses((status = 200, body = Vec<CoverageDto>),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn coverage(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<CoverageQuery>,
) -> ApiResult<Json<Vec<CoverageDto>>> {
    let symbol = q.symbol.as_deref().map(parse_symbol).transpose()?;
    let md = s.services.market_data.clone();
    let reads = s.services.reads.clone();
    let (reports, records) = blocking(move || {
        let records = recorded_instruments(&reads.get())?;
        Ok((md.coverage(symbol.as_ref())?, records))
    })
    .await?;
    Ok(Json(
        reports
            .into_iter()
            .map(|r| {
                let (asset_class, session) = class_and_session(&records, &r.symbol);
                CoverageDto {
                    symbol: r.symbol,
                    resolution: r.resolution.to_string(),
                    rows: r.rows,
                    asset_class,
                    session,
                    ranges: r
                        .ranges
                        .into_iter()
                        .map(|g| CoverageRangeDto {
                            first: crate::time::utc(g.first_ts),
                            last: crate::time::utc(g.last_ts),
                            sources: g.sources,
                            last_refreshed: crate::time::utc(g.last_refreshed),
                        })
                        .collect(),
                }
            })
            .collect(),
    ))
}

/// Size of the bar cache.
#[derive(Serialize, ToSchema)]
pub struct CacheStatus {
    /// Symbols held.
    pub symbols: usize,
    /// Bars held, all symbols and resolutions together.
    pub rows: u64,
    /// The cache file on the server; shown to admins only, null otherwise and for an
    /// in-memory cache.
    pub path: Option<String>,
    /// Size of the cache file in bytes; null for an in-memory cache.
    pub file_bytes: Option<u64>,
}

/// Cache status: symbols, rows, file size.
#[utoipa::path(get, path = "/status", operation_id = "get_cache_status", tag = "market-data",
    responses((status = 200, body = CacheStatus)), security(("api_key" = [])))]
async fn status(
    State(s): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
) -> ApiResult<Json<CacheStatus>> {
    let md = s.services.market_data.clone();
    let symbols = blocking(move || md.symbols().map_err(ApiError::from)).await?;
    let file = s.services.market_data.file();
    // The server's file layout is for admins only.
    let path = file
        .as_ref()
        .filter(|_| caller.role >= crate::auth::Role::Admin)
        .map(|(p, _)| p.display().to_string());
    let file_bytes = file.and_then(|(_, bytes)| bytes);
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
    let md = s.services.market_data.clone();
    let sym = symbol.clone();
    let bytes = blocking(move || {
        let batches = md
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
