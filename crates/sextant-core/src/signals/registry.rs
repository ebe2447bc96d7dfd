//! The model registry: every training run as a document (parameters, metrics, feature view
//! version, data snapshot, code version, seed) in the metadata store, and its artifact as a
//! content-addressed file. Models have versions per name and a stage (staging, production,
//! archived); promoting one to production archives the previous production model of its name.

use super::train::{TrainMetrics, TrainRequest};
use super::SignalError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_meta::{Filter, MetaStore, Query};
use sextant_ml::GbtParams;
use std::path::{Path, PathBuf};

/// Metadata collection of models.
pub const MODELS: &str = "models";

pub const STAGES: [&str; 3] = ["staging", "production", "archived"];

/// The code that trained a model: the crate version and, when built from a git checkout, the
/// commit (see `build.rs`).
pub fn code_version() -> String {
    format!(
        "sextant {} ({})",
        env!("CARGO_PKG_VERSION"),
        option_env!("SEXTANT_GIT_SHA").unwrap_or("unknown commit")
    )
}

/// One trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    pub id: String,
    pub name: String,
    pub version: u32,
    pub stage: String,
    pub created_at: DateTime<Utc>,
    pub request: TrainRequest,
    pub view: String,
    pub view_version: String,
    pub view_table: String,
    pub resolution: String,
    pub features: Vec<String>,
    /// Content hash of the bars the features and labels were computed from.
    pub data_snapshot: String,
    pub code_version: String,
    pub seed: u64,
    pub params: GbtParams,
    pub label_horizon: usize,
    pub metrics: TrainMetrics,
    pub artifact_sha256: String,
    pub artifact_bytes: u64,
    /// Bars inside the training and test span held by the quality checks (pending review or
    /// rejected): nothing was learned or tested on them.
    #[serde(default)]
    pub excluded: Vec<sextant_domain::HeldBar>,
    /// The price basis of its labels and features (total return: splits and dividends).
    #[serde(default)]
    pub prices: sextant_domain::PriceBasis,
    /// The key that trained it (none for the CLI's). The registry is shared for reading (a
    /// model is scored by name); only its owner or an admin may change its stage.
    #[serde(default)]
    pub owner: Option<String>,
}

/// Writes a model artifact under `dir`, named by its SHA-256 (write to a temp file, then
/// rename: a crash never leaves a half-written artifact under the final name).
pub fn write_artifact(dir: &Path, bytes: &[u8]) -> Result<(String, PathBuf), SignalError> {
    use sha2::{Digest, Sha256};
    let sha = hex::encode(Sha256::digest(bytes));
    std::fs::create_dir_all(dir).map_err(|e| SignalError::Io(format!("{}: {e}", dir.display())))?;
    let path = dir.join(format!("{sha}.json"));
    if !path.exists() {
        let tmp = dir.join(format!("{sha}.json.partial"));
        std::fs::write(&tmp, bytes)
            .map_err(|e| SignalError::Io(format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| SignalError::Io(format!("{}: {e}", path.display())))?;
    }
    Ok((sha, path))
}

pub fn artifact_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join(format!("{sha}.json"))
}

fn from_doc(doc: serde_json::Value) -> Result<ModelRecord, SignalError> {
    serde_json::from_value(doc).map_err(|e| SignalError::Corrupt(e.to_string()))
}

pub async fn insert(meta: &dyn MetaStore, rec: &ModelRecord) -> Result<(), SignalError> {
    let doc = serde_json::to_value(rec).map_err(|e| SignalError::Corrupt(e.to_string()))?;
    meta.upsert(MODELS, &rec.id, doc).await?;
    Ok(())
}

pub async fn get(meta: &dyn MetaStore, id: &str) -> Result<Option<ModelRecord>, SignalError> {
    meta.get(MODELS, id).await?.map(from_doc).transpose()
}

/// Models, newest first; only `name`'s when given.
pub async fn list(
    meta: &dyn MetaStore,
    name: Option<&str>,
) -> Result<Vec<ModelRecord>, SignalError> {
    let mut q = Query::new().sort_desc("created_at").limit(1000);
    if let Some(n) = name {
        q = q.filter(Filter::new().eq("name", n));
    }
    meta.find(MODELS, &q)
        .await?
        .into_iter()
        .map(from_doc)
        .collect()
}

/// The next version number for `name`.
pub async fn next_version(meta: &dyn MetaStore, name: &str) -> Result<u32, SignalError> {
    let n = meta.count(MODELS, &Filter::new().eq("name", name)).await?;
    Ok(n as u32 + 1)
}

/// Sets a model's stage; promoting to production archives the name's current production model.
pub async fn promote(
    meta: &dyn MetaStore,
    id: &str,
    stage: &str,
) -> Result<ModelRecord, SignalError> {
    if !STAGES.contains(&stage) {
        return Err(SignalError::Invalid(format!(
            "stage must be one of {}",
            STAGES.join(", ")
        )));
    }
    let rec = get(meta, id)
        .await?
        .ok_or_else(|| SignalError::NotFound(id.to_string()))?;
    if stage == "production" {
        for other in list(meta, Some(&rec.name)).await? {
            if other.id != rec.id && other.stage == "production" {
                meta.update_fields(
                    MODELS,
                    &other.id,
                    serde_json::json!({ "stage": "archived" }),
                )
                .await?;
            }
        }
    }
    meta.update_fields(MODELS, id, serde_json::json!({ "stage": stage }))
        .await?;
    get(meta, id)
        .await?
        .ok_or_else(|| SignalError::NotFound(id.to_string()))
}

/// A model by id (`mdl_…`), or by name: its production model, else its newest.
pub async fn resolve(meta: &dyn MetaStore, reference: &str) -> Result<ModelRecord, SignalError> {
    if reference.starts_with("mdl_") {
        return get(meta, reference)
            .await?
            .ok_or_else(|| SignalError::NotFound(reference.to_string()));
    }
    let all = list(meta, Some(reference)).await?;
    all.iter()
        .find(|m| m.stage == "production")
        .or_else(|| all.first())
        .cloned()
        .ok_or_else(|| SignalError::NotFound(reference.to_string()))
}
