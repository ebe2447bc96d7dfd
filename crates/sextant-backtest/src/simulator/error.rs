//! Errors of the simulator's inputs. Running a valid configuration on valid data cannot fail:
//! an order that cannot be filled is recorded as rejected in the order log, not raised.

/// Why bars cannot be used as simulator input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// A column's length differs from the number of timestamps, or an attached series' from the
    /// number of bars.
    #[error("symbol {symbol}: column {column} has {got} values but ts has {expected}")]
    LengthMismatch {
        /// Symbol of the series.
        symbol: String,
        /// Name of the column or attached series.
        column: String,
        /// Number of bars (timestamps).
        expected: usize,
        /// Length of the column.
        got: usize,
    },
    /// Timestamps that are not strictly increasing (a duplicate included).
    #[error("symbol {symbol}: timestamps must be strictly increasing (bar {index})")]
    UnsortedTimestamps {
        /// Symbol of the series.
        symbol: String,
        /// First bar whose timestamp is not after the previous bar's.
        index: usize,
    },
    /// An open, high, low or close that is NaN, infinite, zero or negative.
    #[error("symbol {symbol}: non-finite or non-positive price in column {column} at bar {index}")]
    BadPrice {
        /// Symbol of the series.
        symbol: String,
        /// `open`, `high`, `low` or `close`.
        column: String,
        /// Bar of the first bad price in that column.
        index: usize,
    },
    /// [`BarSeries::from_bars`](super::BarSeries::from_bars) got bars of more than one symbol.
    #[error("bars of several symbols given to one series: {first} and {other}")]
    MixedSymbols {
        /// Symbol of the first bar given.
        first: String,
        /// Another symbol found among the bars.
        other: String,
    },
    /// [`MarketData::new`](super::MarketData::new) got two series of this symbol.
    #[error("symbol {0} appears twice")]
    DuplicateSymbol(String),
    /// No bars at all: no series, only empty ones, or an empty slice of bars.
    #[error("no bars")]
    Empty,
}

/// Why a simulation cannot start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// A [`SimConfig`](super::SimConfig) value out of range.
    #[error("invalid configuration: {field}: {reason}")]
    Config {
        /// Path of the field, e.g. `initial_cash`, `costs.commission_pct` or `sizer.lookback`.
        field: &'static str,
        /// What is wrong, usually with the value given.
        reason: String,
    },
    /// Unusable market data.
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
