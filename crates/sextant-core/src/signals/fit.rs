//! Training itself, shared by the service, walk-forwards and remote workers: the request's
//! view materialised on the current bars, its samples, validation, the final fit and the
//! artifact.

use super::{
    registry, train, MlSignalService, ModelRecord, SignalError, TrainMetrics, TrainRequest,
};
use chrono::Utc;
use sextant_data::Cache;
use sextant_domain::Resolution;
use sextant_features::{FeatureStore, FeatureView, MaterializedView};
use sextant_ml::GbtModel;

/// What training and walk-forward start from: the request's view (materialised on the current
/// bars), its panel for the request's symbols, and the labelled samples.
pub(crate) struct Prepared {
    pub view: FeatureView,
    pub mv: MaterializedView,
    pub resolution: Resolution,
    pub panel: sextant_features::FeaturePanel,
    pub samples: train::Samples,
}

pub(crate) fn prepare(cache: &Cache, req: &TrainRequest) -> Result<Prepared, SignalError> {
    let view = MlSignalService::view_def(cache, &req.view, None)?;
    let mv = MlSignalService::ensure_view(cache, &view)?;
    let resolution = view.resolution;
    let panel = cache.feature_panel(&view.name, Some(&mv.version), &req.symbols, None, None)?;
    let samples = train::build_samples(cache, &panel, &req.symbols, resolution, &req.label)?;
    Ok(Prepared {
        view,
        mv,
        resolution,
        panel,
        samples,
    })
}

/// [`train_blocking`] with the request's seed in the model parameters: what every training
/// runs, on the server or on a worker.
pub(crate) fn fit(
    cache: &Cache,
    models_dir: &std::path::Path,
    req: &TrainRequest,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<(ModelRecord, GbtModel), SignalError> {
    let mut params = req.params.clone();
    params.seed = req.seed;
    train_blocking(cache, models_dir, req, &params, stop)
}

/// The blocking part of training: view, samples, validation, final fit, artifact.
fn train_blocking(
    cache: &Cache,
    models_dir: &std::path::Path,
    req: &TrainRequest,
    params: &sextant_ml::GbtParams,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<(ModelRecord, GbtModel), SignalError> {
    let Prepared {
        view,
        mv,
        panel,
        samples,
        ..
    } = prepare(cache, req)?;
    let train_idx = samples.select(req.train_from, req.train_to);
    if train_idx.len() < 100 {
        return Err(SignalError::Invalid(format!(
            "only {} labelled training samples in the period: widen it or add symbols",
            train_idx.len()
        )));
    }
    let test_idx = if req.test_from.is_some() || req.test_to.is_some() {
        let from = req
            .test_from
            .or_else(|| req.train_to.and_then(|d| d.succ_opt()));
        samples.select(from, req.test_to)
    } else {
        Vec::new()
    };
    let cv = train::cross_validate(
        &samples,
        &train_idx,
        &req.validation,
        params,
        req.symbols.len(),
        stop,
    )?;
    let (model, in_sample, holdout, importance) =
        train::fit_and_report(&samples, &train_idx, &test_idx, params, stop)?;
    let bytes = model.to_bytes();
    let (sha, _) = registry::write_artifact(models_dir, &bytes)?;
    // Bars the quality checks keep out of the training and test span: no feature or label
    // was computed from them, and the record says which.
    let resolution = view.resolution;
    let last = req.test_to.or(req.train_to);
    let excluded = cache.held_bars(&req.symbols, resolution, req.train_from, last)?;
    let id = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(sha.as_bytes());
        h.update(req.name.as_bytes());
        h.update(mv.version.as_bytes());
        h.update(mv.data_snapshot.as_bytes());
        let text = serde_json::to_string(req)
            .map_err(|e| SignalError::Invalid(format!("training request: {e}")))?;
        h.update(text.as_bytes());
        format!(
            "{}{}",
            sextant_domain::ModelId::PREFIX,
            &hex::encode(h.finalize())[..20]
        )
    };
    let rec = ModelRecord {
        id,
        name: req.name.clone(),
        version: 0,
        stage: registry::ModelStage::Staging,
        created_at: Utc::now(),
        request: req.clone(),
        view: view.name.clone(),
        view_version: mv.version.clone(),
        view_table: mv.table_name.clone(),
        resolution: view.resolution,
        features: panel.features.clone(),
        data_snapshot: mv.data_snapshot.clone(),
        code_version: registry::code_version(),
        seed: params.seed,
        params: params.clone(),
        label_horizon: req.label.horizon(),
        metrics: TrainMetrics {
            in_sample,
            cross_validation: cv,
            holdout,
            train_samples: train_idx.len(),
            test_samples: test_idx.len(),
            train_first: train_idx.first().map(|&i| samples.ts[i]),
            train_last: train_idx.last().map(|&i| samples.ts[i]),
            importance,
        },
        artifact_sha256: sha,
        artifact_bytes: bytes.len() as u64,
        excluded,
        prices: sextant_domain::PriceBasis::TotalReturn,
        owner: None,
    };
    Ok((rec, model))
}
