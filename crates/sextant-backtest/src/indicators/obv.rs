//! On-balance volume (TA-Lib `OBV`).

use super::error::IndicatorError;
use super::run::{run_any, zip_pv};
use super::types::{Indicator, PriceVolume};

/// Streaming OBV; lookback 0.
///
/// Starts at the first bar's volume (TA-Lib's convention, not 0), then adds the volume of up
/// bars and subtracts that of down bars; unchanged prices leave it as it is.
#[derive(Debug, Clone, Default)]
pub struct ObvState {
    prev_price: Option<f64>,
    value: f64,
}

impl ObvState {
    /// A fresh state (same as `default()`); the first valid bar yields its own volume.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Indicator for ObvState {
    type Input = PriceVolume;
    type Output = f64;

    fn update(&mut self, bar: PriceVolume) -> Option<f64> {
        if !bar.is_finite() {
            return None;
        }
        match self.prev_price.replace(bar.price) {
            None => self.value = bar.volume,
            Some(prev) if bar.price > prev => self.value += bar.volume,
            Some(prev) if bar.price < prev => self.value -= bar.volume,
            Some(_) => {}
        }
        Some(self.value)
    }

    fn lookback(&self) -> usize {
        0
    }

    fn reset(&mut self) {
        self.prev_price = None;
        self.value = 0.0;
    }
}

/// On-balance volume of `price` (usually closes) and `volume`.
pub fn obv(price: &[f64], volume: &[f64]) -> Result<Vec<f64>, IndicatorError> {
    let bars = zip_pv("OBV", price, volume)?;
    let out = run_any(Ok(ObvState::new()), bars.into_iter());
    Ok(out.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}
