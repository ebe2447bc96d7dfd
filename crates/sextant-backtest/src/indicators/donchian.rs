//! Donchian channel: highest high and lowest low (TA-Lib `MAX(high)` and `MIN(low)`).

use std::collections::VecDeque;

use super::error::{check_period, IndicatorError};
use super::run::{column, run_any, zip_hl};
use super::types::{window, HighLow, Indicator};

/// One bar of the channel; `middle` is the mean of the two bands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DonchianValue {
    /// Highest high of the last `n` bars, the current one included.
    pub upper: f64,
    /// `(upper + lower) / 2`.
    pub middle: f64,
    /// Lowest low of the last `n` bars, the current one included.
    pub lower: f64,
}

/// Streaming Donchian channel over the last `n` bars **including the current one** (TA-Lib's
/// `MAX`/`MIN` window); lookback `n - 1`.
///
/// A breakout rule "close above the previous `n`-bar high" must compare with the *previous* bar's
/// `upper`, since the current bar is inside its own window.
#[derive(Debug, Clone)]
pub struct DonchianState {
    n: usize,
    highs: VecDeque<f64>,
    lows: VecDeque<f64>,
}

impl DonchianState {
    /// Channel over the last `n` bars. Errors with [`IndicatorError::InvalidPeriod`] for `n == 0`.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        let n = check_period("DONCHIAN", "n", n, 1)?;
        Ok(Self {
            n,
            highs: window(n),
            lows: window(n),
        })
    }
}

impl Indicator for DonchianState {
    type Input = HighLow;
    type Output = DonchianValue;

    fn update(&mut self, bar: HighLow) -> Option<DonchianValue> {
        if !bar.is_finite() {
            return None;
        }
        if self.highs.len() == self.n {
            self.highs.pop_front();
            self.lows.pop_front();
        }
        self.highs.push_back(bar.high);
        self.lows.push_back(bar.low);
        if self.highs.len() < self.n {
            return None;
        }
        let upper = self.highs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lower = self.lows.iter().copied().fold(f64::INFINITY, f64::min);
        Some(DonchianValue {
            upper,
            middle: (upper + lower) / 2.0,
            lower,
        })
    }

    fn lookback(&self) -> usize {
        self.n - 1
    }

    fn reset(&mut self) {
        self.highs.clear();
        self.lows.clear();
    }
}

/// Upper, middle and lower channel, each as long as the input.
#[derive(Debug, Clone, PartialEq)]
pub struct DonchianChannel {
    /// Upper channel per bar; `NaN` during warm-up and on missing bars.
    pub upper: Vec<f64>,
    /// Middle line per bar; `NaN` during warm-up and on missing bars.
    pub middle: Vec<f64>,
    /// Lower channel per bar; `NaN` during warm-up and on missing bars.
    pub lower: Vec<f64>,
}

/// Donchian channel of `high`/`low`; `NaN` during the first `n - 1` bars.
pub fn donchian(high: &[f64], low: &[f64], n: usize) -> Result<DonchianChannel, IndicatorError> {
    let bars = zip_hl("DONCHIAN", high, low)?;
    let values = run_any(DonchianState::new(n), bars.into_iter());
    Ok(DonchianChannel {
        upper: column(&values, |v| v.upper),
        middle: column(&values, |v| v.middle),
        lower: column(&values, |v| v.lower),
    })
}
