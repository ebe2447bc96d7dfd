//! Momentum and rate of change (TA-Lib `MOM`, `ROC`).

use std::collections::VecDeque;

use super::error::{check_period, IndicatorError};
use super::run::run_f64;
use super::types::{window, Indicator};

/// The last `n + 1` valid inputs, yielding (oldest, newest) once full.
#[derive(Debug, Clone)]
struct Lag {
    n: usize,
    window: VecDeque<f64>,
}

impl Lag {
    fn new(indicator: &'static str, n: usize) -> Result<Self, IndicatorError> {
        let n = check_period(indicator, "n", n, 1)?;
        Ok(Self {
            n,
            window: window(n.saturating_add(1)),
        })
    }

    fn push(&mut self, x: f64) -> Option<(f64, f64)> {
        if self.window.len() > self.n {
            self.window.pop_front();
        }
        self.window.push_back(x);
        if self.window.len() <= self.n {
            return None;
        }
        self.window.front().map(|&old| (old, x))
    }
}

/// Streaming momentum `x[t] - x[t-n]`; lookback `n`.
#[derive(Debug, Clone)]
pub struct MomState {
    lag: Lag,
}

impl MomState {
    /// Momentum over `n` bars, in price units. Errors with [`IndicatorError::InvalidPeriod`] for
    /// `n == 0`.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        Ok(Self {
            lag: Lag::new("MOM", n)?,
        })
    }
}

impl Indicator for MomState {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        self.lag.push(x).map(|(old, new)| new - old)
    }

    fn lookback(&self) -> usize {
        self.lag.n
    }

    fn reset(&mut self) {
        self.lag.window.clear();
    }
}

/// Streaming rate of change in percent, `(x[t] / x[t-n] - 1) * 100`; lookback `n`.
///
/// Like TA-Lib, a zero reference value gives 0 rather than ±inf.
#[derive(Debug, Clone)]
pub struct RocState {
    lag: Lag,
}

impl RocState {
    /// Rate of change over `n` bars, in percent (5.0 = +5 %). Errors with
    /// [`IndicatorError::InvalidPeriod`] for `n == 0`.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        Ok(Self {
            lag: Lag::new("ROC", n)?,
        })
    }
}

impl Indicator for RocState {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        self.lag.push(x).map(|(old, new)| {
            if old != 0.0 {
                ((new / old) - 1.0) * 100.0
            } else {
                0.0
            }
        })
    }

    fn lookback(&self) -> usize {
        self.lag.n
    }

    fn reset(&mut self) {
        self.lag.window.clear();
    }
}

/// Momentum of `x` over `n` bars; `NaN` during the first `n` bars.
pub fn mom(x: &[f64], n: usize) -> Vec<f64> {
    run_f64(MomState::new(n), x)
}

/// Rate of change of `x` over `n` bars, in percent; `NaN` during the first `n` bars.
pub fn roc(x: &[f64], n: usize) -> Vec<f64> {
    run_f64(RocState::new(n), x)
}
