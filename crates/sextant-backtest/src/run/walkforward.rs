//! Walk-forward evaluation: choose parameters on a training window, trade them on the next
//! (unseen) window, roll on, and stitch the out-of-sample windows into one equity curve.
//!
//! No look-ahead: a training score only uses bars before the test window; a test window is run
//! on data truncated at its end, so nothing after it exists for the strategy; the position held
//! at the start of a test window comes from bars before it.

use super::{BacktestRequest, LoadedData, RunError};
use crate::metrics::{Metrics, MetricsConfig, MetricsInput};
use crate::simulator::{BacktestResult, TradingSimulator};
use crate::strategy::build_strategy;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How to walk forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkForwardSpec {
    /// Bars in each training window (the first window starts at bar 0).
    pub train_bars: usize,
    /// Bars in each test window; windows step by this much.
    pub test_bars: usize,
    /// Anchored: every training window starts at bar 0 (expanding). Rolling otherwise.
    #[serde(default)]
    pub anchored: bool,
    /// Parameter sets to choose from on each training window; empty means the request's params.
    #[serde(default)]
    pub candidates: Vec<Value>,
}

/// One train/test step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowResult {
    /// First bar (index on the loaded timeline) scored in training: 0 when anchored.
    pub train_start: usize,
    /// End of the training window (exclusive), which is the first bar of the test window.
    pub train_end: usize,
    /// End of the test window (exclusive); the last window may be shorter than `test_bars`.
    pub test_end: usize,
    /// The candidate with the best training Sharpe (the first on ties), or the request's
    /// params when the spec lists no candidates.
    pub chosen_params: Value,
    /// Annualised Sharpe of the chosen parameters on the training window (in-sample). `-inf`
    /// when no candidate had a defined Sharpe; non-finite values serialise as JSON `null`.
    pub train_sharpe: f64,
    /// Compound return on the test window (out-of-sample), as a fraction (0.05 = +5 %).
    pub test_return: f64,
}

/// The stitched out-of-sample result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkForwardReport {
    /// Every train/test step, in time order; the test windows are contiguous.
    pub windows: Vec<WindowResult>,
    /// Metrics of the stitched out-of-sample returns only.
    pub out_of_sample: Metrics,
    /// Timestamps (unix seconds) and equity of the stitched out-of-sample curve.
    pub oos_ts: Vec<i64>,
    /// `sim.initial_cash` compounded by the out-of-sample returns, one value per `oos_ts`
    /// entry, account currency.
    pub oos_equity: Vec<f64>,
}

impl WalkForwardSpec {
    /// Checks the spec with its request before any bar is read: the request's own limits,
    /// at most [`super::limits::MAX_CANDIDATES`] candidates, each valid for the strategy.
    pub fn validate(&self, req: &BacktestRequest) -> Result<(), RunError> {
        req.validate()?;
        if self.candidates.len() > super::limits::MAX_CANDIDATES {
            return Err(RunError::Limit {
                field: "spec.candidates".into(),
                message: format!(
                    "at most {} candidates, got {}",
                    super::limits::MAX_CANDIDATES,
                    self.candidates.len()
                ),
            });
        }
        if self.train_bars == 0 || self.test_bars == 0 {
            return Err(RunError::Limit {
                field: "spec".into(),
                message: "train_bars and test_bars must be at least 1".into(),
            });
        }
        for c in &self.candidates {
            build_strategy(&req.strategy, &with_definition(req, c))?;
        }
        Ok(())
    }

    /// Simulations a walk-forward over `n` bars costs: per window, one run per candidate and
    /// the test run.
    pub fn runs(&self, n: usize) -> usize {
        let windows = n
            .saturating_sub(self.train_bars)
            .div_ceil(self.test_bars.max(1));
        windows.saturating_mul(self.candidates.len().max(1) + 1)
    }
}

/// Runs a walk-forward over loaded data.
pub fn walk_forward(
    req: &BacktestRequest,
    spec: &WalkForwardSpec,
    data: &LoadedData,
) -> Result<WalkForwardReport, RunError> {
    walk_forward_with(req, spec, data, &|| false)
}

