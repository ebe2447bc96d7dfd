//! Stochastic oscillator, slow (TA-Lib `STOCH` with SMA smoothing).

use std::collections::VecDeque;

use super::error::{check_period, IndicatorError};
use super::run::{column, run_any, zip_hlc};
use super::sma::SmaState;
use super::types::{window, Hlc, Indicator};

/// TA-Lib 0.8's "is this range zero" test, relative to the operands: a window whose high and low
/// differ by less than ~90 ulp is flat. A fixed absolute epsilon (older TA-Lib) zeroed the
/// oscillator for anything quoted below ~1e-6.
const FLAT_EPSILON: f64 = 1e-14;

/// One bar of the slow stochastic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StochValue {
    /// Slow %K: the SMA of fast %K over `slowk` bars, normally 0 to 100.
    pub slowk: f64,
    /// Slow %D: the SMA of slow %K over `slowd` bars, normally 0 to 100.
    pub slowd: f64,
}

/// Streaming slow stochastic; lookback `(fastk - 1) + (slowk - 1) + (slowd - 1)`.
///
/// `fastK = 100 * (close - LL) / (HH - LL)` over the last `fastk` bars (0 when the window is
/// flat), `slowK = SMA(fastK, slowk)`, `slowD = SMA(slowK, slowd)`. Like TA-Lib, both outputs
/// start on the same bar, once `slowD` exists. TA-Lib's defaults are 5, 3, 3 ([`Self::default`]).
#[derive(Debug, Clone)]
pub struct StochState {
    fastk: usize,
    highs: VecDeque<f64>,
    lows: VecDeque<f64>,
    slowk: SmaState,
    slowd: SmaState,
}

impl StochState {
    /// Slow stochastic with a `fastk`-bar high/low window and `slowk`/`slowd` SMA smoothing periods
    /// ([`Self::default`] gives 5, 3, 3). Errors with [`IndicatorError::InvalidPeriod`] when a
    /// period is 0.
    pub fn new(fastk: usize, slowk: usize, slowd: usize) -> Result<Self, IndicatorError> {
        let fastk = check_period("STOCH", "fastk", fastk, 1)?;
        check_period("STOCH", "slowk", slowk, 1)?;
        check_period("STOCH", "slowd", slowd, 1)?;
        Ok(Self {
            fastk,
            highs: window(fastk),
            lows: window(fastk),
            slowk: SmaState::new(slowk)?,
            slowd: SmaState::new(slowd)?,
        })
    }

    fn fast_k(&self, close: f64) -> f64 {
        let hh = self.highs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let ll = self.lows.iter().copied().fold(f64::INFINITY, f64::min);
        let range = hh - ll;
        if range.abs() <= FLAT_EPSILON * (hh.abs() + ll.abs()) {
            0.0
        } else {
            ((close - ll) / range) * 100.0
        }
    }
}

impl Default for StochState {
    /// TA-Lib's defaults: fastk 5, slowk 3 (SMA), slowd 3 (SMA).
    fn default() -> Self {
        Self {
            fastk: 5,
            highs: window(5),
            lows: window(5),
            slowk: SmaState::with_period(3),
            slowd: SmaState::with_period(3),
        }
    }
}

impl Indicator for StochState {
    type Input = Hlc;
    type Output = StochValue;

    fn update(&mut self, bar: Hlc) -> Option<StochValue> {
        if !bar.is_finite() {
            return None;
        }
        if self.highs.len() == self.fastk {
            self.highs.pop_front();
            self.lows.pop_front();
        }
        self.highs.push_back(bar.high);
        self.lows.push_back(bar.low);
        if self.highs.len() < self.fastk {
            return None;
        }
        let slowk = self.slowk.update(self.fast_k(bar.close))?;
        let slowd = self.slowd.update(slowk)?;
        Some(StochValue { slowk, slowd })
    }

    fn lookback(&self) -> usize {
        (self.fastk - 1)
            .saturating_add(self.slowk.lookback())
            .saturating_add(self.slowd.lookback())
    }

    fn reset(&mut self) {
        self.highs.clear();
        self.lows.clear();
        self.slowk.reset();
        self.slowd.reset();
    }
}

/// Slow %K and %D, each as long as the input.
#[derive(Debug, Clone, PartialEq)]
pub struct StochOutput {
    /// Slow %K per bar; `NaN` during warm-up and on missing bars.
    pub slowk: Vec<f64>,
    /// Slow %D per bar; `NaN` during warm-up and on missing bars.
    pub slowd: Vec<f64>,
}

/// Slow stochastic with SMA smoothing; both outputs `NaN` during the first
/// `fastk + slowk + slowd - 3` bars.
pub fn stoch(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: usize,
    slowk: usize,
    slowd: usize,
) -> Result<StochOutput, IndicatorError> {
    let bars = zip_hlc("STOCH", high, low, close)?;
    let values = run_any(StochState::new(fastk, slowk, slowd), bars.into_iter());
    Ok(StochOutput {
        slowk: column(&values, |v| v.slowk),
        slowd: column(&values, |v| v.slowd),
    })
}
