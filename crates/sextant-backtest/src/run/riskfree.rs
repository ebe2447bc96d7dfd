//! The risk-free rate a run's Sharpe and Sortino subtract: which one a request asks for, what a
//! run used, and the per-period series built from an annual yield.
//!
//! Default ([`RiskFree::Auto`]): the 3-month Treasury bill yield when the cache holds it,
//! otherwise zero; the run records which ([`RiskFreeUsed`]), so a Sharpe ratio never silently
//! means "against zero". The yield of bar `t` is the latest observation *available* before the
//! bar's date (its release lag applied, see `sextant_domain::SeriesKey::available_from`): the
//! rate an investor could have locked in at the start of the period, never one published later.

use crate::metrics::deannualize;
use serde::{Deserialize, Serialize};
use sextant_domain::SeriesKey;

/// Which risk-free rate a request asks for. Serialised as a string: `auto`, `none`, or an
/// economic series id such as `treasury_yield_3month_daily` (`sextant data macro`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RiskFree {
    /// The 3-month Treasury yield (daily) when cached, otherwise zero. The default.
    #[default]
    Auto,
    /// Zero: Sharpe and Sortino against cash that earns nothing.
    None,
    /// This cached series (an annual rate in percent); an error if it is not cached.
    Series(SeriesKey),
}

impl RiskFree {
    /// True for the default (left out of serialised requests, so run ids made before the
    /// option existed are unchanged).
    pub fn is_auto(&self) -> bool {
        matches!(self, RiskFree::Auto)
    }
}

impl TryFrom<String> for RiskFree {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(RiskFree::Auto),
            "none" | "zero" | "0" => Ok(RiskFree::None),
            other => SeriesKey::parse_id(other)
                .map(RiskFree::Series)
                .map_err(|e| format!("risk_free: {e} (or `auto`, `none`)")),
        }
    }
}

impl From<RiskFree> for String {
    fn from(r: RiskFree) -> String {
        match r {
            RiskFree::Auto => "auto".into(),
            RiskFree::None => "none".into(),
            RiskFree::Series(k) => k.id(),
        }
    }
}

/// The risk-free rate a run used, recorded with its result and manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskFreeUsed {
    /// The economic series id, or `none` when the rate was zero.
    pub series: String,
    /// Why this one: `requested`, `default: cached 3-month Treasury yield`, or `default: no
    /// 3-month Treasury yield cached, so zero`.
    pub reason: String,
    /// Mean annual rate over the run's bars, percent (0 for `none`).
    pub mean_annual_pct: f64,
    /// Bars whose rate had no observation available before them (the series starts later):
    /// they use zero, and this says how many.
    pub bars_without_rate: usize,
    /// sha256 over the observations used, so a revised series changes the run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
}

impl RiskFreeUsed {
    /// The zero rate, with the reason it was chosen.
    pub fn zero(reason: &str) -> Self {
        RiskFreeUsed {
            series: "none".into(),
            reason: reason.into(),
            mean_annual_pct: 0.0,
            bars_without_rate: 0,
            snapshot: None,
        }
    }
}

/// A risk-free series resolved by the service for one run: an annual rate per bar.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskFreeInput {
    /// What is recorded.
    pub used: RiskFreeUsed,
    /// Annual rate in percent available at the start of each bar, aligned with the run's bars
    /// (NaN where none was available yet; such bars use zero).
    pub annual_pct: Vec<f64>,
}

impl RiskFreeInput {
    /// The per-period rate of every bar, `(1 + y/100)^(1/P) - 1` (quantstats' conversion), zero
    /// where no yield was available.
    pub fn per_period(&self, periods_per_year: f64) -> Vec<f64> {
        self.annual_pct
            .iter()
            .map(|&y| {
                if y.is_finite() {
                    deannualize(y / 100.0, periods_per_year)
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// For each bar date (ascending), the latest value whose availability date is on or before it,
/// NaN before the first. `observations` are `(available_from, value)` sorted by date.
pub fn as_of(
    bar_dates: &[chrono::NaiveDate],
    observations: &[(chrono::NaiveDate, f64)],
) -> Vec<f64> {
    let mut out = Vec::with_capacity(bar_dates.len());
    let mut j = 0;
    let mut current = f64::NAN;
    for d in bar_dates {
        while let Some((avail, v)) = observations.get(j) {
            if avail > d {
                break;
            }
            current = *v;
            j += 1;
        }
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn choices_parse_and_print() {
        assert_eq!(RiskFree::try_from("auto".to_string()), Ok(RiskFree::Auto));
        assert_eq!(RiskFree::try_from("none".to_string()), Ok(RiskFree::None));
        let s = RiskFree::try_from("treasury_yield_3month_daily".to_string()).expect("series");
        assert_eq!(String::from(s), "treasury_yield_3month_daily");
        assert!(RiskFree::try_from("libor".to_string()).is_err());
    }

    #[test]
    fn as_of_never_uses_a_value_before_it_is_available() {
        let obs = [(d("2024-01-03"), 5.0), (d("2024-01-05"), 5.5)];
        let bars = [
            d("2024-01-02"),
            d("2024-01-03"),
            d("2024-01-04"),
            d("2024-01-05"),
        ];
        let got = as_of(&bars, &obs);
        assert!(got[0].is_nan());
        assert_eq!(&got[1..], &[5.0, 5.0, 5.5]);
        // Truncating the observations after a date leaves every earlier bar's rate unchanged.
        let truncated = as_of(&bars[..3], &obs[..1]);
        assert_eq!(truncated[1..], got[1..3]);
        let input = RiskFreeInput {
            used: RiskFreeUsed::zero("test"),
            annual_pct: got,
        };
        let per = input.per_period(252.0);
        assert_eq!(per[0], 0.0);
        assert!((per[1] - (1.05f64.powf(1.0 / 252.0) - 1.0)).abs() < 1e-18);
    }
}
