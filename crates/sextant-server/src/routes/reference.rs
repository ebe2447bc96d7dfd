//! Reference data, read only (viewer): `/api/v1/instruments` (what each symbol is and when it
//! trades), `/api/v1/symbols` (search over the stored directory and the cache; a symbol's stored
//! dividends and splits) and `/api/v1/macro` (stored economic series and their observations).
//! Every read goes to the read pool, so none waits behind an ingest.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::market_data::{blocking, parse_symbol};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_data::Cache;
use sextant_domain::{DividendEvent, Instrument, Observation, SeriesKey, SplitEvent, Symbol};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/api/v1/instruments`.
pub fn instruments_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_instruments))
        .routes(routes!(get_instrument))
}

/// `/api/v1/symbols`.
pub fn symbols_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_symbols))
        .routes(routes!(symbol_actions))
}

/// `/api/v1/macro`.
pub fn macro_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_macro_series))
        .routes(routes!(macro_observations))
}

/// The stored instrument records by symbol. A symbol missing here is a US equity on the NYSE
/// calendar ([`Instrument::us_equity`]).
pub(crate) fn recorded_instruments(cache: &Cache) -> ApiResult<BTreeMap<String, Instrument>> {
    Ok(cache
        .instruments()?
        .into_iter()
        .map(|i| (i.symbol.to_string(), i))
        .collect())
}

/// `(asset_class, session)` of `symbol` from `records`: `us_equity`/`xnys` without a record.
pub(crate) fn class_and_session(
    records: &BTreeMap<String, Instrument>,
    symbol: &str,
) -> (String, String) {
    records.get(symbol).map_or_else(
        || ("us_equity".to_string(), "xnys".to_string()),
        |i| (i.asset_class.to_string(), i.session.to_string()),
    )
}

/// A path's symbol exactly as the spec's pattern allows (`^[A-Za-z0-9.^_-]{1,32}$`: no
/// spaces to trim, no `/`), then normalised; a 422 naming `symbol` otherwise.
fn path_symbol(raw: &str) -> ApiResult<Symbol> {
    let exact = (1..=32).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'^' | b'_' | b'-'));
    if !exact {
        return Err(ApiError::field(
            "symbol",
            format!("{raw:?} is not a symbol (1 to 32 of A-Z 0-9 . ^ _ -)"),
        ));
    }
    parse_symbol(raw)
}

/// What a symbol is and when it trades.
#[derive(Serialize, ToSchema)]
pub struct InstrumentDto {
    /// The stored symbol (`MSFT`, `EURUSD`, `BTCUSD`).
    pub symbol: String,
    /// `us_equity`, `equity`, `fx`, `crypto` or `index`.
    #[schema(example = "fx")]
    pub asset_class: String,
    /// `xnys`, `weekdays`, `fx_24x5` or `crypto_24x7`: decides the sessions, the daily close
    /// and the annualisation.
    #[schema(example = "fx_24x5")]
    pub session: String,
    /// FX and crypto: the base currency or coin (`EUR`, `BTC`).
    pub base: Option<String>,
    /// FX and crypto: the quote currency or market (`USD`); prices are in it.
    pub quote: Option<String>,
    /// True when the cache holds a record of the symbol; false for a cached symbol without
    /// one, which is taken to be a US equity on the NYSE calendar.
    pub recorded: bool,
    /// Whether the cache holds bars of it.
    pub cached: bool,
}

impl InstrumentDto {
    fn new(i: Instrument, recorded: bool, cached: bool) -> Self {
        InstrumentDto {
            symbol: i.symbol.to_string(),
            asset_class: i.asset_class.to_string(),
            session: i.session.to_string(),
            base: i.base,
            quote: i.quote,
            recorded,
            cached,
        }
    }
}

/// Every symbol with bars or an instrument record, by symbol, with its asset class and session.
#[utoipa::path(get, path = "", operation_id = "list_instruments", tag = "reference",
    responses((status = 200, body = Vec<InstrumentDto>)), security(("api_key" = [])))]
async fn list_instruments(State(s): State<AppState>) -> ApiResult<Json<Vec<InstrumentDto>>> {
    let reads = s.services.reads.clone();
    let list = blocking(move || {
        let cache = reads.get();
        let mut records = recorded_instruments(&cache)?;
        let mut out = Vec::new();
        for info in cache.symbols()? {
            let (inst, recorded) = match records.remove(&info.symbol) {
                Some(i) => (i, true),
                None => (Instrument::us_equity(parse_symbol(&info.symbol)?), false),
            };
            out.push(InstrumentDto::new(inst, recorded, true));
        }
        out.extend(
            records
                .into_values()
                .map(|i| InstrumentDto::new(i, true, false)),
        );
        out.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        Ok(out)
    })
    .await?;
    Ok(Json(list))
}

/// The symbol in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct InstrumentPath {
    /// Ticker or pair, e.g. `MSFT`, `EURUSD`.
    #[param(pattern = "^[A-Za-z0-9.^_-]{1,32}$")]
    pub symbol: String,
}

/// What one symbol is; 404 when the cache has neither bars nor a record of it.
#[utoipa::path(get, path = "/{symbol}", operation_id = "get_instrument", tag = "reference", params(InstrumentPath),
    responses((status = 200, body = InstrumentDto),
              (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn get_instrument(
    State(s): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
) -> ApiResult<Json<InstrumentDto>> {
    let symbol = path_symbol(&symbol)?;
    let reads = s.services.reads.clone();
    let dto = blocking(move || {
        let cache = reads.get();
        let recorded = recorded_instruments(&cache)?.remove(symbol.as_str());
        let cached = cache.symbols()?.iter().any(|i| i.symbol == symbol.as_str());
        match (recorded, cached) {
            (Some(i), cached) => Ok(InstrumentDto::new(i, true, cached)),
            (None, true) => Ok(InstrumentDto::new(
                Instrument::us_equity(symbol),
                false,
                true,
            )),
            (None, false) => Err(ApiError::not_found(format!(
                "no bars and no instrument record for {symbol}"
            ))),
        }
    })
    .await?;
    Ok(Json(dto))
}

/// A symbol search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Part of a ticker or a name, case-insensitive (`apple`, `MS`).
    #[param(min_length = 1, max_length = 64)]
    pub q: String,
    /// Most matches, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// One symbol a search found.
#[derive(Serialize, ToSchema)]
pub struct SymbolMatchDto {
    /// The ticker.
    pub symbol: String,
    /// The company or fund name (empty when the directory has none).
    pub name: String,
    /// Listing exchange (`NYSE`, `NASDAQ`, …); empty for a cached symbol not in the directory.
    pub exchange: String,
    /// `Stock`, `ETF`, or the cached instrument's asset class.
    pub asset_type: String,
    /// `Active`, `Delisted`, or `cached` for a symbol known only from the cache.
    pub status: String,
    /// Whether the cache holds bars of it.
    pub cached: bool,
}

/// Most matches a search returns unless `limit` says otherwise.
const DEFAULT_SEARCH_LIMIT: u32 = 20;

/// Symbols whose ticker or name contains `q`, from the stored directory (filled by
/// `sextant ingest listings`) and the cache: exact ticker first, then tickers starting with
/// `q`, then the rest by ticker.
#[utoipa::path(get, path = "/search", operation_id = "search_symbols", tag = "reference", params(SearchQuery),
    responses((status = 200, body = Vec<SymbolMatchDto>),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn search_symbols(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Vec<SymbolMatchDto>>> {
    let query = q.q.trim().to_string();
    if query.is_empty() || q.q.chars().count() > 64 {
        return Err(ApiError::field(
            "q",
            "1 to 64 characters, not all of them spaces",
        ));
    }
    let limit = q.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 100"));
    }
    let reads = s.services.reads.clone();
    let found = blocking(move || Ok(reads.get().search_symbols(&query, limit as usize)?)).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|e| SymbolMatchDto {
                symbol: e.symbol,
                name: e.name,
                exchange: e.exchange,
                asset_type: e.asset_type,
                status: e.status,
                cached: e.cached,
            })
            .collect(),
    ))
}

/// A symbol's stored corporate actions.
#[derive(Serialize, ToSchema)]
pub struct ActionsResponse {
    /// The symbol.
    pub symbol: String,
    /// True when both its dividends and its splits were fetched (even if it has none): its raw
    /// prices plus these events are then fully adjustable. False: nothing fetched yet
    /// (`POST /api/v1/ingest/actions`), and the lists are what a file or an adjusted download
    /// left, if anything.
    pub fetched: bool,
    /// Cash dividends, oldest first.
    pub dividends: Vec<DividendEvent>,
    /// Share splits, oldest first.
    pub splits: Vec<SplitEvent>,
}

/// A symbol's stored dividends and splits (empty lists when none are stored).
#[utoipa::path(get, path = "/{symbol}/actions", operation_id = "get_symbol_actions", tag = "reference", params(InstrumentPath),
    responses((status = 200, body = ActionsResponse),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn symbol_actions(
    State(s): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
) -> ApiResult<Json<ActionsResponse>> {
    let symbol = path_symbol(&symbol)?;
    let reads = s.services.reads.clone();
    let resp = blocking(move || {
        let cache = reads.get();
        Ok(ActionsResponse {
            fetched: cache.actions_fetched(&symbol)?,
            dividends: cache.dividends(&symbol)?,
            splits: cache.splits(&symbol)?,
            symbol: symbol.to_string(),
        })
    })
    .await?;
    Ok(Json(resp))
}

/// A stored economic series.
#[derive(Serialize, ToSchema)]
pub struct MacroSeriesDto {
    /// The series id (`treasury_yield_3month_daily`), what `/api/v1/macro/{series}` and a
    /// backtest's `risk_free` take.
    pub series: String,
    /// The vendor's name for it.
    pub name: String,
    /// The vendor's unit (`percent`, `index 1982-1984=100`).
    pub unit: String,
    /// Observations stored, missing ones included.
    pub observations: u64,
    /// First observation (YYYY-MM-DD); null when none is stored.
    #[schema(value_type = Option<String>, format = Date)]
    pub first: Option<NaiveDate>,
    /// Last observation (YYYY-MM-DD); null when none is stored.
    #[schema(value_type = Option<String>, format = Date)]
    pub last: Option<NaiveDate>,
    /// Where it came from: the vendor request (key-free), or `file NAME` for an import.
    pub source: String,
}

/// The source of a stored series as shown: an imported file by its name only (the importing
/// machine's directories are nobody else's business).
fn shown_source(request: &str) -> String {
    match request.strip_prefix("file ") {
        Some(path) => {
            let name = std::path::Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("file {name}")
        }
        None => request.to_string(),
    }
}

/// Every stored economic series, by id.
#[utoipa::path(get, path = "", operation_id = "list_macro_series", tag = "reference",
    responses((status = 200, body = Vec<MacroSeriesDto>)), security(("api_key" = [])))]
async fn list_macro_series(State(s): State<AppState>) -> ApiResult<Json<Vec<MacroSeriesDto>>> {
    let reads = s.services.reads.clone();
    let list = blocking(move || Ok(reads.get().economic_series()?)).await?;
    Ok(Json(
        list.into_iter()
            .map(|e| MacroSeriesDto {
                source: shown_source(&e.request),
                series: e.series,
                name: e.name,
                unit: e.unit,
                observations: e.observations,
                first: e.first,
                last: e.last,
            })
            .collect(),
    ))
}

/// The series id in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct SeriesPath {
    /// A series id such as `treasury_yield_3month_daily`, `federal_funds_rate_monthly` or
    /// `cpi_monthly`.
    #[param(
        pattern = "^[A-Za-z0-9_]{1,64}$",
        example = "treasury_yield_3month_daily"
    )]
    pub series: String,
}

/// The range of observations to return.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MacroQuery {
    /// First observation date, inclusive (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Last observation date, inclusive (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
}

/// One stored economic series' observations.
#[derive(Serialize, ToSchema)]
pub struct MacroObservations {
    /// The series id.
    pub series: String,
    /// The vendor's name for it.
    pub name: String,
    /// The vendor's unit.
    pub unit: String,
    /// Observations returned.
    pub count: usize,
    /// Oldest first; `value` is null where the vendor marks the observation missing. Each is
    /// labelled by the first day of its period and usable only after its release lag.
    pub observations: Vec<Observation>,
}

/// A stored economic series' observations, oldest first; 404 for an id that names no series
/// Sextant serves or one not stored, 422 for an id with characters no id has.
#[utoipa::path(get, path = "/{series}", operation_id = "get_macro_observations", tag = "reference", params(SeriesPath, MacroQuery),
    responses((status = 200, body = MacroObservations),
              (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn macro_observations(
    State(s): State<AppState>,
    ApiPath(series): ApiPath<String>,
    ApiQuery(q): ApiQuery<MacroQuery>,
) -> ApiResult<Json<MacroObservations>> {
    let well_formed = (1..=64).contains(&series.len())
        && series
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(ApiError::field(
            "series",
            "an id of 1 to 64 letters, digits and underscores, e.g. treasury_yield_3month_daily",
        ));
    }
    crate::extract::date_range(q.from, q.to)?;
    let key = SeriesKey::parse_id(&series).map_err(|e| ApiError::not_found(e.to_string()))?;
    let reads = s.services.reads.clone();
    let resp = blocking(move || {
        let cache = reads.get();
        let id = key.id();
        let Some(summary) = cache
            .economic_series()?
            .into_iter()
            .find(|e| e.series == id)
        else {
            return Err(ApiError::not_found(format!(
                "{id} is not stored (POST /api/v1/ingest/macro fetches it)"
            )));
        };
        let observations: Vec<Observation> = cache
            .economic(&key)?
            .into_iter()
            .filter(|o| q.from.is_none_or(|f| o.date >= f) && q.to.is_none_or(|t| o.date <= t))
            .collect();
        Ok(MacroObservations {
            series: id,
            name: summary.name,
            unit: summary.unit,
            count: observations.len(),
            observations,
        })
    })
    .await?;
    Ok(Json(resp))
}
