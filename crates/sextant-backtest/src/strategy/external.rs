//! Rules on external series aligned to bars (ML probabilities, regime labels, …).

use super::{bearish, SignalRule};
use crate::simulator::{BarView, Target};

/// Long while the named series is above `upper`, flat (or short) while it is below `lower`,
/// unchanged in between, where the series is NaN, and on symbols that do not carry it. The series is read through the same `≤ t`
/// view as prices, so a model's probability for bar `t` must be stored at bar `t` only if it was
/// computable from data up to `t`.
#[derive(Debug, Clone)]
pub(crate) struct SeriesThreshold {
    series: String,
    lower: f64,
    upper: f64,
    allow_short: bool,
}

impl SeriesThreshold {
    pub fn new(series: String, lower: f64, upper: f64, allow_short: bool) -> Self {
        SeriesThreshold {
            series,
            lower,
            upper,
            allow_short,
        }
    }
}

impl SignalRule for SeriesThreshold {
    fn update(&mut self, view: &BarView<'_>, symbol: usize, _: f64) -> Option<Target> {
        let x = *view.series(symbol, &self.series)?.last()?;
        if x > self.upper {
            Some(Target::Long)
        } else if x < self.lower {
            Some(bearish(self.allow_short))
        } else {
            None
        }
    }
}
