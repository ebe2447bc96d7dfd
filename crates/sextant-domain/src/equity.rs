//! A point of a run's equity curve.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// Portfolio value at the close of one bar, as a backtest records it and the bar store keeps it.
/// `ts` is the bar's key (UTC; a session date at 00:00 for daily and coarser bars).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EquityPoint {
    /// The bar the value was marked on.
    pub ts: NaiveDateTime,
    /// Cash plus positions marked at the bar's close, in the run's currency.
    pub equity: f64,
    /// The cash part of `equity`.
    pub cash: f64,
}
