#![warn(missing_docs)]
//! Market regimes that never look ahead.
//!
//! A regime model is fitted on observations up to its fit date; the label of a later bar comes
//! from the forward filter `p(state_t | x_1..t)` only. Smoothing (`p(state_t | x_1..T)`) and
//! Viterbi use observations after `t`, so a backtest that trades on them is contaminated; they
//! exist here only to measure how far they differ from the filter ([`GaussianHmm::smooth`]).
//!
//! - [`hmm`]: a Gaussian hidden Markov model (full or diagonal covariance, variance floor),
//!   fitted by Baum–Welch with several seeded restarts, with a scaled forward filter.
//! - [`mixture`]: a Gaussian mixture (states without memory; each row labelled by itself).
//! - [`kmeans`]: k-means on PCA-reduced features (hard labels, each row by itself).
//! - [`model`]: one type over the three families.
//! - [`walk`]: walk-forward fits on a schedule of rows, labels of every later row, models
//!   reused while their fit rows are unchanged.
//! - [`alerts`]: regime changes confirmed with hysteresis.
//! - [`naming`]: states named by their statistics (`bull`, `bear`, `sideways`, `high_vol`), and
//!   matched between refits so a name keeps its meaning.

pub mod alerts;
mod gaussian;
pub mod hmm;
pub mod kmeans;
mod lattice;
mod linalg;
pub mod mixture;
pub mod model;
pub mod naming;
pub mod walk;

pub use alerts::{confirmed_changes, Change};
pub use hmm::{Covariance, FitReport, GaussianHmm, HmmConfig};
pub use kmeans::PcaKMeans;
pub use mixture::GaussianMixture;
pub use model::{ModelKind, RegimeModel};
pub use naming::{match_states, name_states, Regime};
pub use walk::{walk_forward, Segment, StateSummary, Walk, WalkConfig};

/// Why a regime model could not be fitted or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegimeError {
    /// The observations are unusable: too few, ragged, or not finite.
    #[error("observations: {0}")]
    Data(String),
    /// The configuration is out of range.
    #[error("configuration: {0}")]
    Config(String),
    /// A covariance matrix is not positive definite even after the variance floor.
    #[error("state {state}: covariance is not positive definite")]
    NotPositiveDefinite {
        /// The state whose covariance failed.
        state: usize,
    },
}
