//! `optimize`: a tuning study as a job ([`crate::tuning::TuningService::optimize`]).

use super::{parse_params, JobContext, JobError, JobHandler, JobKind};
use crate::scale::{ScaleOut, TRIAL_BATCH};
use crate::tuning::remote::{Dispatch, RemoteTrials};
use crate::tuning::{OptimizeRequest, TuningService, TuningServiceError};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;

/// `optimize`: params are an [`OptimizeRequest`]; the result names the study and its best
/// trial with the deflated Sharpe ratio, PBO and the out-of-sample Sharpe ratio beside it.
/// Resumable: trials are stored as they end, and a re-run continues the study without running
/// a finished trial again.
pub struct OptimizeJob {
    tuning: Arc<TuningService>,
    /// Sends trial batches to remote workers when a NATS queue is configured.
    scale: Option<Arc<ScaleOut>>,
}

impl OptimizeJob {
    /// A handler running studies through `tuning`.
    pub fn new(tuning: Arc<TuningService>) -> Self {
        OptimizeJob {
            tuning,
            scale: None,
        }
    }

    /// This handler, evaluating trial batches on remote workers through `scale` when the job
    /// can fan out and the study's request travels ([`ScaleOut::travels`]).
    pub fn with_scale(mut self, scale: Arc<ScaleOut>) -> Self {
        self.scale = Some(scale);
        self
    }

    async fn remote(
        &self,
        ctx: &JobContext,
        req: &OptimizeRequest,
    ) -> Result<Option<RemoteTrials>, JobError> {
        let Some(scale) = &self.scale else {
            return Ok(None);
        };
        if !ScaleOut::travels(&req.backtest) || !ctx.can_fan_out(TRIAL_BATCH).await {
            return Ok(None);
        }
        let snapshot = scale
            .snapshot_for(&req.backtest)
            .await
            .map_err(|e| JobError::Failed(e.to_string()))?;
        let slots = ctx.remote_slots(TRIAL_BATCH).await;
        let (c, handle) = (ctx.clone(), tokio::runtime::Handle::current());
        // Called from the thread running the study (not an async task), so blocking is fine.
        let dispatch: Dispatch = Arc::new(move |params| {
            handle
                .block_on(c.fan_out(TRIAL_BATCH, params))
                .map_err(|e| match e {
                    JobError::Cancelled => TuningServiceError::Cancelled,
                    e => TuningServiceError::Internal(e.to_string()),
                })
        });
        Ok(Some(RemoteTrials {
            snapshot,
            slots,
            dispatch,
        }))
    }
}

#[async_trait]
impl JobHandler for OptimizeJob {
    fn kind(&self) -> &'static str {
        JobKind::Optimize.name()
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        let req: OptimizeRequest = parse_params(params)?;
        req.validate()
            .map(|_| ())
            .map_err(|e| JobError::InvalidParams(e.to_string()))
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let req: OptimizeRequest = parse_params(&params)?;
        ctx.check()?;
        ctx.progress(0.0, "loading bars").await;
        // Progress comes from the thread running trials: the latest report is forwarded.
        let (tx, mut rx) = tokio::sync::watch::channel((0.0, String::new()));
        let forward = {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                while rx.changed().await.is_ok() {
                    let (f, m) = rx.borrow_and_update().clone();
                    ctx.progress(f, m).await;
                }
            })
        };
        let token = ctx.cancellation_token();
        let owner = Some(ctx.owner()).filter(|o| !o.is_empty());
        let remote = self.remote(&ctx, &req).await?;
        let result = self
            .tuning
            .optimize_with(
                &req,
                owner,
                Arc::new(move |f, m| {
                    tx.send_replace((f, m));
                }),
                Arc::new(move || token.is_cancelled()),
                remote,
            )
            .await;
        forward.abort();
        let rec = match result {
            Ok(r) => r,
            Err(TuningServiceError::Cancelled) => return Err(JobError::Cancelled),
            Err(e @ TuningServiceError::Invalid { .. }) => {
                return Err(JobError::InvalidParams(e.to_string()))
            }
            Err(e) => return Err(JobError::Failed(e.to_string())),
        };
        let a = rec.analysis.clone().unwrap_or(Value::Null);
        ctx.progress(1.0, format!("study {} complete", rec.id))
            .await;
        Ok(json!({
            "study_id": rec.id,
            "counts": rec.counts,
            "best": rec.best,
            "deflated_sharpe": a["deflated_sharpe"]["dsr"],
            "pbo": a["pbo"]["pbo"],
            "out_of_sample_sharpe": a["out_of_sample"]["sharpe"],
            "baseline_sharpe": a["out_of_sample"]["baseline_sharpe"],
        }))
    }
}
