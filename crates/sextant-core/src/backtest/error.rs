//! Why a backtest could not run: the run layer's own errors ([`RunError`]) and what loading
//! and storing add.

use sextant_backtest::run::RunError;

/// Why a backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// The request or its run failed on its own terms: parameters, simulator settings, bars,
    /// metrics, a documented limit, an unusable request, or cancellation.
    #[error(transparent)]
    Run(#[from] RunError),
    /// Reading bars or hashes from, or writing the curve to, the DuckDB cache failed.
    #[error(transparent)]
    Data(#[from] sextant_data::DataError),
    /// Reading or writing the metadata store failed.
    #[error(transparent)]
    Meta(#[from] sextant_meta::MetaError),
    /// A requested symbol has no bar at the resolution in the range: nothing to simulate.
    #[error("no {resolution} bars for {symbol} between {from} and {to}")]
    NoBars {
        /// The symbol without bars.
        symbol: String,
        /// The requested resolution (`daily`, …).
        resolution: String,
        /// The range start (`YYYY-MM-DD`), or `the start` when the request has none.
        from: String,
        /// The range end (`YYYY-MM-DD`), or `the end` when the request has none.
        to: String,
    },
    /// The bars a stored run used have changed since (a revision, a backfill, a review): a
    /// report built now would describe a different run than the one it names.
    #[error(
        "the data of run {id} changed since it ran (snapshot {recorded} then, {current} now): \
         re-run the backtest to describe the current data"
    )]
    DataChanged {
        /// The stored run.
        id: String,
        /// The first 16 hex digits of the snapshot the run recorded.
        recorded: String,
        /// The first 16 hex digits of the snapshot of the same request on the cache now.
        current: String,
    },
}

impl BacktestError {
    /// [`RunError::Invalid`]: the request cannot run as given (a missing series source,
    /// conflicting settings), or a task or stored document failed; the message says which.
    pub fn invalid(message: impl Into<String>) -> Self {
        BacktestError::Run(RunError::Invalid(message.into()))
    }

    /// [`RunError::Cancelled`].
    pub fn cancelled() -> Self {
        BacktestError::Run(RunError::Cancelled)
    }
}

/// The run layer's own errors pass through [`RunError`], so they are written once.
macro_rules! via_run_error {
    ($($t:ty),*) => {$(
        impl From<$t> for BacktestError {
            fn from(e: $t) -> Self {
                BacktestError::Run(RunError::from(e))
            }
        }
    )*};
}
via_run_error!(
    sextant_backtest::strategy::ParamError,
    sextant_backtest::simulator::SimError,
    sextant_backtest::simulator::DataError,
    sextant_backtest::metrics::MetricsError
);

impl From<crate::common::InvalidField> for BacktestError {
    fn from(e: crate::common::InvalidField) -> Self {
        BacktestError::Run(RunError::Limit {
            field: e.field,
            message: e.message,
        })
    }
}
