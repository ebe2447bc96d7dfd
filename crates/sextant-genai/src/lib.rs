#![warn(missing_docs)]
//! The LLM layer: one [`LlmProvider`] trait with two implementations, and versioned prompts.
//!
//! - [`OpenAiClient`] speaks the OpenAI Chat Completions protocol, so it works with OpenAI,
//!   Azure OpenAI and local servers such as Ollama (`http://127.0.0.1:11434/v1`).
//! - [`OfflineProvider`] is the embedded default: no network, deterministic output built from
//!   the `<facts>` JSON in the prompt, so a fresh clone produces narratives without a model.
//! - [`PromptRegistry`] holds the prompts shipped in `prompts/`, each identified by a
//!   [`PromptRef`] (name, version and sha256) that outputs record for provenance.

mod error;
mod offline;
pub mod openai;
mod prompts;
mod provider;
mod types;

pub use error::LlmError;
pub use offline::{FactsRenderer, OfflineProvider, OFFLINE_MODEL};
pub use openai::{OpenAiClient, OpenAiConfig};
pub use prompts::{Prompt, PromptError, PromptRef, PromptRegistry};
pub use provider::{collect_stream, DeltaStream, LlmProvider};
pub use types::{
    ChatRequest, ChatResponse, Delta, JsonSchemaFormat, Message, Role, ToolCall, ToolCallDelta,
    ToolSpec, Usage,
};
