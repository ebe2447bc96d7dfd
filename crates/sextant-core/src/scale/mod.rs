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
//! never from the server's DuckDB file (they write feature tables into their own snapshot
//! files only). What they send back are job results and content-addressed objects (feature
//! parts, checkpoints, model artifacts); the coordinator checks them and tells or registers
//! the results, so a redelivered or repeated child can never duplicate one.

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

/// The kinds only a coordinator queues (as children of its own job): never submitted directly,
/// so their parameters (a whole feature view's SQL, a snapshot name) come from the server.
pub const CHILD_KINDS: [&str; 6] = [
    TRIAL_BATCH,
    WALK_WINDOWS,
    BACKTEST_RUN,
    FEATURE_SHARD,
    RL_TRAINING,
    SIGNAL_TRAINING,
];

/// The kinds a server with a NATS queue sends to workers: the child kinds and the two test
/// hooks.
pub const TRAVELLING: [&str; CHILD_KINDS.len() + 2] = {
    let n = CHILD_KINDS.len();
    let mut out = [""; CHILD_KINDS.len() + 2];
    let mut i = 0;
    while i < n {
        out[i] = CHILD_KINDS[i];
        i += 1;
    }
    out[n] = DEBUG_SLEEP;
    out[n + 1] = DEBUG_ABORT;
    out
};

/// This build (`sextant <version> (<commit>)`): a worker refuses training and feature work
/// from a server of another build, whose code could compute other values.
pub fn build() -> String {
    crate::signals::registry::code_version()
}

/// Refuses work sent by a server of another build.
pub(crate) fn same_build(theirs: &str) -> Result<(), crate::jobs::JobError> {
    let ours = build();
    if theirs == ours {
        Ok(())
    } else {
        Err(crate::jobs::JobError::Failed(format!(
            "this worker runs {ours}, the server {theirs}: run the same build on both"
        )))
    }
}

/// A child's error (`fan_out`'s `Err`) as the coordinator's: cancelled stays cancelled, an
/// invalid request stays invalid (so the remote path reports what the local one would), the
/// rest fails with `what` in front.
pub(crate) fn child_error(what: &str, e: String) -> crate::jobs::JobError {
    use crate::jobs::JobError;
    const INVALID: &str = "invalid job parameters: ";
    if e == "cancelled" {
        JobError::Cancelled
    } else if let Some(m) = e.strip_prefix(INVALID) {
        JobError::InvalidParams(m.to_string())
    } else {
        JobError::Failed(format!("{what} failed on a worker: {e}"))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobError;

    #[test]
    fn a_childs_error_keeps_its_class() {
        let invalid = JobError::InvalidParams("no bars for NOSUCH".into()).to_string();
        assert!(matches!(
            child_error("the backtest", invalid),
            JobError::InvalidParams(m) if m == "no bars for NOSUCH"
        ));
        assert!(matches!(
            child_error("x", JobError::Cancelled.to_string()),
            JobError::Cancelled
        ));
        assert!(matches!(
            child_error("RL training", "disk full".into()),
            JobError::Failed(m) if m == "RL training failed on a worker: disk full"
        ));
    }

    #[test]
    fn work_from_another_build_is_refused() {
        assert!(same_build(&build()).is_ok());
        let err = same_build("sextant 0.0.0 (elsewhere)").expect_err("another build");
        assert!(err.to_string().contains("same build"), "{err}");
    }
}
