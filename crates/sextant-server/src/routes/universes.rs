//! `/api/v1/universes` (named universes with point-in-time membership) and
//! `/api/v1/factors/evaluate` (a signal judged over a universe: IC, quantile returns,
//! turnover; JSON, or a tearsheet figure as SVG).

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::schemas::portfolios::{
    UniverseDetailDoc as UniverseDetail, UniverseDoc as Universe,
};
use crate::routes::schemas::runs::FactorEvaluationDoc as FactorEvaluation;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use sextant_core::factors::{figure, FactorRequest};
use sextant_core::universes::{Member, UniverseError, UniverseService};
use sextant_domain::Symbol;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

impl From<UniverseError> for ApiError {
    fn from(e: UniverseError) -> Self {
        match e {
            UniverseError::Invalid(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-request",
                e.to_string(),
            ),
            UniverseError::NotFound(_) => ApiError::not_found(e.to_string()),
            UniverseError::Data(d) => d.into(),
            UniverseError::Meta(_) | UniverseError::Corrupt(_) => ApiError::internal(e.to_string()),
        }
    }
}

/// The universe routes, under `/api/v1/universes`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_universes))
        .routes(routes!(get_universe, put_universe, delete_universe))
}

/// The factor routes, under `/api/v1/factors`.
pub fn factors_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(evaluate_factor))
}

/// A universe's membership: a CSV text, a member list, or the cache's history of symbols.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UniverseInput {
    /// What it is, for people (at most 500 characters kept).
    #[serde(default)]
    pub description: String,
    /// Members with optional `from`/`to` dates (YYYY-MM-DD; a `to` marks a name that left).
    #[schema(value_type = Option<Vec<crate::routes::schemas::portfolios::UniverseMemberDoc>>, max_items = 1000)]
    pub members: Option<Vec<Member>>,
    /// A CSV file's text with a `symbol` column and optional `from`/`to` columns (64 KiB is
    /// about 2,000 members with both dates).
    #[schema(max_length = 65536)]
    pub csv: Option<String>,
    /// Build the membership from the cache: these symbols (an empty list: every cached
    /// symbol), each from its first to its last cached bar.
    #[schema(value_type = Option<Vec<String>>, max_items = 1000)]
    pub from_cache: Option<Vec<Symbol>>,
}

/// A universe name in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NamePath {
    /// The universe (`cache` is the built-in one of every cached symbol).
    #[param(pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    pub name: String,
}

/// Every stored universe, by name (members included).
#[utoipa::path(get, path = "", operation_id = "list_universes", tag = "universes",
    responses((status = 200, body = Vec<Universe>)), security(("api_key" = [])))]
async fn list_universes(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    super::to_json(&s.services.universes.list().await?)
}

/// One universe with its members and, when none was delisted, its survivorship notice.
#[utoipa::path(get, path = "/{name}", operation_id = "get_universe", tag = "universes", params(NamePath),
    responses((status = 200, body = UniverseDetail)), security(("api_key" = [])))]
async fn get_universe(
    State(s): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
) -> ApiResult<Json<Value>> {
    let u = s.services.universes.get(&p.name).await?;
    let mut v = serde_json::to_value(&u).map_err(|e| ApiError::internal(e.to_string()))?;
    v["delisted"] = u.delisted().into();
    v["survivorship_notice"] = u.survivorship_notice().into();
    Ok(super::json_body(v))
}

/// Store (or replace) a universe from exactly one of `members`, `csv` or `from_cache`.
#[utoipa::path(put, path = "/{name}", operation_id = "save_universe", tag = "universes", params(NamePath),
    request_body = UniverseInput,
    responses((status = 200, body = Universe)), security(("api_key" = [])))]
