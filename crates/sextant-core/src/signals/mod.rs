//! `MlSignalService`: machine-learned buy/sell signals. Trains gradient-boosted trees on a
//! feature view and labels with explicit execution timing, validates them without leakage,
//! keeps every run in the model registry, and scores symbols from warm, cached models with the
//! feature values (and, on request, the SHAP contributions) behind each probability.

pub mod compare;
pub mod drift;
pub mod explain;
mod fit;
pub mod labels;
pub mod registry;
mod series;
mod tracking;
pub mod train;
mod walkforward;

pub(crate) use fit::{fit, prepare, Prepared};
pub use labels::{LabelSpec, Timing};
pub use registry::{ModelRecord, ModelStage};
pub use train::{TrainMetrics, TrainRequest, Validation};
pub use walkforward::{MlWalkForward, MlWalkForwardRequest, PortfolioSpec, WindowReport};

use crate::backtest::BacktestError;
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use sextant_data::{Cache, DataError};
use sextant_domain::Symbol;
use sextant_features::{FeatureStore, FeatureView, MaterializedView};
use sextant_meta::{MetaError, MetaStore};
use sextant_ml::GbtModel;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Why training, the registry or scoring failed.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// A request was refused: bad name, symbols, dates, view, label, parameters or stage, or
    /// too few labelled samples.
    #[error("{0}")]
    Invalid(String),
    /// No model matches this id or name (or the caller may not change it).
    #[error("no model {0:?}: train one with `sextant train signal` or list them with `sextant models ls`")]
    NotFound(String),
    /// The model's feature view has no row for the symbol (no cached bars, or too few for the
    /// features' look-back).
    #[error("no feature row for {symbol} in view {view}: ingest data for it and train or materialise again")]
    NoFeatures {
        /// The symbol asked for.
        symbol: String,
        /// The model's feature view.
        view: String,
    },
    /// The market-data cache failed (bars, feature views).
    #[error(transparent)]
    Data(#[from] DataError),
    /// The metadata store (the model registry) failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// Fitting, validating or loading a model failed.
    #[error(transparent)]
    Ml(#[from] sextant_ml::MlError),
    /// A stored model record does not deserialise.
    #[error("stored model record is malformed: {0}")]
    Corrupt(String),
    /// A model artifact file could not be written or read.
    #[error("model artifact: {0}")]
    Io(String),
    /// The blocking training task panicked or was cancelled by the runtime.
    #[error("training task failed: {0}")]
    Task(String),
}

/// The series this service attaches: a model's probability of an up move per bar.
pub const ML_PROBA: &str = "ml_proba";

/// One scored symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The symbol scored.
    pub symbol: String,
    /// The id of the model that scored it (a name resolves to one).
    pub model_id: String,
    /// The bar whose features were scored (the newest one).
    pub ts: NaiveDateTime,
    /// Probability that the label is 1 (an up move, for the default label).
    pub probability: f64,
    /// The feature values that were scored, by name, in the model's feature order.
    pub features: Vec<(String, f64)>,
    /// Per-feature contributions in log-odds, summing to the raw score minus `expected_value`.
    pub shap: Option<Vec<(String, f64)>>,
    /// The model's base raw score (log-odds) that the `shap` contributions start from; set
    /// only with `shap`.
    pub expected_value: Option<f64>,
}

/// Trains, registers and scores machine-learned signals. Models are loaded once and kept
/// warm, and the newest feature row per symbol is held in memory until the cache changes, so
/// repeated scoring reads memory. Build one and share it.
pub struct MlSignalService {
    cache: Arc<Cache>,
    meta: Arc<dyn MetaStore>,
    models_dir: PathBuf,
    /// Warm models by id.
    loaded: Mutex<HashMap<String, Arc<GbtModel>>>,
    /// Cache generation at which each view table was last confirmed current.
    fresh: Mutex<HashMap<String, u64>>,
    /// The online store: each view table's newest feature row per symbol, valid for one cache
    /// generation (any committed write invalidates it). Scoring reads memory, not DuckDB.
    online: Mutex<HashMap<String, (u64, Arc<OnlineRows>)>>,
    /// Where trainings are tracked (and mirrored to MLflow); none in bare unit setups.
    tracker: Option<Arc<sextant_mlops::tracking::Tracker>>,
    /// Where drift alerts are posted (see [`drift`]), with its HTTP client.
    drift_webhook: Option<(String, reqwest::Client)>,
}

type OnlineRows = HashMap<String, (NaiveDateTime, Vec<f64>)>;

