//! Tuning a library strategy on loaded bars: what a trial scores, on which windows, under
//! which constraints, and the analysis that goes with every leaderboard.
//!
//! **Out of sample by default.** The bars are cut into walk-forward folds (train, then test).
//! A trial's parameters run once over all bars (every library strategy is causal, which the
//! truncation tests prove, so the run up to any bar equals a run on data cut there); its score
//! is the mean over folds of the metric on each fold's *training* window, reported fold by fold
//! to the pruner. Nothing a trial is scored on lies in a test window of a later fold's choice:
//! [`analysis`] picks, for each fold, the trial with the best training score on that fold and
//! trades it on the following test window; those windows stitched together are the study's
//! out-of-sample result, shown beside buy and hold on the same windows.
//!
//! The candidates themselves were proposed by a sampler that saw every fold's training score,
//! including folds after a given test window; the analysis says so in its notes.

pub mod analysis;
mod metric;
mod objective;

pub use analysis::{analyse, Analysis, FoldChoice, LeaderboardRow, OutOfSample};
pub use metric::{Metric, ObjectiveExpr, Term};
pub use objective::{BacktestObjective, Constraints, Fold, TrialRun, Validation};
