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
