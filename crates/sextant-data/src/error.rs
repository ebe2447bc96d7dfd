use sextant_domain::{InvalidSymbol, ParseResolutionError};

/// Every failure of the data layer, typed so that callers can decide to retry, report or stop.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Boxed: the provider's error carries the offending value and would make every
    /// `Result<_, DataError>` large.
    #[error(transparent)]
    AlphaVantage(Box<crate::providers::alphavantage::AlphaVantageError>),

    #[error("the cache file {path} is locked by another process ({detail}); stop that process, or send the work to the running server (`--server`)")]
    Locked { path: String, detail: String },

    #[error("DuckDB error: {0}")]
    DuckDb(#[from] duckdb::Error),

    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("file {path}: {message}")]
    File { path: String, message: String },

    #[error("conflicting duplicate rows in one batch for {symbol} {resolution} at {ts}: the batch was not written")]
    ConflictingDuplicate {
        symbol: String,
        resolution: String,
        ts: String,
    },

    #[error("invalid bar for {symbol} at {ts}: {message}")]
    InvalidBar {
        symbol: String,
        ts: String,
        message: String,
    },

    #[error(transparent)]
    Symbol(#[from] InvalidSymbol),

    #[error(transparent)]
    Resolution(#[from] ParseResolutionError),

    #[error("no data for {symbol} at {resolution}")]
    NoData { symbol: String, resolution: String },

    #[error("cannot resample {from} to {to}: the target must be coarser than the source")]
    BadResample { from: String, to: String },

    #[error(
        "no materialised feature view {name}@{version}: run `sextant features materialize {name}`"
    )]
    NoFeatureView { name: String, version: String },

    #[error("no quarantined bar with id {id}")]
    NotInQuarantine { id: i64 },

    #[error("quarantined bar {id} was already reviewed ({status})")]
    AlreadyReviewed { id: i64, status: String },

    #[error("{0}")]
    Invalid(String),
}

impl From<crate::providers::alphavantage::AlphaVantageError> for DataError {
    fn from(e: crate::providers::alphavantage::AlphaVantageError) -> Self {
        DataError::AlphaVantage(Box::new(e))
    }
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;
