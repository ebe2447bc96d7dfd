//! Bollinger bands (TA-Lib `BBANDS` with its default SMA middle band).

use std::collections::VecDeque;

use super::error::{check_period, IndicatorError};
use super::run::{column, run_any};
use super::sma::SmaState;
use super::types::{window, Indicator};

/// One bar of Bollinger bands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BollingerValue {
    /// `middle + nbdev_up · σ`.
    pub upper: f64,
    /// Simple moving average of the window.
    pub middle: f64,
    /// `middle - nbdev_dn · σ` (the multiplier is subtracted, so pass it positive).
    pub lower: f64,
}

/// Streaming Bollinger bands: `middle = SMA(n)`, `upper = middle + nbdev_up * σ`,
/// `lower = middle - nbdev_dn * σ`, with σ the **population** standard deviation of the window
/// (divisor `n`, as TA-Lib and John Bollinger use); lookback `n - 1`.
///
/// σ is computed from the deviations about the window mean (two passes over the window), not as
/// `sqrt(E[x²] - mean²)`: the latter cancels catastrophically for low-volatility, high-priced
/// series, and TA-Lib 0.8 switched to a cancellation-free variance for that reason. A window
/// whose values are all equal has σ = 0 exactly.
#[derive(Debug, Clone)]
pub struct BollingerState {
    n: usize,
    nbdev_up: f64,
    nbdev_dn: f64,
    middle: SmaState,
    window: VecDeque<f64>,
}

impl BollingerState {
    /// Bands over `n` bars, `nbdev_up` and `nbdev_dn` population standard deviations above and
    /// below the middle (commonly 20, 2.0, 2.0). Errors with [`IndicatorError::InvalidPeriod`] for
    /// `n == 0` and [`IndicatorError::InvalidMultiplier`] for a non-finite multiplier; a negative
    /// multiplier is accepted.
    pub fn new(n: usize, nbdev_up: f64, nbdev_dn: f64) -> Result<Self, IndicatorError> {
        let n = check_period("BBANDS", "n", n, 1)?;
        for (param, value) in [("nbdev_up", nbdev_up), ("nbdev_dn", nbdev_dn)] {
            if !value.is_finite() {
                return Err(IndicatorError::InvalidMultiplier {
                    indicator: "BBANDS",
                    param,
                    value,
                });
            }
        }
        Ok(Self {
            n,
            nbdev_up,
            nbdev_dn,
            middle: SmaState::new(n)?,
            window: window(n),
        })
    }
}

/// Population standard deviation of `window`, 0 for a constant window.
pub(crate) fn population_std(window: &VecDeque<f64>) -> f64 {
    let n = window.len() as f64;
    let (min, max) = window
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if min == max {
        return 0.0;
    }
    let mean = window.iter().sum::<f64>() / n;
    let ss: f64 = window.iter().map(|&v| (v - mean) * (v - mean)).sum();
    (ss / n).sqrt()
}

impl Indicator for BollingerState {
    type Input = f64;
    type Output = BollingerValue;

    fn update(&mut self, x: f64) -> Option<BollingerValue> {
        if !x.is_finite() {
            return None;
        }
        if self.window.len() == self.n {
            self.window.pop_front();
        }
        self.window.push_back(x);
        let middle = self.middle.update(x)?;
        let sd = population_std(&self.window);
        Some(BollingerValue {
            upper: middle + sd * self.nbdev_up,
            middle,
            lower: middle - sd * self.nbdev_dn,
        })
    }

    fn lookback(&self) -> usize {
        self.n - 1
    }

    fn reset(&mut self) {
        self.middle.reset();
        self.window.clear();
    }
}

/// Upper, middle and lower band, each as long as the input.
#[derive(Debug, Clone, PartialEq)]
pub struct BollingerBands {
    /// Upper band per bar; `NaN` during warm-up and on missing bars.
    pub upper: Vec<f64>,
    /// Middle band (SMA) per bar; `NaN` during warm-up and on missing bars.
    pub middle: Vec<f64>,
    /// Lower band per bar; `NaN` during warm-up and on missing bars.
    pub lower: Vec<f64>,
}

/// Bollinger bands of `x`; `NaN` during the first `n - 1` bars, all `NaN` for bad parameters.
pub fn bollinger(x: &[f64], n: usize, nbdev_up: f64, nbdev_dn: f64) -> BollingerBands {
    let values = run_any(
        BollingerState::new(n, nbdev_up, nbdev_dn),
        x.iter().copied(),
    );
    BollingerBands {
        upper: column(&values, |v| v.upper),
        middle: column(&values, |v| v.middle),
        lower: column(&values, |v| v.lower),
    }
}
