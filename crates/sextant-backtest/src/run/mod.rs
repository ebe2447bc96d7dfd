//! One backtest as a unit of work: the request and its limits, the manifest hashed into the run
//! id, the stored run and its trades, and the pure execution of a request on loaded data
//! (plus the walk-forward built on it).
//!
//! Nothing here reads or writes storage: loading bars into a [`LoadedData`] and storing a
//! [`BacktestRun`] are the service layer's job, so the same execution serves the API, the CLI,
//! jobs and the narrative's benchmark run.

mod execute;
mod request;
mod riskfree;
mod walkforward;

pub use execute::{benchmark_request, compute_metrics, execute};
pub use request::{
    limits, BacktestRequest, BacktestRun, LoadedData, Relative, RunManifest, TradeRecord,
};
pub use riskfree::{as_of, RiskFree, RiskFreeInput, RiskFreeUsed};
pub use walkforward::{
    walk_forward, walk_forward_with, WalkForwardReport, WalkForwardSpec, WindowResult, WindowRun,
};

/// The pieces of a walk-forward, for running its windows elsewhere (scale-out workers).
pub mod walk {
    pub use super::walkforward::{plan, run_window, stitch};
}

/// The engine version recorded in every manifest: results are only comparable within one.
pub const ENGINE_VERSION: &str = concat!("sextant-backtest ", env!("CARGO_PKG_VERSION"));

/// Why a request could not run on its data (storage errors belong to the caller).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The strategy's parameters do not match its schema.
    #[error("invalid parameters: {0}")]
    Params(#[from] crate::strategy::ParamError),
    /// The simulator settings are out of range.
    #[error("invalid simulator configuration: {0}")]
    Sim(#[from] crate::simulator::SimError),
    /// The loaded bars cannot be simulated (unsorted, misaligned, non-finite).
    #[error("bad bar data: {0}")]
    Bars(#[from] crate::simulator::DataError),
    /// The run's returns could not be summarised.
    #[error("metrics: {0}")]
    Metrics(#[from] crate::metrics::MetricsError),
    /// The request or its result is unusable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// The request exceeds a documented limit or is malformed; `field` names the input.
    #[error("{field}: {message}")]
    Limit {
        /// The request field at fault (`symbols`, `sim.initial_cash`, …).
        field: String,
        /// What the limit is and what was given.
        message: String,
    },
    /// Cancellation was requested while the work ran.
    #[error("cancelled")]
    Cancelled,
}
