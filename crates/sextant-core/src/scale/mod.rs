//! Scale-out: the same jobs on many machines. With `[jobs] nats_url` set, the server publishes
//! the kinds that travel ([`TRAVELLING`]) to NATS JetStream ([`sextant_queue`]) and
//! `sextant worker` processes anywhere run them:
//!
//! * a tuning study's coordinator (the `optimize` job, on the server) sends each batch of
//!   trials out as [`TRIAL_BATCH`] jobs ([`crate::tuning::remote`]);
//! * a walk-forward's coordinator sends its windows out as [`WALK_WINDOWS`] jobs
//!   ([`windows`]);
//! * a `backtest` job sends its run out as a [`BACKTEST_RUN`] job and stores what comes back
//!   ([`runs`]);
//! * a `materialize_features` job sends symbol shards out as [`FEATURE_SHARD`] jobs and
//!   assembles the view from what comes back ([`features`]);
//! * a `train_rl` job trains on a worker as an [`RL_TRAINING`] job and registers the policy
//!   ([`rl`]);
//! * a `train_signal` job trains on a worker as a [`SIGNAL_TRAINING`] job and registers the
//!   model ([`signals`]).
//!
//! Workers read bars from content-addressed snapshots ([`snapshots`]) in the object store,
//! never from the server's DuckDB file, and write nothing but job records: the coordinator
//! tells the results, so a redelivered or repeated child can never duplicate one.

pub mod features;
pub mod handlers;
pub mod rl;
pub mod runs;
pub mod signals;
pub mod snapshots;
pub mod windows;

use sextant_backtest::run::BacktestRequest;
use sextant_data::Cache;
use snapshots::{SnapshotError, Snapshots};
use std::sync::Arc;

/// Kind of the child job evaluating a batch of a study's trials.
pub const TRIAL_BATCH: &str = "trial_batch";
/// Kind of the child job running some windows of a walk-forward.
pub const WALK_WINDOWS: &str = "walk_forward_windows";
/// Kind of the child job executing one backtest.
pub const BACKTEST_RUN: &str = "backtest_run";
/// Kind of the child job computing a feature view's time-series features for some symbols.
pub const FEATURE_SHARD: &str = "feature_shard";
/// Kind of the child job training an RL policy.
pub const RL_TRAINING: &str = "rl_training";
/// Kind of the child job training a signal model.
pub const SIGNAL_TRAINING: &str = "signal_training";
/// A test hook (registered only with `SEXTANT_DEBUG_JOBS=1`): sleeps `seconds`, stopping at
/// once when cancelled, and returns how long it slept.
pub const DEBUG_SLEEP: &str = "debug_sleep";
/// A test hook (registered only with `SEXTANT_DEBUG_JOBS=1`): aborts the process running it,
/// every time (a poison job).
pub const DEBUG_ABORT: &str = "debug_abort";

/// The kinds a server with a NATS queue sends to workers.
pub const TRAVELLING: &[&str] = &[
    TRIAL_BATCH,
    WALK_WINDOWS,
    BACKTEST_RUN,
    FEATURE_SHARD,
    RL_TRAINING,
    SIGNAL_TRAINING,
    DEBUG_SLEEP,
    DEBUG_ABORT,
];

/// Whether the test-hook kinds are registered (`SEXTANT_DEBUG_JOBS=1`).
pub fn debug_jobs() -> bool {
    std::env::var("SEXTANT_DEBUG_JOBS").is_ok_and(|v| v == "1")
}

/// The server side of scale-out: publishes the snapshots its coordinators name.
pub struct ScaleOut {
    snapshots: Arc<Snapshots>,
    cache: Arc<Cache>,
}

impl ScaleOut {
    /// Snapshots of `cache` published through `snapshots`.
    pub fn new(snapshots: Arc<Snapshots>, cache: Arc<Cache>) -> Self {
        ScaleOut { snapshots, cache }
    }

    /// Publishes the snapshot a worker needs to load `req` (its symbols at its resolution,
    /// every date: adjustments need the whole history) and returns its name.
    pub async fn snapshot_for(&self, req: &BacktestRequest) -> Result<String, SnapshotError> {
        self.snapshots
            .publish(self.cache.clone(), req.symbols.clone(), req.resolution)
            .await
    }

    /// Publishes the snapshot of `symbols` at `resolution` (every date) and returns its name.
    pub async fn snapshot_for_symbols(
        &self,
        symbols: Vec<sextant_domain::Symbol>,
        resolution: sextant_domain::Resolution,
    ) -> Result<String, SnapshotError> {
        self.snapshots
            .publish(self.cache.clone(), symbols, resolution)
            .await
    }

    /// The server's cache.
    pub fn cache(&self) -> &Arc<Cache> {
        &self.cache
    }

    /// The snapshot store.
    pub fn snapshots(&self) -> &Arc<Snapshots> {
        &self.snapshots
    }

    /// Whether `req` can be loaded by a worker: named symbols and nothing but bars (no ML or
    /// regime series, which only the server computes).
    pub fn travels(req: &BacktestRequest) -> bool {
        !req.symbols.is_empty()
            && req.universe.is_none()
            && matches!(crate::backtest::series_needed(req), Ok(None))
    }
}
