#![warn(missing_docs)]
//! Parameter search that says how overfitted its best result is.
//!
//! Quant researchers tune strategies with Optuna or grid sweeps and then quote the best trial's
//! in-sample Sharpe ratio: the most selected, most overfitted number of the study. This crate
//! searches as well as Optuna does (its samplers follow Optuna 5's algorithms and defaults) and
//! ships the statistics that discount the search itself.
//!
//! - [`space`]: parameters (integer, float, log scale, categorical, conditional).
//! - [`sampler`]: TPE, CMA-ES, NSGA-II, random and grid; seeded per trial, so the same seed
//!   gives the same trials whatever the thread count, and a resumed study goes on identically.
//! - [`pruner`]: median and successive halving on per-fold intermediate values.
//! - [`study`]: ask in batches, tell in any order, rank, Pareto front.
//! - [`runner`]: drives a study over an [`runner::Objective`] on all cores.
//! - [`overfit`]: the deflated Sharpe ratio and the probability of backtest overfitting (CSCV).
//! - [`functions`]: Branin and Hartmann-6, the samplers' benchmark against Optuna.
//! - [`pareto`]: dominance, fronts, crowding distance.
//! - [`backtest`]: tuning a library strategy on loaded bars: metrics, walk-forward folds,
//!   constraints, and the analysis every leaderboard carries.
//!
//! Pure computation: nothing here reads or writes storage; the caller persists trials through
//! the runner's callback.

pub mod backtest;
pub mod functions;
pub mod overfit;
pub mod pareto;
pub mod pruner;
pub mod runner;
pub mod sampler;
pub mod space;
pub mod study;
pub mod trial;

pub use pruner::PrunerKind;
pub use sampler::SamplerKind;
pub use space::{Assignment, Condition, Distribution, Param, SearchSpace};
pub use study::{Study, StudySpec};
pub use trial::{Direction, Outcome, Trial, TrialState};

/// Why a study cannot be set up or continued.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TuningError {
    /// The search space is malformed; the message names the parameter.
    #[error("search space: {0}")]
    Space(String),
    /// The sampler, pruner or objectives do not fit together.
    #[error("study configuration: {0}")]
    Config(String),
    /// The stored study is inconsistent, or a tell does not match an ask.
    #[error("study: {0}")]
    Study(String),
    /// An overfitting statistic cannot be computed on these inputs.
    #[error("statistics: {0}")]
    Stats(String),
}
