//! A trial of a library strategy: one simulation over all bars, scored on walk-forward folds.

use super::metric::ObjectiveExpr;
use crate::runner::Objective;
use crate::trial::Outcome;
use crate::TuningError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_backtest::simulator::{MarketData, SimConfig, TradingSimulator};
use sextant_backtest::strategy::build_strategy;
use sextant_backtest::sweep::lean;
use std::sync::Arc;

/// Where trials are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Validation {
    /// Walk-forward folds: train on `train_bars`, test on the next `test_bars`, step by
    /// `test_bars`; `anchored` training windows all start at bar 0.
    WalkForward {
        /// Bars in each training window.
        train_bars: usize,
        /// Bars in each test window.
        test_bars: usize,
        /// Expanding training windows. Default: false (rolling).
        #[serde(default)]
        anchored: bool,
    },
    /// One window, all bars, no test: the in-sample score every other tool reports. The
    /// analysis then has no out-of-sample result and says so.
    InSample,
}

impl Default for Validation {
    /// Two years of daily bars to train, six months to test, rolling.
    fn default() -> Self {
        Validation::WalkForward {
            train_bars: 504,
            test_bars: 126,
            anchored: false,
        }
    }
}

/// One fold: training bars `train_start..train_end`, test bars `train_end..test_end` (empty
/// in sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    /// First training bar.
    pub train_start: usize,
    /// End of training (exclusive) = first test bar.
    pub train_end: usize,
    /// End of the test window (exclusive).
    pub test_end: usize,
}

impl Validation {
    /// The folds over `n` bars.
    pub fn folds(&self, n: usize) -> Result<Vec<Fold>, TuningError> {
        match *self {
            Validation::InSample => {
                if n < 3 {
                    return Err(TuningError::Config(format!(
                        "{n} bars are too few to score"
                    )));
                }
                Ok(vec![Fold {
                    train_start: 0,
                    train_end: n,
                    test_end: n,
                }])
            }
            Validation::WalkForward {
                train_bars,
                test_bars,
                anchored,
            } => {
                let fits = train_bars.checked_add(test_bars).is_some_and(|t| t <= n);
                if train_bars < 3 || test_bars < 1 || !fits {
                    return Err(TuningError::Config(format!(
                        "walk-forward {train_bars}:{test_bars} needs 3 <= train, 1 <= test and \
                         train + test <= {n} bars"
                    )));
                }
                let mut out = Vec::new();
                let mut train_end = train_bars;
                while train_end < n {
                    let test_end = (train_end + test_bars).min(n);
                    out.push(Fold {
                        train_start: if anchored { 0 } else { train_end - train_bars },
                        train_end,
                        test_end,
                    });
                    train_end = test_end;
                }
                if out.is_empty() || out.len() > MAX_FOLDS {
                    return Err(TuningError::Config(format!(
                        "{} folds, 1 to {MAX_FOLDS}: use longer test windows",
                        out.len()
                    )));
                }
                Ok(out)
            }
        }
    }
}

/// At most this many folds.
pub const MAX_FOLDS: usize = 200;

/// Rules a trial must keep, checked on its whole run; a trial breaking one fails with the
/// reason (samplers then ignore it, as Optuna does failed trials).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Constraints {
    /// At least this many trades opened over all bars. Default: none.
    pub min_trades: Option<u32>,
    /// No drawdown deeper than this fraction (0.3 = 30 %) over all bars. Default: none.
    pub max_drawdown: Option<f64>,
}

/// What one simulation of a trial's parameters produced.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRun {
    /// Per-bar returns over all bars (the first relative to the initial cash).
    pub returns: Vec<f64>,
    /// `returns` less the objective's per-bar risk-free rate (equal to `returns` without one):
    /// what Sharpe, Sortino and the deflated Sharpe are computed on.
    pub excess: Vec<f64>,
    /// Exit bar and PnL of every closed trade.
    pub closed: Vec<(usize, f64)>,
    /// Trades opened (closed and still open).
    pub trades: usize,
}

