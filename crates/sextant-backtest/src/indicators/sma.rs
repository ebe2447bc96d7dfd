//! Simple moving average (TA-Lib `SMA`).

use std::collections::VecDeque;

use super::error::{check_period, IndicatorError};
use super::run::run_f64;
use super::types::{window, Indicator};

/// Streaming simple moving average over the last `n` valid inputs; lookback `n - 1`.
///
/// Keeps TA-Lib's running sum (add the new value, divide, subtract the value leaving the window)
/// rather than re-summing the window, so values agree with TA-Lib to the last bits.
#[derive(Debug, Clone)]
pub struct SmaState {
    n: usize,
    window: VecDeque<f64>,
    /// Sum of the last `n - 1` inputs between updates.
    sum: f64,
}

impl SmaState {
    /// SMA state of period `n`. Errors with [`IndicatorError::InvalidPeriod`] for `n == 0`.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        check_period("SMA", "n", n, 1).map(Self::with_period)
    }

    /// Builds without validation; a period of 0 is taken as 1.
    pub(crate) fn with_period(n: usize) -> Self {
        let n = n.max(1);
        Self {
            n,
            window: window(n),
            sum: 0.0,
        }
    }
}

impl Indicator for SmaState {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        self.sum += x;
        self.window.push_back(x);
        if self.window.len() < self.n {
            return None;
        }
        let out = self.sum / self.n as f64;
        if let Some(oldest) = self.window.pop_front() {
            self.sum -= oldest;
        }
        Some(out)
    }

    fn lookback(&self) -> usize {
        self.n - 1
    }

    fn reset(&mut self) {
        self.window.clear();
        self.sum = 0.0;
    }
}

/// Simple moving average of `x` over `n` bars; `NaN` during the first `n - 1` bars (and for
/// `n == 0`).
pub fn sma(x: &[f64], n: usize) -> Vec<f64> {
    run_f64(SmaState::new(n), x)
}
