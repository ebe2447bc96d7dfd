//! The features regimes are fitted on, per day, point in time: each value at day `t` is
//! computed from closes up to `t`, on total-return prices (splits and dividends are not moves).
//!
//! For a universe the return is the equal-weight mean of the members' daily log returns; a day
//! counts when at least half the members (and at least one) have a return that day. Days that
//! do not count, and days where a feature is undefined, are left out and counted.

use super::RegimeServiceError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_data::cache::BarReader;
use sextant_domain::{PriceBasis, Resolution, Symbol};
use std::collections::BTreeMap;

/// Trading days in the rolling windows (realised volatility, correlation).
pub const VOL_WINDOW: usize = 21;

/// One input of a regime model.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RegimeFeature {
    /// The (equal-weight) daily log return. Always first: states are named by it.
    Return,
    /// Annualised realised volatility of that return over the last 21 days.
    Volatility,
    /// Cross-sectional standard deviation of the members' log returns that day (universes of
    /// at least two symbols).
    Dispersion,
    /// Average pairwise correlation of the members over the last 21 days, from the identity
    /// ρ̄ = (m²σ²ₚ − Σσᵢ²) / ((Σσᵢ)² − Σσᵢ²), exact for pairs weighted by σᵢσⱼ and O(m) per day
    /// (members with all 21 returns; universes of at least two symbols).
    Correlation,
}

/// The default inputs: return and realised volatility.
pub fn default_features() -> Vec<RegimeFeature> {
    vec![RegimeFeature::Return, RegimeFeature::Volatility]
}

/// The features of one day.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    /// The session.
    pub date: NaiveDate,
    /// One value per requested feature, in request order.
    pub values: Vec<f64>,
}

/// The features of `symbols` (daily, total-return prices), oldest first, and the number of
/// days left out.
///
/// # Errors
/// [`RegimeServiceError::Invalid`] for no symbols, no features, a list that does not start with
/// `return`, or dispersion/correlation of a single symbol; [`RegimeServiceError::Data`] when
/// bars cannot be read.
pub fn features(
    cache: &dyn BarReader,
    symbols: &[Symbol],
    which: &[RegimeFeature],
) -> Result<(Vec<FeatureRow>, usize), RegimeServiceError> {
    if symbols.is_empty() {
        return Err(RegimeServiceError::Invalid("at least one symbol".into()));
    }
    if which.first() != Some(&RegimeFeature::Return) {
        return Err(RegimeServiceError::Invalid(
            "features must start with return (states are named by it)".into(),
        ));
    }
    let cross = which
        .iter()
        .any(|f| matches!(f, RegimeFeature::Dispersion | RegimeFeature::Correlation));
    if cross && symbols.len() < 2 {
        return Err(RegimeServiceError::Invalid(
            "dispersion and correlation need a universe of at least two symbols".into(),
        ));
    }
    let m = symbols.len();
    // Per day: each member's log return, NaN where it has none.
    let mut by_day: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
    for (i, sym) in symbols.iter().enumerate() {
        let bars = cache.bars_on(sym, Resolution::Daily, None, None, PriceBasis::TotalReturn)?;
        for w in bars.windows(2) {
            by_day
                .entry(w[1].ts.date())
                .or_insert_with(|| vec![f64::NAN; m])[i] = (w[1].close / w[0].close).ln();
        }
    }
    let total = by_day.len();
    let need = m.div_ceil(2).max(1);
    let days: Vec<(NaiveDate, Vec<f64>)> = by_day
        .into_iter()
        .filter(|(_, r)| r.iter().filter(|v| v.is_finite()).count() >= need)
        .collect();
    let ew: Vec<f64> = days
        .iter()
        .map(|(_, r)| mean(r.iter().copied().filter(|v| v.is_finite())))
        .collect();
    let mut rows = Vec::with_capacity(days.len());
    for i in VOL_WINDOW..days.len() {
        let window = &ew[i + 1 - VOL_WINDOW..=i];
        let mut values = Vec::with_capacity(which.len());
        for f in which {
            let v = match f {
                RegimeFeature::Return => ew[i],
                RegimeFeature::Volatility => (sample_var(window) * 252.0).sqrt(),
                RegimeFeature::Dispersion => {
                    let r: Vec<f64> = days[i]
                        .1
                        .iter()
                        .copied()
                        .filter(|v| v.is_finite())
                        .collect();
                    let mu = mean(r.iter().copied());
                    (r.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / r.len() as f64).sqrt()
                }
                RegimeFeature::Correlation => avg_correlation(&days[i + 1 - VOL_WINDOW..=i]),
            };
            values.push(v);
        }
        if values.iter().all(|v| v.is_finite()) {
            rows.push(FeatureRow {
                date: days[i].0,
                values,
            });
        }
    }
    let left_out = total - rows.len();
    Ok((rows, left_out))
}

fn mean(it: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = it.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    s / n as f64
}

fn sample_var(x: &[f64]) -> f64 {
    let mu = mean(x.iter().copied());
    x.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (x.len() - 1) as f64
}

/// Average pairwise correlation over a window of days (members with every return in it).
fn avg_correlation(window: &[(NaiveDate, Vec<f64>)]) -> f64 {
    let m = window[0].1.len();
    let members: Vec<usize> = (0..m)
        .filter(|&i| window.iter().all(|(_, r)| r[i].is_finite()))
        .collect();
    if members.len() < 2 {
        return f64::NAN;
    }
    let q = members.len() as f64;
    let port: Vec<f64> = window
        .iter()
        .map(|(_, r)| members.iter().map(|&i| r[i]).sum::<f64>() / q)
        .collect();
    let vars: Vec<f64> = members
        .iter()
        .map(|&i| sample_var(&window.iter().map(|(_, r)| r[i]).collect::<Vec<_>>()))
        .collect();
    let sum_var: f64 = vars.iter().sum();
    let sum_sd: f64 = vars.iter().map(|v| v.sqrt()).sum();
    let denom = sum_sd * sum_sd - sum_var;
    if denom <= 0.0 {
        return f64::NAN;
    }
    (q * q * sample_var(&port) - sum_var) / denom
}
