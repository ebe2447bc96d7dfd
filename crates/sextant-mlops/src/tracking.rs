//! Tracked runs: every training (and, as they are hooked in, tuning study, forecast evaluation
//! and harness run) is recorded with its params, metrics with steps, tags, artifacts, data
//! snapshot and code version.
//!
//! The record lives in the metadata store (collection [`RUNS`]) and its artifact bytes under
//! `<data_dir>/mlops/artifacts/<sha256>`, so tracking works with no external service. With an
//! MLflow server configured the run is also exported there ([`Tracker::record`]); an export
//! failure is recorded on the run (`mlflow.state = failed` with the error) and never fails the
//! work that was tracked. [`Tracker::sync_pending`] retries.
//!
//! The store refuses `.` in document keys, so params, tags and metrics are lists of
//! `{key, value}` (MLflow's own shape), never maps keyed `holdout.auc`.

use crate::mlflow::{Metric, MlflowClient, MlflowError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sextant_meta::{Filter, MetaStore, Query};
use std::path::PathBuf;
use std::sync::Arc;

/// Collection of tracked runs.
pub const RUNS: &str = "mlops_runs";

/// What kind of work a run tracks (also its MLflow experiment, `<prefix>/<kind>`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RunKind {
    /// A model training.
    Training,
    /// A tuning study.
    Tuning,
    /// A forecast calibration.
    ForecastEval,
    /// An evaluation-harness replay.
    Evaluation,
}

/// A key and its value (params and tags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// Name.
    pub key: String,
    /// Value, as text.
    pub value: String,
}

/// One metric point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// Name.
    pub key: String,
    /// Value (`null` in JSON when not finite).
    pub value: Option<f64>,
    /// Step: a fold, a trial, a horizon; 0 for a single value.
    pub step: i64,
    /// When, ms since the epoch.
    pub timestamp_ms: i64,
}

/// A stored artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// Path inside the run (`model/model.json`).
    pub path: String,
    /// SHA-256 of the bytes (also their file name in the artifact directory).
    pub sha256: String,
    /// Size.
    pub bytes: u64,
}

/// Where an export to MLflow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SyncState {
    /// No MLflow server configured.
    Off,
    /// To be exported.
    Pending,
    /// Exported.
    Done,
    /// The last attempt failed (`error` says why); `sync` retries.
    Failed,
}

/// The run's MLflow side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlflowSync {
    /// Where the export stands.
    pub state: SyncState,
    /// The tracking server.
    pub uri: Option<String>,
    /// MLflow's experiment id.
    pub experiment_id: Option<String>,
    /// MLflow's run id.
    pub run_id: Option<String>,
    /// The registered model's name and version, when the run registered one.
    pub model: Option<String>,
    /// Its version.
    pub model_version: Option<String>,
    /// `log-batch` calls made (metrics, params and tags are batched, never one call each).
    pub log_batch_calls: u32,
    /// All calls made by the last export.
    pub calls: u32,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

impl MlflowSync {
    fn new(state: SyncState, uri: Option<String>) -> MlflowSync {
        MlflowSync {
            state,
            uri,
            experiment_id: None,
            run_id: None,
            model: None,
            model_version: None,
            log_batch_calls: 0,
            calls: 0,
            error: None,
        }
    }
}

/// A registered model a run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    /// Registered model name (in MLflow, `sextant-<name>`).
    pub name: String,
    /// The artifact path inside the run holding the model (`model`).
    pub artifact_dir: String,
    /// The alias the new version gets (`staging`).
    pub alias: String,
}

/// A tracked run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackedRun {
    /// `run_` + 24 hex digits.
    #[serde(rename = "_id")]
    pub id: String,
    /// What it tracks.
    pub kind: RunKind,
    /// A readable name (`train up v3`).
    pub name: String,
    /// What it is about: a model id, a study id…
    pub subject: String,
    /// Started, ms since the epoch.
    pub started_ms: i64,
    /// Ended, ms since the epoch.
    pub ended_ms: i64,
    /// Inputs.
    pub params: Vec<KeyValue>,
    /// Labels.
    pub tags: Vec<KeyValue>,
    /// Every metric point, in order.
    pub metrics: Vec<MetricPoint>,
    /// Stored artifacts.
    pub artifacts: Vec<ArtifactRef>,
    /// The data snapshot it read (content hash), when it read one.
    pub data_snapshot: Option<String>,
    /// Code version (git commit, or the crate version).
    pub code_version: String,
    /// The key that ran it.
    pub owner: String,
    /// The model version it registered, if any.
    pub registration: Option<Registration>,
    /// The MLflow export.
    pub mlflow: MlflowSync,
}

