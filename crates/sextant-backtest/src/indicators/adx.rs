//! Average directional index with +DI and −DI, Wilder's (TA-Lib `ADX`, `PLUS_DI`, `MINUS_DI`).

use super::atr::true_range_of;
use super::error::{check_period, IndicatorError};
use super::run::{column, run_any, zip_hlc};
use super::types::{Hlc, Indicator};

/// One ADX bar. The directional indicators exist from bar `n` on (TA-Lib `PLUS_DI`/`MINUS_DI`'s
/// lookback), the ADX itself only from bar `2n - 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdxValue {
    /// +DI in percent (0 to 100); 0 when the smoothed true range is 0.
    pub plus_di: f64,
    /// −DI in percent (0 to 100); 0 when the smoothed true range is 0.
    pub minus_di: f64,
    /// ADX in percent (0 to 100); `None` before bar `2n - 1`, while the DIs already exist.
    pub adx: Option<f64>,
}

/// Streaming ADX/DI; lookback `n` for the DIs and `2n - 1` for the ADX ([`Indicator::lookback`]
/// reports `n`, the first bar that yields a value).
///
/// Wilder's construction as TA-Lib implements it: +DM/−DM/TR are *summed* over bars `1..n`, then
/// smoothed with `s = s - s/n + x`; `DI = 100 * DM / TR` (0 when TR is 0); the first ADX is the
/// mean of the `n` DX values of bars `n..=2n-1`, later ones `(adx * (n - 1) + dx) / n`. A bar with
/// `+DI + −DI == 0` leaves the ADX unchanged, as in TA-Lib.
#[derive(Debug, Clone)]
pub struct AdxState {
    n: usize,
    prev: Option<Hlc>,
    /// Bars after the first one seen.
    bars: usize,
    plus_dm: f64,
    minus_dm: f64,
    tr: f64,
    dx_sum: f64,
    adx: f64,
}

impl AdxState {
    /// ADX/DI state of period `n` (commonly 14). Errors with [`IndicatorError::InvalidPeriod`] for
    /// `n < 2`.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        let n = check_period("ADX", "n", n, 2)?;
        Ok(Self {
            n,
            prev: None,
            bars: 0,
            plus_dm: 0.0,
            minus_dm: 0.0,
            tr: 0.0,
            dx_sum: 0.0,
            adx: 0.0,
        })
    }

    /// The bar's directional movements: at most one of them is non-zero.
    fn directional_movement(prev: Hlc, bar: Hlc) -> (f64, f64) {
        let up = bar.high - prev.high;
        let down = prev.low - bar.low;
        if down > 0.0 && up < down {
            (0.0, down)
        } else if up > 0.0 && up > down {
            (up, 0.0)
        } else {
            (0.0, 0.0)
        }
    }

    /// (+DI, −DI, DX) from the smoothed sums; DX is `None` when undefined.
    fn indicators(&self) -> (f64, f64, Option<f64>) {
        if self.tr == 0.0 {
            return (0.0, 0.0, None);
        }
        let minus_di = 100.0 * (self.minus_dm / self.tr);
        let plus_di = 100.0 * (self.plus_dm / self.tr);
        let sum = minus_di + plus_di;
        let dx = (sum != 0.0).then(|| 100.0 * ((minus_di - plus_di).abs() / sum));
        (plus_di, minus_di, dx)
    }
}

impl Indicator for AdxState {
    type Input = Hlc;
    type Output = AdxValue;

    fn update(&mut self, bar: Hlc) -> Option<AdxValue> {
        if !bar.is_finite() {
            return None;
        }
        let prev = self.prev.replace(bar)?;
        self.bars += 1;
        let (plus, minus) = Self::directional_movement(prev, bar);
        let tr = true_range_of(bar, prev.close);
        let n = self.n as f64;
        if self.bars < self.n {
            self.plus_dm += plus;
            self.minus_dm += minus;
            self.tr += tr;
            return None;
        }
        self.minus_dm -= self.minus_dm / n;
        self.plus_dm -= self.plus_dm / n;
        self.minus_dm += minus;
        self.plus_dm += plus;
        self.tr = self.tr - self.tr / n + tr;
        let (plus_di, minus_di, dx) = self.indicators();
        let adx = if self.bars < self.n.saturating_mul(2) {
            self.dx_sum += dx.unwrap_or(0.0);
            if self.bars + 1 < self.n.saturating_mul(2) {
                None
            } else {
                self.adx = self.dx_sum / n;
                Some(self.adx)
            }
        } else {
            if let Some(dx) = dx {
                self.adx = (self.adx * (n - 1.0) + dx) / n;
            }
            Some(self.adx)
        };
        Some(AdxValue {
            plus_di,
            minus_di,
            adx,
        })
    }

    fn lookback(&self) -> usize {
        self.n
    }

    fn reset(&mut self) {
        self.prev = None;
        self.bars = 0;
        self.plus_dm = 0.0;
        self.minus_dm = 0.0;
        self.tr = 0.0;
        self.dx_sum = 0.0;
        self.adx = 0.0;
    }
}

/// ADX, +DI and −DI, each as long as the input.
#[derive(Debug, Clone, PartialEq)]
pub struct AdxOutput {
    /// `NaN` during the first `2n - 1` bars.
    pub adx: Vec<f64>,
    /// `NaN` during the first `n` bars.
    pub plus_di: Vec<f64>,
    /// `NaN` during the first `n` bars.
    pub minus_di: Vec<f64>,
}

/// Wilder's ADX with its directional indicators.
pub fn adx(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    n: usize,
) -> Result<AdxOutput, IndicatorError> {
    let bars = zip_hlc("ADX", high, low, close)?;
    let values = run_any(AdxState::new(n), bars.into_iter());
    Ok(AdxOutput {
        adx: column(&values, |v| v.adx.unwrap_or(f64::NAN)),
        plus_di: column(&values, |v| v.plus_di),
        minus_di: column(&values, |v| v.minus_di),
    })
}
