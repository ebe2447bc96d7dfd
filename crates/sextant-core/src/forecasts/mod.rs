//! The inference engine: probabilistic forecasts of a symbol, a portfolio or a backtest's
//! equity (over `sextant-forecasts`), stored in DuckDB with what produced them, and their
//! walk-forward calibration on the cached history.
//!
//! A forecast sees the history up to its origin only (`as_of`, default the last session):
//! returns are read with an upper date bound, so the same request made later, after more bars
//! arrived, gives the same numbers bit for bit when total-return prices come from the vendor's
//! adjusted closes (the truncation test asserts it on the bundled sample). When factors are
//! accumulated from corporate actions instead, a later dividend rescales earlier prices and
//! their ratios can move in the last bit; a spike held by the quality checks only once its
//! reversal arrives changes the history itself. Either way the history's snapshot hash (and so
//! the forecast id) changes with it: a stored forecast always names the exact inputs it saw.

mod calibration;
mod engine;
pub mod history;
mod scoring;
pub mod spec;
pub mod tracking;

pub use calibration::{BestModel, CalibrationReport, CalibrationRequest};
pub use engine::InferenceEngine;
pub use scoring::{StoredBand, StoredScore};
pub use spec::{
    BaselineFigures, FanPoint, ForecastReport, ForecastRequest, HistoryUsed, RiskLine, TargetKind,
};

use sextant_data::DataError;

/// Why a forecast or a calibration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ForecastServiceError {
    /// The request is out of range (HTTP 422).
    #[error("{0}")]
    Invalid(String),
    /// The symbol, portfolio, run, regime model or forecast does not exist or has no data.
    #[error("{0}")]
    NotFound(String),
    /// The history is unusable or the model could not be fitted (HTTP 422: a fact of the
    /// data, not a fault of the service).
    #[error(transparent)]
    Model(#[from] sextant_forecasts::ForecastError),
    /// The bar store failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The portfolio could not be read.
    #[error(transparent)]
    Portfolio(#[from] crate::portfolios::PortfolioError),
    /// A forecast task failed (a bug, not the request: HTTP 500).
    #[error("internal: {0}")]
    Internal(String),
    /// A stored forecast's JSON columns do not parse.
    #[error("stored forecast {id} is corrupt: {reason}")]
    Corrupt {
        /// The forecast id.
        id: String,
        /// What failed.
        reason: String,
    },
}
