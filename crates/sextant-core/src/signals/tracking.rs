//! Every newly registered model is a tracked run (params, metrics with steps, the model and its
//! SHAP summary as artifacts, the data snapshot, the code version), mirrored to MLflow when
//! configured, where the version is registered as `sextant-<name>` with alias `staging`;
//! promoting it to production moves MLflow's `production` alias too.
//!
//! Tracking never fails a training or a promotion: an outage is logged and recorded on the run
//! (`sextant mlops sync` retries).

use super::registry::{artifact_path, ModelRecord, ModelStage};
use super::MlSignalService;
use sextant_ml::ClassificationReport;
use sextant_mlops::tracking::{NewRun, Registration, RunKind};

/// Flattens a JSON object into `(prefix + key, text)` pairs (nested values as compact JSON).
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    if let Some(map) = v.as_object() {
        for (k, v) in map {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push((format!("{prefix}{k}"), text));
        }
    }
}

fn report(out: &mut Vec<(String, f64, i64)>, prefix: &str, r: &ClassificationReport, step: i64) {
    for (k, v) in [
        ("auc", r.auc),
        ("log_loss", r.log_loss),
        ("brier", r.brier),
        ("accuracy", r.accuracy),
        ("ece", r.ece),
        ("baseline_log_loss", r.baseline_log_loss),
    ] {
        out.push((format!("{prefix}_{k}"), v, step));
    }
}

impl MlSignalService {
    /// Records `rec`'s training as a tracked run (and its MLflow export).
    pub(crate) async fn track_training(&self, rec: &ModelRecord) {
        let Some(tracker) = &self.tracker else { return };
        let (request, gbt, record) = match (
            serde_json::to_value(&rec.request),
            serde_json::to_value(&rec.params),
            serde_json::to_vec_pretty(rec),
        ) {
            (Ok(a), Ok(b), Ok(c)) => (a, b, c),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                return tracing::warn!(model = %rec.id, error = %e, "training not tracked");
            }
        };
        let mut params = Vec::new();
        flatten("", &request, &mut params);
        flatten("gbt_", &gbt, &mut params);
        params.retain(|(k, _)| k != "gbt_seed");
        let mut metrics = Vec::new();
        report(&mut metrics, "in_sample", &rec.metrics.in_sample, 0);
        if let Some(cv) = &rec.metrics.cross_validation {
            report(&mut metrics, "cv", &cv.report, 0);
            for (i, f) in cv.folds.iter().enumerate() {
                metrics.push(("cv_fold_auc".into(), f.auc, i as i64));
            }
        }
        if let Some(h) = &rec.metrics.holdout {
            report(&mut metrics, "holdout", h, 0);
        }
        metrics.push(("train_samples".into(), rec.metrics.train_samples as f64, 0));
        metrics.push(("test_samples".into(), rec.metrics.test_samples as f64, 0));
        for (f, v) in &rec.metrics.importance {
            metrics.push((format!("importance_{f}"), *v, 0));
        }
        let mut artifacts = Vec::new();
        match std::fs::read(artifact_path(&self.models_dir, &rec.artifact_sha256)) {
            Ok(b) => artifacts.push(("model/model.json".to_string(), b)),
            Err(e) => {
                tracing::warn!(model = %rec.id, error = %e, "model artifact unreadable; tracked without it")
            }
        }
        let shap = serde_json::json!({"mean_abs_shap_log_odds": rec.metrics.importance});
        artifacts.push(("shap_summary.json".into(), shap.to_string().into_bytes()));
        artifacts.push(("record.json".into(), record));
        let ms = rec.created_at.timestamp_millis();
        let run = NewRun {
            name: format!("train {} v{}", rec.name, rec.version),
            subject: rec.id.clone(),
            started_ms: ms,
            ended_ms: ms,
            params,
            tags: vec![
                ("sextant.model_name".into(), rec.name.clone()),
                (
                    "sextant.view".into(),
                    format!("{}@{}", rec.view, rec.view_version),
                ),
                ("sextant.stage".into(), rec.stage.to_string()),
            ],
            metrics,
            artifacts,
            data_snapshot: Some(rec.data_snapshot.clone()),
            code_version: rec.code_version.clone(),
            owner: rec.owner.clone().unwrap_or_else(|| "cli".into()),
            registration: Some(Registration {
                name: rec.name.clone(),
                artifact_dir: "model".into(),
                alias: "staging".into(),
            }),
        };
        match tracker.record(RunKind::Training, run).await {
            Ok(r) => {
                tracing::info!(model = %rec.id, run = %r.id, mlflow = %r.mlflow.state, "training tracked")
            }
            Err(e) => tracing::warn!(model = %rec.id, error = %e, "training not tracked"),
        }
    }

    /// Moves MLflow's alias to `rec`'s version when it became the production model.
    pub(crate) async fn mirror_stage(&self, rec: &ModelRecord) {
        let Some(tracker) = &self.tracker else { return };
        if rec.stage != ModelStage::Production || tracker.mlflow().is_none() {
            return;
        }
        let runs = match tracker
            .list(Some(RunKind::Training), Some(&rec.id), 1)
            .await
        {
            Ok(r) => r,
            Err(e) => return tracing::warn!(model = %rec.id, error = %e, "tracked run unreadable"),
        };
        for run in runs {
            if let Err(e) = tracker.set_alias(&run, "production").await {
                tracing::warn!(model = %rec.id, error = %e, "MLflow production alias not moved");
            }
        }
    }
}
