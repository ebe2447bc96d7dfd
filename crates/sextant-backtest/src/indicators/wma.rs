//! Weighted moving average (TA-Lib `WMA`).

use std::collections::VecDeque;

use super::error::{check_period, IndicatorError};
use super::run::run_f64;
use super::types::{window, Indicator};

/// Streaming linearly weighted moving average (weights `1..=n`, newest heaviest); lookback
/// `n - 1`.
///
/// Uses TA-Lib's O(1) update: keep the weighted sum and the plain sum of the window, add
/// `n * x`, then subtract the plain sum, which shifts every weight down by one.
#[derive(Debug, Clone)]
pub struct WmaState {
    n: usize,
    divider: f64,
    /// The last `n - 1` inputs between updates.
    window: VecDeque<f64>,
    weighted_sum: f64,
    plain_sum: f64,
    trailing: f64,
}

impl WmaState {
    /// WMA state of period `n`. Errors with [`IndicatorError::InvalidPeriod`] for `n == 0`.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        let n = check_period("WMA", "n", n, 1)?;
        Ok(Self {
            n,
            divider: n as f64 * (n as f64 + 1.0) / 2.0,
            window: window(n),
            weighted_sum: 0.0,
            plain_sum: 0.0,
            trailing: 0.0,
        })
    }
}

impl Indicator for WmaState {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        self.window.push_back(x);
        if self.window.len() < self.n {
            self.plain_sum += x;
            self.weighted_sum += x * self.window.len() as f64;
            return None;
        }
        self.plain_sum += x;
        self.plain_sum -= self.trailing;
        self.weighted_sum += x * self.n as f64;
        self.trailing = self.window.pop_front().unwrap_or(0.0);
        let out = self.weighted_sum / self.divider;
        self.weighted_sum -= self.plain_sum;
        Some(out)
    }

    fn lookback(&self) -> usize {
        self.n - 1
    }

    fn reset(&mut self) {
        self.window.clear();
        self.weighted_sum = 0.0;
        self.plain_sum = 0.0;
        self.trailing = 0.0;
    }
}

/// Linearly weighted moving average of `x`; `NaN` during the first `n - 1` bars.
pub fn wma(x: &[f64], n: usize) -> Vec<f64> {
    run_f64(WmaState::new(n), x)
}
