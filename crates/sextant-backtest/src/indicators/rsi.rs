//! Relative strength index, Wilder's (TA-Lib `RSI`).

use super::error::{check_period, IndicatorError};
use super::run::run_f64;
use super::types::Indicator;

/// Streaming RSI; lookback `n` (the first value needs `n` price changes).
///
/// Average gain and loss start as the simple means of the first `n` changes and are then
/// smoothed with Wilder's `avg = (avg * (n - 1) + change) / n`, in that operation order (TA-Lib's).
/// `RSI = 100 * gain / (gain + loss)`, and 0 when both averages are exactly zero (a flat market),
/// which is what TA-Lib 0.8 returns; older TA-Lib releases also returned 0 whenever
/// `gain + loss < 1e-8`, which zeroed RSI for instruments quoted below about 1e-6.
#[derive(Debug, Clone)]
pub struct RsiState {
    n: usize,
    prev: Option<f64>,
    changes: usize,
    gain: f64,
    loss: f64,
}

impl RsiState {
    /// RSI state of period `n` (commonly 14); values lie in 0 to 100. Errors with
    /// [`IndicatorError::InvalidPeriod`] for `n < 2`.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        let n = check_period("RSI", "n", n, 2)?;
        Ok(Self {
            n,
            prev: None,
            changes: 0,
            gain: 0.0,
            loss: 0.0,
        })
    }

    fn value(&self) -> f64 {
        let total = self.gain + self.loss;
        if total != 0.0 {
            100.0 * (self.gain / total)
        } else {
            0.0
        }
    }
}

impl Indicator for RsiState {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        let prev = self.prev.replace(x)?;
        let change = x - prev;
        let n = self.n as f64;
        if self.changes < self.n {
            if change < 0.0 {
                self.loss -= change;
            } else {
                self.gain += change;
            }
            self.changes += 1;
            if self.changes < self.n {
                return None;
            }
            self.loss /= n;
            self.gain /= n;
            return Some(self.value());
        }
        self.loss *= n - 1.0;
        self.gain *= n - 1.0;
        if change < 0.0 {
            self.loss -= change;
        } else {
            self.gain += change;
        }
        self.loss /= n;
        self.gain /= n;
        Some(self.value())
    }

    fn lookback(&self) -> usize {
        self.n
    }

    fn reset(&mut self) {
        self.prev = None;
        self.changes = 0;
        self.gain = 0.0;
        self.loss = 0.0;
    }
}

/// Wilder's RSI of `x`; `NaN` during the first `n` bars (and for `n < 2`, which TA-Lib rejects).
pub fn rsi(x: &[f64], n: usize) -> Vec<f64> {
    run_f64(RsiState::new(n), x)
}