impl TrialRun {
    /// PnLs of the trades closed in `from..to`.
    pub fn pnls(&self, from: usize, to: usize) -> Vec<f64> {
        self.closed
            .iter()
            .filter(|(b, _)| (from..to).contains(b))
            .map(|p| p.1)
            .collect()
    }
}

/// Scores a library strategy's parameters on loaded bars.
#[derive(Debug, Clone)]
pub struct BacktestObjective {
    strategy: String,
    market: Arc<MarketData>,
    sim: TradingSimulator,
    folds: Vec<Fold>,
    objectives: Vec<ObjectiveExpr>,
    constraints: Constraints,
    periods_per_year: f64,
    /// Per-period risk-free rate of every bar; `None` is zero.
    risk_free: Option<Arc<Vec<f64>>>,
}

impl BacktestObjective {
    /// The objective of `strategy` on `market` with simulator settings `sim`.
    pub fn new(
        strategy: &str,
        market: Arc<MarketData>,
        sim: SimConfig,
        validation: Validation,
        objectives: Vec<ObjectiveExpr>,
        constraints: Constraints,
        periods_per_year: f64,
    ) -> Result<BacktestObjective, TuningError> {
        if objectives.is_empty() {
            return Err(TuningError::Config("no objective".into()));
        }
        if let Some(m) = constraints.max_drawdown {
            if !(m > 0.0 && m <= 1.0) {
                return Err(TuningError::Config(format!(
                    "max_drawdown must be a fraction in (0, 1], got {m}"
                )));
            }
        }
        let sim = TradingSimulator::new(sim).map_err(|e| TuningError::Config(e.to_string()))?;
        Ok(BacktestObjective {
            strategy: strategy.to_string(),
            folds: validation.folds(market.len())?,
            market,
            sim,
            objectives,
            constraints,
            periods_per_year,
            risk_free: None,
        })
    }

    /// The folds.
    pub fn folds(&self) -> &[Fold] {
        &self.folds
    }

    /// The objective fold `k`'s choice may use: its first objective on the fold's training
    /// window, on bars cut at the end of that window (nothing later exists for it, not even
    /// for the constraints).
    pub fn for_fold(&self, k: usize) -> Option<BacktestObjective> {
        let f = *self.folds.get(k)?;
        Some(BacktestObjective {
            strategy: self.strategy.clone(),
            market: Arc::new(self.market.truncated(f.train_end)),
            sim: self.sim,
            folds: vec![Fold {
                train_start: f.train_start,
                train_end: f.train_end,
                test_end: f.train_end,
            }],
            objectives: self.objectives.iter().take(1).cloned().collect(),
            constraints: self.constraints,
            periods_per_year: self.periods_per_year,
            risk_free: self
                .risk_free
                .as_ref()
                .map(|rf| Arc::new(rf.iter().take(f.train_end).copied().collect())),
        })
    }

    /// The per-bar risk-free rate (per period) Sharpe-type figures are against: `rf[t]` for the
    /// return of bar `t`. It must cover every bar; a shorter or longer series is an error.
    pub fn with_risk_free(mut self, per_period: Vec<f64>) -> Result<Self, TuningError> {
        if per_period.len() != self.market.len() {
            return Err(TuningError::Config(format!(
                "the risk-free series has {} values for {} bars",
                per_period.len(),
                self.market.len()
            )));
        }
        self.risk_free = Some(Arc::new(per_period));
        Ok(self)
    }

    /// The per-period risk-free rate of bars `from..to` (zeros without one).
    pub fn excess_rate(&self, from: usize, to: usize) -> Vec<f64> {
        (from..to)
            .map(|i| {
                self.risk_free
                    .as_ref()
                    .and_then(|rf| rf.get(i))
                    .copied()
                    .unwrap_or(0.0)
            })
            .collect()
    }

    /// `returns` less the risk-free rate of each bar (a copy without one).
    pub fn excess(&self, returns: &[f64]) -> Vec<f64> {
        match &self.risk_free {
            Some(rf) => returns
                .iter()
                .zip(rf.iter().chain(std::iter::repeat(&0.0)))
                .map(|(r, f)| r - f)
                .collect(),
            None => returns.to_vec(),
        }
    }

    /// The bars.
    pub fn market(&self) -> &MarketData {
        &self.market
    }

