//! The job handlers a `sextant worker` runs. They need the metadata store and the snapshots,
//! nothing of the server's: no DuckDB file, no models.

use super::features::{run_shard, ShardParams};
use super::rl::{train_on_snapshot, RlParams};
use super::runs::{run_on_snapshot, RunParams};
use super::signals::SignalParams;
use super::snapshots::Snapshots;
use super::windows::{run_windows, WindowsParams};
use super::{
    BACKTEST_RUN, DEBUG_ABORT, DEBUG_SLEEP, FEATURE_SHARD, RL_TRAINING, SIGNAL_TRAINING,
    TRIAL_BATCH, WALK_WINDOWS,
};
use crate::jobs::{parse_params, JobContext, JobError, JobHandler};
use crate::tuning::remote::{evaluate_trial_batch, Objectives, TrialBatchParams};
use crate::tuning::TuningServiceError;
use async_trait::async_trait;
use serde_json::{json, Value};
use sextant_meta::MetaStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The kinds a worker runs: trial batches, walk-forward windows, backtests, feature shards,
/// RL and signal training (add
/// [`debug_handlers`] for the test hooks).
pub fn worker_handlers(
    meta: Arc<dyn MetaStore>,
    snapshots: Arc<Snapshots>,
) -> Vec<Arc<dyn JobHandler>> {
    vec![
        Arc::new(TrialBatchJob {
            meta: meta.clone(),
            snapshots: snapshots.clone(),
            objectives: Arc::default(),
        }),
        Arc::new(WindowsJob {
            snapshots: snapshots.clone(),
        }),
        Arc::new(RunJob {
            snapshots: snapshots.clone(),
        }),
        Arc::new(ShardJob {
            snapshots: snapshots.clone(),
        }),
        Arc::new(RlTrainingJob {
            meta,
            snapshots: snapshots.clone(),
        }),
        Arc::new(SignalTrainingJob { snapshots }),
    ]
}

/// The snapshot `key`, opened (imported first if need be) on this worker.
async fn open(snapshots: &Snapshots, key: &str) -> Result<Arc<sextant_data::Cache>, JobError> {
    snapshots
        .open(key)
        .await
        .map_err(|e| JobError::Failed(e.to_string()))
}

/// The test hooks when `SEXTANT_DEBUG_JOBS=1` (the server registers them too, so tests can
/// submit them), none otherwise.
pub fn debug_handlers() -> Vec<Arc<dyn JobHandler>> {
    if super::debug_jobs() {
        vec![Arc::new(DebugSleepJob), Arc::new(DebugAbortJob)]
    } else {
        Vec::new()
    }
}

/// `trial_batch`: evaluates some trials of a study ([`crate::tuning::remote`]). Resumable: the
/// coordinator tells each outcome once, so running a batch again is harmless.
pub struct TrialBatchJob {
    meta: Arc<dyn MetaStore>,
    snapshots: Arc<Snapshots>,
    objectives: Arc<Objectives>,
}

#[async_trait]
impl JobHandler for TrialBatchJob {
    fn kind(&self) -> &'static str {
        TRIAL_BATCH
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        parse_params::<TrialBatchParams>(params).map(|_| ())
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p: TrialBatchParams = parse_params(&params)?;
        let cache = open(&self.snapshots, &p.snapshot).await?;
        let n = p.items.len();
        let c = ctx.clone();
        let stop = Arc::new(move || c.is_cancelled());
        let out = evaluate_trial_batch(self.meta.as_ref(), cache, self.objectives.clone(), p, stop)
            .await
            .map_err(|e| match e {
                TuningServiceError::Cancelled => JobError::Cancelled,
                e => JobError::Failed(e.to_string()),
            })?;
        ctx.progress(1.0, format!("{n} trials")).await;
        Ok(out)
    }
}

/// `walk_forward_windows`: runs some windows of a walk-forward ([`super::windows`]).
pub struct WindowsJob {
    snapshots: Arc<Snapshots>,
}

#[async_trait]
impl JobHandler for WindowsJob {
    fn kind(&self) -> &'static str {
        WALK_WINDOWS
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        parse_params::<WindowsParams>(params).map(|_| ())
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p: WindowsParams = parse_params(&params)?;
        let cache = open(&self.snapshots, &p.snapshot).await?;
        let c = ctx.clone();
        let n = p.windows.len();
        let out = tokio::task::spawn_blocking(move || run_windows(cache, &p, &|| c.is_cancelled()))
            .await
            .map_err(|e| JobError::Failed(format!("windows task failed: {e}")))??;
        ctx.progress(1.0, format!("{n} windows")).await;
        Ok(out)
    }
}

