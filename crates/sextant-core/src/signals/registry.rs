//! The model registry: every training run as a document (parameters, metrics, feature view
//! version, data snapshot, code version, seed) in the metadata store, and its artifact as a
//! content-addressed file. Models have versions per name and a stage (staging, production,
//! archived); promoting one to production archives the previous production model of its name.

use super::train::{TrainMetrics, TrainRequest};
use super::SignalError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_meta::{Filter, MetaError, MetaStore, Query};
use sextant_ml::GbtParams;
use std::path::{Path, PathBuf};

/// Metadata collection of models.
pub const MODELS: &str = "models";

/// Where a model stands in its life: trained models start in `Staging`; one model per name
/// may be in `Production` (the one scored by name); promoting another archives it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::AsRefStr,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ModelStage {
    /// Trained and registered; not scored by name.
    Staging,
    /// The model a name resolves to when scored by name (at most one per name).
    Production,
    /// Retired: kept for audit and reproduction, never resolved by name.
    Archived,
}

impl ModelStage {
    /// Parses a stage name, with an error that lists the stages.
    pub fn parse(s: &str) -> Result<ModelStage, SignalError> {
        s.parse().map_err(|_| {
            let all: Vec<String> = <ModelStage as strum::IntoEnumIterator>::iter()
                .map(|m| m.to_string())
                .collect();
            SignalError::Invalid(format!("stage must be one of {}", all.join(", ")))
        })
    }
}

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
    /// `mdl_` plus 20 hex digits of a hash of the artifact, name, view version, data snapshot
    /// and request: training the same inputs again yields the same id.
    pub id: String,
    /// The name versions accumulate under (1 to 64 of `A-Za-z0-9_-`, not starting `mdl_`).
    pub name: String,
    /// 1 for the first model of its name, else one more than the number of models of the name
    /// already registered.
    pub version: u32,
    /// `staging` when trained; see [`ModelStage`].
    pub stage: ModelStage,
    /// When it was trained.
    pub created_at: DateTime<Utc>,
    /// The training request as given, so the run can be repeated.
    pub request: TrainRequest,
    /// Name of the feature view it was trained on.
    pub view: String,
    /// Version of that view: scoring uses the same definition.
    pub view_version: String,
    /// The cache table holding the materialised view.
    pub view_table: String,
    /// Bar resolution of the view (`daily`, ...).
    pub resolution: sextant_domain::Resolution,
    /// Feature names in the order the model takes them.
    pub features: Vec<String>,
    /// Content hash of the bars the features and labels were computed from.
    pub data_snapshot: String,
    /// The code that trained it (see [`code_version`]).
    pub code_version: String,
    /// Random seed of the fit: with the same data and code it reproduces the model.
    pub seed: u64,
    /// The hyper-parameters used (seed included).
    pub params: GbtParams,
    /// Bars after a sample its label may look at (see [`super::LabelSpec::horizon`]).
    pub label_horizon: usize,
    /// In-sample, cross-validation and holdout scores, and feature importance.
    pub metrics: TrainMetrics,
    /// SHA-256 of the serialised model: its file name under the models directory.
    pub artifact_sha256: String,
    /// Size of the serialised model, in bytes.
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

/// Where the artifact with SHA-256 `sha` lives under `dir` (it may not exist).
pub fn artifact_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join(format!("{sha}.json"))
}

fn from_doc(doc: serde_json::Value) -> Result<ModelRecord, SignalError> {
    serde_json::from_value(doc).map_err(|e| SignalError::Corrupt(e.to_string()))
}

/// Registers a new model: gives `rec` the next version of its name and stores it. A unique
/// index on `name@version` makes two trainings of one name that finish together take two
/// versions (the loser of a race retries with the next one) instead of sharing one. Returns
/// `false` when a record with the same id (the same training inputs) is already stored.
pub async fn insert_new_version(
    meta: &dyn MetaStore,
    rec: &mut ModelRecord,
) -> Result<bool, SignalError> {
    meta.ensure_index(MODELS, NAME_VERSION, true).await?;
    for _ in 0..16 {
        rec.version = next_version(meta, &rec.name).await?;
        let mut doc =
            serde_json::to_value(&*rec).map_err(|e| SignalError::Corrupt(e.to_string()))?;
        if let Some(o) = doc.as_object_mut() {
            o.insert("_id".into(), rec.id.clone().into());
            o.insert(
                NAME_VERSION.into(),
                format!("{}@{}", rec.name, rec.version).into(),
            );
        }
        match meta.insert(MODELS, doc).await {
            Ok(_) => return Ok(true),
            Err(MetaError::Duplicate { .. }) => {
                if get(meta, &rec.id).await?.is_some() {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(SignalError::Invalid(format!(
        "model {}: concurrent trainings kept taking the next version; retry",
        rec.name
    )))
}

/// The stored field that keeps (name, version) unique.
const NAME_VERSION: &str = "name_version";

/// The model `id`; `None` when there is none.
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

/// The next version number for `name`: one above the highest stored (1 for a new name).
pub async fn next_version(meta: &dyn MetaStore, name: &str) -> Result<u32, SignalError> {
    let q = Query::new()
        .filter(Filter::new().eq("name", name))
        .sort_desc("version")
        .limit(1);
    let newest = meta.find(MODELS, &q).await?;
    let last = newest
        .first()
        .and_then(|d| d.get("version"))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    u32::try_from(last + 1)
        .map_err(|_| SignalError::Invalid(format!("model {name}: too many versions")))
}

/// Sets a model's stage; promoting to production archives the name's current production model.
pub async fn promote(
    meta: &dyn MetaStore,
    id: &str,
    stage: ModelStage,
) -> Result<ModelRecord, SignalError> {
    let rec = get(meta, id)
        .await?
        .ok_or_else(|| SignalError::NotFound(id.to_string()))?;
    if stage == ModelStage::Production {
        for other in list(meta, Some(&rec.name)).await? {
            if other.id != rec.id && other.stage == ModelStage::Production {
                meta.update_fields(
                    MODELS,
                    &other.id,
                    serde_json::json!({ "stage": ModelStage::Archived }),
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
    if let Ok(id) = sextant_domain::ModelId::new_checked(reference) {
        return get(meta, id.as_str())
            .await?
            .ok_or_else(|| SignalError::NotFound(reference.to_string()));
    }
    let all = list(meta, Some(reference)).await?;
    all.iter()
        .find(|m| m.stage == ModelStage::Production)
        .or_else(|| all.first())
        .cloned()
        .ok_or_else(|| SignalError::NotFound(reference.to_string()))
}
