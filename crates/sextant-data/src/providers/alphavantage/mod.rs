//! Alpha Vantage provider (being written: client, strict parser, error classification, limiter).

/// A typed Alpha Vantage failure.
#[derive(Debug, thiserror::Error)]
pub enum AlphaVantageError {
    #[error("Alpha Vantage: {0}")]
    Other(String),
}
