//! The streaming interface shared by all indicators and the bar inputs it takes.

use std::collections::VecDeque;

/// An empty window for `n` values. The capacity is capped so that an absurd period (which only
/// ever yields warm-up) does not attempt a huge allocation; the deque grows if it must.
pub(crate) fn window(n: usize) -> VecDeque<f64> {
    VecDeque::with_capacity(n.min(4096))
}

/// A streaming indicator: feed it one bar at a time.
///
/// `update` returns `None` while the indicator warms up and for missing (non-finite) inputs, and
/// `Some(value)` once the value is defined; see the module docs for the NaN rule.
pub trait Indicator {
    /// What one bar carries: `f64` for single-series indicators, [`Hlc`] and friends otherwise.
    type Input: Copy;
    /// The value produced for one bar.
    type Output: Copy;

    /// Consumes one bar.
    fn update(&mut self, input: Self::Input) -> Option<Self::Output>;

    /// How many valid bars are consumed before the first output (TA-Lib's lookback): the first
    /// `Some` comes with valid bar number `lookback()` (0-based).
    fn lookback(&self) -> usize;

    /// Forgets every bar seen, keeping the parameters.
    fn reset(&mut self);
}

/// High, low and close of one bar (ATR, Stochastic, ADX).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hlc {
    /// Highest price of the bar (not checked against `low`).
    pub high: f64,
    /// Lowest price of the bar.
    pub low: f64,
    /// Last price of the bar.
    pub close: f64,
}

impl Hlc {
    /// Bundles one bar without validation; a non-finite field makes the indicators treat the whole
    /// bar as missing.
    pub fn new(high: f64, low: f64, close: f64) -> Self {
        Self { high, low, close }
    }

    pub(crate) fn is_finite(&self) -> bool {
        self.high.is_finite() && self.low.is_finite() && self.close.is_finite()
    }
}

/// High and low of one bar (Donchian channel).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HighLow {
    /// Highest price of the bar (not checked against `low`).
    pub high: f64,
    /// Lowest price of the bar.
    pub low: f64,
}

impl HighLow {
    /// Bundles one bar without validation; a non-finite field makes the indicators treat the whole
    /// bar as missing.
    pub fn new(high: f64, low: f64) -> Self {
        Self { high, low }
    }

    pub(crate) fn is_finite(&self) -> bool {
        self.high.is_finite() && self.low.is_finite()
    }
}

/// Price (usually the close) and volume of one bar (OBV).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceVolume {
    /// Price compared with the previous valid bar's to decide whether `volume` is added or
    /// subtracted.
    pub price: f64,
    /// Volume traded in the bar (shares, contracts or coins).
    pub volume: f64,
}

impl PriceVolume {
    /// Bundles one bar without validation; a non-finite field makes the indicators treat the whole
    /// bar as missing.
    pub fn new(price: f64, volume: f64) -> Self {
        Self { price, volume }
    }

    pub(crate) fn is_finite(&self) -> bool {
        self.price.is_finite() && self.volume.is_finite()
    }
}
