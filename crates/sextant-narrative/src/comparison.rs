//! The strategy against its buy-and-hold benchmark: the facts comparative claims are checked on.

use serde::{Deserialize, Serialize};
use sextant_backtest::run::{execute, BacktestRequest, BacktestRun, LoadedData, RunError};

/// Which side of a strategy-versus-benchmark comparison has the higher value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The strategy's value is higher.
    Strategy,
    /// Buy and hold's value is higher.
    Benchmark,
    /// Both values are finite and equal.
    Equal,
    /// One side is not finite: no claim can be checked or made.
    Unknown,
}

/// One metric compared between the strategy and buy and hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// `total_return`, `sharpe` or `max_drawdown` (drawdowns are ≤ 0: higher means shallower).
    pub metric: String,
    /// The strategy's value; `None` when it is not finite.
    pub strategy: Option<f64>,
    /// Buy and hold's value on the same data; `None` when it is not finite.
    pub benchmark: Option<f64>,
    /// Which side's value is higher; for all three metrics higher is better.
    pub higher: Side,
}

/// Runs buy and hold on the same data as `req` (same symbols, period and simulator settings):
/// for a portfolio strategy, its universe bought in equal weights and held
/// ([`sextant_backtest::run::benchmark_request`]).
pub fn benchmark_run(req: &BacktestRequest, data: &LoadedData) -> Result<BacktestRun, RunError> {
    Ok(execute(&sextant_backtest::run::benchmark_request(req), data)?.0)
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

pub(crate) fn compare(metric: &str, strategy: f64, benchmark: f64) -> Comparison {
    let (s, b) = (finite(strategy), finite(benchmark));
    let higher = match (s, b) {
        (Some(s), Some(b)) if s > b => Side::Strategy,
        (Some(s), Some(b)) if s < b => Side::Benchmark,
        (Some(_), Some(_)) => Side::Equal,
        _ => Side::Unknown,
    };
    Comparison {
        metric: metric.into(),
        strategy: s,
        benchmark: b,
        higher,
    }
}

/// Runs `req` and its buy-and-hold benchmark on `data` and builds the fact sheet: the one call a
/// narrative endpoint needs.
pub fn fact_sheet_for(
    req: &BacktestRequest,
    data: &LoadedData,
) -> Result<crate::FactSheet, RunError> {
    let (run, trades, curve) = execute(req, data)?;
    let bench = benchmark_run(req, data)?;
    Ok(crate::FactSheet::build(&run, &trades, &curve, &bench))
}
