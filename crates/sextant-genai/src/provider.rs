//! The provider trait and the stream collector shared by every provider.

use crate::{ChatRequest, ChatResponse, Delta, LlmError, ToolCall, Usage};
use futures::stream::{BoxStream, StreamExt};
use std::collections::BTreeMap;

/// A stream of [`Delta`]s; `'static` so it can outlive the borrow of the provider.
pub type DeltaStream = BoxStream<'static, Result<Delta, LlmError>>;

/// A chat model. Implementations must not log request contents at info level or above
/// (prompts may hold user data) and must never log credentials.
#[async_trait::async_trait]
pub trait LlmProvider: Send + Sync {
    /// A short provider id (`openai`, `offline`), for logs and provenance.
    fn name(&self) -> &str;
    /// The model that answers, recorded next to outputs.
    fn model(&self) -> &str;
    /// Sends `req` and waits for the whole answer.
    ///
    /// # Errors
    ///
    /// Any [`LlmError`]; [`LlmError::is_retryable`] says whether trying again may help.
    async fn complete(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError>;
    /// Streams the answer. The default runs [`complete`](Self::complete) and yields it as one
    /// delta, which is correct (if not incremental) for providers without native streaming.
    async fn stream(&self, req: &ChatRequest) -> Result<DeltaStream, LlmError> {
        let r = self.complete(req).await?;
        let delta = Delta {
            content: r.content,
            tool_calls: r
                .tool_calls
                .into_iter()
                .enumerate()
                .map(|(index, c)| crate::ToolCallDelta {
                    index,
                    id: Some(c.id),
                    name: Some(c.name),
                    arguments: Some(c.arguments.to_string()),
                })
                .collect(),
            finish_reason: r.finish_reason,
            usage: Some(r.usage),
            model: Some(r.model),
        };
        Ok(futures::stream::iter([Ok(delta)]).boxed())
    }
}

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// Collects a stream into the [`ChatResponse`] `complete` would have returned: content and
/// tool-call fragments concatenated, arguments parsed once whole (a malformed result is
/// [`LlmError::MalformedToolArguments`]), the last finish reason, usage and model kept.
pub async fn collect_stream(
    mut stream: DeltaStream,
    default_model: &str,
) -> Result<ChatResponse, LlmError> {
    let mut content: Option<String> = None;
    let mut calls: BTreeMap<usize, PartialCall> = BTreeMap::new();
    let mut finish_reason = None;
    let mut usage = Usage::default();
    let mut model = None;
    while let Some(delta) = stream.next().await {
        let delta = delta?;
        if let Some(c) = delta.content {
            content.get_or_insert_with(String::new).push_str(&c);
        }
        for t in delta.tool_calls {
            let call = calls.entry(t.index).or_default();
            if let Some(id) = t.id {
                call.id = id;
            }
            if let Some(name) = t.name {
                call.name.push_str(&name);
            }
            if let Some(a) = t.arguments {
                call.arguments.push_str(&a);
            }
        }
        if delta.finish_reason.is_some() {
            finish_reason = delta.finish_reason;
        }
        if let Some(u) = delta.usage {
            usage = u;
        }
        if delta.model.is_some() {
            model = delta.model;
        }
    }
    let tool_calls = calls
        .into_values()
        .map(|c| {
            Ok(ToolCall {
                arguments: parse_arguments(&c.name, &c.arguments)?,
                id: c.id,
                name: c.name,
            })
        })
        .collect::<Result<Vec<_>, LlmError>>()?;
    Ok(ChatResponse {
        content: content.filter(|c| !c.is_empty() || tool_calls.is_empty()),
        tool_calls,
        finish_reason,
        usage,
        model: model.unwrap_or_else(|| default_model.to_string()),
    })
}

/// Tool arguments arrive as a JSON string; an empty string means "no arguments".
pub(crate) fn parse_arguments(name: &str, raw: &str) -> Result<serde_json::Value, LlmError> {
    if raw.trim().is_empty() {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    serde_json::from_str(raw).map_err(|e| LlmError::MalformedToolArguments {
        name: name.to_string(),
        message: e.to_string(),
    })
}