async fn put_universe(
    State(s): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
    ApiJson(body): ApiJson<UniverseInput>,
) -> ApiResult<Json<Value>> {
    let u = &s.services.universes;
    let given = [
        body.members.is_some(),
        body.csv.is_some(),
        body.from_cache.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::field(
            "members",
            "give exactly one of members, csv or from_cache",
        ));
    }
    if body.csv.as_ref().is_some_and(|c| c.len() > 65_536) {
        return Err(ApiError::field("csv", "at most 64 KiB"));
    }
    let (source, members) = match (body.members, &body.csv, body.from_cache) {
        (Some(m), _, _) => ("list", m),
        (_, Some(text), _) => ("file", UniverseService::parse_csv(text)?),
        (_, _, Some(symbols)) => {
            let svc = s.services.universes.clone();
            let members = tokio::task::spawn_blocking(move || svc.from_cache(&symbols))
                .await
                .map_err(|e| ApiError::internal(e.to_string()))??;
            ("cache", members)
        }
        (None, None, None) => {
            return Err(ApiError::field(
                "members",
                "give one of members, csv or from_cache",
            ))
        }
    };
    let saved = u.save(&p.name, &body.description, source, members).await?;
    super::to_json(&saved)
}

/// Delete a stored universe.
#[utoipa::path(delete, path = "/{name}", operation_id = "delete_universe", tag = "universes", params(NamePath),
    responses((status = 204, description = "deleted")), security(("api_key" = [])))]
async fn delete_universe(
    State(s): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
) -> ApiResult<StatusCode> {
    if s.services.universes.delete(&p.name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no universe {:?}", p.name)))
    }
}

/// How to answer an evaluation.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FigureQuery {
    /// `json` (default) or `svg`.
    #[param(pattern = "^(json|svg)$")]
    pub format: Option<String>,
    /// With `format=svg`: `ic` (the first horizon's IC per date, default) or `quantiles`.
    #[param(pattern = "^(ic|quantiles)$")]
    pub figure: Option<String>,
}

/// A factor evaluation request: universe, signal (as the portfolio strategies take it),
/// range, horizons, quantiles, regime model.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct FactorRequestDoc {
    /// The universe (`cache`: every cached symbol).
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    pub universe: String,
    /// e.g. `{"signal": "momentum", "lookback": 60}`, `{"signal": "model", "model": "up"}`,
    /// `{"signal": "feature", "feature": "technical.rsi_14"}`.
    #[schema(value_type = Option<Object>)]
    pub signal: Option<Value>,
    /// First day, inclusive (YYYY-MM-DD).
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive (YYYY-MM-DD).
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Horizons in bars (1 to 252, at most 8); default `[1, 5, 10]`.
    #[schema(max_items = 8)]
    pub periods: Option<Vec<u32>>,
    /// 2 to 20; default 5.
    #[schema(minimum = 2, maximum = 20)]
    pub quantiles: Option<u32>,
    /// Split the IC by this regime model's labels.
    pub regime_model: Option<String>,
    /// `total_return` (default), `split_adjusted` or `raw`.
    pub prices: Option<String>,
}

/// Judge a signal over a universe: rank IC per horizon (mean, ICIR, t), demeaned quantile
/// returns and the top-minus-bottom spread, turnover, rank autocorrelation, IC by regime.
/// Forward returns start at the next open. `format=svg` answers a tearsheet figure.
#[utoipa::path(post, path = "/evaluate", operation_id = "evaluate_factor", tag = "factors", params(FigureQuery),
    request_body = FactorRequestDoc,
    responses((status = 200, description = "The evaluation (JSON) or a tearsheet figure (`format=svg`).",
                content((FactorEvaluation = "application/json"), (String = "image/svg+xml")))),
    security(("api_key" = [])))]
async fn evaluate_factor(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<FigureQuery>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let req: FactorRequest = super::parse_body(body)?;
    let svg = match q.format.as_deref() {
        None | Some("json") => false,
        Some("svg") => true,
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("json or svg, not {other:?}"),
            ))
        }
    };
    let e = s.services.factors.evaluate(req).await?;
    if svg {
        let which = q.figure.as_deref().unwrap_or("ic");
        let Some(img) = figure(&e, which) else {
            return Err(ApiError::field("figure", "ic or quantiles"));
        };
        return Ok(([(header::CONTENT_TYPE, "image/svg+xml")], img).into_response());
    }
    Ok(super::to_json(&e)?.into_response())
}
