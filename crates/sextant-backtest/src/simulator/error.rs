//! Errors of the simulator's inputs. Running a valid configuration on valid data cannot fail:
//! an order that cannot be filled is recorded as rejected in the order log, not raised.

/// Why bars cannot be used as simulator input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    #[error("symbol {symbol}: column {column} has {got} values but ts has {expected}")]
    LengthMismatch {
        symbol: String,
        column: String,
        expected: usize,
        got: usize,
    },
    #[error("symbol {symbol}: timestamps must be strictly increasing (bar {index})")]
    UnsortedTimestamps { symbol: String, index: usize },
    #[error("symbol {symbol}: non-finite or non-positive price in column {column} at bar {index}")]
    BadPrice {
        symbol: String,
        column: String,
        index: usize,
    },
    #[error("bars of several symbols given to one series: {first} and {other}")]
    MixedSymbols { first: String, other: String },
    #[error("symbol {0} appears twice")]
    DuplicateSymbol(String),
    #[error("no bars")]
    Empty,
}

/// Why a simulation cannot start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    #[error("invalid configuration: {field}: {reason}")]
    Config { field: &'static str, reason: String },
    #[error(transparent)]
    Data(#[from] DataError),
}

impl SimError {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        SimError::Config {
            field,
            reason: reason.into(),
        }
    }
}
