//! True range and average true range, Wilder's (TA-Lib `TRANGE`, `ATR`).

use super::error::{check_period, IndicatorError};
use super::run::{run_any, zip_hlc};
use super::types::{Hlc, Indicator};

/// `max(high - low, |high - prev_close|, |low - prev_close|)`, compared in TA-Lib's order.
pub(crate) fn true_range_of(bar: Hlc, prev_close: f64) -> f64 {
    let mut range = bar.high - bar.low;
    let up = (bar.high - prev_close).abs();
    if up > range {
        range = up;
    }
    let down = (bar.low - prev_close).abs();
    if down > range {
        range = down;
    }
    range
}

/// Streaming true range; lookback 1 (the first bar has no previous close, as in TA-Lib).
#[derive(Debug, Clone, Default)]
pub struct TrueRangeState {
    prev_close: Option<f64>,
}

impl TrueRangeState {
    /// A fresh state (same as `default()`); its first bar yields `None`, having no previous close.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Indicator for TrueRangeState {
    type Input = Hlc;
    type Output = f64;

    fn update(&mut self, bar: Hlc) -> Option<f64> {
        if !bar.is_finite() {
            return None;
        }
        let prev = self.prev_close.replace(bar.close)?;
        Some(true_range_of(bar, prev))
    }

    fn lookback(&self) -> usize {
        1
    }

    fn reset(&mut self) {
        self.prev_close = None;
    }
}

/// Streaming average true range; lookback `n` (1 for `n == 1`, where it is the true range).
///
/// Seeded with the simple mean of the first `n` true ranges (bars `1..=n`), then smoothed with
/// Wilder's `atr = (atr * (n - 1) + tr) / n` — TA-Lib's choice, which is Wilder's original; an
/// EMA-style `alpha = 1/n` seeded with the first TR (pandas-ta's default `rma`) converges to the
/// same line but differs during the first few dozen bars.
#[derive(Debug, Clone)]
pub struct AtrState {
    n: usize,
    tr: TrueRangeState,
    count: usize,
    value: f64,
}

impl AtrState {
    /// ATR state of period `n` (commonly 14), in price units. Errors with
    /// [`IndicatorError::InvalidPeriod`] for `n == 0`.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        let n = check_period("ATR", "n", n, 1)?;
        Ok(Self {
            n,
            tr: TrueRangeState::new(),
            count: 0,
            value: 0.0,
        })
    }
}

impl Indicator for AtrState {
    type Input = Hlc;
    type Output = f64;

    fn update(&mut self, bar: Hlc) -> Option<f64> {
        let tr = self.tr.update(bar)?;
        let n = self.n as f64;
        if self.count < self.n {
            self.value += tr;
            self.count += 1;
            if self.count < self.n {
                return None;
            }
            self.value /= n;
            return Some(self.value);
        }
        self.value = (self.value * (n - 1.0) + tr) / n;
        Some(self.value)
    }

    fn lookback(&self) -> usize {
        self.n
    }

    fn reset(&mut self) {
        self.tr.reset();
        self.count = 0;
        self.value = 0.0;
    }
}

/// True range of each bar; `NaN` on the first bar.
pub fn true_range(high: &[f64], low: &[f64], close: &[f64]) -> Result<Vec<f64>, IndicatorError> {
    let bars = zip_hlc("TRANGE", high, low, close)?;
    let out = run_any(Ok(TrueRangeState::new()), bars.into_iter());
    Ok(out.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Wilder's ATR; `NaN` during the first `n` bars, all `NaN` for `n == 0`.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    let bars = zip_hlc("ATR", high, low, close)?;
    let out = run_any(AtrState::new(n), bars.into_iter());
    Ok(out.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}
