//! Mean-reversion rules: RSI and Bollinger bands.

use super::{bearish, last_close, SignalRule};
use crate::indicators::{BollingerState, Indicator, IndicatorError, RsiState};
use crate::simulator::{BarView, Target};

/// Long while RSI is below `lower`; flat (or short) while it is above `upper`; in between the
/// position is kept.
#[derive(Debug, Clone)]
pub(crate) struct RsiReversion {
    rsi: RsiState,
    lower: f64,
    upper: f64,
    allow_short: bool,
}

impl RsiReversion {
    pub fn new(
        period: usize,
        lower: f64,
        upper: f64,
        allow_short: bool,
    ) -> Result<Self, IndicatorError> {
        Ok(RsiReversion {
            rsi: RsiState::new(period)?,
            lower,
            upper,
            allow_short,
        })
    }
}

impl SignalRule for RsiReversion {
    fn update(&mut self, view: &BarView<'_>, symbol: usize, _: f64) -> Option<Target> {
        let r = self.rsi.update(last_close(view, symbol))?;
        if r < self.lower {
            Some(Target::Long)
        } else if r > self.upper {
            Some(bearish(self.allow_short))
        } else {
            None
        }
    }
}

/// Long when the close falls below the lower band, short (if allowed) above the upper band; a
/// position is closed when the close gets back to the middle band.
#[derive(Debug, Clone)]
pub(crate) struct BollingerReversion {
    bands: BollingerState,
    allow_short: bool,
}

impl BollingerReversion {
    pub fn new(period: usize, k: f64, allow_short: bool) -> Result<Self, IndicatorError> {
        Ok(BollingerReversion {
            bands: BollingerState::new(period, k, k)?,
            allow_short,
        })
    }
}

impl SignalRule for BollingerReversion {
    fn update(&mut self, view: &BarView<'_>, symbol: usize, position: f64) -> Option<Target> {
        let c = last_close(view, symbol);
        let b = self.bands.update(c)?;
        if c < b.lower {
            Some(Target::Long)
        } else if c > b.upper && self.allow_short {
            Some(Target::Short)
        } else if (position > 0.0 && c >= b.middle) || (position < 0.0 && c <= b.middle) {
            Some(Target::Flat)
        } else {
            None
        }
    }
}