/// Something to record.
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    /// Readable name.
    pub name: String,
    /// Subject id.
    pub subject: String,
    /// Start and end, ms since the epoch.
    pub started_ms: i64,
    /// End.
    pub ended_ms: i64,
    /// Params.
    pub params: Vec<(String, String)>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// Metric points as (key, value, step).
    pub metrics: Vec<(String, f64, i64)>,
    /// Artifacts as (path, bytes).
    pub artifacts: Vec<(String, Vec<u8>)>,
    /// Data snapshot hash.
    pub data_snapshot: Option<String>,
    /// Code version.
    pub code_version: String,
    /// Owner key id.
    pub owner: String,
    /// A model version to register.
    pub registration: Option<Registration>,
}

/// A tracking failure (the store or the artifact files; MLflow failures are recorded instead).
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    /// The metadata store failed.
    #[error("tracking store: {0}")]
    Store(#[from] sextant_meta::MetaError),
    /// An artifact could not be written or read.
    #[error("tracking artifact {path}: {message}")]
    Artifact {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A stored run does not parse.
    #[error("tracked run {id} is corrupt: {message}")]
    Corrupt {
        /// Its id.
        id: String,
        /// Why.
        message: String,
    },
    /// No such run.
    #[error("no tracked run {0}")]
    NotFound(String),
}

/// Records runs in the metadata store and mirrors them to MLflow when configured.
#[derive(Clone)]
pub struct Tracker {
    meta: Arc<dyn MetaStore>,
    artifacts: PathBuf,
    mlflow: Option<MlflowClient>,
    prefix: String,
}

impl Tracker {
    /// A tracker over `meta`, storing artifact bytes under `artifacts`, exporting to `mlflow`
    /// (experiments named `<prefix>/<kind>`) when given.
    pub fn new(
        meta: Arc<dyn MetaStore>,
        artifacts: PathBuf,
        mlflow: Option<MlflowClient>,
        prefix: &str,
    ) -> Tracker {
        Tracker {
            meta,
            artifacts,
            mlflow,
            prefix: prefix.to_string(),
        }
    }

    /// Whether runs are mirrored to MLflow.
    pub fn mlflow(&self) -> Option<&MlflowClient> {
        self.mlflow.as_ref()
    }

    fn write_artifact(&self, bytes: &[u8]) -> Result<ArtifactRef, TrackingError> {
        use sha2::{Digest, Sha256};
        let sha = hex::encode(Sha256::digest(bytes));
        let fail = |p: &std::path::Path, e: std::io::Error| TrackingError::Artifact {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(&self.artifacts).map_err(|e| fail(&self.artifacts, e))?;
        let path = self.artifacts.join(&sha);
        if !path.exists() {
            let tmp = self.artifacts.join(format!("{sha}.partial"));
            std::fs::write(&tmp, bytes).map_err(|e| fail(&tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| fail(&path, e))?;
        }
        Ok(ArtifactRef {
            path: String::new(),
            sha256: sha,
            bytes: bytes.len() as u64,
        })
    }

    /// The bytes of a stored artifact.
    pub fn artifact_bytes(&self, a: &ArtifactRef) -> Result<Vec<u8>, TrackingError> {
        let path = self.artifacts.join(&a.sha256);
        std::fs::read(&path).map_err(|e| TrackingError::Artifact {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Stores `run` of `kind`, then exports it to MLflow if configured. Returns the stored run
    /// with its export state.
    pub async fn record(&self, kind: RunKind, run: NewRun) -> Result<TrackedRun, TrackingError> {
        let mut artifacts = Vec::with_capacity(run.artifacts.len());
        for (path, bytes) in &run.artifacts {
            let mut a = self.write_artifact(bytes)?;
            a.path = path.clone();
            artifacts.push(a);
        }
        let kvs = |v: &[(String, String)]| {
            v.iter()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect::<Vec<_>>()
        };
        let state = if self.mlflow.is_some() {
            SyncState::Pending
        } else {
            SyncState::Off
        };
        let tracked = TrackedRun {
            id: format!("run_{}", &uuid::Uuid::new_v4().simple().to_string()[..24]),
            kind,
            name: run.name,
            subject: run.subject,
            started_ms: run.started_ms,
            ended_ms: run.ended_ms,
            params: kvs(&run.params),
            tags: kvs(&run.tags),
            metrics: run
                .metrics
                .iter()
                .map(|(k, v, s)| MetricPoint {
                    key: k.clone(),
                    value: v.is_finite().then_some(*v),
                    step: *s,
                    timestamp_ms: run.ended_ms,
                })
                .collect(),
            artifacts,
            data_snapshot: run.data_snapshot,
            code_version: run.code_version,
            owner: run.owner,
            registration: run.registration,
            mlflow: MlflowSync::new(state, self.mlflow.as_ref().map(|m| m.base().to_string())),
        };
        self.meta.insert(RUNS, to_value(&tracked)?).await?;
        if self.mlflow.is_some() {
            return self.sync(&tracked.id).await;
        }
        Ok(tracked)
    }

    /// A stored run.
    pub async fn get(&self, id: &str) -> Result<TrackedRun, TrackingError> {
        let doc = self
            .meta
            .get(RUNS, id)
            .await?
            .ok_or_else(|| TrackingError::NotFound(id.to_string()))?;
        from_doc(id, doc)
    }

    /// Runs, newest first, optionally of one kind or subject.
    pub async fn list(
        &self,
        kind: Option<RunKind>,
        subject: Option<&str>,
        limit: u64,
    ) -> Result<Vec<TrackedRun>, TrackingError> {
        let mut f = Filter::new();
        if let Some(k) = kind {
            f = f.eq("kind", k.to_string());
        }
        if let Some(s) = subject {
            f = f.eq("subject", s);
        }
        let q = Query::new().filter(f).sort_desc("started_ms").limit(limit);
        self.meta
            .find(RUNS, &q)
            .await?
            .into_iter()
            .map(|d| {
                let id = d["_id"].as_str().unwrap_or("?").to_string();
                from_doc(&id, d)
            })
            .collect()
    }

    /// Exports run `id` to MLflow (again), recording the outcome on the run.
    pub async fn sync(&self, id: &str) -> Result<TrackedRun, TrackingError> {
        let mut run = self.get(id).await?;
        let Some(client) = &self.mlflow else {
            return Ok(run);
        };
        let mut sync = MlflowSync::new(SyncState::Pending, Some(client.base().to_string()));
        match export(client, &self.prefix, &run, self, &mut sync).await {
            Ok(()) => sync.state = SyncState::Done,
            Err(e) => {
                tracing::warn!(run = %run.id, error = %e, "MLflow export failed");
                sync.state = SyncState::Failed;
                sync.error = Some(e.to_string());
            }
        }
        run.mlflow = sync;
        self.meta
            .update_fields(RUNS, &run.id, json!({"mlflow": to_value(&run.mlflow)?}))
            .await?;
        Ok(run)
    }

    /// Retries every run whose export is pending or failed; returns how many are now done.
    pub async fn sync_pending(&self) -> Result<usize, TrackingError> {
        if self.mlflow.is_none() {
            return Ok(0);
        }
        let q = Query::new().filter(Filter::new().any_of("mlflow.state", ["pending", "failed"]));
        let mut done = 0;
        for d in self.meta.find(RUNS, &q).await? {
            let Some(id) = d["_id"].as_str() else {
                tracing::warn!(doc = %d, "tracked run without an id: skipped");
                continue;
            };
            if self.sync(id).await?.mlflow.state == SyncState::Done {
                done += 1;
            }
        }
        Ok(done)
    }

    /// Points MLflow alias `alias` of the run's registered model at its version (promotion).
    /// A run that was never exported, or no MLflow server, is a no-op returning false.
    pub async fn set_alias(&self, run: &TrackedRun, alias: &str) -> Result<bool, MlflowError> {
        let (Some(client), Some(model), Some(version)) =
            (&self.mlflow, &run.mlflow.model, &run.mlflow.model_version)
        else {
            return Ok(false);
        };
        client.set_alias(model, alias, version).await?;
        Ok(true)
    }
}

async fn export(
    client: &MlflowClient,
    prefix: &str,
    run: &TrackedRun,
    tracker: &Tracker,
    sync: &mut MlflowSync,
) -> Result<(), MlflowError> {
    let exp = client
        .experiment_id(&format!("{prefix}/{}", run.kind))
        .await?;
    sync.calls += 1;
    sync.experiment_id = Some(exp.clone());
    let mut tags: Vec<(String, String)> = vec![
        ("mlflow.source.name".into(), "sextant".into()),
        ("mlflow.user".into(), run.owner.clone()),
        ("mlflow.source.git.commit".into(), run.code_version.clone()),
        ("sextant.run_id".into(), run.id.clone()),
        ("sextant.subject".into(), run.subject.clone()),
    ];
    if let Some(s) = &run.data_snapshot {
        tags.push(("sextant.data_snapshot".into(), s.clone()));
    }
    tags.extend(run.tags.iter().map(|t| (t.key.clone(), t.value.clone())));
    let info = client
        .create_run(&exp, &run.name, run.started_ms, &[])
        .await?;
    sync.calls += 1;
    sync.run_id = Some(info.run_id.clone());
    let metrics: Vec<Metric> = run
        .metrics
        .iter()
        .map(|m| Metric {
            key: m.key.clone(),
            value: m.value.unwrap_or(f64::NAN),
            step: m.step,
            timestamp_ms: m.timestamp_ms,
        })
        .collect();
    let params: Vec<(String, String)> = run
        .params
        .iter()
        .map(|p| (p.key.clone(), p.value.clone()))
        .collect();
    let n = client
        .log_batch(&info.run_id, &metrics, &params, &tags)
        .await?;
    sync.log_batch_calls = n as u32;
    sync.calls += n as u32;
    if let Some(s) = &run.data_snapshot {
        client
            .log_dataset(
                &info.run_id,
                "sextant-bars",
                s,
                &format!("sextant:snapshot:{s}"),
            )
            .await?;
        sync.calls += 1;
    }
    for a in &run.artifacts {
        let bytes = tracker
            .artifact_bytes(a)
            .map_err(|e| MlflowError::Transport {
                call: "artifacts/upload",
                message: e.to_string(),
            })?;
        client.upload_artifact(&info, &a.path, bytes).await?;
        sync.calls += 1;
    }
    client
        .end_run(&info.run_id, "FINISHED", run.ended_ms)
        .await?;
    sync.calls += 1;
    if let Some(reg) = &run.registration {
        let name = format!("sextant-{}", reg.name);
        client
            .ensure_registered_model(&name, "Registered by Sextant")
            .await?;
        let source = format!("{}/{}", info.artifact_uri, reg.artifact_dir);
        let version = client
            .create_model_version(
                &name,
                &source,
                &info.run_id,
                &[("sextant.model_id".into(), run.subject.clone())],
            )
            .await?;
        client.set_alias(&name, &reg.alias, &version).await?;
        sync.calls += 3;
        sync.model = Some(name);
        sync.model_version = Some(version);
    }
    Ok(())
}

fn to_value<T: Serialize>(v: &T) -> Result<serde_json::Value, TrackingError> {
    serde_json::to_value(v).map_err(|e| TrackingError::Corrupt {
        id: "new".into(),
        message: e.to_string(),
    })
}

fn from_doc(id: &str, doc: serde_json::Value) -> Result<TrackedRun, TrackingError> {
    serde_json::from_value(doc).map_err(|e| TrackingError::Corrupt {
        id: id.to_string(),
        message: e.to_string(),
    })
}
