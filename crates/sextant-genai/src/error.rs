//! Typed failures, so callers can tell "retry later" from "fix the request" from "bad model
//! output". No variant ever carries the API key (bodies are redacted before they get here).

use std::time::Duration;

/// Why an LLM call failed. [`LlmError::is_retryable`] tells transient failures (rate limits,
/// timeouts, transport errors, 5xx) from ones that need a different request or model.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// A non-success status that is not a rate limit (after retries, for 5xx).
    #[error("HTTP {status}: {body}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The response body, cut to 2,000 characters, with the API key redacted.
        body: String,
    },
    /// 429 after every retry; `retry_after` is the server's last hint.
    #[error("rate limited (retry after {retry_after:?})")]
    RateLimited {
        /// The last `Retry-After` header in seconds, if the server sent a numeric one.
        retry_after: Option<Duration>,
    },
    /// The connect or whole-request timeout elapsed (after every retry).
    #[error("request timed out")]
    Timeout,
    /// Connection refused, reset, DNS failure and the like.
    #[error("transport error: {0}")]
    Transport(String),
    /// The body was not the Chat Completions shape (or not JSON at all).
    #[error("malformed response: {0}")]
    MalformedResponse(String),
    /// A tool call whose `arguments` string is not a JSON value.
    #[error("tool call {name}: arguments are not valid JSON: {message}")]
    MalformedToolArguments {
        /// The name of the tool the model called.
        name: String,
        /// The JSON parser's error.
        message: String,
    },
    /// The model refused (a `refusal` message or `finish_reason: content_filter`).
    #[error("the model refused: {0}")]
    Refused(String),
    /// The request cannot be sent as built (e.g. an invalid base URL or facts block).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl LlmError {
    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Http { status, .. } => *status >= 500,
            LlmError::RateLimited { .. } | LlmError::Timeout | LlmError::Transport(_) => true,
            _ => false,
        }
    }
}
