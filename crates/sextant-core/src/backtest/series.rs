//! External series attached to a request's bars (ML probabilities, regime labels, universe
//! membership), and several sources as one.

use super::BacktestError;
use serde_json::Value;
use sextant_backtest::run::BacktestRequest;
use sextant_domain::Symbol;
use std::sync::Arc;

/// Supplies external series (ML probabilities, …) to attach to a symbol's bars for a request,
/// aligned to the bars' timestamps (NaN where there is no value).
pub trait SeriesSource: Send + Sync {
    /// The series to attach to `symbol`'s bars for `req`, as `(name, values)` pairs with one
    /// value per entry of `ts` (the bars' keys, UTC; NaN where there is none). An empty list
    /// attaches nothing; a length mismatch fails the load with [`RunError::Bars`].
    fn series(
        &self,
        req: &BacktestRequest,
        symbol: &Symbol,
        ts: &[chrono::NaiveDateTime],
    ) -> Result<Vec<(String, Vec<f64>)>, BacktestError>;

    /// What produced the series for `req` (a model's id, version and training parameters):
    /// recorded in the manifest and so in the run id. Null when nothing external is used.
    fn provenance(&self, req: &BacktestRequest) -> Result<Value, BacktestError> {
        let _ = req;
        Ok(Value::Null)
    }
}

/// Several series sources as one: each attaches what it supplies (a source ignores requests
/// for strategies it does not serve); provenances are merged into one object.
pub struct SeriesSources(pub Vec<Arc<dyn SeriesSource>>);

impl SeriesSource for SeriesSources {
    fn series(
        &self,
        req: &BacktestRequest,
        symbol: &Symbol,
        ts: &[chrono::NaiveDateTime],
    ) -> Result<Vec<(String, Vec<f64>)>, BacktestError> {
        let mut out = Vec::new();
        for s in &self.0 {
            out.extend(s.series(req, symbol, ts)?);
        }
        Ok(out)
    }

    fn provenance(&self, req: &BacktestRequest) -> Result<Value, BacktestError> {
        let mut merged = serde_json::Map::new();
        for s in &self.0 {
            match s.provenance(req)? {
                Value::Null => {}
                Value::Object(m) => merged.extend(m),
                other => {
                    merged.insert(format!("source_{}", merged.len()), other);
                }
            }
        }
        Ok(if merged.is_empty() {
            Value::Null
        } else {
            Value::Object(merged)
        })
    }
}

/// Why `req` cannot run without a series source (ML probabilities, regime labels), or
/// `None` when its bars are all it reads: such requests can be loaded from a data snapshot
/// by a worker elsewhere.
pub fn series_needed(req: &BacktestRequest) -> Result<Option<String>, BacktestError> {
    if let Some((_, supplier)) = sextant_backtest::strategy::required_series(&req.strategy) {
        return Ok(Some(format!("{} needs {supplier}", req.strategy)));
    }
    if let Some((kind, _)) = sextant_backtest::strategy::signal_source(&req.strategy, &req.params) {
        return Ok(Some(format!(
            "a {kind} signal needs the ML signal service to attach its scores"
        )));
    }
    if req.strategy == sextant_backtest::rules::RULES {
        let program = sextant_backtest::rules::program_from_params(&req.params)?;
        if let Some(r) = program
            .references()
            .iter()
            .find(|r| !matches!(r, sextant_backtest::rules::Reference::Series(_)))
        {
            return Ok(Some(format!(
                "the definition reads {}, which needs the ML signal and regime services",
                r.series_name()
            )));
        }
    }
    Ok(None)
}
