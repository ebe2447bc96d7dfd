//! Trend rules: buy & hold, moving-average crosses, MACD, time-series momentum.

use super::{bearish, cross, last_close, SignalRule};
use crate::indicators::{EmaState, Indicator, MacdState, RocState, SmaState};
use crate::simulator::{BarView, Target};

/// Long from the first bar on.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuyHold;

impl SignalRule for BuyHold {
    fn update(&mut self, _: &BarView<'_>, _: usize, _: f64) -> Option<Target> {
        Some(Target::Long)
    }
}

/// Long when the fast average crosses above the slow one, flat (or short) when it crosses below.
///
/// Both averages are TA-Lib's (first value at bar `n-1`); the first cross can come on bar
/// `slow`, when the previous bar has both averages too.
#[derive(Debug, Clone)]
pub(crate) struct MaCross<M> {
    fast: M,
    slow: M,
    prev: Option<(f64, f64)>,
    allow_short: bool,
}

impl MaCross<SmaState> {
    pub fn sma(
        fast: usize,
        slow: usize,
        allow_short: bool,
    ) -> Result<Self, crate::indicators::IndicatorError> {
        Ok(MaCross {
            fast: SmaState::new(fast)?,
            slow: SmaState::new(slow)?,
            prev: None,
            allow_short,
        })
    }
}

impl MaCross<EmaState> {
    pub fn ema(
        fast: usize,
        slow: usize,
        allow_short: bool,
    ) -> Result<Self, crate::indicators::IndicatorError> {
        Ok(MaCross {
            fast: EmaState::new(fast)?,
            slow: EmaState::new(slow)?,
            prev: None,
            allow_short,
        })
    }
}

impl<M> SignalRule for MaCross<M>
where
    M: Indicator<Input = f64, Output = f64> + Clone + Send,
{
    fn update(&mut self, view: &BarView<'_>, symbol: usize, _: f64) -> Option<Target> {
        let c = last_close(view, symbol);
        let (f, s) = (self.fast.update(c), self.slow.update(c));
        let now = (f?, s?);
        let prev = self.prev.replace(now)?;
        match cross(prev, now)? {
            true => Some(Target::Long),
            false => Some(bearish(self.allow_short)),
        }
    }
}

/// Long when the MACD line crosses above its signal line, flat (or short) when below.
#[derive(Debug, Clone)]
pub(crate) struct MacdCross {
    macd: MacdState,
    prev: Option<(f64, f64)>,
    allow_short: bool,
}

impl MacdCross {
    pub fn new(
        fast: usize,
        slow: usize,
        signal: usize,
        allow_short: bool,
    ) -> Result<Self, crate::indicators::IndicatorError> {
        Ok(MacdCross {
            macd: MacdState::new(fast, slow, signal)?,
            prev: None,
            allow_short,
        })
    }
}

impl SignalRule for MacdCross {
    fn update(&mut self, view: &BarView<'_>, symbol: usize, _: f64) -> Option<Target> {
        let v = self.macd.update(last_close(view, symbol))?;
        let now = (v.macd, v.signal);
        let prev = self.prev.replace(now)?;
        match cross(prev, now)? {
            true => Some(Target::Long),
            false => Some(bearish(self.allow_short)),
        }
    }
}

/// Time-series momentum: long while the `lookback`-bar return is positive, flat (or short) while
/// it is negative; an exactly zero return keeps the position.
#[derive(Debug, Clone)]
pub(crate) struct TsMomentum {
    roc: RocState,
    allow_short: bool,
}

impl TsMomentum {
    pub fn new(
        lookback: usize,
        allow_short: bool,
    ) -> Result<Self, crate::indicators::IndicatorError> {
        Ok(TsMomentum {
            roc: RocState::new(lookback)?,
            allow_short,
        })
    }
}

impl SignalRule for TsMomentum {
    fn update(&mut self, view: &BarView<'_>, symbol: usize, _: f64) -> Option<Target> {
        let r = self.roc.update(last_close(view, symbol))?;
        if r > 0.0 {
            Some(Target::Long)
        } else if r < 0.0 {
            Some(bearish(self.allow_short))
        } else {
            None
        }
    }
}
