//! Regime probabilities as observation columns: a walk-forward Gaussian HMM on the symbol's own
//! return and realised volatility (the regime service's default features), so the probability
//! of a bar comes from a model fitted on earlier bars and the forward filter up to that bar —
//! never from later data. Bars before the first fit has a label get no probabilities (NaN): the
//! environment starts its episodes after them, and the record says from when regimes are known.

use super::RlServiceError;
use crate::regimes::features::{default_features, features};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_data::Cache;
use sextant_domain::Symbol;
use sextant_regimes::{walk_forward, HmmConfig, WalkConfig};
use std::collections::HashMap;

/// Which regime columns a policy observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeInputs {
    /// The regime of each probability column (`bull`, `bear`, …), in column order.
    pub columns: Vec<String>,
    /// The first session with probabilities: training episodes start on or after it.
    pub first_labelled: NaiveDate,
    /// Walk-forward refits over the bars read.
    pub fits: usize,
}

/// A session and its regime probabilities (in [`RegimeInputs::columns`] order).
pub type Labelled = (NaiveDate, Vec<f64>);

/// The regime probabilities of `symbol`'s sessions up to `to` that have a label (the rows
/// before the first fit's last row have none), oldest first, and the columns they are in.
///
/// # Errors
/// [`RlServiceError::Invalid`] for states outside 2..=4, unreadable bars, or too few days for
/// the first fit.
pub fn regime_columns(
    cache: &Cache,
    symbol: &Symbol,
    to: NaiveDate,
    states: usize,
    seed: u64,
) -> Result<(Vec<Labelled>, RegimeInputs), RlServiceError> {
    if !(2..=4).contains(&states) {
        return Err(RlServiceError::Invalid(format!(
            "regime_states must be 2 to 4, got {states}"
        )));
    }
    let (rows, _) = features(cache, std::slice::from_ref(symbol), &default_features())
        .map_err(|e| RlServiceError::Invalid(format!("regime features: {e}")))?;
    // Only rows up to `to`: later rows cannot change earlier labels, but they would cost fits.
    let rows: Vec<_> = rows.into_iter().filter(|r| r.date <= to).collect();
    let cfg = WalkConfig {
        model: HmmConfig {
            states,
            seed,
            ..HmmConfig::default()
        },
        ..WalkConfig::default()
    };
    let x: Vec<Vec<f64>> = rows.iter().map(|r| r.values.clone()).collect();
    let walk = walk_forward(&x, &cfg, &[])
        .map_err(|e| RlServiceError::Invalid(format!("{symbol}: regimes: {e}")))?;
    let width = walk.columns.len().max(1);
    let labelled: Vec<Labelled> = rows[walk.first_labelled..]
        .iter()
        .zip(walk.probabilities.chunks(width))
        .map(|(r, p)| (r.date, p.to_vec()))
        .collect();
    let first_labelled = labelled
        .first()
        .map(|r| r.0)
        .ok_or_else(|| RlServiceError::Invalid(format!("{symbol}: no regime label up to {to}")))?;
    let inputs = RegimeInputs {
        columns: walk
            .columns
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        first_labelled,
        fits: walk.segments.len(),
    };
    Ok((labelled, inputs))
}

/// [`regime_columns`] aligned to the bars of `dates`: one row per bar, NaN before the first
/// label. A bar after the first label without one (a missing feature row) is an error rather
/// than a silent hole.
pub(super) fn aligned(
    cache: &Cache,
    symbol: &Symbol,
    dates: &[NaiveDate],
    states: usize,
    seed: u64,
) -> Result<(Vec<Vec<f32>>, RegimeInputs), RlServiceError> {
    let last = dates
        .last()
        .copied()
        .ok_or_else(|| RlServiceError::Invalid(format!("{symbol}: no bars")))?;
    let (labelled, inputs) = regime_columns(cache, symbol, last, states, seed)?;
    let width = inputs.columns.len();
    let by_date: HashMap<NaiveDate, &[f64]> =
        labelled.iter().map(|(d, p)| (*d, p.as_slice())).collect();
    let start = dates.partition_point(|d| *d < inputs.first_labelled);
    if let Some(gap) = dates[start..].iter().find(|d| !by_date.contains_key(d)) {
        return Err(RlServiceError::Invalid(format!(
            "{symbol}: no regime features on {gap}"
        )));
    }
    let out = dates
        .iter()
        .map(|d| match by_date.get(d) {
            Some(p) => p.iter().map(|&v| v as f32).collect(),
            None => vec![f32::NAN; width],
        })
        .collect();
    Ok((out, inputs))
}
