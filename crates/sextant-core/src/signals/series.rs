//! What the ML service attaches to a backtest's bars: a model's point-in-time probabilities
//! (`ml_signal`, and `ml_proba("model")` in a rule definition) and feature-store values
//! (`feature("view.column")`), with what produced them for the run's manifest.

use super::{MlSignalService, ModelRecord, SignalError, ML_PROBA};
use crate::backtest::{BacktestError, BacktestRequest, SeriesSource};
use chrono::NaiveDateTime;
use serde_json::Value;
use sextant_domain::Symbol;
use sextant_features::{FeaturePanel, FeatureStore, MaterializedView};
use std::collections::HashMap;

/// Attaches `ml_proba` to each symbol's bars for the `ml_signal` strategy, and the model
/// probabilities and feature-store values a rule definition reads.
impl SeriesSource for MlSignalService {
    fn series(
        &self,
        req: &BacktestRequest,
        symbol: &Symbol,
        ts: &[NaiveDateTime],
    ) -> Result<Vec<(String, Vec<f64>)>, BacktestError> {
        // This source supplies model probabilities, to the strategies that need them: the
        // `ml_signal` library strategy, and rule definitions that read `ml_proba("model")`.
        let mut out = Vec::new();
        for (series, reference) in ml_references(req)? {
            let rec = self.resolve_blocking(&reference)?;
            let probs = self
                .probabilities(&rec, symbol, req.from, req.to)
                .map_err(|e| BacktestError::invalid(e.to_string()))?;
            let by_ts: HashMap<NaiveDateTime, f64> = probs.into_iter().collect();
            let aligned = ts
                .iter()
                .map(|t| by_ts.get(t).copied().unwrap_or(f64::NAN))
                .collect();
            out.push((series, aligned));
        }
        // One view is checked for freshness (a snapshot hash of its bars) and read once, however
        // many of its columns the definition names (references come sorted by view).
        let mut read: Option<(String, MaterializedView, FeaturePanel)> = None;
        for (series, view, column) in feature_references(req) {
            if read.as_ref().is_none_or(|(v, _, _)| *v != view) {
                let (mv, panel) = self.feature_values(&view, symbol, req)?;
                read = Some((view.clone(), mv, panel));
            }
            let Some((_, mv, panel)) = read.as_ref() else {
                continue;
            };
            let Some(col) = panel.features.iter().position(|f| *f == column) else {
                return Err(BacktestError::invalid(format!(
                    "feature view {view:?} (version {}) has no feature {column:?}; it has: {}",
                    mv.version,
                    panel.features.join(", ")
                )));
            };
            let by_ts: HashMap<NaiveDateTime, f64> = panel
                .ts
                .iter()
                .copied()
                .zip(panel.columns[col].iter().copied())
                .collect();
            let aligned = ts
                .iter()
                .map(|t| by_ts.get(t).copied().unwrap_or(f64::NAN))
                .collect();
            out.push((series, aligned));
        }
        Ok(out)
    }

    fn provenance(&self, req: &BacktestRequest) -> Result<Value, BacktestError> {
        let refs = ml_references(req)?;
        let features = feature_references(req);
        if refs.is_empty() && features.is_empty() {
            return Ok(Value::Null);
        }
        let mut models = serde_json::Map::new();
        for (series, reference) in &refs {
            let rec = self.resolve_blocking(reference)?;
            models.insert(series.clone(), model_provenance(&rec));
        }
        // The library strategy's single model keeps its key (and so its runs' ids).
        if req.strategy != sextant_backtest::rules::RULES {
            if let Some(m) = models.into_iter().next().map(|(_, v)| v) {
                return Ok(serde_json::json!({ "model": m }));
            }
            return Ok(Value::Null);
        }
        let mut views = serde_json::Map::new();
        for (_, view, _) in &features {
            let def = Self::view_def(&self.cache, view, None)
                .map_err(|e| BacktestError::invalid(e.to_string()))?;
            views.insert(
                view.clone(),
                serde_json::json!({"version": def.version(), "resolution": def.resolution}),
            );
        }
        let mut out = serde_json::Map::new();
        if !models.is_empty() {
            out.insert("models".into(), Value::Object(models));
        }
        if !views.is_empty() {
            out.insert("feature_views".into(), Value::Object(views));
        }
        Ok(Value::Object(out))
    }
}

