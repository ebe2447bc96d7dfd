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
/// up to that day's close); for a rule definition, the labels of each `in_regime("model", …)`
/// and the probabilities of each `regime_prob("model", "label")`.
impl SeriesSource for RegimeService {
    fn series(
        &self,
        req: &BacktestRequest,
        _symbol: &Symbol,
        ts: &[NaiveDateTime],
    ) -> Result<Vec<(String, Vec<f64>)>, BacktestError> {
        let invalid = |e: super::RegimeServiceError| BacktestError::invalid(e.to_string());
        let mut out = Vec::new();
        for (series, name, label) in regime_references(req)? {
            let values = match &label {
                None => self.codes(&name, ts).map_err(invalid)?,
                Some(label) => {
                    let state = self.state_blocking(&name)?;
                    let Some(column) = state.columns.iter().position(|c| c.as_str() == label)
                    else {
                        let have: Vec<&str> = state.columns.iter().map(|c| c.as_str()).collect();
                        return Err(BacktestError::invalid(format!(
                            "regime model {name:?} has no {label} state; its states are {}",
                            have.join(", ")
                        )));
                    };
                    self.probabilities(&name, column, ts).map_err(invalid)?
                }
            };
            if values.iter().all(|c| c.is_nan()) {
                return Err(BacktestError::invalid(format!(
                    "regime model {name:?} has no label in the backtest range: fit it first (sextant regime fit, POST /api/v1/market-data/regime/models)"
                )));
            }
            out.push((series, values));
        }
        Ok(out)
    }

    fn provenance(&self, req: &BacktestRequest) -> Result<Value, BacktestError> {
        let mut names: Vec<String> = regime_references(req)?.into_iter().map(|r| r.1).collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Ok(Value::Null);
        }
        let mut models = Vec::new();
        for name in &names {
            let state = self.state_blocking(name)?;
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

impl RegimeService {
    /// [`Self::state`] from the synchronous loader (on a blocking thread or in an async command).
    fn state_blocking(&self, name: &str) -> Result<super::RegimeState, BacktestError> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| BacktestError::invalid(e.to_string()))?;
        tokio::task::block_in_place(|| handle.block_on(self.state(name)))
            .map_err(|e| BacktestError::invalid(e.to_string()))
    }
}

/// `(series name, regime model, label)` a request needs: `regime_switch`'s `params.model`
/// (series `regime`, codes), or each `in_regime("model", …)` (codes) and `regime_prob("model",
/// "label")` (that regime's probability) of a rule definition. Sorted by model.
fn regime_references(
    req: &BacktestRequest,
) -> Result<Vec<(String, String, Option<String>)>, BacktestError> {
    use sextant_backtest::rules::{references_of, Reference, RULES};
    if req.strategy == RULES {
        return Ok(references_of(&req.params)
            .into_iter()
            .filter_map(|r| match &r {
                Reference::Regime(m) => Some((r.series_name(), m.clone(), None)),
                Reference::RegimeProb { model, label } => {
                    Some((r.series_name(), model.clone(), Some(label.clone())))
                }
                _ => None,
            })
            .collect());
    }
    if req.strategy != "regime_switch" {
        return Ok(Vec::new());
    }
    Ok(vec![(
        REGIME_SERIES.to_string(),
        model_param(req)?.to_string(),
        None,
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
