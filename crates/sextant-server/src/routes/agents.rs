//! `/api/v1/strategies/generative-builder` (a strategy from words, validated before anything
//! is stored), `/api/v1/chat` (the ChatOps agent, with SSE streaming and confirmations) and
//! `/api/v1/admin/agent-audit` (every tool call the agent made or refused).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::schemas::agents::{
    AgentAuditList, BuilderAnswerDoc as BuilderAnswer, ChatAnswerDoc as ChatAnswer, ChatToolList,
};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Extension, Json};
use futures::stream::Stream;
use serde::Deserialize;
use serde_json::{json, Value};
use sextant_agents::builder::BuildRequest;
use sextant_agents::chat::Caller as AgentCaller;
use sextant_core::agents::{AgentsError, Preview};
use std::convert::Infallible;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The builder route, merged into the strategy router.
pub fn builder_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(generative_builder))
}

/// The chat routes, nested at `/api/v1/chat`.
pub fn chat_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chat))
        .routes(routes!(chat_stream))
        .routes(routes!(confirm))
        .routes(routes!(tools))
}

/// The audit route, merged into the admin router.
pub fn audit_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit))
}

impl From<AgentsError> for ApiError {
    fn from(e: AgentsError) -> Self {
        match e {
            AgentsError::Invalid(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-request", m)
            }
            AgentsError::Unavailable(m) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "agents-unavailable", m)
            }
            AgentsError::Service(m) => ApiError::internal(m),
        }
    }
}

/// The caller as the agent sees it.
pub(crate) fn agent_caller(c: &Caller, channel: &str) -> AgentCaller {
    AgentCaller {
        id: c.key_id.clone(),
        role: c.role,
        channel: channel.to_string(),
    }
}

/// A strategy request in words.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuilderInput {
    /// What to build, e.g. "buy when the 10-day average crosses above the 50-day, only in
    /// bull regimes, 0.1% commission" (at most 2,000 bytes).
    pub text: String,
    /// The regime model regime filters read.
    #[serde(default)]
    pub regime_model: Option<String>,
    /// The ML signal model probability filters read.
    #[serde(default)]
    pub ml_model: Option<String>,
    /// Also save the result as a user strategy (a `usd_…` definition). Default: false.
    #[serde(default)]
    pub save: bool,
    /// Run a backtest of the result: `{"symbols": ["SPY"], "from": "2015-01-01", "to": null}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub preview: Option<Value>,
}

