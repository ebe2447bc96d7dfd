//! `/api/v1/rl`: reinforcement-learning policies — training as a `train_rl` job (its progress
//! events carry the reward curve), the registered policies with their out-of-sample evaluation.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::schemas::JobDoc as Job;
use crate::routes::to_json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use sextant_core::jobs::JobKind;
use sextant_core::rl::{RlServiceError, RlTrainRequest};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The RL routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(train))
        .routes(routes!(list_policies))
        .routes(routes!(get_policy))
}

impl From<RlServiceError> for ApiError {
    fn from(e: RlServiceError) -> Self {
        match e {
            RlServiceError::Data(d) => d.into(),
            RlServiceError::Meta(m) => m.into(),
            RlServiceError::NotFound(_) => ApiError::not_found(e.to_string()),
            RlServiceError::Invalid(_) | RlServiceError::Rl(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-request",
                e.to_string(),
            ),
            RlServiceError::Objects(_) => ApiError::internal(e.to_string()),
        }
    }
}

/// What to train (the schema of [`RlTrainRequest`]).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct RlTrainRequestDoc {
    /// The symbol traded (daily bars, total-return basis).
    #[schema(pattern = "^[A-Z0-9.^_-]{1,32}$")]
    symbol: String,
    /// Last session of the training range; the evaluation uses the bars after it.
    #[schema(value_type = String, format = Date)]
    train_to: String,
    /// Last session of the evaluation (default: the newest bar); after `train_to`.
    #[schema(value_type = Option<String>, format = Date)]
    test_to: Option<String>,
    /// ppo (default) or dqn.
    #[schema(pattern = "^(ppo|dqn)$")]
    algo: Option<String>,
    /// Environment steps (default 100,000).
    #[schema(minimum = 1, maximum = 1_000_000)]
    steps: Option<u64>,
    /// Seed of everything random (default 0).
    #[schema(minimum = 0)]
    seed: Option<u64>,
    /// short_flat_long (default), long_flat or buckets.
    #[schema(pattern = "^(short_flat_long|long_flat|buckets)$")]
    actions: Option<String>,
    /// The reward (default the log return net of costs): `{"kind": "log_return"}`,
    /// `{"kind": "drawdown", "penalty": 2}` or `{"kind": "differential_sharpe", "eta": 0.01}`.
    #[schema(value_type = Option<Object>)]
    reward: Option<Value>,
    /// Bars per training episode (default 252).
    #[schema(minimum = 2, maximum = 5000)]
    episode_bars: Option<u64>,
    /// Commission as a fraction of notional (default 0.001).
    #[schema(minimum = 0.0, exclusive_maximum = 0.1)]
    commission_pct: Option<f64>,
    /// Slippage in basis points (default 5).
    #[schema(minimum = 0.0, exclusive_maximum = 1000.0)]
    slippage_bps: Option<f64>,
    /// Regime probabilities in the observation: the states of a walk-forward HMM on the
    /// symbol's return and volatility, point in time (default none).
    #[schema(minimum = 2, maximum = 4)]
    regime_states: Option<u64>,
}

/// A registered policy (`sextant_core::rl::PolicyRecord`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RlPolicyDoc {
    /// `rlp_` and the first 12 hex digits of the checkpoint hash.
    id: String,
    /// The training request as given (defaults filled in).
    #[schema(value_type = Object)]
    request: Value,
    /// SHA-256 of the safetensors checkpoint.
    checkpoint: String,
    /// The data snapshot of the bars read.
    data_snapshot: String,
    /// First and last session of the training range.
    #[schema(value_type = Vec<String>)]
    train_range: Vec<String>,
    /// Observation width.
    obs_dim: u64,
    /// Hidden layer widths.
    hidden: Vec<u64>,
    /// The reward curve: `{steps, mean_return, episodes}` per rollout.
    #[schema(value_type = Vec<Object>)]
    curve: Vec<Value>,
    /// The out-of-sample evaluation: `policy`, `buy_and_hold`, `flat` and `best_rule` legs
    /// (`total_return`, `sharpe`, `max_drawdown`, `trades`), the paired bootstraps
    /// `vs_buy_and_hold` and `vs_best_rule`, action counts and the audit hash.
    #[schema(value_type = Object)]
    evaluation: Value,
    /// When it was trained (RFC 3339, UTC).
    #[schema(format = DateTime)]
    created_at: String,
    /// Training wall time in seconds.
    train_secs: f64,
    /// With `regime_states`: the regime of each probability column, the first session with
    /// probabilities (training episodes start there) and the walk-forward fits.
    #[schema(value_type = Option<Object>)]
    regimes: Option<Value>,
}

/// Registered policies, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RlPolicyListDoc {
    /// The policies.
    items: Vec<RlPolicyDoc>,
}

/// Train a policy as a `train_rl` job (202; follow `/api/v1/jobs/{id}/events` for the reward
/// curve). It is trained on the bars up to `train_to`, checkpointed, evaluated on the bars after
/// it beside buy and hold, flat and the best SMA cross tuned on the training range, and
/// registered.
#[utoipa::path(post, path = "/train", operation_id = "train_rl_policy", tag = "rl", request_body = RlTrainRequestDoc,
    responses((status = 202, body = Job),
              (status = 422, description = "an invalid request", body = crate::error::Problem,
               content_type = "application/problem+json"),
              (status = 429, description = "the key's open-job quota or rate limit is used up",
               body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn train(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // Malformed bodies are 400 here; the job's own validation (step limit, ranges) answers 422.
    serde_json::from_value::<RlTrainRequest>(body.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid training request: {e}")))?;
    let job = s
        .jobs
        .submit(JobKind::TrainRl.name(), body, &caller.key_id)
        .await?;
    Ok((StatusCode::ACCEPTED, to_json(&job)?))
}

/// Every registered policy, newest first: request, checkpoint hash, data snapshot, reward
/// curve and out-of-sample evaluation.
#[utoipa::path(get, path = "/policies", operation_id = "list_rl_policies", tag = "rl",
    responses((status = 200, body = RlPolicyListDoc)), security(("api_key" = [])))]
async fn list_policies(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let items = s.services.rl.list().await?;
    to_json(&json!({ "items": items }))
}

/// One registered policy.
#[utoipa::path(get, path = "/policies/{id}", operation_id = "get_rl_policy", tag = "rl",
    params(("id" = String, Path)),
    responses((status = 200, body = RlPolicyDoc),
              (status = 404, description = "no such policy", body = crate::error::Problem,
               content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn get_policy(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    to_json(&s.services.rl.get(&id).await?)
}
