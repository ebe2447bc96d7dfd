//! `/api/v1/market-data/regime`: the market regime of a symbol or a named universe model, its
//! history (JSON or CSV), confirmed changes, and the models themselves.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::market_data::parse_symbol;
use crate::routes::schemas::research::RegimeAlertDoc as RegimeAlert;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_core::regimes::service::is_model_name;
use sextant_core::regimes::{RegimeNow, RegimeSpec, RegimeState};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Adds the regime routes to the market-data router.
pub fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(regime))
        .routes(routes!(regime_history))
        .routes(routes!(regime_alerts))
        .routes(routes!(list_models, fit_model))
}

impl From<sextant_core::regimes::RegimeServiceError> for ApiError {
    fn from(e: sextant_core::regimes::RegimeServiceError) -> Self {
        use sextant_core::regimes::RegimeServiceError as R;
        match e {
            R::Data(d) => d.into(),
            R::Meta(m) => m.into(),
            R::NotFound(_) => ApiError::not_found(e.to_string()),
            R::Invalid(_) | R::Model(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-request",
                e.to_string(),
            ),
            R::Corrupt { .. } => ApiError::internal(e.to_string()),
        }
    }
}

/// Which model: a symbol's own (fitted with the defaults on first use) or a named one.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegimeQuery {
    /// A ticker: the regime of that symbol alone (its model is fitted on first use).
    #[param(pattern = "^[A-Za-z0-9.^_-]{1,32}$")]
    pub symbol: Option<String>,
    /// The name of a universe model (see `POST /regime/models`).
    #[param(pattern = "^[A-Za-z0-9_.^-]{1,64}$")]
    pub universe: Option<String>,
    /// The regime as of this session (YYYY-MM-DD): the last label on or before it. Default:
    /// the latest.
    #[param(value_type = Option<String>, format = Date)]
    pub at: Option<NaiveDate>,
}

/// The regime on one day.
#[derive(Serialize, ToSchema)]
pub struct RegimeDto {
    /// The regime model.
    pub model: String,
    /// `hmm`, `mixture` or `kmeans`.
    pub model_kind: String,
    /// The session labelled.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// `bull`, `bear`, `sideways` or `high_vol`.
    pub regime: String,
    /// p(regime | data up to `day`), by regime.
    pub probabilities: HashMap<String, f64>,
    /// The last day of the fit of the model that labelled `day` (labels use no later data
    /// than their own day: forward filter, never smoothing).
    #[schema(value_type = String, format = Date)]
    pub fitted_to: NaiveDate,
    /// When the model was last updated (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn dto(state: &RegimeState, now: RegimeNow) -> RegimeDto {
    RegimeDto {
        model: state.spec.name.clone(),
        model_kind: state.spec.walk.kind.to_string(),
        day: now.day,
        regime: now.regime,
        probabilities: now.probabilities,
        fitted_to: now.fitted_to,
        updated_at: utc_text(&state.updated_at),
    }
}

/// A stored RFC 3339 time in the API's spelling (`Z`); as stored when it is not one the store
/// writes.
fn utc_text(stored: &str) -> String {
    crate::time::normalise_str(stored).unwrap_or_else(|| stored.to_string())
}

async fn model_name(s: &AppState, q: &RegimeQuery) -> ApiResult<String> {
    match (&q.symbol, &q.universe) {
        (Some(sym), None) => {
            let sym = parse_symbol(sym)?;
            Ok(s.services.regimes.for_symbol(&sym).await?.spec.name)
        }
        (None, Some(u)) if is_model_name(u) => Ok(u.clone()),
        (None, Some(_)) => Err(ApiError::field(
            "universe",
            "a model name: 1 to 64 characters of A-Z, a-z, 0-9, _, ., ^ and -",
        )),
        _ => Err(ApiError::field(
            "symbol",
            "give exactly one of symbol and universe",
        )),
    }
}

