//! Protocol endpoints for other clients of the agent's tools:
//!
//! - `POST /mcp`: a Model Context Protocol server (Streamable HTTP transport, JSON responses,
//!   no session) exposing the caller's tools; write tools answer with a confirmation token
//!   for the `confirm_action` tool. Authenticated by API key like every route.
//! - `POST /api/v1/slack/commands`: a Slack slash command, authenticated by Slack's request
//!   signature; Slack users act with the role `[agents] slack_roles` gives them (viewer when
//!   not listed).

use super::agents::agent_caller;
use crate::auth::Caller;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use sextant_agents::chat::{format_result, Caller as AgentCaller, ToolDef};
use sextant_domain::Role;

/// Protocol versions this server speaks, newest first.
pub const MCP_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// The tool that runs a proposed write.
const CONFIRM_TOOL: &str = "confirm_action";

/// The MCP and Slack routes (outside the OpenAPI document: they speak their own protocols).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            crate::auth::MCP_PATH,
            post(mcp).get(no_stream).delete(no_stream),
        )
        .route(crate::auth::SLACK_PATH, post(slack))
}

/// No server-initiated stream and no sessions: GET and DELETE are not offered.
async fn no_stream() -> StatusCode {
    StatusCode::METHOD_NOT_ALLOWED
}

fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> Response {
    Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}}))
        .into_response()
}

fn rpc_result(id: Value, result: Value) -> Response {
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

fn tool_json(t: &ToolDef) -> Value {
    let note = if t.writes {
        " Changes state: returns a token to pass to confirm_action."
    } else {
        ""
    };
    json!({"name": t.name, "description": format!("{}{note}", t.description), "inputSchema": t.parameters})
}

async fn mcp(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(v) = headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
    {
        if !MCP_VERSIONS.contains(&v) {
            return (
                StatusCode::BAD_REQUEST,
                format!("unsupported MCP-Protocol-Version {v}"),
            )
                .into_response();
        }
    }
    let msg: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return rpc_error(Value::Null, -32700, format!("parse error: {e}")),
    };
    if !msg.is_object() {
        return rpc_error(
            Value::Null,
            -32600,
            "one JSON-RPC message per request (no batches)",
        );
    }
    let Some(id) = msg.get("id").cloned() else {
        // A notification (`notifications/initialized`, ...): accepted, nothing to answer.
        return StatusCode::ACCEPTED.into_response();
    };
    let who = agent_caller(&caller, "mcp");
    let params = msg.get("params").cloned().unwrap_or(Value::Null);
    match msg.get("method").and_then(Value::as_str).unwrap_or("") {
        "initialize" => {
            let asked = params
                .get("protocolVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            let version = if MCP_VERSIONS.contains(&asked) {
                asked
            } else {
                MCP_VERSIONS[0]
            };
            rpc_result(
                id,
                json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": {"name": "sextant", "version": env!("CARGO_PKG_VERSION")},
                    "instructions": "Operations tools of a Sextant server, filtered by your API key's role. Tools that change state return a token; call confirm_action with it to run them.",
                }),
            )
        }
        "ping" => rpc_result(id, json!({})),
        "tools/list" => {
            let offered = s.agents.gate().offered(&who);
            let mut tools: Vec<Value> = offered.iter().map(tool_json).collect();
            if offered.iter().any(|t| t.writes) {
                tools.push(json!({"name": CONFIRM_TOOL, "description": "Run a state-changing tool call proposed earlier, by its token (valid ten minutes, for this API key).",
                    "inputSchema": {"type": "object", "properties": {"token": {"type": "string"}}, "required": ["token"], "additionalProperties": false}}));
            }
            rpc_result(id, json!({"tools": tools}))
        }
        "tools/call" => {
            let name = params
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let args = params
                .get("arguments")
                .cloned()
                .unwrap_or_else(|| json!({}));
            rpc_result(id, call_tool(&s, &who, &name, args).await)
        }
        other => rpc_error(id, -32601, format!("method not found: {other}")),
    }
}

/// Runs one MCP tool call through the same gate as the chat agent.
async fn call_tool(s: &AppState, who: &AgentCaller, name: &str, args: Value) -> Value {
    let text_result = |text: String, is_error: bool| json!({"content": [{"type": "text", "text": text}], "isError": is_error});
    let gate = s.agents.gate();
    if name == CONFIRM_TOOL {
        let token = args.get("token").and_then(Value::as_str).unwrap_or("");
        return match gate.confirm(who, token).await {
            Ok((_, rec)) => {
                let ok = rec.outcome == "confirmed";
                text_result(
                    format!(
                        "{} {}:\n{}",
                        rec.tool,
                        rec.outcome,
                        rec.result.as_ref().map(format_result).unwrap_or_default()
                    ),
                    !ok,
                )
            }
            Err(e) => text_result(e.to_string(), true),
        };
    }
    let offered = gate.offered(who);
    let conversation = uuid::Uuid::new_v4().to_string();
    match gate.dispatch(who, &conversation, &offered, name, args).await {
        Ok((rec, Some(p))) => text_result(
            format!("{} changes state and needs confirmation: call {CONFIRM_TOOL} with token {} within {} minutes.", rec.tool, p.token, p.expires_in_secs / 60),
            false,
        ),
        Ok((rec, None)) => {
            let body = rec.result.as_ref().map(|v| serde_json::to_string_pretty(v).unwrap_or_default()).unwrap_or_default();
            let mut out = text_result(body, rec.outcome != "ok");
            if let (Some(v @ Value::Object(_)), true) = (&rec.result, rec.outcome == "ok") {
                out["structuredContent"] = v.clone();
            }
            out
        }
        Err(e) => text_result(e.to_string(), true),
    }
}

/// A Slack slash command: verify the signature, then answer `confirm <token>` or a question.
async fn slack(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let settings = s.agents.settings();
    let Some(secret) = settings.slack_signing_secret.as_deref() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "Slack is not configured: set [agents] slack_signing_secret",
        )
            .into_response();
    };
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = sextant_agents::slack::verify(
        secret,
        header("x-slack-request-timestamp"),
        &body,
        header("x-slack-signature"),
        now,
    ) {
        return (StatusCode::UNAUTHORIZED, e.to_string()).into_response();
    }
    let form: Vec<(String, String)> = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("malformed form body: {e}")).into_response()
        }
    };
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let user = field("user_id");
    if user.is_empty() {
        return (StatusCode::BAD_REQUEST, "user_id is missing").into_response();
    }
    let who = AgentCaller {
        role: settings
            .slack_roles
            .get(&user)
            .copied()
            .unwrap_or(Role::Viewer),
        id: format!("slack:{user}"),
        channel: "slack".into(),
    };
    let text = field("text");
    if text.trim().is_empty() {
        return Json(json!({"response_type": "ephemeral", "text": "Ask a question, e.g. `/sextant is the cache healthy?`, or `confirm <token>`."})).into_response();
    }
    let answer = match text.trim().strip_prefix("confirm ") {
        Some(token) => s.agents.confirm(&who, token.trim()).await,
        None => s.agents.chat(&who, &text, None).await,
    };
    let reply = match answer {
        Ok(a) => a.reply,
        Err(e) => format!("Sorry: {e}"),
    };
    Json(json!({"response_type": "ephemeral", "text": reply})).into_response()
}
