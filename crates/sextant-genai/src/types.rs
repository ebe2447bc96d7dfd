//! Provider-neutral request and response types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a [`Message`]; serialised in lower case as the Chat Completions `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The user's input; the offline provider reads `<facts>` from the last one.
    User,
    /// The model's earlier replies.
    Assistant,
    /// The result of a tool call, linked to it by `tool_call_id`.
    Tool,
}

/// One chat message, in the order the conversation happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// The text (for `Role::Tool`, the tool's output).
    pub content: String,
    /// For `Role::Tool`: which call this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For `Role::Assistant`: the calls it made (sent back so the model sees its own history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
}

impl Message {
    fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
            tool_call_id: None,
            tool_calls: None,
        }
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }
    /// An assistant message without tool calls.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
    /// The result of the tool call `call_id`.
    pub fn tool(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            tool_call_id: Some(call_id.into()),
            ..Self::new(Role::Tool, content)
        }
    }
}

/// Structured output: the reply must be JSON matching `schema` (sent with `strict: true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaFormat {
    /// The schema's name, as the API requires one.
    pub name: String,
    /// The JSON schema the reply must satisfy.
    pub schema: Value,
}

/// A function the model may call; `parameters` is a JSON schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The function name the model uses to call it.
    pub name: String,
    /// What the tool does, for the model to decide when to call it.
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: Value,
}

/// A provider-neutral chat request. `None` and empty fields are left out of the wire request, so
/// the server's defaults apply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// Sampling temperature; `None` uses the server's default.
    pub temperature: Option<f32>,
    /// Cap on generated tokens; `None` uses the server's default.
    pub max_tokens: Option<u32>,
    /// When set, the reply must be JSON matching this schema.
    pub response_format: Option<JsonSchemaFormat>,
    /// Functions the model may call; empty means no tools.
    pub tools: Vec<ToolSpec>,
    /// Sampling seed, for servers that support reproducible sampling.
    pub seed: Option<u64>,
}

impl ChatRequest {
    /// A request with these messages and every option unset.
    pub fn new(messages: Vec<Message>) -> Self {
        ChatRequest {
            messages,
            ..Default::default()
        }
    }
}

/// A tool call with its arguments already parsed from the wire's JSON string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call, echoed in the `Role::Tool` answer; empty if none was sent.
    pub id: String,
    /// The name of the tool called.
    pub name: String,
    /// The parsed arguments; an empty argument string becomes `{}`.
    pub arguments: Value,
}

/// Token counts as the provider reported them (zero when it reported none). The offline
/// provider counts words instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the request.
    pub prompt_tokens: u64,
    /// Tokens in the reply.
    pub completion_tokens: u64,
    /// Prompt plus completion tokens.
    pub total_tokens: u64,
}

/// A whole answer, as [`LlmProvider::complete`](crate::LlmProvider::complete) returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The reply text; `None` (or empty) when the model only called tools.
    pub content: Option<String>,
    /// The tools the model called, in order.
    pub tool_calls: Vec<ToolCall>,
    /// `stop`, `length`, `tool_calls`, ... as the provider reported it.
    pub finish_reason: Option<String>,
    /// Tokens used by this request.
    pub usage: Usage,
    /// The model that answered, as the server named it (or the configured model if it did not).
    pub model: String,
}

/// A fragment of a tool call in a stream; fragments with the same `index` are concatenated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolCallDelta {
    /// Which call of the answer this fragment belongs to.
    pub index: usize,
    /// The call's id, usually only on its first fragment.
    pub id: Option<String>,
    /// A piece of the tool name.
    pub name: Option<String>,
    /// A piece of the JSON arguments string, parsed only once the stream is collected.
    pub arguments: Option<String>,
}

/// One streamed event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delta {
    /// The next piece of reply text, if this event carries any.
    pub content: Option<String>,
    /// Tool-call fragments carried by this event.
    pub tool_calls: Vec<ToolCallDelta>,
    /// Set on the event that ends the answer (`stop`, `length`, `tool_calls`, ...).
    pub finish_reason: Option<String>,
    /// Usually only on the last event, and only when the provider reports it.
    pub usage: Option<Usage>,
    /// The model that answered, when the event names it.
    pub model: Option<String>,
}
