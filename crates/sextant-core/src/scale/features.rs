//! Feature materialisation in symbol shards on remote workers. The coordinator (the
//! `materialize_features` job on the server) cuts one snapshot per shard of the symbols the
//! view covers and sends each out as a [`super::FEATURE_SHARD`] job; a worker computes the
//! shard's time-series features and returns them as a Parquet part in the object store; the
//! server evaluates the cross-sectional features over all parts and writes the view in one
//! transaction ([`sextant_features::shards`]), refusing parts computed from other bars.

use crate::jobs::{JobContext, JobError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_domain::Symbol;
use sextant_features::shards::{assemble_shards, export_shard, view_symbols, ShardPart};
use sextant_features::{FeatureView, MaterializedView};

/// Parameters of a `feature_shard` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardParams {
    /// The view's whole definition (its version is a hash of it).
    pub view: FeatureView,
    /// The snapshot (manifest hash) holding the shard's bars.
    pub snapshot: String,
    /// The shard's symbols.
    pub symbols: Vec<Symbol>,
    /// The coordinator's build ([`super::build`]): the worker refuses another.
    pub build: String,
}

impl ShardParams {
    /// Refuses a view that is not a built-in one exactly: a shard's SQL comes from the server's
    /// own definitions, never from a job's parameters.
    pub fn check(&self) -> Result<(), JobError> {
        match sextant_features::find(&self.view.name) {
            Some(v) if v == self.view => Ok(()),
            _ => Err(JobError::InvalidParams(format!(
                "feature view {:?} is not a built-in view",
                self.view.name
            ))),
        }
    }
}

/// What a worker's shard sends back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardResult {
    /// SHA-256 of the Parquet part in the object store ([`super::snapshots::PARTS`]).
    pub part: String,
    /// Rows in it.
    pub rows: u64,
    /// The symbols it covers.
    pub symbols: Vec<String>,
    /// What it was computed from (bars and economic series).
    pub data_snapshot: String,
}

fn failed(e: impl std::fmt::Display) -> JobError {
    JobError::Failed(e.to_string())
}

/// Worker: computes shard `p` on its snapshot and stores the part.
pub async fn run_shard(
    snapshots: &super::snapshots::Snapshots,
    p: ShardParams,
) -> Result<Value, JobError> {
    p.check()?;
    super::same_build(&p.build)?;
    let cache = snapshots.open(&p.snapshot).await.map_err(failed)?;
    let dir = tempfile::tempdir().map_err(failed)?;
    let out = dir.path().to_path_buf();
    let view = p.view.clone();
    let file = tokio::task::spawn_blocking(move || export_shard(&cache, &view, &out))
        .await
        .map_err(|e| failed(format!("feature shard task failed: {e}")))??;
    let wanted: Vec<&str> = p.symbols.iter().map(Symbol::as_str).collect();
    if file.symbols != wanted {
        return Err(failed(format!(
            "snapshot {} holds symbols {:?}, the shard is {wanted:?}",
            p.snapshot, file.symbols
        )));
    }
    let part = snapshots.put_part(&file.path).await.map_err(failed)?;
    Ok(json!(ShardResult {
        part,
        rows: file.rows,
        symbols: file.symbols,
        data_snapshot: file.data_snapshot,
    }))
}

/// Coordinator: materialises `view` from shards computed on the workers, at most `slots` of
/// them.
pub async fn materialize_remote(
    ctx: &JobContext,
    scale: &super::ScaleOut,
    view: &FeatureView,
    slots: usize,
) -> Result<MaterializedView, JobError> {
    let cache = scale.cache().clone();
    let v = view.clone();
    let symbols = tokio::task::spawn_blocking(move || view_symbols(&cache, &v))
        .await
        .map_err(|e| failed(format!("symbols task failed: {e}")))??;
    if symbols.is_empty() {
        return Err(failed(format!(
            "no {} bars to compute {} from",
            view.resolution, view.name
        )));
    }
    let chunk = symbols.len().div_ceil(slots.clamp(1, symbols.len()));
    let mut params = Vec::new();
    for shard in symbols.chunks(chunk) {
        let snapshot = scale
            .snapshots()
            .publish(scale.cache().clone(), shard.to_vec(), view.resolution)
            .await
            .map_err(failed)?;
        params.push(json!(ShardParams {
            view: view.clone(),
            snapshot,
            symbols: shard.to_vec(),
            build: super::build(),
        }));
    }
    ctx.progress(
        0.1,
        format!(
            "{} symbols in {} shards on the workers",
            symbols.len(),
            params.len()
        ),
    )
    .await;
    let dir = tempfile::tempdir().map_err(failed)?;
    let mut parts = Vec::with_capacity(params.len());
    for (i, r) in ctx
        .fan_out(super::FEATURE_SHARD, params)
        .await?
        .into_iter()
        .enumerate()
    {
        let v = match r {
            Ok(v) => v,
            Err(e) => return Err(super::child_error("a feature shard", e)),
        };
        let r: ShardResult = serde_json::from_value(v)
            .map_err(|e| failed(format!("malformed feature shard result: {e}")))?;
        let path = dir.path().join(format!("part{i}.parquet"));
        scale
            .snapshots()
            .fetch_part(&r.part, &path)
            .await
            .map_err(failed)?;
        parts.push(ShardPart {
            path,
            symbols: r.symbols,
            rows: r.rows,
            data_snapshot: r.data_snapshot,
        });
    }
    ctx.check()?;
    ctx.progress(0.8, "assembling").await;
    let cache = scale.cache().clone();
    let v = view.clone();
    let mv = tokio::task::spawn_blocking(move || assemble_shards(&cache, &v, &parts))
        .await
        .map_err(|e| failed(format!("assemble task failed: {e}")))??;
    drop(dir);
    Ok(mv)
}
