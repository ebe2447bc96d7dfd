//! Tail risk (VaR, CVaR) and the shape of the return distribution (skew, kurtosis).

use super::config::Convention;
use super::normal::{normal_pdf, normal_ppf};
use super::stats::{is_constant, nanmean, nanstd, non_nan, percentile_linear};

/// Historical value at risk: the `cutoff` quantile of the returns, `np.percentile(r,
/// 100·cutoff)` with linear interpolation (empyrical's `value_at_risk`). Any NaN gives NaN, as
/// numpy does; NaN for an empty series or a cutoff outside `[0, 1]`. A loss shows as a negative
/// number.
pub fn historical_var(returns: &[f64], cutoff: f64) -> f64 {
    if returns.is_empty() || returns.iter().any(|r| r.is_nan()) || !(0.0..=1.0).contains(&cutoff) {
        return f64::NAN;
    }
    percentile_linear(returns, 100.0 * cutoff)
}

/// Historical conditional VaR (expected shortfall): the mean of the `⌊(n−1)·cutoff⌋ + 1` lowest
/// returns, NaN returns dropped first (empyrical's `conditional_value_at_risk`); NaN if none is
/// left or the cutoff is outside `[0, 1]`.
pub fn historical_cvar(returns: &[f64], cutoff: f64) -> f64 {
    let mut values = non_nan(returns);
    if values.is_empty() || !(0.0..=1.0).contains(&cutoff) {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let tail = ((values.len() - 1) as f64 * cutoff) as usize + 1;
    values[..tail].iter().sum::<f64>() / tail as f64
}

/// Parametric (normal) VaR `μ + σ·Φ⁻¹(cutoff)`, μ and σ (ddof 1) over non-NaN returns
/// (quantstats' `value_at_risk`, `sigma=1`). NaN below two returns. A zero σ gives μ, the limit
/// of the normal quantile (scipy's `norm.ppf` answers NaN for an exactly zero scale).
pub fn parametric_var(returns: &[f64], cutoff: f64) -> f64 {
    let sigma = nanstd(returns, 1);
    let mu = nanmean(returns);
    if sigma == 0.0 {
        return mu;
    }
    mu + sigma * normal_ppf(cutoff)
}

/// Parametric (normal) CVaR, the expected shortfall of N(μ, σ²) at `cutoff`:
/// `μ − σ·φ(Φ⁻¹(cutoff))/cutoff` (quantstats' `conditional_value_at_risk`, default
/// `method="parametric"`). μ when σ is 0 or undefined (one return), NaN for no returns.
pub fn parametric_cvar(returns: &[f64], cutoff: f64) -> f64 {
    let mu = nanmean(returns);
    let sigma = nanstd(returns, 1);
    if sigma == 0.0 || sigma.is_nan() {
        return mu;
    }
    mu - sigma * normal_pdf(normal_ppf(cutoff)) / cutoff
}

/// VaR by convention: [`historical_var`] (empyrical) or [`parametric_var`] (quantstats).
pub fn value_at_risk(returns: &[f64], cutoff: f64, convention: Convention) -> f64 {
    match convention {
        Convention::Empyrical => historical_var(returns, cutoff),
        Convention::QuantStats => parametric_var(returns, cutoff),
    }
}

/// CVaR by convention: [`historical_cvar`] (empyrical) or [`parametric_cvar`] (quantstats).
pub fn conditional_value_at_risk(returns: &[f64], cutoff: f64, convention: Convention) -> f64 {
    match convention {
        Convention::Empyrical => historical_cvar(returns, cutoff),
        Convention::QuantStats => parametric_cvar(returns, cutoff),
    }
}

/// The mean and the sums of the 2nd to 4th powers of the deviations from it, of NaN-free
/// values (divide by `n` for the central moments).
fn deviation_sums(values: &[f64]) -> (f64, f64, f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let (s2, s3, s4) = values.iter().fold((0.0, 0.0, 0.0), |(a, b, c), &v| {
        let d = v - mean;
        let d2 = d * d;
        (a + d2, b + d2 * d, c + d2 * d2)
    });
    (mean, s2, s3, s4)
}

/// Which values enter skew/kurtosis: scipy propagates NaN (pyfolio calls it as is), pandas skips.
fn moment_input(returns: &[f64], convention: Convention) -> Option<Vec<f64>> {
    match convention {
        Convention::Empyrical if returns.iter().any(|r| r.is_nan()) => None,
        _ => Some(non_nan(returns)),
    }
}

/// Skewness. empyrical/pyfolio: `scipy.stats.skew` (biased `m3 / m2^1.5`, NaN if any NaN or if
/// `m2 <= (ε·mean)²`). quantstats: pandas' bias-corrected G1 `√(n(n−1))/(n−2) · m3/m2^1.5`, NaN
/// skipped, NaN below 3 values. Both NaN for a constant series.
pub fn skew(returns: &[f64], convention: Convention) -> f64 {
    let Some(values) = moment_input(returns, convention) else {
        return f64::NAN;
    };
    if values.is_empty() || is_constant(&values) {
        return f64::NAN;
    }
    let (mean, s2, s3, _) = deviation_sums(&values);
    let n = values.len() as f64;
    match convention {
        Convention::Empyrical => {
            let (m2, m3) = (s2 / n, s3 / n);
            if m2 <= (f64::EPSILON * mean) * (f64::EPSILON * mean) {
                return f64::NAN;
            }
            m3 / m2.powf(1.5)
        }
        Convention::QuantStats => {
            if values.len() < 3 {
                return f64::NAN;
            }
            (s3 / (s2 * s2.sqrt())) * ((n * (n - 1.0).sqrt()) / (n - 2.0))
        }
    }
}

/// Excess kurtosis. empyrical/pyfolio: `scipy.stats.kurtosis` (Fisher, biased `m4/m2² − 3`, NaN
/// rules as in [`skew`]). quantstats: pandas' bias-corrected G2, NaN below 4 values.
pub fn kurtosis(returns: &[f64], convention: Convention) -> f64 {
    let Some(values) = moment_input(returns, convention) else {
        return f64::NAN;
    };
    if values.is_empty() || is_constant(&values) {
        return f64::NAN;
    }
    let (mean, s2, _, s4) = deviation_sums(&values);
    let n = values.len() as f64;
    match convention {
        Convention::Empyrical => {
            let (m2, m4) = (s2 / n, s4 / n);
            if m2 <= (f64::EPSILON * mean) * (f64::EPSILON * mean) {
                return f64::NAN;
            }
            m4 / (m2 * m2) - 3.0
        }
        Convention::QuantStats => {
            if values.len() < 4 {
                return f64::NAN;
            }
            let ratio = s4 / (s2 * s2);
            let inner = n * (n + 1.0) * ratio - 3.0 * (n - 1.0);
            (n - 1.0) / ((n - 2.0) * (n - 3.0)) * inner
        }
    }
}
