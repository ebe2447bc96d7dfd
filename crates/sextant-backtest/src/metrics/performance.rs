//! Return, volatility and risk-adjusted return of a series of periodic simple returns.
//!
//! Every function takes simple returns (`0.01` = +1 %) per period and an explicit
//! `periods_per_year`. NaN returns are missing periods, handled as the reference library does
//! (see each function). No function panics; undefined results are NaN (or ±inf where empyrical
//! returns it).

use super::config::Convention;
use super::stats::{is_constant, nanmean, nanstd, non_nan};

/// Compounded return `prod(1 + r) - 1`, NaN periods skipped; NaN for an empty series
/// (empyrical's `cum_returns_final`; quantstats' `comp` agrees but returns 0 for empty input).
pub fn total_return(returns: &[f64]) -> f64 {
    if returns.is_empty() {
        return f64::NAN;
    }
    returns
        .iter()
        .filter(|r| !r.is_nan())
        .fold(1.0, |acc, &r| acc * (r + 1.0))
        - 1.0
}

/// Compound annual growth rate `(1 + total)^(P/n) - 1`.
///
/// empyrical (`annual_return`) counts every period in `n`, NaN ones included; quantstats
/// (`cagr`, since Aug 2025) counts only non-NaN periods and returns NaN for negative terminal
/// wealth. NaN for an empty series (or no non-NaN period for quantstats).
pub fn cagr(returns: &[f64], periods_per_year: f64, convention: Convention) -> f64 {
    let n = match convention {
        Convention::Empyrical => returns.len(),
        Convention::QuantStats => returns.iter().filter(|r| !r.is_nan()).count(),
    };
    if n == 0 {
        return f64::NAN;
    }
    let wealth = total_return(returns) + 1.0;
    let years = n as f64 / periods_per_year;
    match convention {
        Convention::Empyrical => wealth.powf(1.0 / years) - 1.0,
        Convention::QuantStats if wealth < 0.0 => f64::NAN,
        Convention::QuantStats => wealth.abs().powf(1.0 / years) - 1.0,
    }
}

/// Annualised volatility `std(r, ddof=1) · √P` over the non-NaN periods; NaN below two of them.
/// Both libraries agree.
pub fn annual_volatility(returns: &[f64], periods_per_year: f64) -> f64 {
    if returns.len() < 2 {
        return f64::NAN;
    }
    nanstd(returns, 1) * periods_per_year.sqrt()
}

/// `r - risk_free` for every period (NaN stays NaN).
fn excess(returns: &[f64], risk_free: f64) -> Vec<f64> {
    returns.iter().map(|r| r - risk_free).collect()
}

/// Sharpe ratio `mean(r - rf) / std(r - rf, ddof=1) · √P`, `risk_free` per period.
///
/// NaN below two periods. A series whose (non-NaN) excess returns are all equal has zero
/// dispersion: the result is `±inf` (0/0 = NaN for all-zero), as in empyrical 0.7 — quantstats
/// divides by the floating-point residue of its std instead and returns an arbitrary ~1e16.
pub fn sharpe_ratio(returns: &[f64], risk_free: f64, periods_per_year: f64) -> f64 {
    if returns.len() < 2 {
        return f64::NAN;
    }
    let adj = excess(returns, risk_free);
    let mut std = nanstd(&adj, 1);
    if std.is_finite() && is_constant(&adj) {
        std = 0.0;
    }
    nanmean(&adj) / std * periods_per_year.sqrt()
}

/// Annualised downside deviation `sqrt(mean(min(r - mar, 0)²)) · √P`, the mean taken over
/// **all** non-NaN periods (not only the losing ones); NaN for an empty series.
pub fn downside_risk(returns: &[f64], required_return: f64, periods_per_year: f64) -> f64 {
    if returns.is_empty() {
        return f64::NAN;
    }
    let squares: Vec<f64> = excess(returns, required_return)
        .iter()
        .map(|&d| {
            let clipped = d.min(0.0);
            if d.is_nan() {
                f64::NAN
            } else {
                clipped * clipped
            }
        })
        .collect();
    nanmean(&squares).sqrt() * periods_per_year.sqrt()
}

/// Sortino ratio: annualised mean excess return over annualised downside deviation, with
/// `required_return` per period.
///
/// empyrical: `mean(r - mar) · P / downside_risk`; NaN below two periods, `±inf` with no
/// downside (NaN if the mean is 0 too). quantstats: `mean / sqrt(Σ_{d<0} d² / count) · √P` —
/// the same number — but NaN with no downside and no minimum length.
pub fn sortino_ratio(
    returns: &[f64],
    required_return: f64,
    periods_per_year: f64,
    convention: Convention,
) -> f64 {
    match convention {
        Convention::Empyrical => {
            if returns.len() < 2 {
                return f64::NAN;
            }
            let adj = excess(returns, required_return);
            let mean = nanmean(&adj) * periods_per_year;
            mean / downside_risk(returns, required_return, periods_per_year)
        }
        Convention::QuantStats => {
            let adj = non_nan(&excess(returns, required_return));
            if adj.is_empty() {
                return f64::NAN;
            }
            let squares: f64 = adj.iter().filter(|&&d| d < 0.0).map(|d| d * d).sum();
            let downside = (squares / adj.len() as f64).sqrt();
            if downside == 0.0 {
                return f64::NAN;
            }
            nanmean(&adj) / downside * periods_per_year.sqrt()
        }
    }
}
