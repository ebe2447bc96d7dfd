//! A loopback server that speaks OpenAI's Chat Completions protocol from a scripted queue.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sextant_testkit::openai::{OpenAiServer, Reply};
//! let server = OpenAiServer::start([Reply::Status(429, "slow down".into()), Reply::Text("hi".into())]).await?;
//! let url = server.base_url(); // http://127.0.0.1:PORT/v1
//! // ... point the client at `url`, then:
//! assert_eq!(server.requests().len(), 2);
//! # Ok(()) }
//! ```
//!
//! Each request consumes one [`Reply`]; an empty queue answers 500 with an OpenAI-style error
//! body, so a client that sends more requests than a test expected fails loudly. Every request
//! body is recorded, so tests can assert the prompt, model, `response_format` and `tools` a
//! client really sent. `stream: true` is answered with `chat.completion.chunk` server-sent
//! events ending with `data: [DONE]`, like the real API. `POST /v1/embeddings` takes its answer
//! from the same queue ([`Reply::Embeddings`] or [`Reply::Status`]).

mod server;
mod wire;

pub use server::{OpenAiServer, RecordedRequest};

use std::time::Duration;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// An assistant message with this text (`finish_reason: "stop"`).
    Text(String),
    /// An assistant message whose content is this JSON, serialised (structured output).
    Json(serde_json::Value),
    /// A single tool call; `arguments` is the raw string the API sends (normally JSON text, but
    /// a test may script invalid JSON to exercise the client's error path).
    ToolCall {
        /// The function name.
        name: String,
        /// The arguments string, sent verbatim.
        arguments: String,
    },
    /// Status 200 with a body that is not JSON.
    MalformedJson,
    /// This status and body; 429 also carries `Retry-After: 1`.
    Status(u16, String),
    /// Sleeps this long, then answers with the text `"late"` (for client timeouts).
    Timeout(Duration),
    /// An `/embeddings` answer: one vector per input, `data` listed in reverse index order (as
    /// the API allows), so clients must place vectors by `index`.
    Embeddings(Vec<Vec<f32>>),
}
