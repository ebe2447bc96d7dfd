//! Model operations over the registry: promotions recorded with who and why, retraining
//! schedules fired by the job system, drift checks on schedule and after refreshes, and the
//! promotion rule that alone may move a retrained candidate to production.
//!
//! The statistics (drift, the rule's bootstrap, cron slots) are `sextant_mlops`; this module
//! wires them to the model registry ([`crate::signals`]), the metadata store and the jobs.

pub mod eval;
pub mod jobs;
pub mod promotions;
pub mod retrain;
pub mod schedules;

pub use eval::{EvalRequest, WindowSpec};
pub use promotions::{PromotionActor, PromotionRecord};
pub use retrain::{PendingRetrain, RetrainOutcome, RetrainParams, RetrainStep};
pub use schedules::{Schedule, ScheduleInput, Scheduler};

use crate::backtest::BacktestService;
use crate::signals::{MlSignalService, SignalError};
use sextant_data::Cache;
use sextant_meta::{MetaError, MetaStore};
use sextant_mlops::drift::Bands;
use sextant_mlops::tracking::Tracker;
use std::sync::Arc;

/// Why an MLOps operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The request was refused; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// No schedule (or model) with this id or name, or the caller may not see it.
    #[error("{0} not found")]
    NotFound(String),
    /// A schedule of this name exists already.
    #[error("a schedule named {0:?} exists already: delete it first or pick another name")]
    Duplicate(String),
    /// The model registry failed.
    #[error(transparent)]
    Signal(#[from] SignalError),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// A stored document does not deserialise.
    #[error("stored MLOps document is malformed: {0}")]
    Corrupt(String),
}

impl From<sextant_mlops::MlopsError> for OpsError {
    fn from(e: sextant_mlops::MlopsError) -> Self {
        OpsError::Invalid(e.to_string())
    }
}

/// Promotions, schedules and retraining over the model registry. Build one and share it.
pub struct MlopsService {
    pub(crate) meta: Arc<dyn MetaStore>,
    pub(crate) signals: Arc<MlSignalService>,
    pub(crate) bands: Bands,
    pub(crate) backtests: Arc<BacktestService>,
    pub(crate) cache: Arc<Cache>,
    pub(crate) tracker: Arc<Tracker>,
}

impl MlopsService {
    /// The service over the registry in `signals`, judging drift by `bands`; evaluations run
    /// through `backtests` on `cache`'s bars and are tracked by `tracker`.
    pub fn new(
        meta: Arc<dyn MetaStore>,
        signals: Arc<MlSignalService>,
        bands: Bands,
        backtests: Arc<BacktestService>,
        cache: Arc<Cache>,
        tracker: Arc<Tracker>,
    ) -> Self {
        MlopsService {
            meta,
            signals,
            bands,
            backtests,
            cache,
            tracker,
        }
    }

    /// The drift bands in force (`[mlops] drift_warn` / `drift_alert`).
    pub fn bands(&self) -> Bands {
        self.bands
    }
}

pub(crate) fn to_doc<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, OpsError> {
    serde_json::to_value(v).map_err(|e| OpsError::Corrupt(e.to_string()))
}

pub(crate) fn from_doc<T: serde::de::DeserializeOwned>(
    v: serde_json::Value,
) -> Result<T, OpsError> {
    serde_json::from_value(v).map_err(|e| OpsError::Corrupt(e.to_string()))
}
