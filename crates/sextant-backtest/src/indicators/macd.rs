//! Moving average convergence/divergence (TA-Lib `MACD`).

use std::collections::VecDeque;

use super::ema::EmaState;
use super::error::{check_period, IndicatorError};
use super::run::{column, run_any};
use super::types::{window, Indicator};

/// One MACD bar: the MACD line (fast EMA − slow EMA), its signal EMA and the histogram
/// (line − signal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacdValue {
    /// Fast EMA minus slow EMA, in price units.
    pub macd: f64,
    /// EMA of the MACD line over `signal` bars.
    pub signal: f64,
    /// `macd - signal`; a change of its sign is a MACD/signal crossover.
    pub hist: f64,
}

/// Streaming MACD with TA-Lib's alignment; lookback `(slow - 1) + (signal - 1)`.
///
/// TA-Lib starts *both* EMAs at the slow EMA's first bar (`slow - 1`): the slow one is seeded
/// with the mean of inputs `0..slow`, the fast one with the mean of the `fast` inputs ending at
/// the same bar. The signal EMA is seeded with the mean of the first `signal` MACD values, and
/// the three outputs start together once it is. If `slow < fast` the two are swapped, as TA-Lib
/// does.
#[derive(Debug, Clone)]
pub struct MacdState {
    fast_n: usize,
    slow_n: usize,
    signal_n: usize,
    /// The last `fast` inputs, kept until the fast EMA is seeded.
    recent: VecDeque<f64>,
    slow: EmaState,
    fast: Option<EmaState>,
    signal: EmaState,
}

impl MacdState {
    /// MACD state with the given EMA periods (commonly 12, 26, 9). `fast` and `slow` are swapped
    /// when `slow < fast`; equal periods are accepted (the line is then 0). Errors with
    /// [`IndicatorError::InvalidPeriod`] when a period is 0.
    pub fn new(fast: usize, slow: usize, signal: usize) -> Result<Self, IndicatorError> {
        let fast = check_period("MACD", "fast", fast, 1)?;
        let slow = check_period("MACD", "slow", slow, 1)?;
        let signal_n = check_period("MACD", "signal", signal, 1)?;
        let (fast_n, slow_n) = if slow < fast {
            (slow, fast)
        } else {
            (fast, slow)
        };
        Ok(Self {
            fast_n,
            slow_n,
            signal_n,
            recent: window(fast_n),
            slow: EmaState::new(slow_n)?,
            fast: None,
            signal: EmaState::new(signal_n)?,
        })
    }

    /// Fast EMA for this bar, seeding it on the slow EMA's first bar.
    fn fast_value(&mut self, x: f64) -> Option<f64> {
        if let Some(fast) = self.fast.as_mut() {
            return fast.update(x);
        }
        let seed = self.recent.iter().sum::<f64>() / self.fast_n as f64;
        let fast = EmaState::seeded(self.fast_n, seed).ok()?;
        let value = fast.value();
        self.fast = Some(fast);
        self.recent.clear();
        value
    }
}

impl Indicator for MacdState {
    type Input = f64;
    type Output = MacdValue;

    fn update(&mut self, x: f64) -> Option<MacdValue> {
        if !x.is_finite() {
            return None;
        }
        if self.fast.is_none() {
            if self.recent.len() == self.fast_n {
                self.recent.pop_front();
            }
            self.recent.push_back(x);
        }
        let slow = self.slow.update(x)?;
        let fast = self.fast_value(x)?;
        let line = fast - slow;
        let signal = self.signal.update(line)?;
        Some(MacdValue {
            macd: line,
            signal,
            hist: line - signal,
        })
    }

    fn lookback(&self) -> usize {
        (self.slow_n - 1).saturating_add(self.signal_n - 1)
    }

    fn reset(&mut self) {
        self.recent.clear();
        self.slow.reset();
        self.fast = None;
        self.signal.reset();
    }
}

/// MACD, signal and histogram, each as long as the input.
#[derive(Debug, Clone, PartialEq)]
pub struct MacdOutput {
    /// MACD line per bar; `NaN` during warm-up and on missing bars.
    pub macd: Vec<f64>,
    /// Signal line per bar; `NaN` during warm-up and on missing bars.
    pub signal: Vec<f64>,
    /// Histogram per bar; `NaN` during warm-up and on missing bars.
    pub hist: Vec<f64>,
}

/// MACD of `x` with TA-Lib's alignment; all three outputs are `NaN` during the first
/// `slow + signal - 2` bars.
pub fn macd(x: &[f64], fast: usize, slow: usize, signal: usize) -> MacdOutput {
    let values = run_any(MacdState::new(fast, slow, signal), x.iter().copied());
    MacdOutput {
        macd: column(&values, |v| v.macd),
        signal: column(&values, |v| v.signal),
        hist: column(&values, |v| v.hist),
    }
}
