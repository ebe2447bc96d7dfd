//! Donchian channel breakout (the "turtle" rule).

use super::{last_close, SignalRule};
use crate::indicators::{DonchianState, DonchianValue, HighLow, Indicator, IndicatorError};
use crate::simulator::{BarView, Target};

/// Long when the close breaks above the highest high of the previous `entry` bars, short (if
/// allowed) below their lowest low; a long is closed below the lowest low of the previous `exit`
/// bars, a short above their highest high. "Previous" excludes the current bar, whose own high
/// would otherwise always contain the close.
#[derive(Debug, Clone)]
pub(crate) struct DonchianBreakout {
    entry: DonchianState,
    exit: DonchianState,
    prev_entry: Option<DonchianValue>,
    prev_exit: Option<DonchianValue>,
    allow_short: bool,
}

impl DonchianBreakout {
    pub fn new(entry: usize, exit: usize, allow_short: bool) -> Result<Self, IndicatorError> {
        Ok(DonchianBreakout {
            entry: DonchianState::new(entry)?,
            exit: DonchianState::new(exit)?,
            prev_entry: None,
            prev_exit: None,
            allow_short,
        })
    }
}

impl SignalRule for DonchianBreakout {
    fn update(&mut self, view: &BarView<'_>, symbol: usize, position: f64) -> Option<Target> {
        let c = last_close(view, symbol);
        let hl = HighLow::new(
            view.high(symbol).last().copied().unwrap_or(f64::NAN),
            view.low(symbol).last().copied().unwrap_or(f64::NAN),
        );
        let (pe, px) = (self.prev_entry, self.prev_exit);
        self.prev_entry = self.entry.update(hl);
        self.prev_exit = self.exit.update(hl);
        let pe = pe?;
        if c > pe.upper {
            return Some(Target::Long);
        }
        if c < pe.lower && self.allow_short {
            return Some(Target::Short);
        }
        let px = px?;
        if (position > 0.0 && c < px.lower) || (position < 0.0 && c > px.upper) {
            return Some(Target::Flat);
        }
        None
    }
}
