//! Exponential moving average (TA-Lib `EMA`).

use super::error::{check_period, IndicatorError};
use super::run::run_f64;
use super::types::Indicator;

/// Streaming EMA with `k = 2 / (n + 1)`; lookback `n - 1`.
///
/// Seeded with the simple mean of the first `n` inputs, as TA-Lib does by default: seeding with
/// the first input instead (pandas' `ewm(adjust=False)`) gives values that differ for several
/// times `n` bars, which would move the first crossover signals of a strategy.
#[derive(Debug, Clone)]
pub struct EmaState {
    n: usize,
    k: f64,
    count: usize,
    seed_sum: f64,
    value: f64,
}

impl EmaState {
    /// EMA state of period `n`. Errors with [`IndicatorError::InvalidPeriod`] for `n == 0`.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        let n = check_period("EMA", "n", n, 1)?;
        Ok(Self {
            n,
            k: 2.0 / (n as f64 + 1.0),
            count: 0,
            seed_sum: 0.0,
            value: f64::NAN,
        })
    }

    /// Starts the EMA from an already computed seed (MACD seeds its fast EMA this way).
    pub(crate) fn seeded(n: usize, seed: f64) -> Result<Self, IndicatorError> {
        let mut state = Self::new(n)?;
        state.count = n;
        state.value = seed;
        Ok(state)
    }

    /// The current value, if seeded.
    pub(crate) fn value(&self) -> Option<f64> {
        (self.count >= self.n).then_some(self.value)
    }
}

impl Indicator for EmaState {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        if self.count < self.n {
            self.seed_sum += x;
            self.count += 1;
            if self.count < self.n {
                return None;
            }
            self.value = self.seed_sum / self.n as f64;
        } else {
            self.value += (x - self.value) * self.k;
        }
        Some(self.value)
    }

    fn lookback(&self) -> usize {
        self.n - 1
    }

    fn reset(&mut self) {
        self.count = 0;
        self.seed_sum = 0.0;
        self.value = f64::NAN;
    }
}

/// Exponential moving average of `x` (SMA-seeded, TA-Lib style); `NaN` during the first `n - 1`
/// bars.
pub fn ema(x: &[f64], n: usize) -> Vec<f64> {
    run_f64(EmaState::new(n), x)
}
