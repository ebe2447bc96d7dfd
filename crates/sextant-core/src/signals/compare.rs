//! Two models on the same out-of-sample rows: what the promotion rule judges. The candidate's
//! holdout (its `test_from..=test_to`) is scored by both, and the per-sample log losses are
//! averaged per day over symbols, giving paired daily series.

use super::registry::ModelRecord;
use super::{prepare, MlSignalService, SignalError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_features::FeatureStore;
use std::collections::BTreeMap;

/// Paired holdout losses of a candidate and the production model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedHoldout {
    /// First day of the candidate's holdout.
    pub from: NaiveDate,
    /// Last day whose labels end inside the holdout.
    pub to: NaiveDate,
    /// Labelled samples scored.
    pub samples: usize,
    /// The days, oldest first.
    pub days: Vec<NaiveDate>,
    /// The candidate's mean log loss per day.
    pub candidate: Vec<f64>,
    /// Production's mean log loss per day.
    pub production: Vec<f64>,
    /// The candidate's AUC on the samples.
    pub auc_candidate: f64,
    /// Production's AUC on the samples.
    pub auc_production: f64,
}

fn sample_loss(p: f64, y: f64) -> f64 {
    let p = p.clamp(1e-15, 1.0 - 1e-15);
    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
}

impl MlSignalService {
    /// The newest day on which every symbol of the model has a feature row: the "as of" of a
    /// retrain or a drift check that was not given one. Data time, never the wall clock, so a
    /// replay of history behaves as it did then.
    pub fn data_end(&self, rec: &ModelRecord) -> Result<NaiveDate, SignalError> {
        self.ensure_fresh(rec)?;
        let latest = self
            .cache
            .feature_latest_all(&rec.view_table, &rec.features)?;
        rec.request
            .symbols
            .iter()
            .map(|s| latest.get(s.as_str()).map(|(ts, _)| ts.date()))
            .collect::<Option<Vec<_>>>()
            .and_then(|d| d.into_iter().min())
            .ok_or_else(|| SignalError::NoFeatures {
                symbol: rec
                    .request
                    .symbols
                    .iter()
                    .find(|s| !latest.contains_key(s.as_str()))
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "(none)".into()),
                view: rec.view.clone(),
            })
    }

    /// Scores `candidate` and `production` on the candidate's holdout. Refused when the
    /// candidate has no holdout, when the two use different features, or when production's
    /// training reaches into the holdout (its losses there would be in-sample: a leak that
    /// favours production).
    pub async fn paired_holdout(
        &self,
        candidate: &ModelRecord,
        production: &ModelRecord,
    ) -> Result<PairedHoldout, SignalError> {
        let req = &candidate.request;
        let from = req
            .test_from
            .or_else(|| req.train_to.and_then(|d| d.succ_opt()))
            .filter(|_| req.test_from.is_some() || req.test_to.is_some())
            .ok_or_else(|| {
                SignalError::Invalid(format!("candidate {} has no holdout period", candidate.id))
            })?;
        if candidate.features != production.features || candidate.view != production.view {
            return Err(SignalError::Invalid(format!(
                "candidate {} and production {} use different features: compare them by hand",
                candidate.id, production.id
            )));
        }
        if let Some(last) = production.metrics.train_last {
            if last.date() >= from {
                return Err(SignalError::Invalid(format!(
                    "production {} trained on data up to {}, inside the candidate's holdout \
                     (from {from}): its losses there would be in-sample",
                    production.id,
                    last.date()
                )));
            }
        }
        let (mc, mp) = (self.model(candidate)?, self.model(production)?);
        let cache = self.cache.clone();
        let r = req.clone();
        let prepared = tokio::task::spawn_blocking(move || prepare(&cache, &r))
            .await
            .map_err(|e| SignalError::Task(e.to_string()))??;
        let s = &prepared.samples;
        let idx = s.select(Some(from), req.test_to);
        if idx.is_empty() {
            return Err(SignalError::Invalid(format!(
                "no labelled holdout samples from {from}"
            )));
        }
        let (mut pc, mut pp, mut y) = (Vec::new(), Vec::new(), Vec::new());
        let mut by_day: BTreeMap<NaiveDate, (f64, f64, usize)> = BTreeMap::new();
        for &i in &idx {
            let (a, b) = (mc.predict_proba(&s.rows[i]), mp.predict_proba(&s.rows[i]));
            let e = by_day.entry(s.ts[i].date()).or_insert((0.0, 0.0, 0));
            e.0 += sample_loss(a, s.labels[i]);
            e.1 += sample_loss(b, s.labels[i]);
            e.2 += 1;
            pc.push(a);
            pp.push(b);
            y.push(s.labels[i]);
        }
        let to = idx.iter().map(|&i| s.ts[i].date()).max().unwrap_or(from);
        Ok(PairedHoldout {
            from,
            to,
            samples: idx.len(),
            days: by_day.keys().copied().collect(),
            candidate: by_day.values().map(|v| v.0 / v.2 as f64).collect(),
            production: by_day.values().map(|v| v.1 / v.2 as f64).collect(),
            auc_candidate: sextant_ml::metrics::auc(&pc, &y)?,
            auc_production: sextant_ml::metrics::auc(&pp, &y)?,
        })
    }
}