/// [`walk_forward`], checking `stop` before every simulation: a cancelled job stops within
/// one simulation (milliseconds), not at the end of the walk.
pub fn walk_forward_with(
    req: &BacktestRequest,
    spec: &WalkForwardSpec,
    data: &LoadedData,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<WalkForwardReport, RunError> {
    let windows = plan(req, spec, data.market.len())?;
    let runs = windows
        .iter()
        .map(|&train_end| run_window(req, spec, data, train_end, stop))
        .collect::<Result<Vec<_>, _>>()?;
    stitch(req, data, runs)
}

/// Checks a walk-forward against the loaded bars (`n` of them) and returns where each test
/// window starts (its `train_end`), in time order. The windows are independent of each other,
/// so [`run_window`] may run them anywhere, in any order, and [`stitch`] joins them.
pub fn plan(
    req: &BacktestRequest,
    spec: &WalkForwardSpec,
    n: usize,
) -> Result<Vec<usize>, RunError> {
    spec.validate(req)?;
    let runs = spec.runs(n);
    if runs > super::limits::MAX_WALK_FORWARD_RUNS {
        return Err(RunError::Limit {
            field: "spec".into(),
            message: format!(
                "{runs} simulations ({n} bars, test windows of {}, {} candidates); at most {}: \
                 use longer test windows or fewer candidates",
                spec.test_bars,
                spec.candidates.len().max(1),
                super::limits::MAX_WALK_FORWARD_RUNS
            ),
        });
    }
    if spec.train_bars == 0 || spec.test_bars == 0 || spec.train_bars + spec.test_bars > n {
        return Err(RunError::Invalid(format!(
            "walk-forward needs 0 < train_bars + test_bars <= {n} bars (got {} + {})",
            spec.train_bars, spec.test_bars
        )));
    }
    let mut out = Vec::new();
    let mut train_end = spec.train_bars;
    while train_end < n {
        out.push(train_end);
        train_end = (train_end + spec.test_bars).min(n);
    }
    Ok(out)
}

/// One window's outcome with its slice of the out-of-sample series, ready to [`stitch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowRun {
    /// The window's choice and its results.
    pub window: WindowResult,
    /// Bar timestamps (unix seconds) of the test window.
    pub ts: Vec<i64>,
    /// Per-bar returns of the chosen parameters on the test window.
    pub returns: Vec<f64>,
    /// Per-bar risk-free rate on the test window.
    pub risk_free: Vec<f64>,
}

/// The per-bar risk-free rate of `data` at `ppy` periods per year (zero without one).
fn per_bar_rf(req: &BacktestRequest, data: &LoadedData) -> Result<(f64, Vec<f64>), RunError> {
    let n = data.market.len();
    let ppy = req
        .periods_per_year
        .unwrap_or_else(|| data.session.periods_per_year(req.resolution));
    let rf = match &data.risk_free {
        Some(r) => r.per_period(ppy),
        None => vec![0.0; n],
    };
    if rf.len() != n {
        return Err(RunError::Invalid(format!(
            "the risk-free series has {} values for {n} bars",
            rf.len()
        )));
    }
    Ok((ppy, rf))
}

