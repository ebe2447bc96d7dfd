//! The evaluation harness over HTTP (`/api/v1/mlops/evals`): replay a strategy over named
//! crises and custom windows beside its baselines, read the stored reports, and get one as an
//! HTML page.

use super::to_json;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_core::mlops::EvalRequest;
use sextant_mlops::eval::EvalReport;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Evaluation routes, nested under `/api/v1/mlops`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_evals, run_eval))
        .routes(routes!(get_eval))
        .routes(routes!(get_eval_report))
}

/// What to evaluate (`sextant_core::mlops::EvalRequest`).
#[derive(ToSchema)]
#[schema(as = EvalRequest)]
#[allow(dead_code)]
pub struct EvalRequestDoc {
    /// A backtest request of one symbol on daily bars; its `from`/`to` are set per window.
    #[schema(value_type = Object)]
    pub backtest: (),
    /// Window names (dotcom, gfc, flash_crash, us_downgrade, china_deval, volmageddon, covid,
    /// bear_2022) or `{name, from, to}`; at most 20; default every named window.
    #[schema(value_type = Option<Vec<Object>>)]
    pub windows: (),
    /// Random-entry simulations per window, 100 to 20000 (default 1000).
    pub simulations: Option<usize>,
    /// Bootstrap resamples, 100 to 20000 (default 2000).
    pub resamples: Option<usize>,
    /// Seed of the random entries and bootstraps (default 0).
    pub seed: Option<u64>,
}

/// A stored evaluation (`sextant_mlops::eval::EvalReport`).
#[derive(ToSchema)]
#[schema(as = EvalReport)]
#[allow(dead_code)]
pub struct EvalReportDoc {
    /// `evl_` and 20 hex digits.
    pub id: String,
    /// The backtest request replayed.
    #[schema(value_type = Object)]
    pub request: (),
    /// Seed.
    pub seed: u64,
    /// Random-entry simulations per window.
    pub simulations: usize,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Per window: `{window, skipped, bars, arms: [{arm, label, run_id, total_return, sharpe,
    /// max_drawdown, trades, psr, vs_buy_and_hold, equity, error}], random_entries,
    /// random_entries_note, explanation, explanation_note}`.
    #[schema(value_type = Vec<Object>)]
    pub windows: (),
    /// The data snapshot read.
    pub data_snapshot: String,
    /// The code that ran.
    pub code_version: String,
    /// Who ran it.
    pub owner: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The tracked run holding the artifacts.
    pub tracked_run: Option<String>,
}

/// One window of an evaluation in a listing.
#[derive(Serialize, ToSchema)]
pub struct EvalWindowSummary {
    /// The window's name.
    pub name: String,
    /// Why it was skipped, if it was.
    pub skipped: Option<String>,
    /// The strategy's return.
    pub strategy_return: Option<f64>,
    /// Buy & hold's return.
    pub buy_and_hold_return: Option<f64>,
    /// The random-entry p-value.
    pub random_entry_p: Option<f64>,
}

/// An evaluation in a listing (the whole report is at `/api/v1/mlops/evals/{id}`).
#[derive(Serialize, ToSchema)]
pub struct EvalSummary {
    /// Its id.
    pub id: String,
    /// The strategy.
    pub strategy: String,
    /// The symbols.
    pub symbols: Vec<String>,
    /// Per window.
    pub windows: Vec<EvalWindowSummary>,
    /// Who ran it.
    pub owner: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&EvalReport> for EvalSummary {
    fn from(r: &EvalReport) -> Self {
        let ret = |w: &sextant_mlops::eval::WindowResult, arm: &str| {
            w.arms
                .iter()
                .find(|a| a.arm == arm)
                .and_then(|a| a.total_return)
        };
        EvalSummary {
            id: r.id.clone(),
            strategy: r.request["strategy"].as_str().unwrap_or("").to_string(),
            symbols: r.request["symbols"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            windows: r
                .windows
                .iter()
                .map(|w| EvalWindowSummary {
                    name: w.window.name.clone(),
                    skipped: w.skipped.clone(),
                    strategy_return: ret(w, "strategy"),
                    buy_and_hold_return: ret(w, "buy_and_hold"),
                    random_entry_p: w.random_entries.as_ref().map(|t| t.p_value),
                })
                .collect(),
            owner: r.owner.clone(),
            created_at: r.created_at,
        }
    }
}

/// A page of evaluations.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvalsQuery {
    /// At most this many, newest first (1 to 100; default 20).
    pub limit: Option<u64>,
}

/// Replay a strategy over named crises and custom windows, each beside buy & hold, the same rule
/// untuned and random entries with its own exposure, with PSR and bootstrap intervals; for an
/// `ml_signal` strategy also the model's SHAP summary and counterfactuals. Stored and tracked
/// (the HTML report is an artifact of the tracked run).
#[utoipa::path(post, path = "/evals", operation_id = "run_eval", tag = "mlops",
    request_body = EvalRequestDoc, responses((status = 201, body = EvalReportDoc)),
    security(("api_key" = [])))]
async fn run_eval(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: EvalRequest = super::parse_body(body)?;
    let r = s.services.mlops.evaluate(&req, &caller.key_id).await?;
    Ok((StatusCode::CREATED, super::mlops::api_ids(to_json(&r))?))
}

/// The key's evaluations (an admin's: everyone's), newest first.
#[utoipa::path(get, path = "/evals", operation_id = "list_evals", tag = "mlops",
    params(EvalsQuery), responses((status = 200, body = Vec<EvalSummary>)),
    security(("api_key" = [])))]
async fn list_evals(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<EvalsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "limit must be 1 to 100"));
    }
    let actor = caller.actor();
    let all = s.services.mlops.evals(actor.scope(), limit).await?;
    to_json(&all.iter().map(EvalSummary::from).collect::<Vec<_>>())
}

/// One evaluation, whole.
#[utoipa::path(get, path = "/evals/{id}", operation_id = "get_eval", tag = "mlops",
    params(("id" = String, Path)), responses((status = 200, body = EvalReportDoc)),
    security(("api_key" = [])))]
async fn get_eval(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let r = s.services.mlops.eval(&id, caller.actor().scope()).await?;
    super::mlops::api_ids(to_json(&r))
}

/// One evaluation as a self-contained HTML page (inline SVG charts and tables, no script).
#[utoipa::path(get, path = "/evals/{id}/report", operation_id = "get_eval_report", tag = "mlops",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String)),
    security(("api_key" = [])))]
async fn get_eval_report(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let r = s.services.mlops.eval(&id, caller.actor().scope()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            ),
        ],
        sextant_mlops::eval::render_html(&r),
    )
        .into_response())
}
