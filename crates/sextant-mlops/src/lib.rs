#![warn(missing_docs)]
//! Model operations: the statistics that decide whether a model still sees the world it was
//! trained on, and whether a result beats chance and its baselines.
//!
//! * [`drift`]: PSI with bands and the sampling floor beside it, the exact two-sample KS test.
//! * [`harness`]: random entries with the strategy's own exposure, a paired bootstrap of the
//!   difference to a baseline, the probabilistic Sharpe ratio.
//! * [`eval`]: the evaluation harness's named windows, per-window results and the HTML report.
//! * [`schedule`] and [`promotion`]: retraining schedules' cron slots and the rule that lets a
//!   retrained candidate replace production (paired-bootstrap non-inferiority on holdout loss).
//! * [`tracking`]: tracked runs in the metadata store, mirrored to MLflow ([`mlflow`]) when a
//!   tracking server is configured.
//!
//! The statistics are pure computation over slices, reference-tested against numpy and scipy on
//! fixed inputs (`scripts/mlops/reference.py`, `tests/fixtures/mlops_reference.json`).

pub mod drift;
pub mod eval;
pub mod harness;
pub mod mlflow;
pub mod monitor;
pub mod promotion;
pub mod schedule;
pub mod tracking;

/// The seeded generator behind every draw here (replayable from Python).
pub use sextant_numeric::SplitMix;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum MlopsError {
    /// The input cannot be judged (empty, not finite, inconsistent); the message says which.
    #[error("{0}")]
    Input(String),
}
