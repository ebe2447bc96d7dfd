//! `/api/v1/features`, `/api/v1/signals` and `/api/v1/models`: the feature store, scoring, and
//! the model registry (training runs as a `train_signal` job).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::market_data::{blocking, parse_symbol};
use crate::routes::schemas::research::{
    FeaturePanelDoc as FeaturePanel, FeatureViewsDoc as FeatureViews,
    MaterializedViewDoc as MaterializedView, ModelDoc as Model, ModelList, SignalDoc as Signal,
};
use crate::routes::schemas::JobDoc as Job;
use crate::routes::to_json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/api/v1/features`: list the views, read a panel, materialise a view.
pub fn features_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_views))
        .routes(routes!(panel))
        .routes(routes!(materialize))
}

/// `/api/v1/signals`: score a symbol with a model.
pub fn signals_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(signal))
}

/// `/api/v1/models`: list, get, promote and train models.
pub fn models_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_models))
        .routes(routes!(get_model))
        .routes(routes!(promote))
        .routes(routes!(train))
        .merge(super::mlops::drift_router())
        .merge(super::mlops_ops::retrain_router())
}

fn view_name(name: &str) -> ApiResult<sextant_features::FeatureView> {
    sextant_features::find(name)
        .ok_or_else(|| ApiError::not_found(format!("no feature view {name:?}")))
}

/// Feature views: the built-in definitions (name, version, features) and what is materialised.
#[utoipa::path(get, path = "", operation_id = "list_feature_views", tag = "features",
    responses((status = 200, body = FeatureViews)), security(("api_key" = [])))]
async fn list_views(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let md = s.services.market_data.clone();
    let materialized = blocking(move || Ok(md.materialized_views()?)).await?;
    let views: Vec<Value> = sextant_features::builtin()
        .into_iter()
        .map(|v| {
            json!({
                "name": v.name,
                "version": v.version(),
                "resolution": v.resolution,
                "description": v.description,
                "features": v.features,
            })
        })
        .collect();
    to_json(&json!({ "views": views, "materialized": materialized }))
}

/// Which rows of a feature panel to read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PanelQuery {
    /// Comma-separated symbols (1 to 50).
    symbols: String,
    /// A materialised version (default: the newest).
    version: Option<String>,
    /// First day, inclusive (YYYY-MM-DD).
    from: Option<NaiveDate>,
    /// Last day, inclusive (YYYY-MM-DD).
    to: Option<NaiveDate>,
}

/// A feature panel: one row per (symbol, bar) with every feature (null where undefined).
#[utoipa::path(get, path = "/{name}", operation_id = "get_feature_panel", tag = "features", params(("name" = String, Path), PanelQuery),
    responses((status = 200, body = FeaturePanel)), security(("api_key" = [])))]
async fn panel(
    State(s): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<PanelQuery>,
) -> ApiResult<Json<Value>> {
    view_name(&name)?;
    let symbols = q
        .symbols
        .split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| parse_symbol(x.trim()))
        .collect::<ApiResult<Vec<_>>>()?;
    if symbols.is_empty() || symbols.len() > 50 {
        return Err(ApiError::field("symbols", "1 to 50 symbols"));
    }
    crate::extract::date_range(q.from, q.to)?;
    // The service reads on a connection of its read pool: panels do not queue behind
    // ingests and each other.
    let md = s.services.market_data.clone();
    let (p, excluded) = blocking(move || {
        Ok(md.feature_panel_with_excluded(&name, q.version.as_deref(), &symbols, q.from, q.to)?)
    })
    .await?;
    let rows: Vec<Value> = (0..p.len())
        .map(|i| {
            let mut o = serde_json::Map::new();
            o.insert("symbol".into(), json!(p.symbols[i]));
            o.insert("ts".into(), json!(p.ts[i]));
            for (j, f) in p.features.iter().enumerate() {
                let v = p.columns[j][i];
                o.insert(
                    f.clone(),
                    if v.is_finite() { json!(v) } else { Value::Null },
                );
            }
            Value::Object(o)
        })
        .collect();
    to_json(
        &json!({ "view": p.view, "version": p.version, "features": p.features, "rows": rows,
                "excluded": excluded }),
    )
}

/// Materialise a built-in view on the current bars (replaces that version's table).
#[utoipa::path(post, path = "/{name}/materialize", operation_id = "materialize_feature_view", tag = "features", params(("name" = String, Path)),
    responses((status = 200, body = MaterializedView)), security(("api_key" = [])))]
async fn materialize(
    State(s): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let view = view_name(&name)?;
    let md = s.services.market_data.clone();
    let mv = blocking(move || Ok(md.materialize_view(&view)?)).await?;
    to_json(&mv)
}

/// Which model scores the symbol.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SignalQuery {
    /// A model id (mdl_…) or name (its production model, else its newest).
    model: String,
    /// Include per-feature SHAP contributions.
    explain: Option<bool>,
}

/// The probability of an up move for the symbol's newest bar, with the feature values behind it.
#[utoipa::path(get, path = "/{symbol}", operation_id = "get_signal", tag = "signals", params(("symbol" = String, Path), SignalQuery),
    responses((status = 200, body = Signal)), security(("api_key" = [])))]
async fn signal(
    State(s): State<AppState>,
    ApiPath(sym): ApiPath<String>,
    ApiQuery(q): ApiQuery<SignalQuery>,
) -> ApiResult<Json<Value>> {
    let sym = parse_symbol(&sym)?;
    if q.model.is_empty() || q.model.len() > 64 {
        return Err(ApiError::field("model", "a model id or name"));
    }
    let rec = s.services.signals.resolve(&q.model).await?;
    let signals = s.services.signals.clone();
    let explain = q.explain.unwrap_or(false);
    let sig = blocking(move || Ok(signals.score_record(&rec, &sym, explain)?)).await?;
    to_json(&sig)
}

/// Filter of the model listing.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ModelsQuery {
    /// Only this model name.
    name: Option<String>,
}

/// Registered models, newest first.
#[utoipa::path(get, path = "", operation_id = "list_ml_models", tag = "models", params(ModelsQuery),
    responses((status = 200, body = ModelList)), security(("api_key" = [])))]
async fn list_models(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ModelsQuery>,
) -> ApiResult<Json<Value>> {
    let items = s.services.signals.list(q.name.as_deref()).await?;
    to_json(&json!({ "items": items }))
}

/// One model: parameters, metrics (in-sample, cross-validated, holdout, with baselines),
/// importance, feature view version, data snapshot, code version, seed and artifact hash.
#[utoipa::path(get, path = "/{id}", operation_id = "get_ml_model", tag = "models", params(("id" = String, Path)),
    responses((status = 200, body = Model)), security(("api_key" = [])))]
async fn get_model(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    to_json(&s.services.signals.get(&id).await?)
}

/// The stage to move a model to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteInput {
    /// staging, production or archived.
    #[schema(pattern = "^(staging|production|archived)$")]
    pub stage: String,
    /// Why, kept in the promotion record (`GET /api/v1/mlops/promotions`); at most 500
    /// characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Move a model to a stage; a new production model archives the previous one of its name. The
/// change is recorded with the key and the reason given.
#[utoipa::path(post, path = "/{id}/promote", operation_id = "promote_ml_model", tag = "models", params(("id" = String, Path)),
    request_body = PromoteInput, responses((status = 200, body = Model)), security(("api_key" = [])))]
async fn promote(
    State(s): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<PromoteInput>,
) -> ApiResult<Json<Value>> {
    to_json(
        &s.services
            .mlops
            .promote_by_key(&id, &input.stage, caller.actor(), input.reason.as_deref())
            .await?,
    )
}

/// A training request (documented maxima; `sextant_core::signals::TrainRequest` is the type).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TrainRequestDoc {
    /// 1 to 64 characters of letters, digits, `_` and `-`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub name: String,
    /// The symbols to train on, 1 to 100.
    #[schema(min_items = 1, max_items = 100, inline)]
    pub symbols: Vec<crate::routes::backtests::SymbolString>,
    /// A feature view (default `technical`).
    pub view: Option<String>,
    /// `{kind: next_return | triple_barrier | abs_return_above_median, ...}`.
    #[schema(value_type = Option<Object>)]
    pub label: Option<Value>,
    /// First day of the training period (YYYY-MM-DD); default: the first bar.
    #[schema(value_type = Option<String>, format = Date)]
    pub train_from: Option<String>,
    /// Last day of the training period (YYYY-MM-DD), not before `train_from`; default: the
    /// last bar.
    #[schema(value_type = Option<String>, format = Date)]
    pub train_to: Option<String>,
    /// First day of an optional out-of-sample holdout (YYYY-MM-DD), after `train_to`; default
    /// the day after `train_to` when only `test_to` is given.
    #[schema(value_type = Option<String>, format = Date)]
    pub test_from: Option<String>,
    /// Last day of the holdout (YYYY-MM-DD).
    #[schema(value_type = Option<String>, format = Date)]
    pub test_to: Option<String>,
    /// `{kind: purged_kfold | walk_forward | none, ...}`.
    #[schema(value_type = Option<Object>)]
    pub validation: Option<Value>,
    /// Gradient-boosting parameters; omitted ones take their defaults.
    #[schema(inline)]
    pub params: Option<GbtParamsDoc>,
    /// Seed for all sampling (default 0); it replaces `params.seed`.
    pub seed: Option<u64>,
}

/// Gradient-boosting parameters with their maxima (LightGBM names and defaults).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct GbtParamsDoc {
    /// Boosting rounds (default 100).
    #[schema(minimum = 1, maximum = 10000)]
    pub n_trees: Option<u64>,
    /// Shrinkage applied to every leaf value (default 0.1).
    #[schema(exclusive_minimum = 0.0, maximum = 10.0)]
    pub learning_rate: Option<f64>,
    /// Most leaves per tree (default 31).
    #[schema(minimum = 2, maximum = 4096)]
    pub num_leaves: Option<u64>,
    /// `<= 0` means unlimited.
    #[schema(maximum = 64)]
    pub max_depth: Option<i32>,
    /// Fewest training rows in a leaf (default 20).
    #[schema(minimum = 0, maximum = 1000000)]
    pub min_data_in_leaf: Option<u64>,
    /// Smallest sum of hessians in a leaf (default 0.001).
    #[schema(minimum = 0.0)]
    pub min_sum_hessian_in_leaf: Option<f64>,
    /// L1 regularisation of leaf values (default 0).
    #[schema(minimum = 0.0)]
    pub lambda_l1: Option<f64>,
    /// L2 regularisation of leaf values (default 0).
    #[schema(minimum = 0.0)]
    pub lambda_l2: Option<f64>,
    /// Smallest gain for a split to be made (default 0).
    #[schema(minimum = 0.0)]
    pub min_gain_to_split: Option<f64>,
    /// Most histogram bins per feature (default 255).
    #[schema(minimum = 2, maximum = 65534)]
    pub max_bin: Option<u64>,
    /// Fewest rows per bin when the bin boundaries are built (default 3).
    #[schema(minimum = 0, maximum = 1000000)]
    pub min_data_in_bin: Option<u64>,
    /// Fraction of the features sampled for each tree (default 1).
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub feature_fraction: Option<f64>,
    /// Fraction of the rows sampled in each bagging round (default 1).
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub bagging_fraction: Option<f64>,
    /// Draw a new bag every this many trees; 0 (the default) disables bagging.
    #[schema(minimum = 0, maximum = 10000)]
    pub bagging_freq: Option<u64>,
    /// Ignored: the request's top-level `seed` replaces it.
    pub seed: Option<u64>,
    /// Start from the log-odds of the base rate instead of 0 (default true).
    pub boost_from_average: Option<bool>,
}

/// Train a model as a `train_signal` job (202; follow `/api/v1/jobs/{id}/events`). The body is
/// a training request: name, symbols, view, label, periods, validation, params, seed.
#[utoipa::path(post, path = "/train", operation_id = "train_ml_model", tag = "models", request_body = TrainRequestDoc,
    responses((status = 202, body = Job),
              (status = 429, description = "the key's open-job quota or rate limit is used up",
               body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn train(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    serde_json::from_value::<sextant_core::signals::TrainRequest>(body.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid training request: {e}")))?
        .validate()?;
    let job = s
        .jobs
        .submit(
            sextant_core::jobs::JobKind::TrainSignal.name(),
            body,
            &caller.key_id,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, to_json(&job)?))
}
