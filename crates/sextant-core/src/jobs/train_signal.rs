//! The `train_signal` job: trains a signal model here, or on a worker when one serves
//! [`crate::scale::SIGNAL_TRAINING`] ([`crate::scale::signals`]).

use super::{parse_params, JobContext, JobError, JobHandler, JobKind};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;

/// `train_signal`: params are a [`crate::signals::TrainRequest`]; the result is the registered
/// model's id, version and headline metrics (the whole record is at `/api/v1/models/{id}`).
/// Resumable: training is deterministic and idempotent (same inputs and seed, same model id).
pub struct TrainSignalJob {
    /// Trains and registers the model, recording the job's owner, if any.
    pub signals: Arc<crate::signals::MlSignalService>,
    /// Sends training to a remote worker when a NATS queue is configured.
    pub scale: Option<Arc<crate::scale::ScaleOut>>,
}

/// Trains `req` on a worker and registers the model here: hashes the view's bars, publishes a
/// snapshot of every symbol at the view's resolution, and checks what comes back (request,
/// view snapshot, build) before registering it exactly as a local training would. Used by
/// `train_signal` and by `retrain_model` ([`crate::mlops::jobs::RetrainModelJob`]).
pub(crate) async fn train_on_worker(
    ctx: &JobContext,
    scale: &crate::scale::ScaleOut,
    signals: &crate::signals::MlSignalService,
    req: crate::signals::TrainRequest,
    owner: Option<&str>,
) -> Result<crate::signals::ModelRecord, JobError> {
    req.validate()
        .map_err(|e| JobError::InvalidParams(e.to_string()))?;
    let cache = scale.cache().clone();
    let name = req.view.clone();
    let (view, symbols, data_snapshot) = tokio::task::spawn_blocking(move || {
        let view = crate::signals::MlSignalService::view_def(&cache, &name, None)
            .map_err(|e| JobError::InvalidParams(e.to_string()))?;
        let symbols = sextant_features::shards::view_symbols(&cache, &view)?;
        let snapshot = sextant_features::shards::view_data_snapshot(&cache, &view)?;
        Ok::<_, JobError>((view, symbols, snapshot))
    })
    .await
    .map_err(|e| JobError::Failed(format!("snapshot task failed: {e}")))??;
    let snapshot = scale
        .snapshot_for_symbols(symbols, view.resolution)
        .await
        .map_err(|e| JobError::Failed(e.to_string()))?;
    ctx.progress(0.05, format!("training {} on a worker", req.name))
        .await;
    let objects = scale.snapshots().objects().clone();
    let (rec, artifact) =
        crate::scale::signals::train_remote(ctx, &objects, &req, snapshot, data_snapshot).await?;
    signals
        .register_remote(rec, &artifact, owner)
        .await
        .map_err(crate::scale::signals::signal_error)
}

#[async_trait]
impl JobHandler for TrainSignalJob {
    fn kind(&self) -> &'static str {
        JobKind::TrainSignal.name()
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        parse_params::<crate::signals::TrainRequest>(params)?
            .validate()
            .map_err(|e| JobError::InvalidParams(e.to_string()))
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let req: crate::signals::TrainRequest = parse_params(&params)?;
        ctx.check()?;
        ctx.progress(0.0, format!("training {}", req.name)).await;
        let token = ctx.cancellation_token();
        let stop = Arc::new(move || token.is_cancelled());
        let owner = Some(ctx.owner()).filter(|o| !o.is_empty());
        if let Some(scale) = &self.scale {
            if ctx.can_fan_out(crate::scale::SIGNAL_TRAINING).await {
                let rec = train_on_worker(&ctx, scale, &self.signals, req, owner).await?;
                return Ok(trained_result(&ctx, &rec).await);
            }
        }
        let rec = match self.signals.train_with_stop(req, stop, owner).await {
            Ok(r) => r,
            Err(crate::signals::SignalError::Ml(sextant_ml::MlError::Cancelled)) => {
                return Err(JobError::Cancelled)
            }
            Err(crate::signals::SignalError::Invalid(m)) => return Err(JobError::InvalidParams(m)),
            Err(e) => return Err(JobError::Failed(e.to_string())),
        };
        Ok(trained_result(&ctx, &rec).await)
    }
}

/// A `train_signal` job's result (and its last progress).
async fn trained_result(ctx: &JobContext, rec: &crate::signals::ModelRecord) -> Value {
    ctx.progress(1.0, format!("registered {} v{}", rec.id, rec.version))
        .await;
    json!({
        "model_id": rec.id,
        "name": rec.name,
        "version": rec.version,
        "in_sample_auc": rec.metrics.in_sample.auc,
        "cv_auc": rec.metrics.cross_validation.as_ref().map(|c| c.report.auc),
        "holdout_auc": rec.metrics.holdout.as_ref().map(|h| h.auc),
    })
}
