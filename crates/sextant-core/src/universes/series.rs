//! What a universe attaches to a backtest's bars: each member's membership on every bar
//! ([`MEMBER_SERIES`]), and for the manifest what the universe was when the run used it.

use super::{Universe, UniverseService};
use crate::backtest::{BacktestError, SeriesSource};
use chrono::NaiveDateTime;
use serde_json::{json, Value};
use sextant_backtest::portfolio::MEMBER_SERIES;
use sextant_backtest::run::BacktestRequest;
use sextant_domain::Symbol;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl UniverseService {
    /// The universe, read once per load: a load asks for it once per member, and the built-in
    /// one costs a scan of the cache. The memo lives 10 seconds and is dropped by every save
    /// and delete of this process.
    fn universe_blocking(&self, name: &str) -> Result<Arc<Universe>, BacktestError> {
        if let Ok(memo) = self.memo.lock() {
            if let Some((n, u, at)) = memo.as_ref() {
                if n == name && at.elapsed() < Duration::from_secs(10) {
                    return Ok(u.clone());
                }
            }
        }
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| BacktestError::invalid(e.to_string()))?;
        let u = Arc::new(
            tokio::task::block_in_place(|| handle.block_on(self.get(name)))
                .map_err(|e| BacktestError::invalid(e.to_string()))?,
        );
        if let Ok(mut memo) = self.memo.lock() {
            *memo = Some((name.to_string(), u.clone(), Instant::now()));
        }
        Ok(u)
    }
}

/// The universe's provenance: its membership as used (so the run id changes when it does),
/// the members left out for want of bars, and the survivorship notice.
fn universe_provenance(u: &Universe, traded: &[Symbol]) -> Value {
    let without_bars: Vec<&str> = u
        .members
        .iter()
        .filter(|m| !traded.contains(&m.symbol))
        .map(|m| m.symbol.as_str())
        .collect();
    json!({
        "name": u.name,
        "source": u.source,
        "members": u.members,
        "traded": traded.len(),
        "left_out": without_bars,
        "delisted": u.delisted(),
        "survivorship_notice": u.survivorship_notice(),
    })
}

impl SeriesSource for UniverseService {
    fn series(
        &self,
        req: &BacktestRequest,
        symbol: &Symbol,
        ts: &[NaiveDateTime],
    ) -> Result<Vec<(String, Vec<f64>)>, BacktestError> {
        let Some(name) = &req.universe else {
            return Ok(Vec::new());
        };
        let u = self.universe_blocking(name)?;
        let Some(m) = u.members.iter().find(|m| m.symbol == *symbol) else {
            return Err(BacktestError::invalid(format!(
                "{symbol} is not a member of universe {name:?}"
            )));
        };
        let values = ts
            .iter()
            .map(|t| if m.on(t.date()) { 1.0 } else { 0.0 })
            .collect();
        Ok(vec![(MEMBER_SERIES.to_string(), values)])
    }

    fn provenance(&self, req: &BacktestRequest) -> Result<Value, BacktestError> {
        let Some(name) = &req.universe else {
            return Ok(Value::Null);
        };
        let u = self.universe_blocking(name)?;
        Ok(json!({"universe": universe_provenance(&u, &req.symbols)}))
    }
}
