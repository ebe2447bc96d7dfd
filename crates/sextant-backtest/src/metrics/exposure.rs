//! Time in the market and trading activity.

use super::config::MetricsError;

/// Share of bars with a non-zero position, over the bars whose position is known (non-NaN);
/// NaN when there is none. `positions` is any per-bar position measure (units, value, weight).
pub fn exposure(positions: &[f64]) -> f64 {
    let known = positions.iter().filter(|p| !p.is_nan());
    let (invested, total) = known.fold((0usize, 0usize), |(i, t), &p| {
        (i + usize::from(p != 0.0), t + 1)
    });
    if total == 0 {
        f64::NAN
    } else {
        invested as f64 / total as f64
    }
}

/// quantstats' `exposure`: the share of non-NaN periods with a non-zero *return*, rounded **up**
/// to a whole percent (`ceil(x · 100) / 100`); 0.0 without periods. For parity checks only — a
/// flat return while invested is not "out of the market", so prefer [`exposure`].
pub fn exposure_from_returns(returns: &[f64]) -> f64 {
    let known: Vec<f64> = returns.iter().copied().filter(|r| !r.is_nan()).collect();
    if known.is_empty() {
        return 0.0;
    }
    let active = known.iter().filter(|&&r| r != 0.0).count();
    (active as f64 / known.len() as f64 * 100.0).ceil() / 100.0
}

/// Annualised turnover: the mean over bars of `|traded_notional| / equity`, times
/// `periods_per_year`.
///
/// `traded_notional` is the absolute value of everything bought **and** sold during the bar
/// (two-sided: buying and later selling the whole book once adds 2.0), `equity` the portfolio
/// value at the bar. Bars where either is NaN or equity is not positive are left out; NaN if no
/// bar is left. pyfolio divides by the average gross book instead of equity, which is the same
/// for an unlevered long-only book.
pub fn turnover(
    traded_notional: &[f64],
    equity: &[f64],
    periods_per_year: f64,
) -> Result<f64, MetricsError> {
    if traded_notional.len() != equity.len() {
        return Err(MetricsError::LengthMismatch {
            series: "equity",
            expected: traded_notional.len(),
            got: equity.len(),
        });
    }
    let (sum, count) = traded_notional
        .iter()
        .zip(equity)
        .filter(|(t, e)| !t.is_nan() && e.is_finite() && **e > 0.0)
        .fold((0.0, 0usize), |(s, c), (t, e)| (s + t.abs() / e, c + 1));
    Ok(if count == 0 {
        f64::NAN
    } else {
        sum / count as f64 * periods_per_year
    })
}
