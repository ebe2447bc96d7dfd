//! The HTTP side: one call = limiter permit → GET → classify/parse, with retries.

use super::config::AlphaVantageConfig;
use super::errors::AlphaVantageError;
use super::limiter::RateLimiter;
use super::request::ApiCall;
use std::error::Error as _;
use std::sync::Arc;

/// Sends calls through the shared limiter and retries the retryable failures.
pub(crate) struct Client {
    http: reqwest::Client,
    config: AlphaVantageConfig,
    limiter: Arc<RateLimiter>,
}

impl Client {
    pub(crate) fn new(
        config: AlphaVantageConfig,
        limiter: Arc<RateLimiter>,
    ) -> Result<Client, AlphaVantageError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("sextant/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AlphaVantageError::InvalidConfig {
                message: format!("cannot build the HTTP client: {}", e.without_url()),
            })?;
        Ok(Client {
            http,
            config,
            limiter,
        })
    }

    pub(crate) fn config(&self) -> &AlphaVantageConfig {
        &self.config
    }

    pub(crate) fn limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
    }

    /// Fetches `call` and parses its body with `parse`. Every attempt (retries included) goes
    /// through the limiter; rate limits, 5xx and transport errors are retried with exponential
    /// backoff up to `max_retries` times, then returned. Other errors are returned at once. A
    /// rate-limit body is recognised by `parse` (every parser classifies error bodies first), so
    /// a parser decides nothing about retries: [`AlphaVantageError::is_retryable`] does.
    pub(crate) async fn call<T>(
        &self,
        call: &ApiCall,
        parse: impl Fn(&str) -> Result<T, AlphaVantageError>,
    ) -> Result<T, AlphaVantageError> {
        if self.config.api_key.trim().is_empty() {
            return Err(AlphaVantageError::MissingKey {
                message: "no API key configured".into(),
            });
        }
        let request = call.describe();
        let mut attempt = 0;
        loop {
            match self.attempt(call, &parse).await {
                Err(e) if e.is_retryable() && attempt < self.config.max_retries => {
                    let delay = self.config.backoff(attempt);
                    tracing::warn!(%request, attempt = attempt + 1, ?delay, error = %e, "alphavantage call failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => {
                    tracing::warn!(%request, attempts = attempt + 1, error = %e, "alphavantage call failed");
                    return Err(e);
                }
                Ok(value) => {
                    tracing::debug!(%request, attempts = attempt + 1, "alphavantage call succeeded");
                    return Ok(value);
                }
            }
        }
    }

    async fn attempt<T>(
        &self,
        call: &ApiCall,
        parse: &impl Fn(&str) -> Result<T, AlphaVantageError>,
    ) -> Result<T, AlphaVantageError> {
        let body = {
            // Held until the body is read: the limiter measures from completion.
            let _permit = self.limiter.acquire().await?;
            tracing::debug!(request = %call.describe(), "alphavantage request");
            self.send(call).await
        };
        let key = self.config.api_key.as_str();
        let body = body.map_err(|e| e.redact(key))?;
        parse(&body).map_err(|e| e.redact(key))
    }

    async fn send(&self, call: &ApiCall) -> Result<String, AlphaVantageError> {
        let transport = |e: reqwest::Error| {
            let timeout = e.is_timeout();
            let e = e.without_url();
            let mut message = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
            AlphaVantageError::Transport {
                function: call.function.to_string(),
                message,
                timeout,
            }
        };
        let resp = self
            .http
            .get(&self.config.base_url)
            .query(&call.query())
            .query(&[("apikey", self.config.api_key.as_str())])
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(AlphaVantageError::Http {
                status: status.as_u16(),
                function: call.function.to_string(),
            });
        }
        resp.text().await.map_err(transport)
    }
}
