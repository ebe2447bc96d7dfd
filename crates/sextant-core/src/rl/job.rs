//! `train_rl`: params are an [`RlTrainRequest`]; progress carries the reward curve (steps and
//! mean episode return per rollout); the result is the registered policy's id with its
//! out-of-sample headline figures (the whole record is at `/api/v1/rl/policies/{id}`).
//! Resumable: training is seeded and idempotent (same request and bars, same checkpoint and id).
//! Cancelling stops training at the next rollout and registers nothing.
//!
//! With a NATS queue and live workers, training runs on a worker as an
//! [`crate::scale::RL_TRAINING`] child ([`crate::scale::rl`]): the worker stores the checkpoint
//! in the object store and returns the record; this job checks and registers it.

use super::{PolicyRecord, RlService, RlServiceError, RlTrainRequest, Trained};
use crate::jobs::{parse_params, JobContext, JobError, JobHandler, JobKind};
use crate::scale::{ScaleOut, RL_TRAINING};
use async_trait::async_trait;
use serde_json::{json, Value};
use sextant_rl::ppo::Progress;
use std::sync::Arc;

/// Most environment steps one job may take (the CLI, which runs in the caller's own process,
/// allows [`super::MAX_STEPS`]).
pub const JOB_MAX_STEPS: usize = 1_000_000;

/// The job handler.
pub struct TrainRlJob {
    /// Trains and registers.
    pub rl: Arc<RlService>,
    /// Sends training to a remote worker when a NATS queue is configured.
    pub scale: Option<Arc<ScaleOut>>,
}

pub(crate) fn job_error(e: RlServiceError) -> JobError {
    match e {
        RlServiceError::Invalid(m) => JobError::InvalidParams(m),
        other => JobError::Failed(other.to_string()),
    }
}

/// Trains `req` with `rl` on a blocking thread, reporting the reward curve as `ctx`'s progress
/// (up to 90 %) and stopping at the next rollout when `ctx` is cancelled.
pub async fn train_reporting(
    ctx: &JobContext,
    rl: Arc<RlService>,
    req: RlTrainRequest,
) -> Result<Trained, JobError> {
    ctx.progress(0.0, format!("training {} on {}", req.algo, req.symbol))
        .await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let token = ctx.cancellation_token();
    let total = req.steps.max(1) as f64;
    let task = tokio::task::spawn_blocking(move || {
        rl.train_blocking(&req, move |p| {
            // The receiver outlives training; a send error only means nobody listens.
            let _ = tx.send(p.clone());
            !token.is_cancelled()
        })
    });
    while let Some(p) = rx.recv().await {
        ctx.progress(
            0.9 * p.steps as f64 / total,
            format!(
                "{} steps, mean episode return {:.4} ({} episodes)",
                p.steps, p.mean_return, p.episodes
            ),
        )
        .await;
    }
    let trained = task
        .await
        .map_err(|e| JobError::Failed(format!("training task: {e}")))?
        .map_err(job_error)?;
    ctx.check()?;
    Ok(trained)
}

impl TrainRlJob {
    /// The remote path: hash the bars here, train on a worker, check and register here.
    async fn run_remote(
        &self,
        ctx: &JobContext,
        scale: &ScaleOut,
        req: RlTrainRequest,
    ) -> Result<PolicyRecord, JobError> {
        let rl = Arc::clone(&self.rl);
        let r = req.clone();
        let data_snapshot = tokio::task::spawn_blocking(move || rl.data_snapshot(&r))
            .await
            .map_err(|e| JobError::Failed(format!("snapshot task: {e}")))?
            .map_err(job_error)?;
        let snapshot = scale
            .snapshot_for_symbols(vec![req.symbol.clone()], sextant_domain::Resolution::Daily)
            .await
            .map_err(|e| JobError::Failed(e.to_string()))?;
        ctx.progress(0.0, format!("training {} on a worker", req.symbol))
            .await;
        let record = crate::scale::rl::train_remote(ctx, &req, snapshot, data_snapshot).await?;
        // The checkpoint must be there and decode into the recorded network.
        self.rl.load_policy(&record).await.map_err(job_error)?;
        self.rl.register(&record).await.map_err(job_error)?;
        Ok(record)
    }
}

#[async_trait]
impl JobHandler for TrainRlJob {
    fn kind(&self) -> &'static str {
        JobKind::TrainRl.name()
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        let req = parse_params::<RlTrainRequest>(params)?;
        if req.steps > JOB_MAX_STEPS {
            return Err(JobError::InvalidParams(format!(
                "steps: at most {JOB_MAX_STEPS} in a job"
            )));
        }
        RlService::check(&req).map_err(job_error)
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let req: RlTrainRequest = parse_params(&params)?;
        ctx.check()?;
        let record = match &self.scale {
            Some(scale) if ctx.can_fan_out(RL_TRAINING).await => {
                RlService::check(&req).map_err(job_error)?;
                self.run_remote(&ctx, scale, req).await?
            }
            _ => {
                let trained = train_reporting(&ctx, Arc::clone(&self.rl), req).await?;
                self.rl.store(trained).await.map_err(job_error)?
            }
        };
        let e = &record.evaluation;
        ctx.progress(1.0, format!("registered {}", record.id)).await;
        Ok(json!({
            "policy_id": record.id,
            "checkpoint": record.checkpoint,
            "oos_from": e.from,
            "oos_to": e.to,
            "oos_return": e.policy.total_return,
            "buy_and_hold_return": e.buy_and_hold.total_return,
            "sharpe_diff_vs_buy_and_hold_ci": e.vs_buy_and_hold.sharpe_diff_ci,
        }))
    }
}
