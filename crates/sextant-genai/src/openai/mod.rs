//! An OpenAI-compatible Chat Completions client (OpenAI, Azure OpenAI, Ollama, vLLM, ...).

mod sse;
mod wire;

use crate::{ChatRequest, ChatResponse, DeltaStream, LlmError, LlmProvider, Usage};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::StatusCode;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where and how to reach the API. `Debug` redacts the key, so a config can be logged.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// e.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1` (Ollama), or for Azure
    /// `https://RESOURCE.openai.azure.com/openai/deployments/DEPLOYMENT`.
    pub base_url: String,
    /// The model name sent in every request body and recorded with outputs.
    pub model: String,
    /// Sent as `Authorization: Bearer` (or `api-key` in Azure mode); local servers need none.
    pub api_key: Option<String>,
    /// Azure mode: the `api-version` query parameter; the key goes in the `api-key` header.
    pub azure_api_version: Option<String>,
    /// Whole-request timeout, body included.
    pub timeout: Duration,
    /// Time allowed to establish the connection (TCP and TLS). Default: 10 s.
    pub connect_timeout: Duration,
    /// Retries after the first attempt, for 429, 5xx, timeouts and transport errors.
    pub max_retries: u32,
    /// First backoff; doubled on each retry, capped at `max_backoff`.
    pub initial_backoff: Duration,
    /// Also caps a server's `Retry-After`, so a hostile or confused server cannot stall us.
    pub max_backoff: Duration,
}

impl OpenAiConfig {
    /// A config for `model` at `base_url` with no key and no Azure mode. Defaults: `timeout`
    /// 120 s, `connect_timeout` 10 s, `max_retries` 3, `initial_backoff` 500 ms, `max_backoff`
    /// 30 s.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            azure_api_version: None,
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("azure_api_version", &self.azure_api_version)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// Running totals over every successful request of one client.
#[derive(Default)]
struct Totals {
    requests: AtomicU64,
    prompt: AtomicU64,
    completion: AtomicU64,
}

/// A [`LlmProvider`] for any server that speaks the OpenAI Chat Completions protocol, with
/// retries, key redaction in errors and token accounting. Clones share one connection pool and
/// one set of usage totals.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    config: OpenAiConfig,
    http: reqwest::Client,
    url: String,
    totals: Arc<Totals>,
}

impl fmt::Debug for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Totals")
    }
}

impl OpenAiClient {
    /// Builds the HTTP client and the `…/chat/completions` URL from `config`; sends nothing.
    ///
    /// # Errors
    ///
    /// [`LlmError::InvalidRequest`] when the key is not a valid header value or the base URL
    /// does not parse; [`LlmError::Transport`] when the HTTP client cannot be built.
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &config.api_key {
            let (name, value) = match config.azure_api_version {
                Some(_) => ("api-key", key.clone()),
                None => (AUTHORIZATION.as_str(), format!("Bearer {key}")),
            };
            let mut value = HeaderValue::from_str(&value)
                .map_err(|_| LlmError::InvalidRequest("API key is not a valid header".into()))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        let mut url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        if let Some(v) = &config.azure_api_version {
            url = format!("{url}?api-version={v}");
        }
        reqwest::Url::parse(&url)
            .map_err(|e| LlmError::InvalidRequest(format!("base URL: {e}")))?;
        Ok(OpenAiClient {
            config,
            http,
            url,
            totals: Arc::new(Totals::default()),
        })
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// Tokens used by every successful request so far (clones share the totals).
    pub fn usage_totals(&self) -> Usage {
        let prompt_tokens = self.totals.prompt.load(Ordering::Relaxed);
        let completion_tokens = self.totals.completion.load(Ordering::Relaxed);
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }
    }

    /// Successful requests so far.
    pub fn request_count(&self) -> u64 {
        self.totals.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn record(&self, u: &Usage) {
        self.totals.requests.fetch_add(1, Ordering::Relaxed);
        self.totals
            .prompt
            .fetch_add(u.prompt_tokens, Ordering::Relaxed);
        self.totals
            .completion
            .fetch_add(u.completion_tokens, Ordering::Relaxed);
    }

    /// A server may echo what it was sent; make sure the key never leaves in an error.
    fn redact(&self, body: String) -> String {
        match &self.config.api_key {
            Some(k) if !k.is_empty() => body.replace(k.as_str(), "[redacted]"),
            _ => body,
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(16));
        self.config
            .initial_backoff
            .saturating_mul(factor)
            .min(self.config.max_backoff)
    }

    /// One attempt: a success response, or the typed error it maps to.
    async fn attempt(&self, body: &serde_json::Value) -> Result<reqwest::Response, LlmError> {
        let resp = self
            .http
            .post(&self.url)
            .json(body)
            .send()
            .await
            .map_err(map_reqwest)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64);
            return Err(LlmError::RateLimited { retry_after });
        }
        let text = resp.text().await.unwrap_or_default();
        let text: String = text.chars().take(2000).collect();
        Err(LlmError::Http {
            status: status.as_u16(),
            body: self.redact(text),
        })
    }

    /// Sends with retries: exponential backoff, or the server's `Retry-After` on 429.
    pub(crate) async fn send(
        &self,
        body: &serde_json::Value,
    ) -> Result<reqwest::Response, LlmError> {
        let mut attempt = 0;
        loop {
            match self.attempt(body).await {
                Ok(r) => return Ok(r),
                Err(e) if e.is_retryable() && attempt < self.config.max_retries => {
                    let wait = match &e {
                        LlmError::RateLimited {
                            retry_after: Some(d),
                        } => (*d).min(self.config.max_backoff),
                        _ => self.backoff(attempt),
                    };
                    tracing::warn!(error = %e, attempt, ?wait, model = %self.config.model, "LLM request failed; retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

pub(crate) fn map_reqwest(e: reqwest::Error) -> LlmError {
    if e.is_timeout() {
        LlmError::Timeout
    } else {
        // Without the URL: it is ours anyway, and keeps the message short.
        LlmError::Transport(e.without_url().to_string())
    }
}

#[async_trait::async_trait]
impl LlmProvider for OpenAiClient {
    fn name(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let body = wire::request_body(&self.config.model, req, false);
        let resp = self.send(&body).await?;
        let bytes = resp.bytes().await.map_err(map_reqwest)?;
        let out = wire::parse_completion(&bytes, &self.config.model)?;
        self.record(&out.usage);
        Ok(out)
    }

    async fn stream(&self, req: &ChatRequest) -> Result<DeltaStream, LlmError> {
        let body = wire::request_body(&self.config.model, req, true);
        let resp = self.send(&body).await?;
        Ok(sse::deltas(resp, self.clone()))
    }
}
