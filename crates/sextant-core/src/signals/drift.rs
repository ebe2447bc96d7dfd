//! Drift of a registered model: its features and its predictions in a window, against the rows
//! it was trained on (the same feature view version, the same symbols), by PSI bands with the
//! exact KS test beside them (`sextant_mlops::monitor`). Each check is stored
//! ([`DRIFT_REPORTS`]) so the API, the dashboard and the chat tools read the latest one.

use super::registry::ModelRecord;
use super::{MlSignalService, SignalError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sextant_features::FeatureStore;
use sextant_meta::{Filter, Query};
use sextant_mlops::drift::Bands;
use sextant_mlops::monitor::DriftReport;

/// Collection of drift checks.
pub const DRIFT_REPORTS: &str = "mlops_drift_reports";

/// A stored drift check of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDrift {
    /// `drf_` + 20 hex digits.
    #[serde(rename = "_id")]
    pub id: String,
    /// The model checked.
    pub model_id: String,
    /// Its name and version.
    pub model_name: String,
    /// Its version.
    pub model_version: u32,
    /// The reference span (the model's training samples).
    pub reference_from: Option<NaiveDate>,
    /// End of the reference span.
    pub reference_to: Option<NaiveDate>,
    /// Reference rows.
    pub reference_rows: usize,
    /// The window checked.
    pub from: NaiveDate,
    /// End of the window.
    pub to: NaiveDate,
    /// Rows in the window.
    pub current_rows: usize,
    /// Per feature and the predictions.
    pub report: DriftReport,
    /// When it was computed.
    pub computed_at: DateTime<Utc>,
    /// What the drift webhook answered to this check's alert (`sent: 200`, `failed: …`); none
    /// when no alert was posted.
    #[serde(default)]
    pub webhook: Option<String>,
}

/// Posts the alert of check `d` to `url`; returns what happened, for the record.
async fn post_alert(http: &reqwest::Client, url: &str, d: &ModelDrift) -> String {
    let body = serde_json::json!({
        "event": "model_drift_alert",
        "drift_id": d.id,
        "model_id": d.model_id,
        "model_name": d.model_name,
        "model_version": d.model_version,
        "band": d.report.band,
        "alerting": d.report.alerting,
        "prediction_psi": d.report.prediction.as_ref().map(|p| p.psi),
        "from": d.from,
        "to": d.to,
        "computed_at": d.computed_at,
    });
    match http.post(url).json(&body).send().await {
        Ok(r) => format!("sent: {}", r.status().as_u16()),
        Err(e) => {
            tracing::warn!(%url, error = %e, "drift alert webhook failed");
            format!("failed: {e}")
        }
    }
}

fn rows(panel: &sextant_features::FeaturePanel) -> Vec<Vec<f64>> {
    (0..panel.len()).map(|i| panel.row(i)).collect()
}

impl MlSignalService {
    /// Compares model `id`'s features and predictions in `from..=to` with its training rows,
    /// stores the report and returns it.
    pub async fn drift(
        &self,
        id: &str,
        from: NaiveDate,
        to: NaiveDate,
        bands: Bands,
    ) -> Result<ModelDrift, SignalError> {
        if to < from {
            return Err(SignalError::Invalid(format!(
                "drift window ends ({to}) before it starts ({from})"
            )));
        }
        let rec = self.get(id).await?;
        let (reference, current, ref_pred, cur_pred) = self.drift_rows(&rec, from, to)?;
        let report = sextant_mlops::monitor::compare(
            &rec.features,
            &reference,
            &current,
            Some((&ref_pred, &cur_pred)),
            bands,
            &[],
        )
        .map_err(|e| SignalError::Invalid(e.to_string()))?;
        let mut drift = ModelDrift {
            id: format!("drf_{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
            model_id: rec.id.clone(),
            model_name: rec.name.clone(),
            model_version: rec.version,
            reference_from: rec.metrics.train_first.map(|t| t.date()),
            reference_to: rec.metrics.train_last.map(|t| t.date()),
            reference_rows: reference.len(),
            from,
            to,
            current_rows: current.len(),
            report,
            computed_at: Utc::now(),
            webhook: None,
        };
        if drift.report.band >= sextant_mlops::drift::DriftBand::Alert {
            tracing::warn!(model = %rec.id, features = ?drift.report.alerting, "model drift alert");
            if let Some((url, http)) = &self.drift_webhook {
                drift.webhook = Some(post_alert(http, url, &drift).await);
            }
        }
        let doc = serde_json::to_value(&drift).map_err(|e| SignalError::Corrupt(e.to_string()))?;
        self.meta.insert(DRIFT_REPORTS, doc).await?;
        Ok(drift)
    }

    /// Stored drift checks of model `id`, newest first.
    pub async fn drift_reports(
        &self,
        id: &str,
        limit: u64,
    ) -> Result<Vec<ModelDrift>, SignalError> {
        let q = Query::new()
            .filter(Filter::new().eq("model_id", id))
            .sort_desc("computed_at")
            .limit(limit);
        self.meta
            .find(DRIFT_REPORTS, &q)
            .await?
            .into_iter()
            .map(|d| serde_json::from_value(d).map_err(|e| SignalError::Corrupt(e.to_string())))
            .collect()
    }

    /// The feature rows of the model's training span and of `from..=to` (the model's view
    /// version, its symbols), after making sure the view holds the current bars.
    pub(crate) fn training_and_window(
        &self,
        rec: &ModelRecord,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<
        (
            sextant_features::FeaturePanel,
            sextant_features::FeaturePanel,
        ),
        SignalError,
    > {
        self.ensure_fresh(rec)?;
        let (Some(first), Some(last)) = (rec.metrics.train_first, rec.metrics.train_last) else {
            return Err(SignalError::Invalid(format!(
                "model {} records no training span",
                rec.id
            )));
        };
        let panel = |a, b| {
            self.cache.feature_panel(
                &rec.view,
                Some(&rec.view_version),
                &rec.request.symbols,
                Some(a),
                Some(b),
            )
        };
        let window = panel(
            from.and_hms_opt(0, 0, 0).unwrap_or(first),
            to.and_hms_opt(23, 59, 59).unwrap_or(last),
        )?;
        Ok((panel(first, last)?, window))
    }

    /// The model's training rows and the window's rows, with the model's probabilities on both.
    #[allow(clippy::type_complexity)]
    fn drift_rows(
        &self,
        rec: &ModelRecord,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<f64>, Vec<f64>), SignalError> {
        let model = self.model(rec)?;
        let (reference, current) = self.training_and_window(rec, from, to)?;
        let (reference, current) = (rows(&reference), rows(&current));
        if current.is_empty() {
            return Err(SignalError::Invalid(format!(
                "no feature rows of {} between {from} and {to}",
                rec.request
                    .symbols
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let score = |r: &[Vec<f64>]| {
            r.iter()
                .map(|x| model.predict_proba(x))
                .collect::<Vec<f64>>()
        };
        let (rp, cp) = (score(&reference), score(&current));
        Ok((reference, current, rp, cp))
    }
}
