//! Every stage change of a model, by hand or by the rule, is recorded with who made it and why
//! (collection [`PROMOTIONS`]); so is every decision of the rule not to promote.

use super::{from_doc, to_doc, MlopsService, OpsError};
use crate::common::Actor;
use crate::signals::{ModelRecord, ModelStage};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_meta::{Filter, Query};
use sextant_mlops::promotion::Decision;

/// Collection of promotion records.
pub const PROMOTIONS: &str = "mlops_promotions";

/// Longest reason kept (characters).
pub const MAX_REASON_CHARS: usize = 500;

/// Who changed (or declined to change) a model's stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PromotionActor {
    /// An API key.
    Key {
        /// The key's id.
        id: String,
    },
    /// The command line on the server's machine.
    Local,
    /// The promotion rule, after a retrain.
    Rule {
        /// The schedule whose retrain it judged, if any.
        schedule: Option<String>,
        /// The job that ran it.
        job: Option<String>,
    },
}

/// One stage change or one decision of the rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionRecord {
    /// `prm_` + 20 hex digits.
    #[serde(rename = "_id")]
    pub id: String,
    /// The model whose stage changed (or would have).
    pub model_id: String,
    /// Its name.
    pub model_name: String,
    /// Its version.
    pub model_version: u32,
    /// Its stage before.
    pub from_stage: ModelStage,
    /// The stage asked for.
    pub to_stage: ModelStage,
    /// Whether the stage was changed.
    pub applied: bool,
    /// Who.
    pub actor: PromotionActor,
    /// Why (given by hand, or the rule's sentence).
    pub reason: Option<String>,
    /// The production model it was compared with (rule decisions).
    pub compared_with: Option<String>,
    /// The rule's decision with its evidence (rule decisions).
    pub decision: Option<Decision>,
    /// When.
    pub at: DateTime<Utc>,
}

fn clean_reason(reason: Option<&str>) -> Result<Option<String>, OpsError> {
    let Some(r) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if r.chars().count() > MAX_REASON_CHARS || r.chars().any(char::is_control) {
        return Err(OpsError::Invalid(format!(
            "reason: at most {MAX_REASON_CHARS} characters, no control characters"
        )));
    }
    Ok(Some(r.to_string()))
}

impl MlopsService {
    /// Moves model `id` to `stage` by hand and records who and why. Only the model's owner or
    /// an admin may (another key gets not-found, as for any object it cannot see).
    pub async fn promote_by_key(
        &self,
        id: &str,
        stage: &str,
        actor: Actor<'_>,
        reason: Option<&str>,
    ) -> Result<ModelRecord, OpsError> {
        let reason = clean_reason(reason)?;
        let before = self.signals.get(id).await?;
        let after = self.signals.promote_as(id, stage, actor).await?;
        let who = PromotionActor::Key {
            id: actor.key.to_string(),
        };
        self.record(&before, &after, who, reason, None, None)
            .await?;
        Ok(after)
    }

    /// [`Self::promote_by_key`] from the command line (no ownership check: the CLI runs with
    /// the machine's rights).
    pub async fn promote_local(
        &self,
        id: &str,
        stage: &str,
        reason: Option<&str>,
    ) -> Result<ModelRecord, OpsError> {
        let reason = clean_reason(reason)?;
        let before = self.signals.get(id).await?;
        let after = self.signals.promote(id, stage).await?;
        self.record(&before, &after, PromotionActor::Local, reason, None, None)
            .await?;
        Ok(after)
    }

    /// Records the rule's decision on `candidate` and, when it says promote, moves it to
    /// production.
    pub(crate) async fn apply_decision(
        &self,
        candidate: &ModelRecord,
        production: Option<&ModelRecord>,
        decision: Decision,
        actor: PromotionActor,
    ) -> Result<ModelRecord, OpsError> {
        let after = if decision.promote {
            self.signals.promote(&candidate.id, "production").await?
        } else {
            candidate.clone()
        };
        let reason = Some(decision.reason.clone());
        self.record(
            candidate,
            &after,
            actor,
            reason,
            production.map(|p| p.id.clone()),
            Some(decision),
        )
        .await?;
        Ok(after)
    }

    async fn record(
        &self,
        before: &ModelRecord,
        after: &ModelRecord,
        actor: PromotionActor,
        reason: Option<String>,
        compared_with: Option<String>,
        decision: Option<Decision>,
    ) -> Result<(), OpsError> {
        let applied = decision.as_ref().is_none_or(|d| d.promote);
        let rec = PromotionRecord {
            id: format!("prm_{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
            model_id: before.id.clone(),
            model_name: before.name.clone(),
            model_version: before.version,
            from_stage: before.stage,
            to_stage: if applied {
                after.stage
            } else {
                ModelStage::Production
            },
            applied,
            actor,
            reason,
            compared_with,
            decision,
            at: Utc::now(),
        };
        tracing::info!(model = %rec.model_id, to = %rec.to_stage, applied, "promotion recorded");
        self.meta.insert(PROMOTIONS, to_doc(&rec)?).await?;
        Ok(())
    }

    /// Promotion records of the models named `name` (all names when none), newest first.
    pub async fn promotions(
        &self,
        name: Option<&str>,
        limit: u64,
    ) -> Result<Vec<PromotionRecord>, OpsError> {
        let mut f = Filter::new();
        if let Some(n) = name {
            f = f.eq("model_name", n);
        }
        let q = Query::new()
            .filter(f)
            .sort_desc("at")
            .limit(limit.clamp(1, 1000));
        self.meta
            .find(PROMOTIONS, &q)
            .await?
            .into_iter()
            .map(from_doc)
            .collect()
    }
}
