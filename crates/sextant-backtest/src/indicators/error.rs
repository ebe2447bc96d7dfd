//! Errors of indicator construction and of multi-series slice functions.

use thiserror::Error;

/// Why an indicator could not be built or run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum IndicatorError {
    /// A period below the indicator's minimum (1 for most indicators, 2 for RSI and ADX).
    #[error("{indicator}: {param} must be at least {min}, got {value}")]
    InvalidPeriod {
        indicator: &'static str,
        param: &'static str,
        value: usize,
        min: usize,
    },
    /// A non-finite multiplier (e.g. Bollinger's `nbdev_up`).
    #[error("{indicator}: {param} must be finite, got {value}")]
    InvalidMultiplier {
        indicator: &'static str,
        param: &'static str,
        value: f64,
    },
    /// Input series of one call differ in length.
    #[error("{indicator}: input `{series}` has {got} values, expected {expected}")]
    LengthMismatch {
        indicator: &'static str,
        series: &'static str,
        expected: usize,
        got: usize,
    },
}

/// Checks `value >= min` for a period parameter.
pub(crate) fn check_period(
    indicator: &'static str,
    param: &'static str,
    value: usize,
    min: usize,
) -> Result<usize, IndicatorError> {
    if value < min {
        Err(IndicatorError::InvalidPeriod {
            indicator,
            param,
            value,
            min,
        })
    } else {
        Ok(value)
    }
}
