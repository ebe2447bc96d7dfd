//! One backtest on a remote worker. The coordinator (the `backtest` job on the server) names
//! the request's snapshot and the data snapshot hash it read; the worker loads the bars from
//! the snapshot, refuses other bars, executes, and returns the run, its trades and its equity
//! curve; the server stores them exactly as a local run ([`BacktestService::store_for`]), so a
//! run's id, numbers and trades do not depend on where it ran.
//!
//! The result travels as JSON: `serde_json` parses floats exactly here (`float_roundtrip`), and
//! [`execute`] refuses a run whose equity is not finite, so nothing is lost on the way.

use crate::backtest::BacktestService;
use crate::jobs::{JobContext, JobError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_backtest::run::{execute, BacktestRequest, BacktestRun, TradeRecord};
use sextant_data::Cache;
use sextant_domain::EquityPoint;
use std::sync::Arc;

/// Parameters of a `backtest_run` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// The request (universe resolved into symbols).
    pub request: BacktestRequest,
    /// The snapshot (manifest hash) to load the bars from.
    pub snapshot: String,
    /// The data snapshot hash the coordinator read: the worker refuses other bars.
    pub data_snapshot: String,
}

/// What a worker's run sends back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// The run (its id is content-addressed: manifest of request, data snapshot, engine).
    pub run: BacktestRun,
    /// Its trades.
    pub trades: Vec<TradeRecord>,
    /// Its equity curve.
    pub curve: Vec<EquityPoint>,
}

fn failed(e: impl std::fmt::Display) -> JobError {
    JobError::Failed(e.to_string())
}

/// Worker: runs `p` on the snapshot `cache`.
pub fn run_on_snapshot(cache: Arc<Cache>, p: &RunParams) -> Result<Value, JobError> {
    let data = BacktestService::load(cache.as_ref(), &p.request)?;
    if data.snapshot != p.data_snapshot {
        return Err(failed(format!(
            "snapshot {} holds other bars than the backtest's (data {} here, {} there)",
            p.snapshot, data.snapshot, p.data_snapshot
        )));
    }
    let (run, trades, curve) = execute(&p.request, &data)?;
    serde_json::to_value(RunResult { run, trades, curve }).map_err(failed)
}

/// Coordinator: runs `req` (resolved; see [`super::ScaleOut::travels`]) on a worker and
/// returns what it computed, checked to be the run of the bars the server holds.
pub async fn run_remote(
    ctx: &JobContext,
    req: &BacktestRequest,
    snapshot: String,
    data_snapshot: String,
) -> Result<RunResult, JobError> {
    let params = json!(RunParams {
        request: req.clone(),
        snapshot,
        data_snapshot: data_snapshot.clone(),
    });
    let mut results = ctx.fan_out(super::BACKTEST_RUN, vec![params]).await?;
    let out = match results.pop() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(super::child_error("the backtest", e)),
        None => return Err(failed("no result from the worker")),
    };
    let r: RunResult = serde_json::from_value(out)
        .map_err(|e| failed(format!("malformed backtest result from a worker: {e}")))?;
    let m = &r.run.manifest;
    if m.data_snapshot != data_snapshot
        || m.request != *req
        || m.engine_version != sextant_backtest::run::ENGINE_VERSION
    {
        return Err(failed(format!(
            "the worker's run {} is not this request's run on this data with this engine ({})",
            r.run.id, m.engine_version
        )));
    }
    Ok(r)
}