    /// The objectives, in order.
    pub fn objectives(&self) -> &[ObjectiveExpr] {
        &self.objectives
    }

    /// Annualisation.
    pub fn periods_per_year(&self) -> f64 {
        self.periods_per_year
    }

    /// Simulates `params` (`strategy` overrides the objective's own, for baselines).
    pub fn simulate(&self, strategy: Option<&str>, params: &Value) -> Result<TrialRun, String> {
        let name = strategy.unwrap_or(&self.strategy);
        let mut s = build_strategy(name, params).map_err(|e| format!("invalid parameters: {e}"))?;
        // One symbol, all-in, target positions: the lean engine, equal to the simulator bit
        // for bit (`sextant-backtest/tests/lean_vs_simulator.rs`) and several times faster.
        let cfg = *self.sim.config();
        if lean::supported(&cfg, &self.market) {
            if let Ok(run) = lean::run(&cfg, &self.market, s.as_mut()) {
                if let Some(i) = run.equity.iter().position(|e| !e.is_finite()) {
                    return Err(format!("equity stops being finite at bar {i}"));
                }
                let returns = run.returns(cfg.initial_cash);
                return Ok(TrialRun {
                    excess: self.excess(&returns),
                    returns,
                    trades: run.trades,
                    closed: run.closed,
                });
            }
            // Orders other than targets: the simulator, from a fresh strategy.
            s = build_strategy(name, params).map_err(|e| format!("invalid parameters: {e}"))?;
        }
        let r = self.sim.run(&self.market, s.as_mut());
        if let Some(i) = r.equity.iter().position(|e| !e.is_finite()) {
            return Err(format!("equity stops being finite at bar {i}"));
        }
        let returns = r.returns();
        Ok(TrialRun {
            excess: self.excess(&returns),
            returns,
            closed: r.closed_trades().map(|t| (t.exit_bar, t.pnl)).collect(),
            trades: r.trades.len(),
        })
    }

    /// Objective `k` on each fold's training window.
    pub fn fold_scores(&self, run: &TrialRun, k: usize) -> Vec<f64> {
        self.folds
            .iter()
            .map(|f| {
                self.objectives[k].on(
                    &run.returns[f.train_start..f.train_end],
                    &run.excess[f.train_start..f.train_end],
                    &run.pnls(f.train_start, f.train_end),
                    self.periods_per_year,
                )
            })
            .collect()
    }

    fn check(&self, run: &TrialRun) -> Result<(), String> {
        if let Some(m) = self.constraints.min_trades {
            if run.trades < m as usize {
                return Err(format!("constraint: {} trades, fewer than {m}", run.trades));
            }
        }
        if let Some(m) = self.constraints.max_drawdown {
            let dd = sextant_backtest::metrics::max_drawdown(&run.returns);
            if dd < -m {
                return Err(format!(
                    "constraint: drawdown {:.1} % deeper than {:.1} %",
                    -dd * 100.0,
                    m * 100.0
                ));
            }
        }
        Ok(())
    }
}

impl Objective for BacktestObjective {
    /// Values: each objective's mean over the folds' training windows. Intermediate value `i`:
    /// the first objective's mean over folds `0..=i`.
    fn evaluate(&self, params: &Value, prune: &(dyn Fn(&[f64]) -> bool + Sync)) -> Outcome {
        let run = match self.simulate(None, params) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e),
        };
        if let Err(e) = self.check(&run) {
            return Outcome::Failed(e);
        }
        let primary = self.fold_scores(&run, 0);
        let mut intermediate = Vec::with_capacity(primary.len());
        let mut sum = 0.0;
        for (i, v) in primary.iter().enumerate() {
            sum += v;
            intermediate.push(sum / (i + 1) as f64);
            if prune(&intermediate) {
                return Outcome::Pruned { intermediate };
            }
        }
        let mut values = vec![sum / primary.len() as f64];
        for k in 1..self.objectives.len() {
            let s = self.fold_scores(&run, k);
            values.push(s.iter().sum::<f64>() / s.len() as f64);
        }
        Outcome::Complete {
            values,
            intermediate,
        }
    }
}
