//! Retraining and drift-check schedules, persisted in the metadata store ([`SCHEDULES`]) and
//! fired by [`Scheduler`] through the job system.
//!
//! Firing is exactly-once per slot across restarts and processes: a due schedule is claimed by
//! a compare-and-set on its `next_run_ms` (which moves to the next slot in the same write), and
//! only the winner submits the job. Slots missed while the service was down collapse into one
//! catch-up run. A claim whose job was never submitted (the process died in between) is
//! re-submitted by the next tick after [`STRANDED_AFTER_MS`]: retrains and drift checks are
//! idempotent, so a rare duplicate is harmless, a lost run is not.

use super::jobs::DriftCheckParams;
use super::retrain::RetrainParams;
use super::{from_doc, to_doc, MlopsService, OpsError};
use crate::common::Actor;
use crate::jobs::{JobKind, JobManager};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_meta::{Filter, Query};
use sextant_mlops::promotion::PromotionRule;
use sextant_mlops::schedule::{Action, CronPattern, Trigger};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Collection of schedules.
pub const SCHEDULES: &str = "mlops_schedules";
/// A claim older than this (1 min) without a submitted job is submitted again.
pub const STRANDED_AFTER_MS: i64 = 60_000;
/// Most schedules one owner may keep.
pub const MAX_SCHEDULES_PER_OWNER: u64 = 100;

/// A schedule as created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// 1 to 64 characters of letters, digits, `_` and `-`; unique.
    pub name: String,
    /// The model's registry name.
    pub model: String,
    /// Five-field cron pattern in UTC, or an alias (`@weekly`).
    pub cron: String,
    /// When a slot acts. Default: every slot.
    #[serde(default = "every")]
    pub trigger: Trigger,
    /// What a slot does. Default: retrain.
    #[serde(default = "retrain")]
    pub action: Action,
    /// Drift window before the data end, in calendar days. Default 182.
    #[serde(default)]
    pub window_days: Option<u32>,
    /// Holdout of a retrain, in calendar days. Default 182.
    #[serde(default)]
    pub holdout_days: Option<u32>,
    /// The promotion rule's thresholds. Default: the rule's defaults.
    #[serde(default)]
    pub rule: Option<PromotionRule>,
}

