//! A retrain: check the trigger, train a candidate on data up to "as of" with a holdout at the
//! end, and let the promotion rule judge it against production. The candidate always lands in
//! staging; only the rule (or a person) moves it.

use super::promotions::PromotionActor;
use super::{MlopsService, OpsError};
use crate::signals::{ModelRecord, ModelStage, TrainRequest};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sextant_mlops::drift::DriftBand;
use sextant_mlops::promotion::{Decision, PromotionRule};
use sextant_mlops::schedule::Trigger;
use std::sync::Arc;

/// Default drift window before "as of", in calendar days (about 126 sessions: with two symbols,
/// the 250 rows a drift check needs to be judged).
pub const DEFAULT_WINDOW_DAYS: u32 = 182;
/// Default holdout at the end of a retrain's data, in calendar days.
pub const DEFAULT_HOLDOUT_DAYS: u32 = 182;

/// What a `retrain_model` job is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrainParams {
    /// The model's registry name (or an id: then its name).
    pub model: String,
    /// When to act. Default: every time.
    #[serde(default = "every")]
    pub trigger: Trigger,
    /// The last day of data to use. Default: the newest day with features for every symbol of
    /// the model (data time, not the wall clock, so history can be replayed).
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
    /// Drift window before `as_of`, in calendar days (drift triggers). Default 182.
    #[serde(default)]
    pub window_days: Option<u32>,
    /// Holdout at the end of the data, in calendar days. Default 182.
    #[serde(default)]
    pub holdout_days: Option<u32>,
    /// The promotion rule's thresholds. Default: [`PromotionRule::default`].
    #[serde(default)]
    pub rule: Option<PromotionRule>,
    /// The schedule that fired it, if any (recorded with the decision).
    #[serde(default)]
    pub schedule: Option<String>,
}

fn every() -> Trigger {
    Trigger::Every
}

impl RetrainParams {
    /// Refuses windows outside 30..=3650 days and invalid triggers or rules.
    pub fn validate(&self) -> Result<(), OpsError> {
        self.trigger.validate()?;
        for (what, v) in [
            ("window_days", self.window_days),
            ("holdout_days", self.holdout_days),
        ] {
            if let Some(d) = v.filter(|d| !(30..=3650).contains(d)) {
                return Err(OpsError::Invalid(format!(
                    "{what} must be 30 to 3650, not {d}"
                )));
            }
        }
        if let Some(r) = &self.rule {
            r.validate()?;
        }
        Ok(())
    }
}

/// What a retrain did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainOutcome {
    /// The model name.
    pub model: String,
    /// The data end used.
    pub as_of: NaiveDate,
    /// Whether a candidate was trained (false: the trigger did not hold, or no new data).
    pub retrained: bool,
    /// Why (or why not), in one sentence.
    pub reason: String,
    /// The drift check the trigger read (drift triggers).
    pub drift_id: Option<String>,
    /// The drift band it found.
    pub drift_band: Option<DriftBand>,
    /// The candidate's id (in staging unless the rule promoted it).
    pub candidate: Option<String>,
    /// Its stage after the rule.
    pub candidate_stage: Option<ModelStage>,
    /// The production model it was judged against.
    pub production: Option<String>,
    /// The rule's decision.
    pub decision: Option<Decision>,
}

/// A retrain between its two halves: the trigger held and this request is to be trained
/// (here, or on a worker: [`crate::mlops::jobs::RetrainModelJob`]).
#[derive(Debug, Clone)]
pub struct PendingRetrain {
    req: TrainRequest,
    base: ModelRecord,
    production: Option<ModelRecord>,
    as_of: NaiveDate,
    out: RetrainOutcome,
}

impl PendingRetrain {
    /// The candidate's training request: the base model's, with the data ending at "as of"
    /// and the holdout after the training period.
    pub fn request(&self) -> &TrainRequest {
        &self.req
    }

    /// Whom the candidate belongs to: the base model's owner.
    pub fn owner(&self) -> Option<&str> {
        self.base.owner.as_deref()
    }
}

/// The first half of a retrain.
#[derive(Debug, Clone)]
pub enum RetrainStep {
    /// Nothing to train (the trigger did not hold): the outcome says why.
    Done(Box<RetrainOutcome>),
    /// Train this, then [`MlopsService::retrain_finish`].
    Train(Box<PendingRetrain>),
}

impl MlopsService {
    /// Runs one retrain (see the module docs), training here. `stop` cancels training between
    /// trees.
    pub async fn retrain(
        &self,
        p: &RetrainParams,
        stop: Arc<dyn Fn() -> bool + Send + Sync>,
        job: Option<&str>,
    ) -> Result<RetrainOutcome, OpsError> {
        match self.retrain_begin(p).await? {
            RetrainStep::Done(out) => Ok(*out),
            RetrainStep::Train(pending) => {
                let candidate = self
                    .signals
                    .train_with_stop(pending.req.clone(), stop, pending.owner())
                    .await?;
                self.retrain_finish(p, *pending, candidate, job).await
            }
        }
    }