/// The market regime of a symbol or a universe model, as of a date.
#[utoipa::path(get, path = "/regime", operation_id = "get_regime", tag = "market-data", params(RegimeQuery),
    responses((status = 200, body = RegimeDto),
               (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
               (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn regime(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<RegimeQuery>,
) -> ApiResult<Json<RegimeDto>> {
    let name = model_name(&s, &q).await?;
    let (state, now) = s.services.regimes.at(&name, q.at).await?;
    Ok(Json(dto(&state, now)))
}

/// Which labels to return.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// A ticker (its model is fitted on first use).
    #[param(pattern = "^[A-Za-z0-9.^_-]{1,32}$")]
    pub symbol: Option<String>,
    /// The name of a universe model.
    #[param(pattern = "^[A-Za-z0-9_.^-]{1,64}$")]
    pub universe: Option<String>,
    /// First session, inclusive (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Last session, inclusive (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// `json` (default) or `csv` (`ts,label,p_<regime>…`).
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

/// One labelled day.
#[derive(Serialize, ToSchema)]
pub struct HistoryRow {
    /// The session.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// The most probable regime given data up to `day`.
    pub regime: String,
    /// Probabilities in the order of `columns`.
    pub probabilities: Vec<f64>,
    /// The last day of the fit of the model that labelled `day`.
    #[schema(value_type = String, format = Date)]
    pub fitted_to: NaiveDate,
}

/// A model's labels, oldest first.
#[derive(Serialize, ToSchema)]
pub struct HistoryDto {
    /// The regime model.
    pub model: String,
    /// The regimes with a probability column, in order.
    pub columns: Vec<String>,
    /// Days with bars but no feature row (members missing, windows filling).
    pub days_left_out: usize,
    /// Days before the first fit ended (no label).
    pub days_unlabelled: usize,
    /// The labelled days.
    pub rows: Vec<HistoryRow>,
}

/// Labels of a symbol's or a universe model's regime, day by day.
#[utoipa::path(get, path = "/regime/history", operation_id = "get_regime_history", tag = "market-data", params(HistoryQuery),
    responses((status = 200, description = "Labels, oldest first",
                content((HistoryDto = "application/json"), (String = "text/csv"))),
               (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
               (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn regime_history(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Response> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("json or csv, not {other:?}"),
            ))
        }
    };
    let which = RegimeQuery {
        symbol: q.symbol.clone(),
        universe: q.universe.clone(),
        at: None,
    };
    let name = model_name(&s, &which).await?;
    let (state, rows) = s.services.regimes.history(&name, q.from, q.to).await?;
    let columns: Vec<String> = state.columns.iter().map(|r| r.to_string()).collect();
    let ordered = |p: &HashMap<String, f64>| -> Vec<f64> {
        columns
            .iter()
            .map(|c| p.get(c).copied().unwrap_or(0.0))
            .collect()
    };
    if csv {
        let mut out = format!(
            "ts,label,{}\n",
            columns
                .iter()
                .map(|c| format!("p_{c}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        for r in &rows {
            let p: Vec<String> = ordered(&r.probabilities)
                .iter()
                .map(|v| format!("{v:.6}"))
                .collect();
            out.push_str(&format!("{},{},{}\n", r.day, r.regime, p.join(",")));
        }
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response());
    }
    let body = HistoryDto {
        model: name,
        columns: columns.clone(),
        days_left_out: state.days_left_out,
        days_unlabelled: state.days_unlabelled,
        rows: rows
            .iter()
            .map(|r| HistoryRow {
                day: r.day,
                regime: r.regime.clone(),
                probabilities: ordered(&r.probabilities),
                fitted_to: r.fitted_to,
            })
            .collect(),
    };
    Ok(Json(body).into_response())
}

/// Which alerts to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// Only this model's alerts.
    #[param(pattern = "^[A-Za-z0-9_.^-]{1,64}$")]
    pub model: Option<String>,
    /// Most alerts, newest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Confirmed regime changes (hysteresis: a new label held for `confirm_bars` days), newest
/// first, with what triggered each.
#[utoipa::path(get, path = "/regime/alerts", operation_id = "list_regime_alerts", tag = "market-data", params(AlertsQuery),
    responses((status = 200, body = Vec<RegimeAlert>),
               (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn regime_alerts(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> ApiResult<Json<Value>> {
    if q.model.as_deref().is_some_and(|m| !is_model_name(m)) {
        return Err(ApiError::field(
            "model",
            "a model name: 1 to 64 characters of A-Z, a-z, 0-9, _, ., ^ and -",
        ));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 1000"));
    }
    super::to_json(
        &s.services
            .regimes
            .alerts(q.model.as_deref(), limit as usize)
            .await?,
    )
}

/// A regime model, without its fitted parameters.
#[derive(Serialize, ToSchema)]
pub struct ModelDto {
    /// What it is fitted on and how.
    #[schema(value_type = Object)]
    pub spec: Value,
    /// The regimes with a probability column.
    pub columns: Vec<String>,
    /// The last day of each walk-forward fit.
    #[schema(value_type = Vec<String>)]
    pub fit_days: Vec<NaiveDate>,
    /// The regime on the last labelled day.
    #[schema(value_type = Object)]
    pub latest: Value,
    /// Each regime's share of the labelled days and statistics.
    #[schema(value_type = Vec<Object>)]
    pub summary: Value,
    /// Days with bars but no feature row.
    pub days_left_out: usize,
    /// Days before the first fit ended (no label).
    pub days_unlabelled: usize,
    /// Fits the latest update ran (the others were reused).
    pub fitted_last_update: usize,
    /// When it was last updated (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Alerts the update produced (on a first fit: every historical change, as backfill).
    pub new_alerts: usize,
}

/// A part of a model's state as JSON, its timestamps as the API spells them.
fn to_json<T: Serialize>(v: &T) -> ApiResult<Value> {
    let mut v = serde_json::to_value(v).map_err(|e| ApiError::internal(e.to_string()))?;
    crate::time::normalise(&mut v);
    Ok(v)
}

fn model_dto(state: &RegimeState, new_alerts: usize) -> ApiResult<ModelDto> {
    Ok(ModelDto {
        spec: to_json(&state.spec)?,
        columns: state.columns.iter().map(|r| r.to_string()).collect(),
        fit_days: state.fit_days.clone(),
        latest: to_json(&state.latest)?,
        summary: to_json(&state.summary)?,
        days_left_out: state.days_left_out,
        days_unlabelled: state.days_unlabelled,
        fitted_last_update: state.fitted_last_update,
        updated_at: utc_text(&state.updated_at),
        new_alerts,
    })
}

/// Every regime model.
#[utoipa::path(get, path = "/regime/models", operation_id = "list_regime_models", tag = "market-data",
    responses((status = 200, body = Vec<ModelDto>)), security(("api_key" = [])))]
async fn list_models(State(s): State<AppState>) -> ApiResult<Json<Vec<ModelDto>>> {
    let list = s.services.regimes.list().await?;
    Ok(Json(
        list.iter()
            .map(|st| model_dto(st, 0))
            .collect::<ApiResult<Vec<_>>>()?,
    ))
}

/// Create or replace a regime model and fit it walk-forward (fits whose rows and
/// configuration are unchanged are reused). The body is the spec: `name`, `symbols`, and
/// optionally `features`, `walk` (`kind`, `model`, `min_fit_rows`, `refit_every`),
/// `confirm_bars` and `webhook`.
#[utoipa::path(post, path = "/regime/models", operation_id = "fit_regime_model", tag = "market-data", request_body = Object,
    responses((status = 201, body = ModelDto),
               (status = 422, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn fit_model(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<ModelDto>)> {
    let spec: RegimeSpec =
        serde_json::from_value(body).map_err(|e| ApiError::field("body", e.to_string()))?;
    let (state, alerts) = s.services.regimes.fit(spec).await?;
    Ok((StatusCode::CREATED, Json(model_dto(&state, alerts.len())?)))
}
