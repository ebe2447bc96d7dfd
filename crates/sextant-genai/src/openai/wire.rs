//! The Chat Completions wire format: request bodies out, completions and chunks in.

use crate::provider::parse_arguments;
use crate::{ChatRequest, ChatResponse, Delta, LlmError, Message, ToolCall, ToolCallDelta, Usage};
use serde::Deserialize;
use serde_json::{json, Map, Value};

fn message(m: &Message) -> Value {
    let mut o = Map::new();
    o.insert("role".into(), json!(m.role));
    o.insert("content".into(), json!(m.content));
    if let Some(id) = &m.tool_call_id {
        o.insert("tool_call_id".into(), json!(id));
    }
    if let Some(calls) = m.tool_calls.as_ref().filter(|c| !c.is_empty()) {
        let calls: Vec<Value> = calls
            .iter()
            .map(|c| {
                json!({"id": c.id, "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments.to_string()}})
            })
            .collect();
        o.insert("tool_calls".into(), Value::Array(calls));
    }
    Value::Object(o)
}

/// The JSON body for `POST /chat/completions`; optional fields are omitted, not sent as null,
/// because some compatible servers reject explicit nulls.
pub(crate) fn request_body(model: &str, req: &ChatRequest, stream: bool) -> Value {
    let mut o = Map::new();
    o.insert("model".into(), json!(model));
    o.insert(
        "messages".into(),
        Value::Array(req.messages.iter().map(message).collect()),
    );
    if let Some(t) = req.temperature {
        o.insert("temperature".into(), json!(t));
    }
    if let Some(m) = req.max_tokens {
        o.insert("max_tokens".into(), json!(m));
    }
    if let Some(s) = req.seed {
        o.insert("seed".into(), json!(s));
    }
    if let Some(f) = &req.response_format {
        o.insert(
            "response_format".into(),
            json!({"type": "json_schema",
                "json_schema": {"name": f.name, "schema": f.schema, "strict": true}}),
        );
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function":
                    {"name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect();
        o.insert("tools".into(), Value::Array(tools));
    }
    if stream {
        o.insert("stream".into(), json!(true));
        o.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(o)
}

#[derive(Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    function: Option<WireFunction>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default, alias = "delta")]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireCompletion {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

fn check_refusal(msg: &WireMessage, finish: Option<&str>) -> Result<(), LlmError> {
    if let Some(r) = msg.refusal.as_ref().filter(|r| !r.is_empty()) {
        return Err(LlmError::Refused(r.clone()));
    }
    if finish == Some("content_filter") {
        return Err(LlmError::Refused("finish_reason: content_filter".into()));
    }
    Ok(())
}

/// Parses a whole `chat.completion` body.
pub(crate) fn parse_completion(body: &[u8], default_model: &str) -> Result<ChatResponse, LlmError> {
    let c: WireCompletion = serde_json::from_slice(body)
        .map_err(|e| LlmError::MalformedResponse(format!("not a chat completion: {e}")))?;
    let choice = c
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| LlmError::MalformedResponse("no choices".into()))?;
    let msg = choice
        .message
        .ok_or_else(|| LlmError::MalformedResponse("choice without a message".into()))?;
    check_refusal(&msg, choice.finish_reason.as_deref())?;
    let tool_calls = msg
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            let f = t
                .function
                .ok_or_else(|| LlmError::MalformedResponse("tool call without function".into()))?;
            let name = f
                .name
                .ok_or_else(|| LlmError::MalformedResponse("tool call without a name".into()))?;
            Ok(ToolCall {
                arguments: parse_arguments(&name, f.arguments.as_deref().unwrap_or(""))?,
                id: t.id.unwrap_or_default(),
                name,
            })
        })
        .collect::<Result<Vec<_>, LlmError>>()?;
    Ok(ChatResponse {
        content: msg.content,
        tool_calls,
        finish_reason: choice.finish_reason,
        usage: c.usage.unwrap_or_default(),
        model: c.model.unwrap_or_else(|| default_model.to_string()),
    })
}

/// Parses the payload of one `data:` line of a stream (not `[DONE]`).
pub(crate) fn parse_chunk(data: &str) -> Result<Delta, LlmError> {
    let c: WireCompletion = serde_json::from_str(data)
        .map_err(|e| LlmError::MalformedResponse(format!("bad stream chunk: {e}")))?;
    let mut delta = Delta {
        usage: c.usage,
        model: c.model,
        ..Default::default()
    };
    if let Some(choice) = c.choices.into_iter().next() {
        if let Some(msg) = choice.message {
            check_refusal(&msg, choice.finish_reason.as_deref())?;
            delta.content = msg.content.filter(|s| !s.is_empty());
            delta.tool_calls = msg
                .tool_calls
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, t)| ToolCallDelta {
                    index: t.index.unwrap_or(i),
                    id: t.id,
                    name: t.function.as_ref().and_then(|f| f.name.clone()),
                    arguments: t.function.and_then(|f| f.arguments),
                })
                .collect();
        }
        delta.finish_reason = choice.finish_reason;
    }
    Ok(delta)
}
