//! Market regimes of a symbol or an equal-weight universe, point in time: a Gaussian HMM
//! fitted on the rows up to a fit date, every row labelled by the forward filter alone.
//!
//! The features are the universe's equal-weight daily log return and its trailing 21-day
//! realised volatility (annualised), both on total-return prices and each computed from closes
//! up to its own day. Days on which any symbol has no bar are left out (and counted).

use chrono::NaiveDate;
use serde::Serialize;
use sextant_data::cache::BarReader;
use sextant_data::DataError;
use sextant_domain::{PriceBasis, Resolution, Symbol};
use sextant_regimes::{name_states, GaussianHmm, HmmConfig, Regime, RegimeError};
use std::collections::BTreeMap;

/// Trading days in the realised-volatility window.
pub const VOL_WINDOW: usize = 21;

/// Why regimes could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum RegimeServiceError {
    /// Reading bars failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The model could not be fitted or applied.
    #[error(transparent)]
    Model(#[from] RegimeError),
    /// The request is unusable; the message says why.
    #[error("{0}")]
    Invalid(String),
}

/// The features of one day: `[equal-weight log return, 21-day realised volatility]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    /// The session.
    pub date: NaiveDate,
    /// Equal-weight daily log return, then annualised realised volatility.
    pub values: Vec<f64>,
}

/// The features of `symbols` (daily, total-return prices), oldest first, and the number of
/// days left out because some symbol had no bar.
pub fn universe_features(
    cache: &dyn BarReader,
    symbols: &[Symbol],
) -> Result<(Vec<FeatureRow>, usize), RegimeServiceError> {
    if symbols.is_empty() {
        return Err(RegimeServiceError::Invalid("at least one symbol".into()));
    }
    let mut by_day: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
    for sym in symbols {
        let bars = cache.bars_on(sym, Resolution::Daily, None, None, PriceBasis::TotalReturn)?;
        for w in bars.windows(2) {
            by_day
                .entry(w[1].ts.date())
                .or_default()
                .push((w[1].close / w[0].close).ln());
        }
    }
    let total = by_day.len();
    let days: Vec<(NaiveDate, f64)> = by_day
        .into_iter()
        .filter(|(_, r)| r.len() == symbols.len())
        .map(|(d, r)| (d, r.iter().sum::<f64>() / r.len() as f64))
        .collect();
    let left_out = total - days.len();
    let rows = (VOL_WINDOW..days.len())
        .map(|i| {
            let window = &days[i + 1 - VOL_WINDOW..=i];
            let mean = window.iter().map(|d| d.1).sum::<f64>() / VOL_WINDOW as f64;
            let var =
                window.iter().map(|d| (d.1 - mean).powi(2)).sum::<f64>() / (VOL_WINDOW - 1) as f64;
            FeatureRow {
                date: days[i].0,
                values: vec![days[i].1, (var * 252.0).sqrt()],
            }
        })
        .collect();
    Ok((rows, left_out))
}

/// One labelled day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegimeRow {
    /// The session.
    pub date: NaiveDate,
    /// The most probable regime under the forward filter.
    pub regime: Regime,
    /// p(state | rows up to this day), in the order of [`RegimeHistory::states`].
    pub probabilities: Vec<f64>,
}

/// Labels of every day with the model that produced them.
#[derive(Debug, Clone, Serialize)]
pub struct RegimeHistory {
    /// The regime name of each model state (probability columns follow this order).
    pub states: Vec<Regime>,
    /// The last day the model was fitted on; later labels use no later data than their day.
    pub fitted_to: NaiveDate,
    /// Rows the model was fitted on.
    pub fit_rows: usize,
    /// Days left out because some symbol had no bar.
    pub days_left_out: usize,
    /// The fitted model.
    pub model: GaussianHmm,
    /// Every labelled day, oldest first.
    pub rows: Vec<RegimeRow>,
}

/// Fits a model of `states` states on the features up to `fit_to` (default: every row) and
/// labels every row by the forward filter.
pub fn history(
    cache: &dyn BarReader,
    symbols: &[Symbol],
    states: usize,
    fit_to: Option<NaiveDate>,
    seed: u64,
) -> Result<RegimeHistory, RegimeServiceError> {
    let (rows, days_left_out) = universe_features(cache, symbols)?;
    let fit: Vec<Vec<f64>> = rows
        .iter()
        .filter(|r| fit_to.is_none_or(|f| r.date <= f))
        .map(|r| r.values.clone())
        .collect();
    let fitted_to = rows
        .iter()
        .filter(|r| fit_to.is_none_or(|f| r.date <= f))
        .map(|r| r.date)
        .next_back()
        .ok_or_else(|| RegimeServiceError::Invalid("no feature row up to the fit date".into()))?;
    let cfg = HmmConfig {
        states,
        seed,
        ..HmmConfig::default()
    };
    let (model, _) = GaussianHmm::fit(&fit, &cfg)?;
    let mean: Vec<f64> = model.means.iter().map(|m| m[0]).collect();
    let vol: Vec<f64> = model.covs.iter().map(|c| c[0].sqrt()).collect();
    let names = name_states(&mean, &vol);
    let x: Vec<Vec<f64>> = rows.iter().map(|r| r.values.clone()).collect();
    let filtered = model.filter(&x)?;
    let labelled = rows
        .iter()
        .zip(filtered)
        .map(|(r, p)| {
            let best = (0..p.len())
                .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                .unwrap_or(0);
            RegimeRow {
                date: r.date,
                regime: names[best],
                probabilities: p,
            }
        })
        .collect();
    Ok(RegimeHistory {
        states: names,
        fitted_to,
        fit_rows: fit.len(),
        days_left_out,
        model,
        rows: labelled,
    })
}
