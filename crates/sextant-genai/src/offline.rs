//! The embedded default provider: no network, same request in, same reply out.

use crate::{ChatRequest, ChatResponse, LlmError, LlmProvider, Role, Usage};
use serde_json::Value;
use std::sync::Arc;

/// The model name outputs record when the offline provider wrote them.
pub const OFFLINE_MODEL: &str = "offline-template-v1";

/// Turns the `<facts>` JSON into text; the caller (e.g. the report service) owns the template.
pub type FactsRenderer = Arc<dyn Fn(&Value) -> String + Send + Sync>;

const OPEN: &str = "<facts>";
const CLOSE: &str = "</facts>";

/// Answers from the `<facts>...</facts>` JSON block of the last user message, so narratives
/// work on a fresh clone and tests get byte-identical output. It never calls tools and never
/// invents numbers: everything it says comes from the facts (via the renderer) or is fixed.
#[derive(Clone, Default)]
pub struct OfflineProvider {
    renderer: Option<FactsRenderer>,
}

impl std::fmt::Debug for OfflineProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineProvider")
            .field("renderer", &self.renderer.is_some())
            .finish()
    }
}

impl OfflineProvider {
    /// Without a renderer the reply is a fixed short summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// A provider that answers with `renderer(facts)` when the request has a `<facts>` block,
    /// and with the fixed summary otherwise.
    pub fn with_renderer(renderer: FactsRenderer) -> Self {
        OfflineProvider {
            renderer: Some(renderer),
        }
    }

    /// The facts JSON of the last user message: `Ok(None)` without a block, an error when the
    /// block is there but not JSON (a caller bug worth surfacing, not papering over).
    pub fn extract_facts(req: &ChatRequest) -> Result<Option<Value>, LlmError> {
        let Some(msg) = req.messages.iter().rev().find(|m| m.role == Role::User) else {
            return Ok(None);
        };
        let Some(start) = msg.content.find(OPEN) else {
            return Ok(None);
        };
        let rest = &msg.content[start + OPEN.len()..];
        let end = rest
            .find(CLOSE)
            .ok_or_else(|| LlmError::InvalidRequest("<facts> without </facts>".into()))?;
        serde_json::from_str(rest[..end].trim())
            .map(Some)
            .map_err(|e| LlmError::InvalidRequest(format!("<facts> is not JSON: {e}")))
    }
}

fn words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

fn summary(facts: Option<&Value>) -> String {
    match facts {
        Some(Value::Object(o)) => {
            // Sorted: serde_json keeps insertion order when another crate enables
            // `preserve_order`, and the offline answer must not depend on that.
            let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
            keys.sort_unstable();
            format!(
                "Offline summary: {} facts received ({}). No language model was used.",
                o.len(),
                keys.join(", ")
            )
        }
        Some(_) => "Offline summary: facts received. No language model was used.".into(),
        None => "Offline summary: no facts were supplied. No language model was used.".into(),
    }
}

#[async_trait::async_trait]
impl LlmProvider for OfflineProvider {
    fn name(&self) -> &str {
        "offline"
    }

    fn model(&self) -> &str {
        OFFLINE_MODEL
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let facts = Self::extract_facts(req)?;
        let content = match (&self.renderer, &facts) {
            (Some(render), Some(f)) => render(f),
            _ => summary(facts.as_ref()),
        };
        // Word counts stand in for tokens: deterministic, and good enough for accounting.
        let prompt_tokens = req.messages.iter().map(|m| words(&m.content)).sum();
        let completion_tokens = words(&content);
        Ok(ChatResponse {
            content: Some(content),
            tool_calls: Vec::new(),
            finish_reason: Some("stop".into()),
            usage: Usage {
                prompt_tokens,
                completion_tokens,
                total_tokens: prompt_tokens + completion_tokens,
            },
            model: OFFLINE_MODEL.into(),
        })
    }
}
