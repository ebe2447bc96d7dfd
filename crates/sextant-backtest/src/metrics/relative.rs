//! Performance against a benchmark: beta, alpha, tracking error, information ratio and excess
//! return, with empyrical's conventions where empyrical defines the figure.
//!
//! Both series are simple returns per period, aligned (the same periods, in order). A pair of
//! different lengths is not aligned and every function returns NaN for it rather than guess
//! an alignment. NaN returns are missing periods, handled as empyrical does.

use super::performance::total_return;
use super::stats::{is_constant, nanmean, nanstd};

fn aligned(returns: &[f64], benchmark: &[f64]) -> bool {
    returns.len() == benchmark.len()
}

/// Beta: `cov(r, b) / var(b)` (empyrical's `beta`): the benchmark is masked where the strategy
/// is NaN, the covariance is the mean of `(b - mean b) · r` and the variance the mean of
/// `(b - mean b)²` over the remaining periods (population moments, no ddof). NaN below two
/// periods, for a benchmark variance under 1e-30, or unaligned series. empyrical ignores the
/// risk-free rate here, and so does this.
pub fn beta(returns: &[f64], benchmark: &[f64]) -> f64 {
    if !aligned(returns, benchmark) || returns.is_empty() || benchmark.len() < 2 {
        return f64::NAN;
    }
    let independent: Vec<f64> = returns
        .iter()
        .zip(benchmark)
        .map(|(r, b)| if r.is_nan() { f64::NAN } else { *b })
        .collect();
    let mean = nanmean(&independent);
    let residual: Vec<f64> = independent.iter().map(|b| b - mean).collect();
    let cov = nanmean(
        &residual
            .iter()
            .zip(returns)
            .map(|(d, r)| d * r)
            .collect::<Vec<_>>(),
    );
    let var = nanmean(&residual.iter().map(|d| d * d).collect::<Vec<_>>());
    if var.is_nan() || var < 1e-30 {
        return f64::NAN;
    }
    cov / var
}

/// Jensen's alpha, annualised by compounding (empyrical's `alpha`):
/// `(1 + mean((r - rf) - β·(b - rf)))^P - 1`, `risk_free` per period. NaN below two periods
/// or when beta is NaN.
pub fn alpha(returns: &[f64], benchmark: &[f64], risk_free: f64, periods_per_year: f64) -> f64 {
    if returns.len() < 2 {
        return f64::NAN;
    }
    let b = beta(returns, benchmark);
    let series: Vec<f64> = returns
        .iter()
        .zip(benchmark)
        .map(|(r, m)| (r - risk_free) - b * (m - risk_free))
        .collect();
    (nanmean(&series) + 1.0).powf(periods_per_year) - 1.0
}

/// The active returns `r - b` per period (NaN where either is NaN).
fn active(returns: &[f64], benchmark: &[f64]) -> Vec<f64> {
    returns.iter().zip(benchmark).map(|(r, b)| r - b).collect()
}

/// Per-period information ratio `mean(r - b) / std(r - b, ddof=1)` (empyrical's
/// `excess_sharpe`). NaN below two periods; `±inf` when the active returns are constant and
/// non-zero (NaN when all zero), as empyrical.
pub fn excess_sharpe(returns: &[f64], benchmark: &[f64]) -> f64 {
    if !aligned(returns, benchmark) || returns.len() < 2 {
        return f64::NAN;
    }
    let a = active(returns, benchmark);
    let mut std = nanstd(&a, 1);
    if std.is_finite() && is_constant(&a) {
        std = 0.0;
    }
    nanmean(&a) / std
}

/// Annualised information ratio: [`excess_sharpe`] × √P (the usual definition; empyrical's
/// figure is the per-period one).
pub fn information_ratio(returns: &[f64], benchmark: &[f64], periods_per_year: f64) -> f64 {
    excess_sharpe(returns, benchmark) * periods_per_year.sqrt()
}

/// Annualised tracking error `std(r - b, ddof=1) · √P` over the periods where both are known;
/// NaN below two such periods or for unaligned series.
pub fn tracking_error(returns: &[f64], benchmark: &[f64], periods_per_year: f64) -> f64 {
    if !aligned(returns, benchmark) {
        return f64::NAN;
    }
    nanstd(&active(returns, benchmark), 1) * periods_per_year.sqrt()
}

/// Excess return: the strategy's compounded return minus the benchmark's over the same
/// periods (NaN periods skipped in each, as [`total_return`]); NaN for unaligned or empty
/// series.
pub fn excess_return(returns: &[f64], benchmark: &[f64]) -> f64 {
    if !aligned(returns, benchmark) {
        return f64::NAN;
    }
    total_return(returns) - total_return(benchmark)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_against_itself() {
        let r = [0.01, -0.02, 0.015, 0.0, 0.03];
        assert!((beta(&r, &r) - 1.0).abs() < 1e-12);
        assert!(alpha(&r, &r, 0.0, 252.0).abs() < 1e-12);
        assert!(
            excess_sharpe(&r, &r).is_nan(),
            "zero active return and zero dispersion"
        );
        assert_eq!(tracking_error(&r, &r, 252.0), 0.0);
        assert_eq!(excess_return(&r, &r), 0.0);
    }

    #[test]
    fn unaligned_or_degenerate_inputs_are_nan_not_panics() {
        assert!(beta(&[0.1, 0.2], &[0.1]).is_nan());
        assert!(alpha(&[0.1], &[0.1], 0.0, 252.0).is_nan());
        assert!(
            beta(&[0.1, 0.2, 0.3], &[0.01, 0.01, 0.01]).is_nan(),
            "constant benchmark"
        );
        assert!(tracking_error(&[], &[], 252.0).is_nan());
        let doubled: Vec<f64> = [0.01, -0.02, 0.015].iter().map(|x| 2.0 * x).collect();
        assert!((beta(&doubled, &[0.01, -0.02, 0.015]) - 2.0).abs() < 1e-12);
    }
}