/// `backtest_run`: executes one backtest ([`super::runs`]); the coordinator stores it.
pub struct RunJob {
    snapshots: Arc<Snapshots>,
}

#[async_trait]
impl JobHandler for RunJob {
    fn kind(&self) -> &'static str {
        BACKTEST_RUN
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        Ok(parse_params::<RunParams>(params)?.request.validate()?)
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p: RunParams = parse_params(&params)?;
        let cache = open(&self.snapshots, &p.snapshot).await?;
        ctx.check()?;
        let out = tokio::task::spawn_blocking(move || run_on_snapshot(cache, &p))
            .await
            .map_err(|e| JobError::Failed(format!("backtest task failed: {e}")))??;
        ctx.progress(1.0, "executed").await;
        Ok(out)
    }
}

/// `feature_shard`: computes a view's time-series features for some symbols
/// ([`super::features`]); the coordinator assembles the view.
pub struct ShardJob {
    snapshots: Arc<Snapshots>,
}

#[async_trait]
impl JobHandler for ShardJob {
    fn kind(&self) -> &'static str {
        FEATURE_SHARD
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        parse_params::<ShardParams>(params)?.check()
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p: ShardParams = parse_params(&params)?;
        let n = p.symbols.len();
        ctx.check()?;
        let out = run_shard(&self.snapshots, p).await?;
        ctx.progress(1.0, format!("{n} symbols")).await;
        Ok(out)
    }
}

/// `rl_training`: trains a policy ([`super::rl`]); the coordinator registers it.
pub struct RlTrainingJob {
    meta: Arc<dyn MetaStore>,
    snapshots: Arc<Snapshots>,
}

#[async_trait]
impl JobHandler for RlTrainingJob {
    fn kind(&self) -> &'static str {
        RL_TRAINING
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        let p = parse_params::<RlParams>(params)?;
        if p.request.steps > crate::rl::JOB_MAX_STEPS {
            return Err(JobError::InvalidParams(format!(
                "steps: at most {} in a job",
                crate::rl::JOB_MAX_STEPS
            )));
        }
        crate::rl::RlService::check(&p.request).map_err(crate::rl::job_error)
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p: RlParams = parse_params(&params)?;
        let cache = open(&self.snapshots, &p.snapshot).await?;
        let objects = self.snapshots.objects().clone();
        let out = train_on_snapshot(&ctx, self.meta.clone(), objects, cache, p).await?;
        ctx.progress(1.0, "trained").await;
        Ok(out)
    }
}

/// `signal_training`: trains a signal model ([`super::signals`]); the coordinator registers
/// it.
pub struct SignalTrainingJob {
    snapshots: Arc<Snapshots>,
}

#[async_trait]
impl JobHandler for SignalTrainingJob {
    fn kind(&self) -> &'static str {
        SIGNAL_TRAINING
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        parse_params::<SignalParams>(params)?
            .request
            .validate()
            .map_err(|e| JobError::InvalidParams(e.to_string()))
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p: SignalParams = parse_params(&params)?;
        let cache = open(&self.snapshots, &p.snapshot).await?;
        ctx.progress(0.0, format!("training {}", p.request.name))
            .await;
        let objects = self.snapshots.objects().clone();
        let out = super::signals::train_on_snapshot(&ctx, objects, cache, p).await?;
        ctx.progress(1.0, "trained").await;
        Ok(out)
    }
}

/// `debug_sleep` (test hook): `{"seconds": s}`; sleeps, stopping within 10 ms of a cancel,
/// which it then reports as the job's error.
pub struct DebugSleepJob;

#[async_trait]
impl JobHandler for DebugSleepJob {
    fn kind(&self) -> &'static str {
        DEBUG_SLEEP
    }

    fn resumable(&self) -> bool {
        true
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let secs = params.get("seconds").and_then(Value::as_f64).unwrap_or(1.0);
        let t0 = Instant::now();
        let end = t0 + Duration::from_secs_f64(secs.clamp(0.0, 3600.0));
        while Instant::now() < end {
            if ctx.is_cancelled() {
                return Err(JobError::Cancelled);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(json!({ "slept_ms": t0.elapsed().as_millis() as u64 }))
    }
}

/// `debug_abort` (test hook): aborts the process that runs it, every time: a poison job.
pub struct DebugAbortJob;

#[async_trait]
impl JobHandler for DebugAbortJob {
    fn kind(&self) -> &'static str {
        DEBUG_ABORT
    }

    fn resumable(&self) -> bool {
        true
    }

    async fn run(&self, _ctx: JobContext, _params: Value) -> Result<Value, JobError> {
        tracing::error!("debug_abort: aborting this process (test hook)");
        std::process::abort()
    }
}
