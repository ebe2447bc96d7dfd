//! The job record as stored in [`super::COLLECTION`] and returned by the API.

use super::JobError;
use crate::common::{fixed_ts, from_doc, to_doc};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_meta::Filter;
use std::fmt;
use std::str::FromStr;

/// Where a job is in its life: `queued → running → succeeded | failed | cancelled`, with
/// `running → queued` only when recovery re-queues a resumable job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker to claim it.
    Queued,
    /// Claimed by the worker named in [`JobRecord::worker`], which holds its lease.
    Running,
    /// The handler returned a result (in [`JobRecord::result`]). Terminal.
    Succeeded,
    /// The handler failed, or the job was interrupted and could not be re-run. Terminal.
    Failed,
    /// Cancelled while queued, or stopped by a cancel request while running. Terminal.
    Cancelled,
}

impl JobStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    /// The stored (and API) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// A finished job never changes again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown job status {s:?}"))
    }
}

/// How far a job got, as its handler last reported it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// 0 to 1.
    pub fraction: f64,
    /// What the handler is doing, for people (may be empty).
    #[serde(default)]
    pub message: String,
}

/// One job. Timestamps are stored as fixed-width strings so they sort and compare in time order
/// (see [`fixed_ts`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The store's id of the job, assigned at submission.
    pub id: String,
    /// Which [`super::JobHandler`] runs it (`backtest`, ...).
    pub kind: String,
    /// The parameters as submitted, passed unchanged to the handler; at most
    /// [`super::MAX_PARAMS_BYTES`] serialised.
    pub params: Value,
    /// Where the job is in its life.
    pub status: JobStatus,
    /// The latest persisted progress: throttled to [`super::PROGRESS_WRITE_INTERVAL`], so it
    /// may trail the live events slightly; reset to 0 when the job is re-queued.
    pub progress: Progress,
    /// What the handler returned (e.g. `{"run_id": ...}`), once succeeded.
    #[serde(default)]
    pub result: Option<Value>,
    /// Why it failed or was cancelled.
    #[serde(default)]
    pub error: Option<String>,
    /// Who submitted it (the API key's principal): the API shows a caller only its own jobs.
    pub owner: String,
    /// When the job was submitted; lists sort on it, newest first.
    #[serde(with = "fixed_ts")]
    pub created_at: DateTime<Utc>,
    /// When a worker last claimed it; null while queued (also after a re-queue).
    #[serde(default, with = "opt_ts")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status; null until then.
    #[serde(default, with = "opt_ts")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Last lease renewal by the worker running it.
    #[serde(default, with = "opt_ts")]
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// Instance id of the worker holding the lease while running (kept after it finishes).
    #[serde(default)]
    pub worker: Option<String>,
    /// How many times a worker has started it.
    #[serde(default)]
    pub attempts: u32,
    /// Set by [`super::JobManager::cancel`]. A running job stops when its worker notices
    /// (at once in the same process, at the next heartbeat elsewhere).
    #[serde(default)]
    pub cancel_requested: bool,
    /// How many times the process running it stopped without finishing it (a crash, a kill,
    /// a lost lease). A job that may have crashed its process is re-run at most
    /// `JobConfig::max_crashes` times, never blindly.
    #[serde(default)]
    pub crashes: u32,
    /// What the last interruption was (which worker stopped, when it was last seen).
    #[serde(default)]
    pub last_interruption: Option<String>,
    /// The job that queued this one as part of its work (a study's trial batch, a
    /// walk-forward's window), if any. Children do not count against their owner's quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Copied from the handler at submission, so recovery needs no handler.
    #[serde(default)]
    pub resumable: bool,
}

impl JobRecord {
    pub(crate) fn from_doc(doc: Value) -> Result<JobRecord, JobError> {
        from_doc(doc).map_err(|e| JobError::Corrupt(e.to_string()))
    }

    pub(crate) fn to_doc(&self) -> Result<Value, JobError> {
        to_doc(self).map_err(|e| JobError::Corrupt(e.to_string()))
    }
}

/// Which jobs to list; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobFilter {
    /// Only jobs with this status.
    #[serde(default)]
    pub status: Option<JobStatus>,
    /// Only jobs of this kind. Without a kind, child jobs (a study's `trial_batch`es, a
    /// walk-forward's windows) are left out: a study is one job to its owner.
    #[serde(default)]
    pub kind: Option<String>,
    /// Only jobs submitted by this owner; none lists every owner's jobs.
    #[serde(default)]
    pub owner: Option<String>,
}

impl JobFilter {
    pub(crate) fn to_filter(&self) -> Filter {
        let mut f = Filter::new();
        if let Some(s) = self.status {
            f = f.eq("status", s.as_str());
        }
        match &self.kind {
            Some(k) => f = f.eq("kind", k.as_str()),
            None => f = f.eq("parent", serde_json::Value::Null),
        }
        if let Some(o) = &self.owner {
            f = f.eq("owner", o.as_str());
        }
        f
    }
}

/// The stored form of a timestamp (also what compare-and-swaps match).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    fixed_ts::format(&t)
}

/// [`fixed_ts`] for optional timestamps.
mod opt_ts {
    use super::*;

    pub fn serialize<S: serde::Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&fixed_ts::format(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn status_spelling_round_trips() {
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(Value::from(s.as_str())));
        }
        assert!("done".parse::<JobStatus>().is_err());
        assert!(!JobStatus::Running.is_terminal() && JobStatus::Cancelled.is_terminal());
    }

    #[test]
    fn stored_timestamps_sort_as_strings() {
        let whole = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 5).single();
        let later = whole.map(|t| t + chrono::Duration::milliseconds(100));
        let (a, b) = (whole.map(ts), later.map(ts));
        assert!(a < b, "{a:?} < {b:?}");
        assert_eq!(a.as_deref(), Some("2024-05-01T12:00:05.000000000Z"));
    }

    #[test]
    fn document_round_trip_moves_id() {
        let r = JobRecord {
            id: "j1".into(),
            kind: "k".into(),
            params: serde_json::json!({"a": 1}),
            status: JobStatus::Queued,
            progress: Progress::default(),
            result: None,
            error: None,
            owner: "o".into(),
            created_at: Utc::now(),
            started_at: None,
            finished_at: None,
            heartbeat_at: Some(Utc::now()),
            worker: None,
            attempts: 0,
            cancel_requested: false,
            crashes: 0,
            last_interruption: None,
            parent: Some("j0".into()),
            resumable: true,
        };
        let mut doc = r.to_doc().expect("doc");
        assert!(doc.get("id").is_none());
        assert_eq!(doc["started_at"], Value::Null);
        doc["_id"] = Value::from("j1");
        assert_eq!(JobRecord::from_doc(doc).expect("record"), r);
    }
}
