//! Drawdowns of the compounded equity curve and the Calmar ratio.

use super::config::Convention;
use super::performance::cagr;

/// Drawdown after each period, `(C_t - max_{s<=t} C_s) / max_{s<=t} C_s` (≤ 0), on the curve
/// `C` compounded from a starting value placed *before* the first period, so that a loss in the
/// very first period counts (empyrical, and quantstats' "phantom baseline"). NaN returns count
/// as 0 (flat); one value per return.
pub fn drawdown_series(returns: &[f64]) -> Vec<f64> {
    let start = 100.0;
    let mut growth = 1.0;
    let mut peak = start;
    returns
        .iter()
        .map(|&r| {
            if !r.is_nan() {
                growth *= r + 1.0;
            }
            let value = growth * start;
            peak = peak.max(value);
            (value - peak) / peak
        })
        .collect()
}

/// Maximum drawdown, the most negative value of [`drawdown_series`] (0 for a curve that never
/// falls); NaN for an empty series (empyrical; quantstats rejects empty input).
pub fn max_drawdown(returns: &[f64]) -> f64 {
    if returns.is_empty() {
        return f64::NAN;
    }
    drawdown_series(returns)
        .into_iter()
        .filter(|d| !d.is_nan())
        .fold(0.0, f64::min)
}

/// Longest drawdown, in periods: the most consecutive periods with the curve strictly below its
/// running peak, an unrecovered drawdown at the end included; 0 for an empty series or one that
/// never falls. (Neither library has it in bars: quantstats reports calendar days per drawdown.)
pub fn max_drawdown_duration(returns: &[f64]) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for d in drawdown_series(returns) {
        if d < 0.0 {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

/// Calmar ratio, CAGR over the absolute maximum drawdown.
///
/// empyrical: NaN unless the drawdown is negative, and NaN instead of ±inf. quantstats: the
/// plain quotient with its own CAGR; it raises `ZeroDivisionError` for a zero drawdown, where
/// we return NaN.
pub fn calmar_ratio(returns: &[f64], periods_per_year: f64, convention: Convention) -> f64 {
    let mdd = max_drawdown(returns);
    if mdd.is_nan() {
        return f64::NAN;
    }
    match convention {
        Convention::Empyrical => {
            if mdd < 0.0 {
                let ratio = cagr(returns, periods_per_year, convention) / mdd.abs();
                if ratio.is_infinite() {
                    f64::NAN
                } else {
                    ratio
                }
            } else {
                f64::NAN
            }
        }
        Convention::QuantStats => {
            if mdd == 0.0 {
                f64::NAN
            } else {
                cagr(returns, periods_per_year, convention) / mdd.abs()
            }
        }
    }
}
