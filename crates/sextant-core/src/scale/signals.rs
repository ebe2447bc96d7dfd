//! Signal-model training on a remote worker. A model's features come from its view
//! materialised over every symbol at the view's resolution (cross-sectional ranks need them
//! all), so the coordinator (the `train_signal` job on the server) names a snapshot of all of
//! them and the view's data snapshot hash; the worker materialises the view on its snapshot,
//! trains (seeded: the same request and bars give the same artifact), stores the artifact in
//! the object store by its hash and returns the record; the server checks the record against
//! the request and its bars and registers the model as a local training would.

use crate::jobs::{JobContext, JobError};
use crate::signals::{ModelRecord, TrainRequest};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_data::Cache;
use sextant_objects::Objects;
use std::sync::Arc;

/// Object-store folder of model artifacts travelling from workers.
pub const ARTIFACTS: &str = "models/artifacts";

/// Parameters of a `signal_training` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalParams {
    /// What to train.
    pub request: TrainRequest,
    /// The snapshot (manifest hash) holding every symbol at the view's resolution.
    pub snapshot: String,
    /// The view's data snapshot on the server: the worker refuses other bars.
    pub data_snapshot: String,
    /// The coordinator's build ([`super::build`]): the worker refuses another.
    pub build: String,
}

fn failed(e: impl std::fmt::Display) -> JobError {
    JobError::Failed(e.to_string())
}

/// A training error as a job error: cancelled, invalid request, or failure.
pub(crate) fn signal_error(e: crate::signals::SignalError) -> JobError {
    match e {
        crate::signals::SignalError::Ml(sextant_ml::MlError::Cancelled) => JobError::Cancelled,
        crate::signals::SignalError::Invalid(m) => JobError::InvalidParams(m),
        e => JobError::Failed(e.to_string()),
    }
}

/// Worker: trains `p` on the snapshot `cache`, stores the artifact, returns the record.
pub async fn train_on_snapshot(
    ctx: &JobContext,
    objects: Arc<Objects>,
    cache: Arc<Cache>,
    p: SignalParams,
) -> Result<Value, JobError> {
    super::same_build(&p.build)?;
    let token = ctx.cancellation_token();
    let dir = tempfile::tempdir().map_err(failed)?;
    let models = dir.path().to_path_buf();
    let req = p.request.clone();
    let (rec, model) = tokio::task::spawn_blocking(move || {
        crate::signals::fit(&cache, &models, &req, &|| token.is_cancelled())
    })
    .await
    .map_err(|e| failed(format!("training task failed: {e}")))?
    .map_err(signal_error)?;
    if rec.data_snapshot != p.data_snapshot {
        return Err(failed(format!(
            "snapshot {} holds other bars than the training's (data {} here, {} there)",
            p.snapshot, rec.data_snapshot, p.data_snapshot
        )));
    }
    let sha = objects
        .put_hashed(ARTIFACTS, "json", model.to_bytes())
        .await
        .map_err(failed)?;
    if sha != rec.artifact_sha256 {
        return Err(failed(
            "the stored artifact's hash differs from the record's",
        ));
    }
    serde_json::to_value(&rec).map_err(failed)
}

/// Coordinator: trains `req` on a worker; the record (checked to be this request's on these
/// bars) and its artifact's bytes.
pub async fn train_remote(
    ctx: &JobContext,
    objects: &Objects,
    req: &TrainRequest,
    snapshot: String,
    data_snapshot: String,
) -> Result<(ModelRecord, Vec<u8>), JobError> {
    let params = json!(SignalParams {
        request: req.clone(),
        snapshot,
        data_snapshot: data_snapshot.clone(),
        build: super::build(),
    });
    let out = match ctx
        .fan_out(super::SIGNAL_TRAINING, vec![params])
        .await?
        .pop()
    {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(super::child_error("training", e)),
        None => return Err(failed("no result from the worker")),
    };
    let rec: ModelRecord = serde_json::from_value(out)
        .map_err(|e| failed(format!("malformed model record from a worker: {e}")))?;
    if rec.request != *req
        || rec.data_snapshot != data_snapshot
        || rec.code_version != super::build()
    {
        return Err(failed(format!(
            "the worker's model {} is not this request's on these bars",
            rec.id
        )));
    }
    let bytes = objects
        .get_hashed(ARTIFACTS, &rec.artifact_sha256, "json")
        .await
        .map_err(failed)?;
    Ok((rec, bytes))
}
