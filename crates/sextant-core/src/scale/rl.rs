//! RL training on a remote worker. The coordinator (the `train_rl` job on the server) names the
//! symbol's snapshot and the data snapshot hash it read; the worker trains on the snapshot
//! (seeded: the same request and bars give the same checkpoint wherever they run), stores the
//! checkpoint in the object store by its hash and returns the policy record; the server checks
//! the record against the request and its bars, loads the checkpoint, and registers it.

use crate::jobs::{JobContext, JobError};
use crate::rl::{train_reporting, PolicyRecord, RlService, RlTrainRequest, CHECKPOINTS};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_data::cache::ReadPool;
use sextant_data::Cache;
use sextant_meta::MetaStore;
use sextant_objects::Objects;
use std::sync::Arc;

/// Parameters of an `rl_training` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlParams {
    /// What to train.
    pub request: RlTrainRequest,
    /// The snapshot (manifest hash) holding the symbol's bars.
    pub snapshot: String,
    /// The data snapshot hash the coordinator read: the worker refuses other bars.
    pub data_snapshot: String,
    /// The coordinator's build ([`super::build`]): the worker refuses another.
    pub build: String,
}

fn failed(e: impl std::fmt::Display) -> JobError {
    JobError::Failed(e.to_string())
}

/// Worker: trains `p` on the snapshot `cache`, stores the checkpoint, returns the record.
pub async fn train_on_snapshot(
    ctx: &JobContext,
    meta: Arc<dyn MetaStore>,
    objects: Arc<Objects>,
    cache: Arc<Cache>,
    p: RlParams,
) -> Result<Value, JobError> {
    super::same_build(&p.build)?;
    let rl = Arc::new(RlService::new(
        Arc::new(ReadPool::new(cache, 1)),
        meta,
        objects.clone(),
    ));
    let trained = train_reporting(ctx, rl, p.request).await?;
    if trained.record.data_snapshot != p.data_snapshot {
        return Err(failed(format!(
            "snapshot {} holds other bars than the training's (data {} here, {} there)",
            p.snapshot, trained.record.data_snapshot, p.data_snapshot
        )));
    }
    let hash = objects
        .put_hashed(CHECKPOINTS, "safetensors", trained.checkpoint)
        .await
        .map_err(failed)?;
    if hash != trained.record.checkpoint {
        return Err(failed(
            "the stored checkpoint's hash differs from the record's",
        ));
    }
    serde_json::to_value(&trained.record).map_err(failed)
}

/// Coordinator: trains `req` on a worker and returns the record it registered nothing for yet,
/// checked to be this request's on these bars.
pub async fn train_remote(
    ctx: &JobContext,
    req: &RlTrainRequest,
    snapshot: String,
    data_snapshot: String,
) -> Result<PolicyRecord, JobError> {
    let params = json!(RlParams {
        request: req.clone(),
        snapshot,
        data_snapshot: data_snapshot.clone(),
        build: super::build(),
    });
    let out = match ctx.fan_out(super::RL_TRAINING, vec![params]).await?.pop() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(super::child_error("RL training", e)),
        None => return Err(failed("no result from the worker")),
    };
    let record: PolicyRecord = serde_json::from_value(out)
        .map_err(|e| failed(format!("malformed policy record from a worker: {e}")))?;
    if record.request != *req || record.data_snapshot != data_snapshot {
        return Err(failed(format!(
            "the worker's policy {} is not this request's on these bars",
            record.id
        )));
    }
    Ok(record)
}
