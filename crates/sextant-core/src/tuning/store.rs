//! Studies and trials in the metadata store.
//!
//! A study is one document in [`STUDIES`] (its request, data snapshot, state, counts, best
//! trial and analysis); each trial is one document in [`TRIALS`], keyed
//! `<study id>:<number>`, written when it is asked (state `running`) and again when it ends.
//! A killed process leaves its unfinished trials `running`; the next run of the study
//! evaluates them again with their stored parameters and never re-runs a finished one.

use super::{OptimizeRequest, TuningServiceError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_domain::HeldBar;
use sextant_meta::{Filter, MetaStore, Query};
use sextant_tuning::{Assignment, Trial, TrialState};

/// Metadata collection of studies, keyed by study id.
pub const STUDIES: &str = "studies";
/// Metadata collection of trials, keyed `<study id>:<number, 6 digits>`.
pub const TRIALS: &str = "study_trials";

/// Where a study is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StudyState {
    /// Asked for; its job has not started yet.
    Queued,
    /// Trials are being run (or the process running them stopped: run it again to resume).
    Running,
    /// Every asked trial ended and the analysis is stored.
    Complete,
    /// Cancelled; finished trials are kept and a new run continues it.
    Cancelled,
    /// The run failed (`error` says why); finished trials are kept.
    Failed,
}

/// Trials by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Complete trials.
    pub complete: usize,
    /// Pruned trials.
    pub pruned: usize,
    /// Failed trials.
    pub failed: usize,
    /// Trials asked but not ended.
    pub running: usize,
}

impl Counts {
    /// The counts of `trials`.
    pub fn of(trials: &[Trial]) -> Counts {
        let n = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
        Counts {
            complete: n(TrialState::Complete),
            pruned: n(TrialState::Pruned),
            failed: n(TrialState::Failed),
            running: n(TrialState::Running),
        }
    }
}

/// The best complete trial (first objective).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestTrial {
    /// Its number.
    pub trial: u32,
    /// Its strategy parameters.
    pub params: Value,
    /// Its objective values.
    pub values: Vec<f64>,
}

/// A stored study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    /// `stu_` and 24 hex digits of the hash of the request (without `trials` and `name`), the
    /// data snapshot and the engine version.
    pub id: String,
    /// The request's label.
    pub name: Option<String>,
    /// Keys that asked for this study (none: every key may read it, as the CLI's; the field
    /// is then absent from the document).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    /// What was asked (the latest request: `trials` may have grown).
    pub request: OptimizeRequest,
    /// Strategy name, for listings.
    pub strategy: String,
    /// Hash of the bars the trials ran on.
    pub data_snapshot: String,
    /// Engine that produced the trials.
    pub engine_version: String,
    /// Where the study is.
    pub state: StudyState,
    /// Why it failed.
    pub error: Option<String>,
    /// Trials by state.
    pub counts: Counts,
    /// The best complete trial; never shown without `analysis` (DSR, PBO).
    pub best: Option<BestTrial>,
    /// The analysis (leaderboard, DSR, PBO, out-of-sample result, notes), once complete.
    pub analysis: Option<Value>,
    /// Bars held by the quality checks in the range, which no trial saw.
    pub excluded: Vec<HeldBar>,
    /// The risk-free rate Sharpe, Sortino and the deflated Sharpe are against (`series: none`
    /// for zero) and why; absent until the study ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_free: Option<sextant_backtest::run::RiskFreeUsed>,
    /// When the study was first asked for.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A stored trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// The study.
    pub study: String,
    /// The trial's number.
    pub number: u32,
    /// The strategy parameters it ran (fixed ones included).
    pub params: Value,
    /// The searched parameters in the sampler's representation (choice index for
    /// categoricals).
    pub assignment: Assignment,
    /// How it ended.
    pub state: TrialState,
    /// Objective values (complete trials).
    pub values: Vec<f64>,
    /// First objective after each fold; `null` where it was not a number.
    pub intermediate: Vec<Option<f64>>,
    /// The sampler's generation, if any.
    pub generation: Option<u32>,
    /// Evaluation wall time, ms (not part of reproducibility).
    pub duration_ms: f64,
    /// Why it failed.
    pub error: Option<String>,
    /// `[first trial number, size]` of the batch it was asked in, while it runs (the record
    /// written when it ends drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<[u32; 2]>,
}

impl TrialRecord {
    /// The record of `t` in study `study` with strategy parameters `params`.
    pub fn new(study: &str, t: &Trial, params: Value) -> TrialRecord {
        TrialRecord {
            study: study.to_string(),
            number: t.number,
            params,
            assignment: t.params.clone(),
            state: t.state,
            values: t.values.clone(),
            intermediate: t
                .intermediate
                .iter()
                .map(|v| v.is_finite().then_some(*v))
                .collect(),
            generation: t.generation,
            duration_ms: t.duration_ms,
            error: t.error.clone(),
            batch: None,
        }
    }

    /// Back to the tuning crate's trial.
    pub fn trial(&self) -> Trial {
        Trial {
            number: self.number,
            params: self.assignment.clone(),
            values: self.values.clone(),
            intermediate: self
                .intermediate
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect(),
            state: self.state,
            generation: self.generation,
            duration_ms: self.duration_ms,
            error: self.error.clone(),
        }
    }

    /// The document id.
    pub fn key(study: &str, number: u32) -> String {
        format!("{study}:{number:06}")
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> TuningServiceError {
    TuningServiceError::Internal(format!("stored {what} cannot be read: {e}"))
}

/// Writes a trial.
pub async fn put_trial(meta: &dyn MetaStore, rec: &TrialRecord) -> Result<(), TuningServiceError> {
    let doc = serde_json::to_value(rec).map_err(|e| corrupt("trial", e))?;
    meta.upsert(TRIALS, &TrialRecord::key(&rec.study, rec.number), doc)
        .await?;
    Ok(())
}

/// Every stored trial of a study, by number.
pub async fn trials(
    meta: &dyn MetaStore,
    study: &str,
) -> Result<Vec<TrialRecord>, TuningServiceError> {
    let q = Query::new()
        .filter(Filter::new().eq("study", study))
        .sort_asc("number");
    meta.find(TRIALS, &q)
        .await?
        .into_iter()
        .map(|v| serde_json::from_value(v).map_err(|e| corrupt("trial", e)))
        .collect()
}

/// Trials of the last stored batch that were never asked: the batch's size less the trials
/// stored from its first number on, when its asks were cut short (0 otherwise).
pub fn unasked(records: &[TrialRecord]) -> usize {
    let Some([first, len]) = records
        .iter()
        .filter(|r| r.state == TrialState::Running)
        .filter_map(|r| r.batch)
        .max_by_key(|b| b[0])
    else {
        return 0;
    };
    let present = records.iter().filter(|r| r.number >= first).count();
    (len as usize).saturating_sub(present)
}

/// Writes a study.
pub async fn put_study(meta: &dyn MetaStore, rec: &StudyRecord) -> Result<(), TuningServiceError> {
    let doc = serde_json::to_value(rec).map_err(|e| corrupt("study", e))?;
    meta.upsert(STUDIES, &rec.id, doc).await?;
    Ok(())
}

/// A stored study.
pub async fn get_study(
    meta: &dyn MetaStore,
    id: &str,
) -> Result<Option<StudyRecord>, TuningServiceError> {
    match meta.get(STUDIES, id).await? {
        Some(v) => Ok(Some(
            serde_json::from_value(v).map_err(|e| corrupt("study", e))?,
        )),
        None => Ok(None),
    }
}
