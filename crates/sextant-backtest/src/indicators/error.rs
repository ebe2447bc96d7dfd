//! Errors of indicator construction and of multi-series slice functions.

use thiserror::Error;

/// Why an indicator could not be built or run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum IndicatorError {
    /// A period below the indicator's minimum (1 for most indicators, 2 for RSI and ADX).
    #[error("{indicator}: {param} must be at least {min}, got {value}")]
    InvalidPeriod {
        /// TA-Lib-style name of the indicator, e.g. `"RSI"`.
        indicator: &'static str,
        /// Name of the rejected parameter, e.g. `"n"` or `"slowk"`.
        param: &'static str,
        /// The period that was passed.
        value: usize,
        /// Smallest period the indicator accepts.
        min: usize,
    },
    /// A non-finite multiplier (e.g. Bollinger's `nbdev_up`).
    #[error("{indicator}: {param} must be finite, got {value}")]
    InvalidMultiplier {
        /// TA-Lib-style name of the indicator, e.g. `"BBANDS"`.
        indicator: &'static str,
        /// Name of the rejected parameter, e.g. `"nbdev_dn"`.
        param: &'static str,
        /// The value that was passed (NaN or ±inf).
        value: f64,
    },
    /// Input series of one call differ in length.
    #[error("{indicator}: input `{series}` has {got} values, expected {expected}")]
    LengthMismatch {
        /// TA-Lib-style name of the indicator, e.g. `"ATR"`.
        indicator: &'static str,
        /// The input whose length differs, e.g. `"low"`.
        series: &'static str,
        /// Length of the series that sets the length: `close` for high/low/close inputs, `high` for
        /// high/low, `price` for price/volume.
        expected: usize,
        /// Length of `series`.
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
