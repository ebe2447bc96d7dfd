//! A forecast calibration as a tracked run: the request as params, each model's scores per
//! horizon as metrics stepped by horizon (CRPS, pinball loss, band coverage), the whole report as
//! an artifact; mirrored to MLflow (experiment `<prefix>/forecast-eval`) when configured.
//!
//! Tracking never fails the calibration: an outage is logged and recorded on the run.

use super::calibration::{CalibrationReport, CalibrationRequest};
use sextant_mlops::tracking::{NewRun, RunKind, Tracker};

/// Tracks each report of one calibration request; returns the tracked run ids (a report that
/// could not be tracked is logged and left out).
pub async fn track_calibration(
    tracker: &Tracker,
    reports: &[CalibrationReport],
    req: &CalibrationRequest,
    owner: &str,
    started_ms: i64,
) -> Vec<String> {
    let mut ids = Vec::new();
    for r in reports {
        let mut metrics = Vec::new();
        for m in r.models.iter().filter(|m| m.error.is_none()) {
            for h in &m.horizons {
                let step = h.horizon as i64;
                metrics.push((format!("{}_crps", m.model), h.crps, step));
                metrics.push((format!("{}_pinball", m.model), h.pinball, step));
                for b in &h.bands {
                    let level = (b.level * 100.0).round() as i64;
                    metrics.push((format!("{}_coverage_{level}", m.model), b.coverage, step));
                }
            }
        }
        let report = match serde_json::to_vec_pretty(r) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(target_ = %r.target, error = %e, "calibration not tracked");
                continue;
            }
        };
        let models: Vec<String> = r.models.iter().map(|m| m.model.to_string()).collect();
        let horizons: Vec<String> = req.horizons.iter().map(usize::to_string).collect();
        let best: Vec<(String, String)> = r
            .best
            .iter()
            .map(|b| (format!("best_h{}", b.horizon), b.model.to_string()))
            .collect();
        let run = NewRun {
            name: format!("calibration {}", r.target),
            subject: r.target.clone(),
            started_ms,
            ended_ms: chrono::Utc::now().timestamp_millis(),
            params: [
                ("target".to_string(), r.target.clone()),
                ("models".into(), models.join(",")),
                ("horizons".into(), horizons.join(",")),
                ("paths".into(), req.paths.to_string()),
                ("step".into(), req.step.to_string()),
                ("min_history".into(), req.min_history.to_string()),
                ("refit_every".into(), req.refit_every.to_string()),
                ("seed".into(), req.seed.to_string()),
                ("first_origin".into(), r.first_origin.to_string()),
                ("last_origin".into(), r.last_origin.to_string()),
                ("origins".into(), r.origins.to_string()),
            ]
            .into_iter()
            .chain(req.as_of.map(|d| ("as_of".to_string(), d.to_string())))
            .collect(),
            tags: best,
            metrics,
            artifacts: vec![("calibration.json".into(), report)],
            data_snapshot: None,
            code_version: crate::signals::registry::code_version(),
            owner: owner.to_string(),
            registration: None,
        };
        match tracker.record(RunKind::ForecastEval, run).await {
            Ok(t) => ids.push(t.id),
            Err(e) => tracing::warn!(target_ = %r.target, error = %e, "calibration not tracked"),
        }
    }
    ids
}
