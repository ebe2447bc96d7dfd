//! The `regime` series a `regime_switch` backtest reads, and its provenance in the manifest.

use super::service::RegimeService;
use crate::backtest::{BacktestError, SeriesSource};
use chrono::NaiveDateTime;
use serde_json::{json, Value};
use sextant_backtest::run::BacktestRequest;
use sextant_backtest::strategy::REGIME_SERIES;
use sextant_domain::Symbol;

/// Attaches `regime` codes to each symbol's bars for the `regime_switch` strategy, from the
/// stored labels of the model named in `params.model` (point in time: a day's label uses data
/// up to that day's close).
impl SeriesSource for RegimeService {
    fn series(
        &self,
        req: &BacktestRequest,
        _symbol: &Symbol,
        ts: &[NaiveDateTime],
    ) -> Result<Vec<(String, Vec<f64>)>, BacktestError> {
        let mut out = Vec::new();
        for (series, name) in regime_references(req)? {
            let codes = self
                .codes(&name, ts)
                .map_err(|e| BacktestError::invalid(e.to_string()))?;
            if codes.iter().all(|c| c.is_nan()) {
                return Err(BacktestError::invalid(format!(
                    "regime model {name:?} has no label in the backtest range: fit it first (sextant regime fit, POST /api/v1/market-data/regime/models)"
                )));
            }
            out.push((series, codes));
        }
        Ok(out)
    }

    fn provenance(&self, req: &BacktestRequest) -> Result<Value, BacktestError> {
        let refs = regime_references(req)?;
        if refs.is_empty() {
            return Ok(Value::Null);
        }
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| BacktestError::invalid(e.to_string()))?;
        let mut models = Vec::new();
        for (_, name) in &refs {
            let state = tokio::task::block_in_place(|| handle.block_on(self.state(name)))
                .map_err(|e| BacktestError::invalid(e.to_string()))?;
            let fits: Vec<Value> = state
                .segments
                .iter()
                .zip(&state.fit_days)
                .map(|(s, d)| json!({"fit_to": d, "fit_hash": s.fit_hash}))
                .collect();
            models.push(json!({"name": name, "spec": state.spec, "fits": fits}));
        }
        // `regime_switch`'s single model keeps its key (and so its runs' ids).
        if req.strategy != sextant_backtest::rules::RULES {
            return Ok(json!({"regime_model": models.into_iter().next()}));
        }
        Ok(json!({"regime_models": models}))
    }
}

/// `(series name, regime model)` pairs a request needs: `regime_switch`'s `params.model`
/// (series `regime`), or each `in_regime("model", …)` of a rule definition.
fn regime_references(req: &BacktestRequest) -> Result<Vec<(String, String)>, BacktestError> {
    if req.strategy == sextant_backtest::rules::RULES {
        return Ok(sextant_backtest::rules::model_references(
            &req.params,
            false,
        ));
    }
    if req.strategy != "regime_switch" {
        return Ok(Vec::new());
    }
    Ok(vec![(
        REGIME_SERIES.to_string(),
        model_param(req)?.to_string(),
    )])
}

fn model_param(req: &BacktestRequest) -> Result<&str, BacktestError> {
    req.params
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            BacktestError::invalid("regime_switch needs params.model (a regime model name)")
        })
}
