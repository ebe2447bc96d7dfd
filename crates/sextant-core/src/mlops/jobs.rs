//! The job kinds of model operations: `retrain_model` and `drift_check`.

use super::retrain::{RetrainParams, RetrainStep, DEFAULT_WINDOW_DAYS};
use super::{MlopsService, OpsError};
use crate::jobs::{parse_params, JobContext, JobError, JobHandler, JobKind};
use crate::signals::drift::ModelDrift;
use crate::signals::{ModelStage, SignalError};
use async_trait::async_trait;
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

/// What a `drift_check` job is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftCheckParams {
    /// A model name or id. Default: every production model.
    #[serde(default)]
    pub model: Option<String>,
    /// Window before the data end, in calendar days (30 to 3650). Default 182.
    #[serde(default)]
    pub window_days: Option<u32>,
    /// The window's last day. Default: the model's data end.
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
}

impl MlopsService {
    /// Checks the drift of one model, or of every production model, over the window ending at
    /// each model's data end (or `as_of`). Reports are stored; crossing a band logs an alert
    /// and shows in [`crate::signals::drift::ModelDrift::report`]'s band.
    pub async fn drift_check(&self, p: &DriftCheckParams) -> Result<Vec<ModelDrift>, OpsError> {
        let window = i64::from(p.window_days.unwrap_or(DEFAULT_WINDOW_DAYS));
        if !(30..=3650).contains(&window) {
            return Err(OpsError::Invalid(format!(
                "window_days must be 30 to 3650, not {window}"
            )));
        }
        let models = match &p.model {
            Some(m) => vec![self.signals.resolve(m).await?],
            None => self
                .signals
                .list(None)
                .await?
                .into_iter()
                .filter(|m| m.stage == ModelStage::Production)
                .collect(),
        };
        let mut out = Vec::with_capacity(models.len());
        for m in models {
            let to = match p.as_of {
                Some(d) => d,
                None => self.signals.data_end(&m)?,
            };
            let from = to - Duration::days(window);
            match self.signals.drift(&m.id, from, to, self.bands).await {
                Ok(d) => out.push(d),
                // One model without rows in the window does not stop the others.
                Err(SignalError::Invalid(e)) if p.model.is_none() => {
                    tracing::warn!(model = %m.id, error = %e, "drift check skipped")
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }
}

impl MlopsService {
    /// Drift checks of the production models trained on any of `symbols` (after a refresh of
    /// them), each over the window of [`DEFAULT_WINDOW_DAYS`] ending at its newest data.
    pub async fn drift_touching(
        &self,
        symbols: &[sextant_domain::Symbol],
    ) -> Vec<(String, Result<ModelDrift, OpsError>)> {
        let models = match self.signals.list(None).await {
            Ok(m) => m,
            Err(e) => return vec![("(registry)".into(), Err(e.into()))],
        };
        let mut out = Vec::new();
        for m in models.into_iter().filter(|m| {
            m.stage == ModelStage::Production
                && m.request.symbols.iter().any(|s| symbols.contains(s))
        }) {
            let p = DriftCheckParams {
                model: Some(m.id.clone()),
                window_days: None,
                as_of: None,
            };
            let r = self
                .drift_check(&p)
                .await
                .and_then(|mut v| v.pop().ok_or_else(|| OpsError::NotFound(m.id.clone())));
            out.push((m.id, r));
        }
        out
    }
}

fn job_error(e: OpsError) -> JobError {
    match e {
        OpsError::Invalid(m) => JobError::InvalidParams(m),
        OpsError::Signal(SignalError::Ml(sextant_ml::MlError::Cancelled)) => JobError::Cancelled,
        OpsError::Signal(SignalError::Invalid(m)) => JobError::InvalidParams(m),
        e => JobError::Failed(e.to_string()),
    }
}

/// `retrain_model`: params are [`RetrainParams`]; the result is the [`super::RetrainOutcome`].
/// The candidate is trained on a worker when one serves [`crate::scale::SIGNAL_TRAINING`]
/// (the same model as a local training: same request, data and seed), here otherwise.
/// Resumable: training is idempotent and a repeated decision is recorded again, not applied
/// twice differently.
pub struct RetrainModelJob {
    /// The service that retrains and judges.
    pub mlops: Arc<MlopsService>,
    /// Trains the candidate here and registers one trained on a worker.
    pub signals: Arc<crate::signals::MlSignalService>,
    /// Sends the candidate's training to a worker when a NATS queue is configured.
    pub scale: Option<Arc<crate::scale::ScaleOut>>,
}

#[async_trait]
impl JobHandler for RetrainModelJob {
    fn kind(&self) -> &'static str {
        JobKind::RetrainModel.name()
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        parse_params::<RetrainParams>(params)?
            .validate()
            .map_err(job_error)
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p: RetrainParams = parse_params(&params)?;
        ctx.check()?;
        ctx.progress(0.0, format!("retraining {}", p.model)).await;
        let pending = match self.mlops.retrain_begin(&p).await.map_err(job_error)? {
            RetrainStep::Done(out) => return outcome(&ctx, &out).await,
            RetrainStep::Train(pending) => *pending,
        };
        let req = pending.request().clone();
        let remote = match &self.scale {
            Some(scale) if ctx.can_fan_out(crate::scale::SIGNAL_TRAINING).await => Some(scale),
            _ => None,
        };
        let candidate = match remote {
            Some(scale) => {
                crate::jobs::train_signal::train_on_worker(
                    &ctx,
                    scale,
                    &self.signals,
                    req,
                    pending.owner(),
                )
                .await?
            }
            None => {
                let token = ctx.cancellation_token();
                let stop = Arc::new(move || token.is_cancelled());
                self.signals
                    .train_with_stop(req, stop, pending.owner())
                    .await
                    .map_err(|e| job_error(e.into()))?
            }
        };
        let out = self
            .mlops
            .retrain_finish(&p, pending, candidate, Some(ctx.job_id()))
            .await
            .map_err(job_error)?;
        outcome(&ctx, &out).await
    }
}

/// A `retrain_model` job's result (and its last progress).
async fn outcome(ctx: &JobContext, out: &super::RetrainOutcome) -> Result<Value, JobError> {
    ctx.progress(1.0, out.reason.clone()).await;
    serde_json::to_value(out).map_err(|e| JobError::Failed(e.to_string()))
}

/// `drift_check`: params are [`DriftCheckParams`]; the result lists each model's report id and
/// band. Resumable: a check only reads and appends a report.
pub struct DriftCheckJob {
    /// The service that checks.
    pub mlops: Arc<MlopsService>,
}

#[async_trait]
impl JobHandler for DriftCheckJob {
    fn kind(&self) -> &'static str {
        JobKind::DriftCheck.name()
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        let p = parse_params::<DriftCheckParams>(params)?;
        match p.window_days {
            Some(d) if !(30..=3650).contains(&d) => Err(JobError::InvalidParams(format!(
                "window_days must be 30 to 3650, not {d}"
            ))),
            _ => Ok(()),
        }
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let p: DriftCheckParams = parse_params(&params)?;
        ctx.check()?;
        let reports = self.mlops.drift_check(&p).await.map_err(job_error)?;
        let alerts = reports
            .iter()
            .filter(|d| d.report.band >= sextant_mlops::drift::DriftBand::Alert)
            .count();
        ctx.progress(
            1.0,
            format!("{} models checked, {alerts} alerting", reports.len()),
        )
        .await;
        Ok(json!({
            "checked": reports.iter().map(|d| json!({
                "model_id": d.model_id, "drift_id": d.id, "band": d.report.band,
                "alerting": d.report.alerting, "from": d.from, "to": d.to,
            })).collect::<Vec<_>>(),
            "alerts": alerts,
        }))
    }
}
