//! Tuning a library strategy on loaded bars: what a trial scores, on which windows, under
//! which constraints, and the analysis that goes with every leaderboard.
//!
//! **Out of sample by default.** The bars are cut into walk-forward folds (train, then test).
//! A trial's parameters run once over all bars (every library strategy is causal, which the
//! truncation tests prove, so the run up to any bar equals a run on data cut there); its score
//! is the mean over folds of the metric on each fold's *training* window, reported fold by fold
//! to the pruner. That score ranks the study's trials (the parameters to use from now on) and
//! is in sample: the leaderboard says so and carries the deflated Sharpe ratio and PBO.
//!
//! The out-of-sample result is a separate walk-forward of the whole procedure ([`analysis`]):
//! each fold runs its own search, with the study's sampler and space, on its training window
//! with the bars cut at the window's end, and trades the winner on the following test window.
//! No choice saw its test window or anything after it; the test windows stitched together are
//! the out-of-sample equity, shown beside buy and hold on the same bars.

pub mod analysis;
mod metric;
mod objective;

pub use analysis::{analyse, Analysis, FoldChoice, LeaderboardRow, OutOfSample};
pub use metric::{Metric, ObjectiveExpr, Term, METRIC_CAP};
pub use objective::{BacktestObjective, Constraints, Fold, TrialRun, Validation};
