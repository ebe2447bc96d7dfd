//! A walk-forward's windows on remote workers. The coordinator (the `walk_forward` job) loads
//! the bars to plan the windows, publishes the snapshot, sends the windows out as
//! [`super::WALK_WINDOWS`] jobs, and stitches what comes back with the same function a local
//! walk-forward uses; a window computes the same numbers wherever it runs.

use crate::jobs::{JobContext, JobError};
use crate::tuning::remote::{f64_from_wire_value, f64_to_wire, floats_from_wire, floats_to_wire};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_backtest::run::walk::{plan, run_window, stitch};
use sextant_backtest::run::{
    BacktestRequest, LoadedData, WalkForwardReport, WalkForwardSpec, WindowResult, WindowRun,
};
use sextant_data::Cache;
use std::sync::Arc;

/// Parameters of a `walk_forward_windows` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsParams {
    /// The walk-forward's request (symbols resolved).
    pub request: BacktestRequest,
    /// Its spec.
    pub spec: WalkForwardSpec,
    /// The snapshot (manifest hash) to load the bars from.
    pub snapshot: String,
    /// The data snapshot hash the coordinator loaded: the worker refuses other bars.
    pub data_snapshot: String,
    /// `train_end` of each window to run.
    pub windows: Vec<usize>,
}

fn failed(e: impl std::fmt::Display) -> JobError {
    JobError::Failed(e.to_string())
}

fn encode(runs: &[WindowRun]) -> Value {
    let list: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "train_start": r.window.train_start,
                "train_end": r.window.train_end,
                "test_end": r.window.test_end,
                "chosen_params": r.window.chosen_params,
                "train_sharpe": f64_to_wire(r.window.train_sharpe),
                "test_return": f64_to_wire(r.window.test_return),
                "ts": r.ts,
                "returns": floats_to_wire(&r.returns),
                "risk_free": floats_to_wire(&r.risk_free),
            })
        })
        .collect();
    json!({ "windows": list })
}

fn decode(v: &Value) -> Result<Vec<WindowRun>, JobError> {
    let bad = || failed(format!("malformed walk-forward windows result: {v}"));
    let list = v.get("windows").and_then(Value::as_array).ok_or_else(bad)?;
    list.iter()
        .map(|w| {
            let idx = |f: &str| {
                w.get(f)
                    .and_then(Value::as_u64)
                    .map(|x| x as usize)
                    .ok_or_else(bad)
            };
            let float = |f: &str| f64_from_wire_value(w.get(f)).map_err(failed);
            Ok(WindowRun {
                window: WindowResult {
                    train_start: idx("train_start")?,
                    train_end: idx("train_end")?,
                    test_end: idx("test_end")?,
                    chosen_params: w.get("chosen_params").cloned().ok_or_else(bad)?,
                    train_sharpe: float("train_sharpe")?,
                    test_return: float("test_return")?,
                },
                ts: serde_json::from_value(w.get("ts").cloned().unwrap_or(Value::Null))
                    .map_err(failed)?,
                returns: floats_from_wire(w.get("returns")).map_err(failed)?,
                risk_free: floats_from_wire(w.get("risk_free")).map_err(failed)?,
            })
        })
        .collect()
}

/// Coordinator: runs the walk-forward of `req` on loaded `data` with its windows on the
/// workers, in at most `slots` child jobs.
pub async fn walk_forward_remote(
    ctx: &JobContext,
    req: &BacktestRequest,
    spec: &WalkForwardSpec,
    data: &LoadedData,
    snapshot: String,
    slots: usize,
) -> Result<WalkForwardReport, JobError> {
    let windows = plan(req, spec, data.market.len())?;
    let chunk = windows.len().div_ceil(slots.max(1)).max(1);
    let params: Vec<Value> = windows
        .chunks(chunk)
        .map(|c| {
            json!(WindowsParams {
                request: req.clone(),
                spec: spec.clone(),
                snapshot: snapshot.clone(),
                data_snapshot: data.snapshot.clone(),
                windows: c.to_vec(),
            })
        })
        .collect();
    ctx.progress(0.05, format!("{} windows on the workers", windows.len()))
        .await;
    let mut runs = Vec::with_capacity(windows.len());
    for r in ctx.fan_out(super::WALK_WINDOWS, params).await? {
        match r {
            Ok(v) => runs.extend(decode(&v)?),
            Err(e) => return Err(super::child_error("walk-forward windows", e)),
        }
    }
    Ok(stitch(req, data, runs)?)
}

/// Worker: runs the windows of `p` on the snapshot `cache`.
pub fn run_windows(
    cache: Arc<Cache>,
    p: &WindowsParams,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Value, JobError> {
    let data = crate::backtest::BacktestService::load(cache.as_ref(), &p.request)?;
    if data.snapshot != p.data_snapshot {
        return Err(failed(format!(
            "snapshot {} holds other bars than the walk-forward's (data {} here, {} there)",
            p.snapshot, data.snapshot, p.data_snapshot
        )));
    }
    let runs = p
        .windows
        .iter()
        .map(|&t| run_window(&p.request, &p.spec, &data, t, stop))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(encode(&runs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_travel_bit_for_bit() {
        let runs = vec![WindowRun {
            window: WindowResult {
                train_start: 0,
                train_end: 250,
                test_end: 313,
                chosen_params: json!({"fast": 10}),
                train_sharpe: f64::NEG_INFINITY,
                test_return: 0.1 + 0.2,
            },
            ts: vec![1, 2],
            returns: vec![f64::NAN, -0.0],
            risk_free: vec![1e-300, 1.0 / 3.0],
        }];
        let back = decode(&encode(&runs)).expect("decode");
        let bits = |r: &WindowRun| -> Vec<u64> {
            [r.window.train_sharpe, r.window.test_return]
                .iter()
                .chain(&r.returns)
                .chain(&r.risk_free)
                .map(|x| x.to_bits())
                .collect()
        };
        assert_eq!(bits(&runs[0]), bits(&back[0]));
        assert_eq!(back[0].ts, runs[0].ts);
        assert_eq!(back[0].window.chosen_params, runs[0].window.chosen_params);
        assert!(decode(&json!({"windows": [{"train_start": 0}]})).is_err());
    }
}
