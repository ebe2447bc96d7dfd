//! Runs a streaming state over slices: the slice functions are built from these, which is what
//! makes slice and streaming output identical by construction.

use super::error::IndicatorError;
use super::types::{HighLow, Hlc, Indicator, PriceVolume};

/// One output per input; `None` becomes `NaN`.
pub(crate) fn run_f64<S>(state: Result<S, IndicatorError>, x: &[f64]) -> Vec<f64>
where
    S: Indicator<Input = f64, Output = f64>,
{
    match state {
        Ok(mut s) => x.iter().map(|&v| s.update(v).unwrap_or(f64::NAN)).collect(),
        Err(_) => vec![f64::NAN; x.len()],
    }
}

/// Runs `state` over `inputs`, collecting `Option` outputs (an invalid state gives all `None`).
pub(crate) fn run_any<S, I>(state: Result<S, IndicatorError>, inputs: I) -> Vec<Option<S::Output>>
where
    S: Indicator,
    I: Iterator<Item = S::Input>,
{
    match state {
        Ok(mut s) => inputs.map(|v| s.update(v)).collect(),
        Err(_) => inputs.map(|_| None).collect(),
    }
}

fn check_len(
    indicator: &'static str,
    series: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), IndicatorError> {
    if expected == got {
        Ok(())
    } else {
        Err(IndicatorError::LengthMismatch {
            indicator,
            series,
            expected,
            got,
        })
    }
}

/// Zips high/low/close after checking that the lengths agree (`close` sets the length).
pub(crate) fn zip_hlc(
    indicator: &'static str,
    high: &[f64],
    low: &[f64],
    close: &[f64],
) -> Result<Vec<Hlc>, IndicatorError> {
    check_len(indicator, "high", close.len(), high.len())?;
    check_len(indicator, "low", close.len(), low.len())?;
    Ok(high
        .iter()
        .zip(low)
        .zip(close)
        .map(|((&h, &l), &c)| Hlc::new(h, l, c))
        .collect())
}

/// Zips high/low after checking that the lengths agree (`high` sets the length).
pub(crate) fn zip_hl(
    indicator: &'static str,
    high: &[f64],
    low: &[f64],
) -> Result<Vec<HighLow>, IndicatorError> {
    check_len(indicator, "low", high.len(), low.len())?;
    Ok(high
        .iter()
        .zip(low)
        .map(|(&h, &l)| HighLow::new(h, l))
        .collect())
}

/// Zips price/volume after checking that the lengths agree (`price` sets the length).
pub(crate) fn zip_pv(
    indicator: &'static str,
    price: &[f64],
    volume: &[f64],
) -> Result<Vec<PriceVolume>, IndicatorError> {
    check_len(indicator, "volume", price.len(), volume.len())?;
    Ok(price
        .iter()
        .zip(volume)
        .map(|(&p, &v)| PriceVolume::new(p, v))
        .collect())
}

/// Unzips optional values into one `Vec<f64>` per field, `NaN` where `None`.
pub(crate) fn column<T: Copy>(values: &[Option<T>], field: impl Fn(&T) -> f64) -> Vec<f64> {
    values
        .iter()
        .map(|v| v.as_ref().map_or(f64::NAN, &field))
        .collect()
}
