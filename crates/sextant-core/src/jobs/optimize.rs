//! `optimize`: a tuning study as a job ([`crate::tuning::TuningService::optimize`]).

use super::{parse_params, JobContext, JobError, JobHandler, JobKind};
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
}

impl OptimizeJob {
    /// A handler running studies through `tuning`.
    pub fn new(tuning: Arc<TuningService>) -> Self {
        OptimizeJob { tuning }
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
        let result = self
            .tuning
            .optimize(
                &req,
                owner,
                Arc::new(move |f, m| {
                    tx.send_replace((f, m));
                }),
                Arc::new(move || token.is_cancelled()),
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