pub(crate) fn clean_name(name: &str) -> Result<String, SignalError> {
    let n = name.trim();
    if !sextant_domain::is_plain_name(n) || n.starts_with(sextant_domain::ModelId::PREFIX) {
        return Err(SignalError::Invalid(
            "model name: 1 to 64 characters of A-Z, a-z, 0-9, _ and -, not starting with mdl_"
                .into(),
        ));
    }
    Ok(n.to_string())
}

impl MlSignalService {
    /// The service over the shared cache and metadata store; model artifacts are written to and
    /// read from `models_dir` (created on first training).
    pub fn new(cache: Arc<Cache>, meta: Arc<dyn MetaStore>, models_dir: PathBuf) -> Self {
        MlSignalService {
            cache,
            meta,
            models_dir,
            loaded: Mutex::new(HashMap::new()),
            fresh: Mutex::new(HashMap::new()),
            online: Mutex::new(HashMap::new()),
            tracker: None,
            drift_webhook: None,
        }
    }

    /// Posts every drift check that reaches the alert band to `url` (5 s timeout; a failure is
    /// recorded on the check, never an error of it).
    pub fn with_drift_webhook(mut self, url: Option<String>) -> Result<Self, SignalError> {
        self.drift_webhook = match url {
            None => None,
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                let client = reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(5))
                    .build()
                    .map_err(|e| SignalError::Invalid(format!("drift webhook client: {e}")))?;
                Some((u, client))
            }
            Some(u) => {
                return Err(SignalError::Invalid(format!(
                    "[mlops] drift_webhook must be an http:// or https:// URL, not {u:?}"
                )))
            }
        };
        Ok(self)
    }

    /// Tracks every new model with `tracker` (see [`tracking`]).
    pub fn with_tracker(mut self, tracker: Arc<sextant_mlops::tracking::Tracker>) -> Self {
        self.tracker = Some(tracker);
        self
    }

    /// A view's definition: built-in by name, or a stored version.
    pub(crate) fn view_def(
        cache: &Cache,
        name: &str,
        version: Option<&str>,
    ) -> Result<FeatureView, SignalError> {
        if let Some(v) =
            sextant_features::find(name).filter(|v| version.is_none_or(|want| v.version() == want))
        {
            return Ok(v);
        }
        if let Some(ver) = version {
            if let Some(v) = cache.view_definition(name, ver)? {
                return Ok(v);
            }
        }
        Err(SignalError::Invalid(format!(
            "unknown feature view {name:?}"
        )))
    }

    /// Materialises `view` unless its stored version was computed from the current bars.
    fn ensure_view(cache: &Cache, view: &FeatureView) -> Result<MaterializedView, SignalError> {
        let version = view.version();
        let resolution = view.resolution;
        let current = cache.snapshot_hash(&sextant_data::cache::Slice {
            resolution: Some(resolution),
            ..Default::default()
        })?;
        if let Some(mv) = cache
            .materialized_views()?
            .into_iter()
            .find(|m| m.name == view.name && m.version == version && m.data_snapshot == current)
        {
            return Ok(mv);
        }
        Ok(cache.materialize_view(view)?)
    }

    /// Trains, validates and registers a model (blocking work runs off the async executor).
    pub async fn train(&self, req: TrainRequest) -> Result<ModelRecord, SignalError> {
        self.train_with_stop(req, Arc::new(|| false), None).await
    }

    /// [`Self::train`], checking `stop` before every tree of every fit (cross-validation folds
    /// and the final fit): a cancelled job stops within one tree.
    pub async fn train_with_stop(
        &self,
        req: TrainRequest,
        stop: Arc<dyn Fn() -> bool + Send + Sync>,
        owner: Option<&str>,
    ) -> Result<ModelRecord, SignalError> {
        req.validate()?;
        let cache = self.cache.clone();
        let dir = self.models_dir.clone();
        let (rec, model) = tokio::task::spawn_blocking(move || fit(&cache, &dir, &req, &*stop))
            .await
            .map_err(|e| SignalError::Task(e.to_string()))??;
        self.register_trained(rec, model, owner).await
    }

    /// Registers a model trained elsewhere (a worker, [`crate::scale::signals`]) from its
    /// record and artifact bytes: the artifact is checked against the record's hash, written
    /// to the models directory and the model registered as a local training's would be.
    pub async fn register_remote(
        &self,
        rec: ModelRecord,
        artifact: &[u8],
        owner: Option<&str>,
    ) -> Result<ModelRecord, SignalError> {
        let model = GbtModel::from_bytes(artifact)?;
        let (sha, _) = registry::write_artifact(&self.models_dir, artifact)?;
        if sha != rec.artifact_sha256 {
            return Err(SignalError::Corrupt(format!(
                "model {}: the artifact's hash {sha} is not the record's {}",
                rec.id, rec.artifact_sha256
            )));
        }
        self.register_trained(rec, model, owner).await
    }

    /// The registration half of training: names the record, keeps an existing identical
    /// model, else stores the next version, caches the model and tracks the run.
    async fn register_trained(
        &self,
        mut rec: ModelRecord,
        model: GbtModel,
        owner: Option<&str>,
    ) -> Result<ModelRecord, SignalError> {
        let name = clean_name(&rec.request.name)?;
        rec.name = name;
        rec.owner = owner.map(str::to_string);
        if let Some(existing) = registry::get(self.meta.as_ref(), &rec.id).await? {
            // Same inputs, same seed: the same model. Training is idempotent.
            return Ok(existing);
        }
        if !registry::insert_new_version(self.meta.as_ref(), &mut rec).await? {
            // A concurrent training with the same inputs stored it first: the same model.
            return self.get(&rec.id).await;
        }
        if let Ok(mut l) = self.loaded.lock() {
            l.insert(rec.id.clone(), Arc::new(model));
        }
        tracing::info!(id = %rec.id, name = %rec.name, version = rec.version, "model trained");
        self.track_training(&rec).await;
        Ok(rec)
    }

    /// Registered models, newest first (at most 1000); only `name`'s versions when given.
    pub async fn list(&self, name: Option<&str>) -> Result<Vec<ModelRecord>, SignalError> {
        registry::list(self.meta.as_ref(), name).await
    }

    /// The model record `id`; [`SignalError::NotFound`] when there is none.
    pub async fn get(&self, id: &str) -> Result<ModelRecord, SignalError> {
        registry::get(self.meta.as_ref(), id)
            .await?
            .ok_or_else(|| SignalError::NotFound(id.to_string()))
    }

    /// Sets the stage of model `id` (`staging`, `production` or `archived`), with no ownership
    /// check (see [`Self::promote_as`]). Promoting to production first archives the other
    /// production models of the same name (separate writes, not one transaction).
    pub async fn promote(&self, id: &str, stage: &str) -> Result<ModelRecord, SignalError> {
        let rec =
            registry::promote(self.meta.as_ref(), id, registry::ModelStage::parse(stage)?).await?;
        self.mirror_stage(&rec).await;
        Ok(rec)
    }

    /// [`Self::promote`] by `actor`: only the model's owner or an admin may change its stage
    /// (a model without an owner, the CLI's, only an admin). Another key gets not-found.
    pub async fn promote_as(
        &self,
        id: &str,
        stage: &str,
        actor: crate::common::Actor<'_>,
    ) -> Result<ModelRecord, SignalError> {
        let rec = self.get(id).await?;
        if !(actor.admin || rec.owner.as_deref().is_some_and(|o| actor.may(o))) {
            return Err(SignalError::NotFound(id.to_string()));
        }
        self.promote(id, stage).await
    }

    /// [`Self::resolve`] from synchronous code running on the runtime (a backtest's loader runs
    /// on a blocking thread or inside an async command; `block_in_place` makes waiting legal in
    /// both).
    fn resolve_blocking(&self, reference: &str) -> Result<ModelRecord, BacktestError> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| BacktestError::invalid(e.to_string()))?;
        tokio::task::block_in_place(|| handle.block_on(self.resolve(reference)))
            .map_err(|e| BacktestError::invalid(e.to_string()))
    }

    /// The model a reference names: an id (`mdl_…`), or a name, meaning its production model,
    /// else its newest version.
    pub async fn resolve(&self, reference: &str) -> Result<ModelRecord, SignalError> {
        registry::resolve(self.meta.as_ref(), reference).await
    }

    /// The model of a record, loaded once and kept warm.
    pub fn model(&self, rec: &ModelRecord) -> Result<Arc<GbtModel>, SignalError> {
        if let Some(m) = self
            .loaded
            .lock()
            .ok()
            .and_then(|l| l.get(&rec.id).cloned())
        {
            return Ok(m);
        }
        let path = registry::artifact_path(&self.models_dir, &rec.artifact_sha256);
        let bytes = std::fs::read(&path)
            .map_err(|e| SignalError::Io(format!("{}: {e}", path.display())))?;
        let model = Arc::new(GbtModel::from_bytes(&bytes)?);
        if let Ok(mut l) = self.loaded.lock() {
            l.insert(rec.id.clone(), model.clone());
        }
        Ok(model)
    }

    /// Makes sure the record's feature table holds the current bars (checked once per cache
    /// generation; re-materialised from the stored definition when stale).
    fn ensure_fresh(&self, rec: &ModelRecord) -> Result<(), SignalError> {
        let generation = self.cache.generation();
        let known = self
            .fresh
            .lock()
            .ok()
            .and_then(|f| f.get(&rec.view_table).copied());
        if known == Some(generation) {
            return Ok(());
        }
        let view = Self::view_def(&self.cache, &rec.view, Some(&rec.view_version))?;
        Self::ensure_view(&self.cache, &view)?;
        if let Ok(mut f) = self.fresh.lock() {
            f.insert(rec.view_table.clone(), generation);
        }
        Ok(())
    }

    /// Scores the newest bar of `symbol` with the model `reference` (id or name).
    pub async fn score(
        &self,
        symbol: &Symbol,
        reference: &str,
        explain: bool,
    ) -> Result<Signal, SignalError> {
        let rec = self.resolve(reference).await?;
        self.score_record(&rec, symbol, explain)
    }

    /// Scoring from a resolved record: a warm model and a fresh view make this one small DuckDB
    /// read and a few microseconds of tree walking.
    pub fn score_record(
        &self,
        rec: &ModelRecord,
        symbol: &Symbol,
        explain: bool,
    ) -> Result<Signal, SignalError> {
        let model = self.model(rec)?;
        let online = self.online_rows(rec)?;
        let (ts, row) =
            online
                .get(symbol.as_str())
                .cloned()
                .ok_or_else(|| SignalError::NoFeatures {
                    symbol: symbol.to_string(),
                    view: rec.view.clone(),
                })?;
        let probability = model.predict_proba(&row);
        let (shap, expected_value) = if explain {
            let s = model.shap_values(&row);
            let named = rec.features.iter().cloned().zip(s.values).collect();
            (Some(named), Some(s.expected_value))
        } else {
            (None, None)
        };
        Ok(Signal {
            symbol: symbol.to_string(),
            model_id: rec.id.clone(),
            ts,
            probability,
            features: rec.features.iter().cloned().zip(row).collect(),
            shap,
            expected_value,
        })
    }

    /// The online rows of the record's view for the current cache generation (loaded in one
    /// query after any data change, after making sure the view itself is current).
    fn online_rows(&self, rec: &ModelRecord) -> Result<Arc<OnlineRows>, SignalError> {
        let generation = self.cache.generation();
        if let Some((g, rows)) = self
            .online
            .lock()
            .ok()
            .and_then(|o| o.get(&rec.view_table).cloned())
        {
            if g == generation {
                return Ok(rows);
            }
        }
        self.ensure_fresh(rec)?;
        let rows = Arc::new(
            self.cache
                .feature_latest_all(&rec.view_table, &rec.features)?,
        );
        if let Ok(mut o) = self.online.lock() {
            o.insert(rec.view_table.clone(), (generation, rows.clone()));
        }
        Ok(rows)
    }

    /// Probabilities for every bar of `symbol` in the model's view, oldest first (batch scoring
    /// for backtests; each bar's probability uses features of bars up to it only).
    pub fn probabilities(
        &self,
        rec: &ModelRecord,
        symbol: &Symbol,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<(NaiveDateTime, f64)>, SignalError> {
        let model = self.model(rec)?;
        self.ensure_fresh(rec)?;
        let panel = self.cache.feature_panel(
            &rec.view,
            Some(&rec.view_version),
            std::slice::from_ref(symbol),
            from.and_then(|d| d.and_hms_opt(0, 0, 0)),
            to.and_then(|d| d.and_hms_opt(23, 59, 59)),
        )?;
        Ok((0..panel.len())
            .map(|i| (panel.ts[i], model.predict_proba(&panel.row(i))))
            .collect())
    }

    /// Walk-forward: retrain on each window's past, score the window, backtest the stitched
    /// out-of-sample probabilities.
    pub async fn walk_forward(
        &self,
        req: MlWalkForwardRequest,
        backtests: &crate::backtest::BacktestService,
    ) -> Result<MlWalkForward, SignalError> {
        walkforward::run(self, req, backtests).await
    }

    pub(crate) fn cache(&self) -> &Arc<Cache> {
        &self.cache
    }
}
