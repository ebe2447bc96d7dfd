//! Every completed (or extended) study is a tracked run: the request as params, the objective of
//! each complete trial as a metric stepped by trial number, the deflated Sharpe ratio and PBO,
//! and the analysis as an artifact; mirrored to MLflow (experiment `sextant/tuning`) when
//! configured. Tracking never fails the study.

use super::store::{StudyRecord, TrialRecord};
use super::TuningService;
use sextant_mlops::tracking::{NewRun, RunKind};
use sextant_tuning::TrialState;

impl TuningService {
    /// Records `rec` (just completed) with its `trials`.
    pub(crate) async fn track_study(&self, rec: &StudyRecord, trials: &[TrialRecord]) {
        let Some(tracker) = &self.tracker else { return };
        let mut params = Vec::new();
        if let Some(map) = serde_json::to_value(&rec.request)
            .ok()
            .and_then(|v| v.as_object().cloned())
        {
            for (k, v) in map {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                params.push((k, text));
            }
        }
        let mut metrics: Vec<(String, f64, i64)> = trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter_map(|t| {
                t.values
                    .first()
                    .map(|v| ("objective".to_string(), *v, i64::from(t.number)))
            })
            .collect();
        // A complete study always carries its analysis; without one there is nothing to track.
        let Some(a) = rec.analysis.clone() else {
            return tracing::warn!(study = %rec.id, "complete study without an analysis: not tracked");
        };
        for (key, ptr) in [
            ("dsr", "/deflated_sharpe/dsr"),
            ("pbo", "/pbo/pbo"),
            ("oos_sharpe", "/out_of_sample/sharpe"),
            ("oos_baseline_sharpe", "/out_of_sample/baseline_sharpe"),
        ] {
            if let Some(v) = a.pointer(ptr).and_then(serde_json::Value::as_f64) {
                metrics.push((key.to_string(), v, 0));
            }
        }
        for (k, v) in [
            ("trials_complete", rec.counts.complete),
            ("trials_pruned", rec.counts.pruned),
            ("trials_failed", rec.counts.failed),
        ] {
            metrics.push((k.to_string(), v as f64, 0));
        }
        let run = NewRun {
            name: format!(
                "study {}",
                rec.name.clone().unwrap_or_else(|| rec.id.clone())
            ),
            subject: rec.id.clone(),
            started_ms: rec.created_at.timestamp_millis(),
            ended_ms: rec.updated_at.timestamp_millis(),
            params,
            tags: vec![
                ("sextant.strategy".into(), rec.strategy.clone()),
                ("sextant.engine".into(), rec.engine_version.clone()),
            ],
            metrics,
            artifacts: vec![("analysis.json".into(), a.to_string().into_bytes())],
            data_snapshot: Some(rec.data_snapshot.clone()),
            code_version: crate::signals::registry::code_version(),
            owner: rec.owners.first().cloned().unwrap_or_else(|| "cli".into()),
            registration: None,
        };
        match tracker.record(RunKind::Tuning, run).await {
            Ok(r) => {
                tracing::info!(study = %rec.id, run = %r.id, mlflow = %r.mlflow.state, "study tracked")
            }
            Err(e) => tracing::warn!(study = %rec.id, error = %e, "study not tracked"),
        }
    }
}
