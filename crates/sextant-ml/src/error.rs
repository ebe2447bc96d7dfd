//! The crate's single error type.
//!
//! Every fallible entry point returns [`MlError`] instead of panicking, because the inputs
//! (feature matrices, labels, serialized models) arrive from user requests and files that the
//! service does not control.

use thiserror::Error;

/// Errors raised by dataset construction, training, (de)serialization, CV and metrics.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum MlError {
    /// The caller asked training to stop.
    #[error("cancelled")]
    Cancelled,
    /// The dataset (or a label/prediction vector) has no rows.
    #[error("empty input: {0}")]
    Empty(String),
    /// Two inputs that must be aligned row-for-row (or column-for-name) have different lengths.
    #[error("length mismatch: {what}: expected {expected}, got {got}")]
    LengthMismatch {
        /// Which input was inconsistent.
        what: String,
        /// The length implied by the other inputs.
        expected: usize,
        /// The length that was supplied.
        got: usize,
    },
    /// A label is not exactly 0 or 1 (NaN included).
    #[error("invalid label at row {row}: {value} (labels must be 0 or 1)")]
    InvalidLabel {
        /// Offending row.
        row: usize,
        /// Offending value.
        value: f64,
    },
    /// A sample weight is negative or not finite, or all weights are zero.
    #[error("invalid weight: {0}")]
    InvalidWeight(String),
    /// A feature value is ±infinity (NaN is allowed and means "missing").
    #[error("non-finite feature value in column '{column}' at row {row} (use NaN for missing)")]
    NonFiniteFeature {
        /// Column name.
        column: String,
        /// Row index.
        row: usize,
    },
    /// A hyper-parameter or splitter argument is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParam(String),
    /// A prediction/probability input is NaN or outside [0, 1].
    #[error("invalid prediction at row {row}: {value}")]
    InvalidPrediction {
        /// Offending row.
        row: usize,
        /// Offending value.
        value: f64,
    },
    /// A metric is undefined for the given input (e.g. AUC with a single class).
    #[error("undefined metric: {0}")]
    Undefined(String),
    /// A serialized model could not be decoded or is structurally invalid.
    #[error("invalid model bytes: {0}")]
    InvalidModel(String),
}