/// Runs the window whose test part starts at `train_end` (one of [`plan`]'s): the best
/// candidate by in-sample Sharpe on the training window, then that candidate on data truncated
/// at the test window's end.
pub fn run_window(
    req: &BacktestRequest,
    spec: &WalkForwardSpec,
    data: &LoadedData,
    train_end: usize,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<WindowRun, RunError> {
    let n = data.market.len();
    if train_end < spec.train_bars || train_end >= n {
        return Err(RunError::Invalid(format!(
            "window at bar {train_end} is outside the walk ({} training bars, {n} bars)",
            spec.train_bars
        )));
    }
    let candidates: Vec<Value> = if spec.candidates.is_empty() {
        vec![req.params.clone()]
    } else {
        spec.candidates.clone()
    };
    let sim = TradingSimulator::new(req.sim)?;
    // Per-bar risk-free rate (zero without one): both the in-sample choice and the
    // out-of-sample Sharpe are against it.
    let (ppy, rf) = per_bar_rf(req, data)?;
    let run = |params: &Value, end: usize| -> Result<BacktestResult, RunError> {
        if stop() {
            return Err(RunError::Cancelled);
        }
        let mut s = build_strategy(&req.strategy, &with_definition(req, params))?;
        Ok(sim.run(&data.market.truncated(end), s.as_mut()))
    };
    let test_end = (train_end + spec.test_bars).min(n);
    let train_start = if spec.anchored {
        0
    } else {
        train_end - spec.train_bars
    };
    // In-sample choice: the best Sharpe on [train_start, train_end); ties keep the first.
    let mut best: Option<(f64, &Value)> = None;
    for c in &candidates {
        let r = run(c, train_end)?;
        let excess: Vec<f64> = r.returns()[train_start..train_end]
            .iter()
            .zip(&rf[train_start..train_end])
            .map(|(x, f)| x - f)
            .collect();
        let sharpe = crate::metrics::sharpe_ratio(&excess, 0.0, ppy);
        let score = if sharpe.is_nan() {
            f64::NEG_INFINITY
        } else {
            sharpe
        };
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    let Some((train_sharpe, chosen)) = best else {
        return Err(RunError::Invalid("a walk-forward needs a candidate".into()));
    };
    let r = run(chosen, test_end)?;
    let window = r.returns()[train_end..test_end].to_vec();
    Ok(WindowRun {
        window: WindowResult {
            train_start,
            train_end,
            test_end,
            chosen_params: chosen.clone(),
            train_sharpe,
            test_return: window.iter().fold(1.0, |acc, x| acc * (1.0 + x)) - 1.0,
        },
        ts: r.ts[train_end..test_end].to_vec(),
        returns: window,
        risk_free: rf[train_end..test_end].to_vec(),
    })
}

/// Joins the windows (in time order) into the report: the out-of-sample equity curve and
/// its metrics.
pub fn stitch(
    req: &BacktestRequest,
    data: &LoadedData,
    runs: Vec<WindowRun>,
) -> Result<WalkForwardReport, RunError> {
    let (ppy, _) = per_bar_rf(req, data)?;
    let mut windows = Vec::with_capacity(runs.len());
    let (mut oos_ts, mut oos_returns, mut oos_rf) = (Vec::new(), Vec::new(), Vec::new());
    for w in runs {
        oos_ts.extend_from_slice(&w.ts);
        oos_returns.extend_from_slice(&w.returns);
        oos_rf.extend_from_slice(&w.risk_free);
        windows.push(w.window);
    }
    let mut equity = Vec::with_capacity(oos_returns.len());
    let mut e = req.sim.initial_cash;
    for r in &oos_returns {
        e *= 1.0 + r;
        equity.push(e);
    }
    let input = MetricsInput {
        returns: &oos_returns,
        trades: &[],
        positions: None,
        traded_notional: None,
        equity: Some(&equity),
        risk_free: Some(&oos_rf),
    };
    let out_of_sample = Metrics::compute(&input, &MetricsConfig::new(ppy)?)?;
    Ok(WalkForwardReport {
        windows,
        out_of_sample,
        oos_ts,
        oos_equity: equity,
    })
}

/// A candidate's parameters as built: for a `rules` strategy a candidate names only parameter
/// values, and the request's definition is carried over.
fn with_definition(req: &BacktestRequest, candidate: &Value) -> Value {
    let (Some(def), Value::Object(c)) = (req.params.get("definition"), candidate) else {
        return candidate.clone();
    };
    if req.strategy != crate::rules::RULES || c.contains_key("definition") {
        return candidate.clone();
    }
    let mut c = c.clone();
    c.insert("definition".into(), def.clone());
    Value::Object(c)
}
