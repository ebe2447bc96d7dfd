use sextant_domain::{InvalidSymbol, ParseResolutionError};

/// Every failure of the data layer, typed so that callers can decide to retry, report or stop.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Boxed: the provider's error carries the offending value and would make every
    /// `Result<_, DataError>` large.
    #[error(transparent)]
    AlphaVantage(Box<crate::providers::alphavantage::AlphaVantageError>),

    /// The cache file is opened for writing by another process (DuckDB allows one writer).
    #[error("the cache file {path} is locked by another process ({detail}); stop that process, or send the work to the running server (`--server`)")]
    Locked {
        /// The cache file.
        path: String,
        /// Which process holds the lock, as DuckDB reports it.
        detail: String,
    },

    /// Any other DuckDB failure (SQL, I/O inside DuckDB, type conversion).
    #[error("DuckDB error: {0}")]
    DuckDb(#[from] duckdb::Error),

    /// A file-system operation of the data layer failed (creating the cache directory,
    /// writing a temporary file, renaming an export into place).
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory operated on.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// An input file is missing or its columns cannot be read as bars.
    #[error("file {path}: {message}")]
    File {
        /// The input file.
        path: String,
        /// What is wrong with it.
        message: String,
    },

    /// One batch holds two different rows for the same key (symbol, resolution, ts); nothing of
    /// the batch was written. Identical copies are not an error: one is kept and flagged.
    #[error("conflicting duplicate rows in one batch for {symbol} {resolution} at {ts}: the batch was not written")]
    ConflictingDuplicate {
        /// Symbol of the first conflicting key.
        symbol: String,
        /// Resolution of that key, as its stored name.
        resolution: String,
        /// Timestamp of that key, as DuckDB prints it.
        ts: String,
    },

    /// A row of a batch has a missing or non-finite field (or a split coefficient ≤ 0);
    /// nothing of the batch was written.
    #[error("invalid bar for {symbol} at {ts}: {message}")]
    InvalidBar {
        /// Symbol of the first bad row.
        symbol: String,
        /// Its timestamp as DuckDB prints it (`<unparseable timestamp>` when missing).
        ts: String,
        /// Which field is wrong.
        message: String,
    },

    /// A symbol that is not a valid ticker.
    #[error(transparent)]
    Symbol(#[from] InvalidSymbol),

    /// A resolution name that is not one of the supported bar lengths.
    #[error(transparent)]
    Resolution(#[from] ParseResolutionError),

    /// No stored bars for a symbol at a resolution.
    #[error("no data for {symbol} at {resolution}")]
    NoData {
        /// The symbol asked for.
        symbol: String,
        /// The resolution asked for.
        resolution: String,
    },

    /// A resampling whose target resolution is not coarser than its source.
    #[error("cannot resample {from} to {to}: the target must be coarser than the source")]
    BadResample {
        /// The stored (source) resolution.
        from: String,
        /// The requested (target) resolution.
        to: String,
    },

    /// The requested feature view (or version) was never materialised.
    #[error(
        "no materialised feature view {name}@{version}: run `sextant features materialize {name}`"
    )]
    NoFeatureView {
        /// The view name.
        name: String,
        /// The version asked for, or `latest`.
        version: String,
    },

    /// No quarantine row has this id.
    #[error("no quarantined bar with id {id}")]
    NotInQuarantine {
        /// The quarantine row id asked for.
        id: i64,
    },

    /// A quarantined bar is reviewed once; this one already was.
    #[error("quarantined bar {id} was already reviewed ({status})")]
    AlreadyReviewed {
        /// The quarantine row id.
        id: i64,
        /// Its current status (`approved` or `rejected`).
        status: String,
    },

    /// Any other invalid input or stored state, explained in the message.
    #[error("{0}")]
    Invalid(String),
}

impl From<crate::providers::alphavantage::AlphaVantageError> for DataError {
    fn from(e: crate::providers::alphavantage::AlphaVantageError) -> Self {
        DataError::AlphaVantage(Box::new(e))
    }
}

/// The data layer's result type: [`DataError`] unless stated otherwise.
pub type Result<T, E = DataError> = std::result::Result<T, E>;
