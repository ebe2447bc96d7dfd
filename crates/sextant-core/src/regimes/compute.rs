//! One model's computation, blocking and store-free: features, walk-forward fits, labels,
//! per-regime summary and confirmed changes.

use super::features::features;
use super::spec::{RegimeNow, RegimeSpec, RegimeState, RegimeSummary, MAX_REGIME_WORK};
use super::RegimeServiceError;
use chrono::NaiveDate;
use sextant_data::cache::RegimeLabel;
use sextant_data::Cache;
use sextant_regimes::{confirmed_changes, walk_forward, Regime, Segment};

pub(super) type ChangeRow = (NaiveDate, NaiveDate, Regime, Regime, Vec<f64>);

/// A model computed but not yet stored.
pub(super) struct Prepared {
    pub(super) spec: RegimeSpec,
    pub(super) previous: Option<RegimeState>,
    pub(super) computed: Computed,
    /// Write only the labels after this day (every earlier fit was reused); `None`: replace
    /// all.
    pub(super) append_after: Option<NaiveDate>,
}

pub(super) struct Computed {
    pub(super) state: RegimeState,
    pub(super) labels: Vec<RegimeLabel>,
    pub(super) changes: Vec<ChangeRow>,
}

/// Features, walk-forward fits, labels, summary and confirmed changes (blocking).
pub(super) fn compute(
    cache: &Cache,
    spec: &RegimeSpec,
    reuse: &[Segment],
) -> Result<Computed, RegimeServiceError> {
    let (rows, days_left_out) = features(cache, &spec.symbols, &spec.features)?;
    let x: Vec<Vec<f64>> = rows.iter().map(|r| r.values.clone()).collect();
    if x.len() < spec.walk.min_fit_rows {
        return Err(RegimeServiceError::Invalid(format!(
            "{}: {} days of features; the first fit needs {} (walk.min_fit_rows)",
            spec.name,
            x.len(),
            spec.walk.min_fit_rows
        )));
    }
    let fits = (x.len() - spec.walk.min_fit_rows) / spec.walk.refit_every + 1;
    let work = fits as f64
        * spec.walk.model.restarts as f64
        * spec.walk.model.max_iter as f64
        * x.len() as f64;
    if work > MAX_REGIME_WORK {
        return Err(RegimeServiceError::Invalid(format!(
            "{}: {fits} fits x {} restarts x {} iterations x {} rows = {work:.1e} row-iterations, over the limit of {MAX_REGIME_WORK:.0e}; raise walk.refit_every or lower walk.model.restarts / max_iter",
            spec.name, spec.walk.model.restarts, spec.walk.model.max_iter, x.len()
        )));
    }
    let walk = walk_forward(&x, &spec.walk, reuse)?;
    let w = walk.columns.len();
    let first = walk.first_labelled;
    let fit_days: Vec<NaiveDate> = walk.segments.iter().map(|s| rows[s.fit_end].date).collect();
    let mut labels = Vec::with_capacity(walk.labels.len());
    let mut seg = 0;
    for (i, regime) in walk.labels.iter().enumerate() {
        let t = first + i;
        while seg + 1 < walk.segments.len() && walk.segments[seg + 1].fit_end <= t {
            seg += 1;
        }
        labels.push(RegimeLabel {
            day: rows[t].date,
            label: regime.to_string(),
            probabilities: walk.probabilities[i * w..(i + 1) * w].to_vec(),
            fitted_to: fit_days[seg],
        });
    }
    let summary = walk
        .columns
        .iter()
        .map(|&r| {
            let ret: Vec<f64> = walk
                .labels
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == r)
                .map(|(i, _)| x[first + i][0])
                .collect();
            let n = ret.len();
            // A regime no day fell in has no statistics (never a NaN, which JSON cannot hold).
            let mean = (n > 0).then(|| ret.iter().sum::<f64>() / n as f64);
            let volatility = mean.filter(|_| n > 1).map(|m| {
                let var = ret.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64;
                (var * 252.0).sqrt()
            });
            RegimeSummary {
                regime: r,
                days: n,
                share: n as f64 / walk.labels.len() as f64,
                mean_return: mean,
                volatility,
            }
        })
        .collect();
    let changes = confirmed_changes(&walk.labels, spec.confirm_bars)
        .into_iter()
        .map(|c| {
            let i = c.confirmed_at;
            (
                rows[first + i].date,
                rows[first + c.began_at].date,
                c.from,
                c.to,
                walk.probabilities[i * w..(i + 1) * w].to_vec(),
            )
        })
        .collect();
    let last = labels
        .last()
        .ok_or_else(|| RegimeServiceError::Invalid("no labels".into()))?;
    let latest = to_now(last, &walk.columns);
    let state = RegimeState {
        spec: spec.clone(),
        columns: walk.columns.clone(),
        fit_days,
        first_day: rows[first].date,
        last_day: last.day,
        latest,
        days_left_out,
        days_unlabelled: first,
        summary,
        fitted_last_update: walk.fitted,
        segments: walk.segments,
        updated_at: chrono::Utc::now().to_rfc3339(),
    };
    Ok(Computed {
        state,
        labels,
        changes,
    })
}

pub(super) fn to_now(l: &RegimeLabel, columns: &[Regime]) -> RegimeNow {
    RegimeNow {
        day: l.day,
        regime: l.label.clone(),
        probabilities: columns
            .iter()
            .map(|r| r.to_string())
            .zip(l.probabilities.iter().copied())
            .collect(),
        fitted_to: l.fitted_to,
    }
}