/// Build a strategy config from a natural-language request: a config validated by the engine
/// (with an explanation of each choice and the catalog entries used), or a clarifying question
/// when the request is ambiguous or asks for something the library cannot do. Only a built,
/// re-validated config is ever stored.
#[utoipa::path(post, path = "/generative-builder", operation_id = "build_strategy_from_text", tag = "strategies", request_body = BuilderInput,
    responses((status = 200, body = BuilderAnswer),
              (status = 422, description = "empty or oversized text, or a bad preview", body = crate::error::Problem, content_type = "application/problem+json"),
              (status = 503, description = "the embedding model is not installed", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn generative_builder(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<BuilderInput>,
) -> ApiResult<Json<Value>> {
    let preview: Option<Preview> = match input.preview {
        None | Some(Value::Null) => None,
        Some(v) => {
            Some(serde_json::from_value(v).map_err(|e| ApiError::field("preview", e.to_string()))?)
        }
    };
    let req = BuildRequest {
        text: input.text,
        regime_model: input.regime_model,
        ml_model: input.ml_model,
    };
    let out = s
        .agents
        .build(&caller.key_id, &req, input.save, preview)
        .await?;
    super::to_json(&out)
}

/// A message to the agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatInput {
    /// The question, e.g. "why did last night's refresh fail?" (at most 4,000 bytes).
    pub message: String,
}

/// Ask the ChatOps agent. It calls only the tools your role allows; tools that change state
/// come back as a pending confirmation (`pending.token`) for `POST /chat/confirm`.
#[utoipa::path(post, path = "", operation_id = "send_chat_message", tag = "chat", request_body = ChatInput,
    responses((status = 200, body = ChatAnswer),
              (status = 422, description = "empty or oversized message", body = crate::error::Problem, content_type = "application/problem+json"),
              (status = 503, description = "the embedding model is not installed", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn chat(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<ChatInput>,
) -> ApiResult<Json<Value>> {
    let answer = s
        .agents
        .chat(&agent_caller(&caller, "http"), &input.message, None)
        .await?;
    super::to_json(&answer)
}

/// One server-sent event of `POST /chat/stream`.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ChatSseEvent {
    /// `tool_call`, `tool_result`, `delta`, `done` or `error`.
    pub event: String,
    /// The event as JSON text (`done` carries the whole answer).
    pub data: String,
}

/// [`chat`] as server-sent events: `tool_call` and `tool_result` as they happen, the reply in
/// `delta` pieces, then `done` with the whole answer (or `error`). A message that cannot be
/// answered at all (empty, oversized) is a 422 before the stream starts.
#[utoipa::path(post, path = "/stream", operation_id = "stream_chat_message", tag = "chat", request_body = ChatInput,
    responses((status = 200, body = ChatSseEvent, content_type = "text/event-stream"),
              (status = 422, description = "empty or oversized message", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn chat_stream(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<ChatInput>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let trimmed = input.message.trim();
    if trimmed.is_empty() || trimmed.len() > sextant_agents::chat::MAX_MESSAGE_BYTES {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request",
            format!(
                "message must be 1 to {} bytes",
                sextant_agents::chat::MAX_MESSAGE_BYTES
            ),
        ));
    }
    let slot = s.sse.acquire(&caller.key_id)?;
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let who = agent_caller(&caller, "http");
    let agents = s.agents.clone();
    let err_tx = tx.clone();
    tokio::spawn(async move {
        if let Err(e) = agents.chat(&who, &input.message, Some(tx)).await {
            let _ = err_tx
                .send(sextant_agents::chat::ChatEvent::Error {
                    message: e.to_string(),
                })
                .await;
        }
    });
    let stream = futures::stream::unfold((rx, slot), |(mut rx, slot)| async move {
        let e = rx.recv().await?;
        let name = match &e {
            sextant_agents::chat::ChatEvent::ToolCall { .. } => "tool_call",
            sextant_agents::chat::ChatEvent::ToolResult { .. } => "tool_result",
            sextant_agents::chat::ChatEvent::Delta { .. } => "delta",
            sextant_agents::chat::ChatEvent::Done { .. } => "done",
            sextant_agents::chat::ChatEvent::Error { .. } => "error",
        };
        // The data is what a response body would be (timestamps in tool results as RFC 3339).
        let data = serde_json::to_value(&e)
            .map(|v| super::json_body(v).0.to_string())
            .unwrap_or_default();
        let ev = Event::default().event(name).data(data);
        Some((Ok::<_, Infallible>(ev), (rx, slot)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A confirmation of a pending write.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmInput {
    /// The `pending.token` of a chat answer (valid ten minutes, for the key it was given to).
    pub token: String,
}

/// Run a write tool the agent proposed. Only the key it was proposed to can confirm it, and
/// only while its role still allows the tool.
#[utoipa::path(post, path = "/confirm", operation_id = "confirm_chat_action", tag = "chat", request_body = ConfirmInput,
    responses((status = 200, body = ChatAnswer),
              (status = 422, description = "unknown, expired or foreign token", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn confirm(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<ConfirmInput>,
) -> ApiResult<Json<Value>> {
    let answer = s
        .agents
        .confirm(&agent_caller(&caller, "http"), &input.token)
        .await?;
    super::to_json(&answer)
}

/// The tools your role allows, with their argument schemas.
#[utoipa::path(get, path = "/tools", operation_id = "list_chat_tools", tag = "chat", responses((status = 200, body = ChatToolList)), security(("api_key" = [])))]
async fn tools(State(s): State<AppState>, Extension(caller): Extension<Caller>) -> Json<Value> {
    let tools = s.agents.gate().offered(&agent_caller(&caller, "http"));
    super::json_body(json!({ "items": tools }))
}

/// How many audit records to return.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// 1 to 1,000. Default: 100.
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The agent's audit trail, newest first: every tool call made, refused, proposed or
/// confirmed, with the caller, the arguments and a sha256 of the result.
#[utoipa::path(get, path = "/agent-audit", operation_id = "list_agent_audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AgentAuditList)), security(("api_key" = [])))]
async fn audit(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 1000"));
    }
    let items = s
        .agents
        .audit()
        .recent(limit as usize)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(super::json_body(json!({ "items": items })))
}