fn every() -> Trigger {
    Trigger::Every
}
fn retrain() -> Action {
    Action::Retrain
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// `sch_` + 20 hex digits.
    #[serde(rename = "_id")]
    pub id: String,
    /// What was asked for.
    pub spec: ScheduleInput,
    /// The pattern in words.
    pub describe: String,
    /// Whether it fires.
    pub enabled: bool,
    /// Who created it; its jobs run as this owner.
    pub owner: String,
    /// The next slot, epoch milliseconds (UTC).
    pub next_run_ms: i64,
    /// The last slot fired, epoch milliseconds.
    pub last_fired_ms: Option<i64>,
    /// The job the last slot submitted.
    pub last_job_id: Option<String>,
    /// Set while a claimed slot's job is being submitted.
    pub pending_at_ms: Option<i64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Schedule {
    /// The job kind and parameters one slot submits.
    pub fn job(&self) -> Result<(JobKind, serde_json::Value), OpsError> {
        let i = &self.spec;
        Ok(match i.action {
            Action::Retrain => (
                JobKind::RetrainModel,
                to_doc(&RetrainParams {
                    model: i.model.clone(),
                    trigger: i.trigger,
                    as_of: None,
                    window_days: i.window_days,
                    holdout_days: i.holdout_days,
                    rule: i.rule,
                    schedule: Some(self.id.clone()),
                })?,
            ),
            Action::DriftCheck => (
                JobKind::DriftCheck,
                to_doc(&DriftCheckParams {
                    model: Some(i.model.clone()),
                    window_days: i.window_days,
                    as_of: None,
                })?,
            ),
        })
    }
}

impl MlopsService {
    /// Stores a schedule owned by `owner`; its first slot is the first after `now_ms`.
    pub async fn create_schedule(
        &self,
        input: ScheduleInput,
        owner: &str,
        now_ms: i64,
    ) -> Result<Schedule, OpsError> {
        let name = crate::signals::clean_name(&input.name)?;
        let pattern = CronPattern::parse(&input.cron)?;
        input.trigger.validate()?;
        if input.action == Action::DriftCheck && input.trigger != Trigger::Every {
            return Err(OpsError::Invalid(
                "a drift_check schedule checks at every slot: use trigger every".into(),
            ));
        }
        let probe = RetrainParams {
            model: input.model.clone(),
            trigger: input.trigger,
            as_of: None,
            window_days: input.window_days,
            holdout_days: input.holdout_days,
            rule: input.rule,
            schedule: None,
        };
        probe.validate()?;
        self.signals.resolve(&input.model).await?;
        self.meta.ensure_index(SCHEDULES, "spec.name", true).await?;
        self.meta
            .ensure_index(SCHEDULES, "next_run_ms", false)
            .await?;
        let owned = self
            .meta
            .count(SCHEDULES, &Filter::new().eq("owner", owner))
            .await?;
        if owned >= MAX_SCHEDULES_PER_OWNER {
            return Err(OpsError::Invalid(format!(
                "{owner} keeps {owned} schedules, the most allowed: delete one first"
            )));
        }
        let s = Schedule {
            id: format!("sch_{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
            describe: pattern.describe(),
            spec: ScheduleInput {
                name: name.clone(),
                cron: pattern.as_str().to_string(),
                ..input
            },
            enabled: true,
            owner: owner.to_string(),
            next_run_ms: pattern.next_after_ms(now_ms)?,
            last_fired_ms: None,
            last_job_id: None,
            pending_at_ms: None,
            created_at: Utc::now(),
        };
        match self.meta.insert(SCHEDULES, to_doc(&s)?).await {
            Ok(_) => Ok(s),
            Err(sextant_meta::MetaError::Duplicate { .. }) => Err(OpsError::Duplicate(name)),
            Err(e) => Err(e.into()),
        }
    }

    /// Schedules visible to `actor` (all for an admin), by name.
    pub async fn schedules(&self, actor: Option<Actor<'_>>) -> Result<Vec<Schedule>, OpsError> {
        let mut f = Filter::new();
        if let Some(owner) = actor.as_ref().and_then(|a| a.scope()) {
            f = f.eq("owner", owner);
        }
        let q = Query::new().filter(f).sort_asc("spec.name").limit(1000);
        self.meta
            .find(SCHEDULES, &q)
            .await?
            .into_iter()
            .map(from_doc)
            .collect()
    }

    /// Schedule `id` (or name) if `actor` may see it.
    pub async fn schedule(&self, id: &str, actor: Option<Actor<'_>>) -> Result<Schedule, OpsError> {
        let doc = match self.meta.get(SCHEDULES, id).await? {
            Some(d) => Some(d),
            None => {
                let q = Query::new().filter(Filter::new().eq("spec.name", id));
                self.meta.find_one(SCHEDULES, &q).await?
            }
        };
        let s: Schedule =
            from_doc(doc.ok_or_else(|| OpsError::NotFound(format!("schedule {id}")))?)?;
        if actor.is_some_and(|a| !a.may(&s.owner)) {
            return Err(OpsError::NotFound(format!("schedule {id}")));
        }
        Ok(s)
    }

    /// Deletes schedule `id` (or name) if `actor` may.
    pub async fn delete_schedule(
        &self,
        id: &str,
        actor: Option<Actor<'_>>,
    ) -> Result<(), OpsError> {
        let s = self.schedule(id, actor).await?;
        self.meta.delete(SCHEDULES, &s.id).await?;
        Ok(())
    }
}

/// One submitted slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fired {
    /// The schedule.
    pub schedule: String,
    /// The job submitted.
    pub job_id: String,
    /// True for a stranded claim submitted again.
    pub resubmitted: bool,
}

/// Fires due schedules through the job system. The clock is injected into [`Scheduler::tick`],
/// so tests and replays drive it.
pub struct Scheduler {
    meta: Arc<dyn sextant_meta::MetaStore>,
    jobs: Arc<JobManager>,
}

impl Scheduler {
    /// A scheduler over the schedules in `meta`, submitting to `jobs`.
    pub fn new(meta: Arc<dyn sextant_meta::MetaStore>, jobs: Arc<JobManager>) -> Self {
        Scheduler { meta, jobs }
    }

    /// Fires every schedule due at `now_ms` and re-submits stranded claims. Errors of one
    /// schedule are logged and do not stop the others.
    pub async fn tick(&self, now_ms: i64) -> Result<Vec<Fired>, OpsError> {
        let mut fired = Vec::new();
        let due = Query::new()
            .filter(Filter::new().eq("enabled", true).lte("next_run_ms", now_ms))
            .sort_asc("next_run_ms")
            .limit(100);
        for doc in self.meta.find(SCHEDULES, &due).await? {
            let s: Schedule = from_doc(doc)?;
            let next = match CronPattern::parse(&s.spec.cron).and_then(|p| p.next_after_ms(now_ms))
            {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(schedule = %s.id, error = %e, "schedule pattern no longer parses");
                    continue;
                }
            };
            let claimed = self
                .meta
                .update_if(
                    SCHEDULES,
                    &s.id,
                    &Filter::new().eq("next_run_ms", s.next_run_ms),
                    serde_json::json!({ "next_run_ms": next, "pending_at_ms": now_ms }),
                )
                .await?;
            if claimed {
                self.submit(&s, now_ms, false, &mut fired).await;
            }
        }
        let stranded = Query::new()
            .filter(Filter::new().lte("pending_at_ms", now_ms - STRANDED_AFTER_MS))
            .limit(100);
        for doc in self.meta.find(SCHEDULES, &stranded).await? {
            let s: Schedule = from_doc(doc)?;
            let Some(at) = s.pending_at_ms else { continue };
            let claimed = self
                .meta
                .update_if(
                    SCHEDULES,
                    &s.id,
                    &Filter::new().eq("pending_at_ms", at),
                    serde_json::json!({ "pending_at_ms": now_ms }),
                )
                .await?;
            if claimed {
                self.submit(&s, now_ms, true, &mut fired).await;
            }
        }
        Ok(fired)
    }

    async fn submit(&self, s: &Schedule, now_ms: i64, resubmitted: bool, fired: &mut Vec<Fired>) {
        let job = match s.job() {
            Ok((kind, params)) => self.jobs.submit(kind.name(), params, &s.owner).await,
            Err(e) => {
                tracing::warn!(schedule = %s.id, error = %e, "schedule job not built");
                return;
            }
        };
        match job {
            Ok(j) => {
                let done = serde_json::json!({
                    "pending_at_ms": null, "last_fired_ms": now_ms, "last_job_id": j.id,
                });
                if let Err(e) = self.meta.update_fields(SCHEDULES, &s.id, done).await {
                    tracing::warn!(schedule = %s.id, error = %e, "fired, but not recorded");
                }
                tracing::info!(schedule = %s.id, job = %j.id, resubmitted, "schedule fired");
                fired.push(Fired {
                    schedule: s.id.clone(),
                    job_id: j.id,
                    resubmitted,
                });
            }
            // The claim stays pending: the next tick after STRANDED_AFTER_MS tries again.
            Err(e) => tracing::warn!(schedule = %s.id, error = %e, "schedule job refused"),
        }
    }

    /// Ticks every `interval` until `stop` is cancelled.
    pub async fn run(self, interval: std::time::Duration, stop: CancellationToken) {
        loop {
            if let Err(e) = self.tick(Utc::now().timestamp_millis()).await {
                tracing::warn!(error = %e, "scheduler tick failed");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}
