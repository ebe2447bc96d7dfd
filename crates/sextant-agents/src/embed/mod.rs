//! Sentence embeddings: one [`Embedder`] trait, an in-process model and an HTTP provider.
//!
//! Vectors are L2-normalised, so the cosine similarity of two of them is their dot product
//! ([`cosine`] still divides by the norms, for vectors from elsewhere).

mod minilm;
mod openai;

pub use minilm::{MiniLm, MINILM_MODEL};
pub use openai::{OpenAiEmbeddings, OpenAiEmbeddingsConfig};

use std::path::PathBuf;

/// Why texts could not be embedded.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file is missing or unreadable; the message names the file and how to install it.
    #[error("embedding model file {path}: {message}")]
    ModelFile {
        /// The file that could not be read.
        path: PathBuf,
        /// What went wrong, and the setup command that installs the model.
        message: String,
    },
    /// The model files were read but are not a model this code can run.
    #[error("embedding model is invalid: {0}")]
    InvalidModel(String),
    /// Tokenising or running the model failed.
    #[error("embedding failed: {0}")]
    Inference(String),
    /// The HTTP provider failed (transport, status or body), with the API key redacted.
    #[error("embedding provider: {0}")]
    Provider(String),
    /// More texts or longer texts than one call accepts.
    #[error("too much input: {0}")]
    TooLarge(String),
}

/// Turns texts into unit-length vectors of [`dimension`](Self::dimension) floats.
#[async_trait::async_trait]
pub trait Embedder: Send + Sync {
    /// The model's name, recorded with every answer that used it.
    fn model(&self) -> &str;
    /// Length of every vector.
    fn dimension(&self) -> usize;
    /// One vector per text, in order.
    ///
    /// # Errors
    ///
    /// [`EmbedError`]; an empty `texts` is not an error (it returns no vectors).
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Cosine similarity; 0 when either vector is all zeros or the lengths differ.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

/// Scales `v` to unit length in place (a zero vector stays zero).
pub(crate) fn normalise(v: &mut [f32]) {
    let norm = v
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt();
    if norm > 0.0 {
        for x in v.iter_mut() {
            *x = (f64::from(*x) / norm) as f32;
        }
    }
}