    /// Validates, resolves the base and production models and checks the trigger; when it
    /// holds, the request of the candidate to train.
    pub async fn retrain_begin(&self, p: &RetrainParams) -> Result<RetrainStep, OpsError> {
        p.validate()?;
        let base = self.signals.resolve(&p.model).await?;
        // The production model of the name: the base itself, or (when retraining from another
        // version) the one that scores the name now.
        let production = if base.stage == ModelStage::Production {
            Some(base.clone())
        } else {
            Some(self.signals.resolve(&base.name).await?)
                .filter(|m| m.stage == ModelStage::Production)
        };
        let as_of = match p.as_of {
            Some(d) => d,
            None => self.signals.data_end(&base)?,
        };
        let mut out = RetrainOutcome {
            model: base.name.clone(),
            as_of,
            retrained: false,
            reason: String::new(),
            drift_id: None,
            drift_band: None,
            candidate: None,
            candidate_stage: None,
            production: production.as_ref().map(|m| m.id.clone()),
            decision: None,
        };
        if let Some(why_not) = self.trigger_holds(p, &base, as_of, &mut out).await? {
            out.reason = why_not;
            return Ok(RetrainStep::Done(Box::new(out)));
        }
        let holdout = i64::from(p.holdout_days.unwrap_or(DEFAULT_HOLDOUT_DAYS));
        let mut req = base.request.clone();
        let train_to = as_of - Duration::days(holdout);
        if let Some(from) = req.train_from.filter(|f| *f >= train_to) {
            return Err(OpsError::Invalid(format!(
                "as of {as_of} with a {holdout}-day holdout leaves no training period after {from}"
            )));
        }
        req.train_to = Some(train_to);
        req.test_from = train_to.succ_opt();
        req.test_to = Some(as_of);
        Ok(RetrainStep::Train(Box::new(PendingRetrain {
            req,
            base,
            production,
            as_of,
            out,
        })))
    }

    /// The second half: judges the trained `candidate` against production with the promotion
    /// rule and applies the decision.
    pub async fn retrain_finish(
        &self,
        p: &RetrainParams,
        pending: PendingRetrain,
        candidate: ModelRecord,
        job: Option<&str>,
    ) -> Result<RetrainOutcome, OpsError> {
        let PendingRetrain {
            base,
            production,
            as_of,
            mut out,
            ..
        } = pending;
        if candidate.id == base.id || candidate.stage != ModelStage::Staging {
            out.reason = format!(
                "no new model: training on data up to {as_of} gives {} ({})",
                candidate.id, candidate.stage
            );
            out.candidate = Some(candidate.id);
            out.candidate_stage = Some(candidate.stage);
            return Ok(out);
        }
        out.retrained = true;
        out.candidate = Some(candidate.id.clone());
        let decision = self
            .judge(&candidate, production.as_ref(), p, as_of)
            .await?;
        let actor = PromotionActor::Rule {
            schedule: p.schedule.clone(),
            job: job.map(str::to_string),
        };
        let after = self
            .apply_decision(&candidate, production.as_ref(), decision.clone(), actor)
            .await?;
        out.candidate_stage = Some(after.stage);
        out.reason = decision.reason.clone();
        out.decision = Some(decision);
        Ok(out)
    }

    /// `None` when the trigger holds; otherwise why it does not.
    async fn trigger_holds(
        &self,
        p: &RetrainParams,
        base: &ModelRecord,
        as_of: NaiveDate,
        out: &mut RetrainOutcome,
    ) -> Result<Option<String>, OpsError> {
        Ok(match p.trigger {
            Trigger::Every => None,
            Trigger::Age { max_days } => {
                let age = (Utc::now() - base.created_at).num_days();
                (age < i64::from(max_days)).then(|| {
                    format!(
                        "model {} is {age} days old, under {max_days}: not retrained",
                        base.id
                    )
                })
            }
            Trigger::Drift { band } => {
                let window = i64::from(p.window_days.unwrap_or(DEFAULT_WINDOW_DAYS));
                let from = as_of - Duration::days(window);
                let d = self
                    .signals
                    .drift(&base.id, from, as_of, self.bands)
                    .await?;
                out.drift_id = Some(d.id.clone());
                out.drift_band = Some(d.report.band);
                if !d.report.judged {
                    Some(format!(
                        "drift window {from}..{as_of} has {} rows, too few to judge: not retrained",
                        d.current_rows
                    ))
                } else if d.report.band < band {
                    Some(format!(
                        "drift {from}..{as_of} is at band {}, below {band}: not retrained",
                        d.report.band
                    ))
                } else {
                    None
                }
            }
        })
    }

    /// The promotion rule on the candidate's holdout. Without a production model, or when the
    /// comparison is refused (different features, production trained on the holdout), the
    /// decision is "not promoted" with the reason: a person decides.
    async fn judge(
        &self,
        candidate: &ModelRecord,
        production: Option<&ModelRecord>,
        p: &RetrainParams,
        as_of: NaiveDate,
    ) -> Result<Decision, OpsError> {
        let refuse = |reason: String| Decision {
            promote: false,
            reason,
            evidence: None,
        };
        let Some(prod) = production else {
            return Ok(refuse(format!(
                "not promoted: no production model of {} to compare with; promote by hand",
                candidate.name
            )));
        };
        let paired = match self.signals.paired_holdout(candidate, prod).await {
            Ok(x) => x,
            Err(crate::signals::SignalError::Invalid(m)) => {
                return Ok(refuse(format!("not promoted: {m}")))
            }
            Err(e) => return Err(e.into()),
        };
        let rule = p.rule.unwrap_or_default();
        // The seed is fixed by what is judged, so the same retrain decides the same way.
        let seed = as_of.num_days_from_ce().unsigned_abs() as u64 ^ 0x5eed;
        Ok(sextant_mlops::promotion::decide(
            &paired.candidate,
            &paired.production,
            paired.auc_candidate,
            paired.auc_production,
            &rule,
            seed,
        )?)
    }
}
