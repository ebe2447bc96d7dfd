//! Any OpenAI-compatible `POST {base_url}/embeddings` endpoint (OpenAI's
//! `text-embedding-3-large`, Ollama, vLLM, a TEI server), switched on by configuration.

use super::{normalise, EmbedError, Embedder};
use serde::Deserialize;
use std::time::Duration;

/// Where the endpoint is and which model to ask for. `Debug` redacts the key.
#[derive(Clone)]
pub struct OpenAiEmbeddingsConfig {
    /// e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// The model name sent in the body, e.g. `text-embedding-3-large`.
    pub model: String,
    /// Sent as `Authorization: Bearer`; local servers need none.
    pub api_key: Option<String>,
    /// The vector length the model returns (checked on every answer).
    pub dimension: usize,
    /// Whole-request timeout. Default: 60 s.
    pub timeout: Duration,
}

impl std::fmt::Debug for OpenAiEmbeddingsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbeddingsConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("dimension", &self.dimension)
            .finish()
    }
}

/// The HTTP embeddings provider.
pub struct OpenAiEmbeddings {
    config: OpenAiEmbeddingsConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Wire {
    data: Vec<Item>,
}
#[derive(Deserialize)]
struct Item {
    index: usize,
    embedding: Vec<f32>,
}

impl OpenAiEmbeddings {
    /// A client for `config`.
    ///
    /// # Errors
    ///
    /// [`EmbedError::Provider`] when the HTTP client cannot be built.
    pub fn new(config: OpenAiEmbeddingsConfig) -> Result<Self, EmbedError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| EmbedError::Provider(e.to_string()))?;
        Ok(OpenAiEmbeddings { config, http })
    }
}

#[async_trait::async_trait]
impl Embedder for OpenAiEmbeddings {
    fn model(&self) -> &str {
        &self.config.model
    }
    fn dimension(&self) -> usize {
        self.config.dimension
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let url = format!("{}/embeddings", self.config.base_url.trim_end_matches('/'));
        let mut req = self
            .http
            .post(url)
            .json(&serde_json::json!({"model": self.config.model, "input": texts}));
        if let Some(k) = &self.config.api_key {
            req = req.bearer_auth(k);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| EmbedError::Provider(e.without_url().to_string()))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| EmbedError::Provider(e.to_string()))?;
        let body = match &self.config.api_key {
            Some(k) if !k.is_empty() => body.replace(k.as_str(), "<redacted>"),
            _ => body,
        };
        if !status.is_success() {
            let cut: String = body.chars().take(500).collect();
            return Err(EmbedError::Provider(format!(
                "HTTP {}: {cut}",
                status.as_u16()
            )));
        }
        let wire: Wire = serde_json::from_str(&body)
            .map_err(|e| EmbedError::Provider(format!("malformed /embeddings body: {e}")))?;
        let mut out = vec![Vec::new(); texts.len()];
        for item in wire.data {
            let Some(slot) = out.get_mut(item.index) else {
                return Err(EmbedError::Provider(format!(
                    "answer index {} out of range",
                    item.index
                )));
            };
            if item.embedding.len() != self.config.dimension {
                return Err(EmbedError::Provider(format!(
                    "vector of length {}, expected {}",
                    item.embedding.len(),
                    self.config.dimension
                )));
            }
            *slot = item.embedding;
        }
        if out.iter().any(Vec::is_empty) {
            return Err(EmbedError::Provider("an input got no vector".into()));
        }
        for v in &mut out {
            normalise(v);
        }
        Ok(out)
    }
}
