//! Market regimes of a symbol or an equal-weight universe, point in time: a Gaussian HMM
//! fitted on the rows up to a fit date, every row labelled by the forward filter alone.
//!
//! [`history`] fits once at a fit date (what `sextant regime history` shows); [`RegimeService`]
//! keeps named models fitted walk-forward, stores their labels in DuckDB and their state and
//! alerts in the metadata store, and refreshes them after ingests.

mod compute;
pub mod evaluate;
pub mod features;
mod series;
pub mod service;
mod spec;

pub use evaluate::{evaluate, performance_by_regime, Evaluation, RegimeSlice};
pub use features::{FeatureRow, RegimeFeature, VOL_WINDOW};
pub use service::{RegimeAlert, RegimeNow, RegimeService, RegimeSpec, RegimeState, RegimeSummary};

use chrono::NaiveDate;
use serde::Serialize;
use sextant_data::cache::BarReader;
use sextant_data::DataError;
use sextant_domain::Symbol;
use sextant_regimes::{name_states, GaussianHmm, HmmConfig, Regime, RegimeError};

/// Why regimes could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum RegimeServiceError {
    /// Reading bars or labels failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The model could not be fitted or applied.
    #[error(transparent)]
    Model(#[from] RegimeError),
    /// The request is unusable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// No regime model of this name (or no label where one was asked for).
    #[error("no regime model {0}")]
    NotFound(String),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] sextant_meta::MetaError),
    /// A stored regime model does not read back.
    #[error("stored regime model {name} is unreadable: {message}")]
    Corrupt {
        /// The model's name.
        name: String,
        /// What does not parse.
        message: String,
    },
}

/// The features of `symbols`: equal-weight log return and 21-day realised volatility (see
/// [`features::features`]).
pub fn universe_features(
    cache: &dyn BarReader,
    symbols: &[Symbol],
) -> Result<(Vec<FeatureRow>, usize), RegimeServiceError> {
    features::features(cache, symbols, &features::default_features())
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
