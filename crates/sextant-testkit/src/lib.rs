#![warn(missing_docs)]
//! Loopback test servers that speak vendors' exact wire formats, so that clients are tested
//! against real bodies (and real failure bodies) without a network or an API key.
//!
//! - [`alphavantage`]: Alpha Vantage's `/query` API over the bundled real daily prices.
//! - [`openai`]: OpenAI's Chat Completions API replaying a scripted queue of replies.
//! - [`webhook`]: a receiver of alert webhooks.

pub mod alphavantage;
pub mod openai;
pub mod webhook;
