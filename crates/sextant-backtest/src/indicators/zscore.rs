//! Rolling z-score (no TA-Lib equivalent; matches pandas' rolling mean and std).

use std::collections::VecDeque;

use super::error::{check_period, IndicatorError};
use super::run::run_f64;
use super::types::{window, Indicator};

/// Which standard deviation the z-score divides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StdKind {
    /// Divisor `n` (pandas `rolling(n).std(ddof=0)`), the same σ as Bollinger bands, so that
    /// `z = ±2` is exactly a touch of the 2σ bands. The default.
    #[default]
    Population,
    /// Divisor `n - 1` (pandas' default `rolling(n).std()`); needs `n >= 2`.
    Sample,
}

/// Streaming rolling z-score `(x - mean) / std` over the last `n` bars including the current
/// one; lookback `n - 1`.
///
/// The mean and σ are computed from the window with two passes (no running sums that drift). A
/// window with zero σ (all values equal) has no z-score: `None`, where pandas gives `NaN` (0/0).
#[derive(Debug, Clone)]
pub struct ZScoreState {
    n: usize,
    kind: StdKind,
    window: VecDeque<f64>,
}

impl ZScoreState {
    /// Z-score over the last `n` bars with the `kind` of σ. Errors with
    /// [`IndicatorError::InvalidPeriod`] for `n == 0`, and for `n < 2` with [`StdKind::Sample`].
    pub fn new(n: usize, kind: StdKind) -> Result<Self, IndicatorError> {
        let min = match kind {
            StdKind::Population => 1,
            StdKind::Sample => 2,
        };
        let n = check_period("ZSCORE", "n", n, min)?;
        Ok(Self {
            n,
            kind,
            window: window(n),
        })
    }
}

impl Indicator for ZScoreState {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        if self.window.len() == self.n {
            self.window.pop_front();
        }
        self.window.push_back(x);
        if self.window.len() < self.n {
            return None;
        }
        let n = self.n as f64;
        let mean = self.window.iter().sum::<f64>() / n;
        let ss: f64 = self.window.iter().map(|&v| (v - mean) * (v - mean)).sum();
        let divisor = match self.kind {
            StdKind::Population => n,
            StdKind::Sample => n - 1.0,
        };
        let sd = (ss / divisor).sqrt();
        let constant = self.window.iter().all(|&v| v == x);
        (!constant && sd > 0.0).then(|| (x - mean) / sd)
    }

    fn lookback(&self) -> usize {
        self.n - 1
    }

    fn reset(&mut self) {
        self.window.clear();
    }
}

/// Rolling z-score of `x`; `NaN` during the first `n - 1` bars and where the window is constant.
pub fn zscore(x: &[f64], n: usize, kind: StdKind) -> Vec<f64> {
    run_f64(ZScoreState::new(n, kind), x)
}