impl MlSignalService {
    /// A feature view's values for one symbol over the request's range, materialised first
    /// when its stored version was not computed from the current bars.
    fn feature_values(
        &self,
        view: &str,
        symbol: &Symbol,
        req: &BacktestRequest,
    ) -> Result<(MaterializedView, FeaturePanel), BacktestError> {
        let invalid = |e: SignalError| BacktestError::invalid(e.to_string());
        let def = Self::view_def(&self.cache, view, None).map_err(invalid)?;
        let mv = Self::ensure_view(&self.cache, &def).map_err(invalid)?;
        let panel = self
            .cache
            .feature_panel(
                &def.name,
                Some(&mv.version),
                std::slice::from_ref(symbol),
                req.from.and_then(|d| d.and_hms_opt(0, 0, 0)),
                req.to.and_then(|d| d.and_hms_opt(23, 59, 59)),
            )
            .map_err(|e| BacktestError::invalid(e.to_string()))?;
        Ok((mv, panel))
    }
}

/// `(series name, view, column)` of each `feature("…")` a rule definition reads.
fn feature_references(req: &BacktestRequest) -> Vec<(String, String, String)> {
    if let Some(("feature", f)) =
        sextant_backtest::strategy::signal_source(&req.strategy, &req.params)
    {
        return f
            .split_once('.')
            .map(|(v, c)| {
                let series = sextant_backtest::portfolio::SIGNAL_SERIES.to_string();
                vec![(series, v.to_string(), c.to_string())]
            })
            .unwrap_or_default();
    }
    if req.strategy != sextant_backtest::rules::RULES {
        return Vec::new();
    }
    sextant_backtest::rules::references_of(&req.params)
        .into_iter()
        .filter_map(|r| match &r {
            sextant_backtest::rules::Reference::Feature { view, column } => {
                Some((r.series_name(), view.clone(), column.clone()))
            }
            _ => None,
        })
        .collect()
}

/// `(series name, model reference)` pairs a request needs: `ml_signal`'s `params.model`, or
/// each `ml_proba("…")` of a rule definition.
fn ml_references(req: &BacktestRequest) -> Result<Vec<(String, String)>, BacktestError> {
    if let Some(("model", m)) =
        sextant_backtest::strategy::signal_source(&req.strategy, &req.params)
    {
        let series = sextant_backtest::portfolio::SIGNAL_SERIES.to_string();
        return Ok(vec![(series, m)]);
    }
    if req.strategy == sextant_backtest::rules::RULES {
        return Ok(sextant_backtest::rules::references_of(&req.params)
            .into_iter()
            .filter_map(|r| match &r {
                sextant_backtest::rules::Reference::MlProba(m) => {
                    Some((r.series_name(), m.clone()))
                }
                _ => None,
            })
            .collect());
    }
    if sextant_backtest::strategy::required_series(&req.strategy)
        .is_none_or(|(name, _)| name != ML_PROBA)
    {
        return Ok(Vec::new());
    }
    let reference = req
        .params
        .get("model")
        .and_then(|m| m.as_str())
        .ok_or_else(|| {
            BacktestError::invalid("ml_signal needs params.model (a model id or name)")
        })?;
    Ok(vec![(ML_PROBA.to_string(), reference.to_string())])
}

fn model_provenance(rec: &ModelRecord) -> Value {
    serde_json::json!({
                "id": rec.id,
                "name": rec.name,
                "version": rec.version,
                "artifact_sha256": rec.artifact_sha256,
                "params": rec.params,
                "request": rec.request,
        "data_snapshot": rec.data_snapshot,
    })
}
