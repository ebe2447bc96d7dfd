//! Named schemas of the JSON bodies the services build: the API's contract for responses whose
//! Rust types live in other crates (and do not derive `ToSchema`), or that the routes assemble
//! as JSON.
//!
//! These types are never constructed: they only describe, for the OpenAPI document, what the
//! services serialise, so that every JSON response is a named component a generated client can
//! turn into a model. Where a shape is stable its properties are listed (required only when the
//! service always writes them); nested parts that evolve with their crates are objects with a
//! description. Objects allow further properties, so a field added by a service is not a
//! contract break. Conformance is checked against real responses by schemathesis
//! (`scripts/schemathesis`) and by the generated-client test (`tests/openapi_client.rs`), which
//! validates every read's body against its schema.
#![allow(dead_code)]

pub mod agents;
pub mod portfolios;
pub mod quality;
pub mod research;
pub mod runs;

use chrono::{DateTime, Utc};
use utoipa::ToSchema;

/// Declares a named page schema: `items` of one schema and the keyset cursor of the next page.
macro_rules! page_schema {
    ($(#[$meta:meta])* $name:ident, $item:ty) => {
        $(#[$meta])*
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub struct $name {
            /// This page's items, in the listing's order.
            pub items: Vec<$item>,
            /// Pass as `cursor` for the next page; null or absent on the last page.
            pub next_cursor: Option<String>,
        }
    };
}
pub(crate) use page_schema;

/// Declares a named list schema: `{"items": [...]}`, the whole list in one answer.
macro_rules! items_schema {
    ($(#[$meta:meta])* $name:ident, $item:ty) => {
        $(#[$meta])*
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub struct $name {
            /// The items, in the listing's order.
            pub items: Vec<$item>,
        }
    };
}
pub(crate) use items_schema;

/// Where a job is in its life.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = JobStatus, rename_all = "lowercase")]
pub enum JobStatusDoc {
    /// Waiting for a worker.
    Queued,
    /// A worker is running it.
    Running,
    /// Finished; its `result` is set.
    Succeeded,
    /// Ended with an error, given in `error`.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

/// How far a job got, as its handler last reported it.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = JobProgress)]
pub struct JobProgressDoc {
    /// 0 to 1.
    pub fraction: f64,
    /// What the handler is doing, for people (may be empty).
    pub message: String,
}

/// A queued, running or finished job. Follow it with `GET /api/v1/jobs/{id}` or the events of
/// `GET /api/v1/jobs/{id}/events`.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = Job)]
pub struct JobDoc {
    /// The job's id.
    pub id: String,
    /// What it runs: `backtest`, `walk_forward`, `train_signal`, `optimize`,
    /// `ingest_alphavantage`, `ingest_actions`, `ingest_macro`; with NATS workers also
    /// `trial_batch` and `walk_forward_windows`.
    pub kind: String,
    /// The parameters as submitted.
    #[schema(value_type = Object)]
    pub params: (),
    /// Where it is in its life.
    pub status: JobStatusDoc,
    /// The latest persisted progress.
    pub progress: JobProgressDoc,
    /// What the handler returned (e.g. `{"run_id": …}`), once succeeded.
    #[schema(value_type = Option<Object>)]
    pub result: (),
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// The key that submitted it.
    pub owner: String,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When a worker last claimed it; null while queued.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status; null until then.
    pub finished_at: Option<DateTime<Utc>>,
    /// Last lease renewal by the worker running it.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// The worker holding (or that held) its lease.
    pub worker: Option<String>,
    /// How many times a worker started it.
    pub attempts: u32,
    /// Whether a cancel was asked for.
    pub cancel_requested: bool,
    /// How many times the process running it stopped without finishing it.
    pub crashes: u32,
    /// What the last interruption was.
    pub last_interruption: Option<String>,
    /// Whether recovery may run it again after an interruption.
    pub resumable: bool,
    /// The job that queued this one as part of its work (a study's `trial_batch`, a
    /// walk-forward's `walk_forward_windows`); absent for a job submitted directly.
    pub parent: Option<String>,
}

/// A job in a listing: a [`JobDoc`] without its parameters and result (both are on
/// `GET /api/v1/jobs/{id}`).
#[derive(ToSchema)]
#[schema(as = JobSummary)]
pub struct JobSummaryDoc {
    /// The job's id.
    pub id: String,
    /// What it runs.
    pub kind: String,
    /// Where it is in its life.
    pub status: JobStatusDoc,
    /// The latest persisted progress.
    pub progress: JobProgressDoc,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// The key that submitted it.
    pub owner: String,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When a worker last claimed it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status.
    pub finished_at: Option<DateTime<Utc>>,
    /// Last lease renewal.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// The worker holding (or that held) its lease.
    pub worker: Option<String>,
    /// How many times a worker started it.
    pub attempts: u32,
    /// Whether a cancel was asked for.
    pub cancel_requested: bool,
    /// How many times the process running it stopped without finishing it.
    pub crashes: u32,
    /// What the last interruption was.
    pub last_interruption: Option<String>,
    /// Whether recovery may run it again after an interruption.
    pub resumable: bool,
    /// The job that queued this one as part of its work, if any.
    pub parent: Option<String>,
}

page_schema!(
    /// A page of jobs, newest first.
    JobPage,
    JobSummaryDoc
);

/// Where to follow a study that was queued.
#[derive(serde::Serialize, ToSchema)]
pub struct StudyLinks {
    /// The job's server-sent events.
    pub events: String,
    /// The study.
    pub study: String,
    /// Its leaderboard (served once the study is complete).
    pub leaderboard: String,
}

/// The `optimize` job a tuning request queued, with its study.
#[derive(serde::Serialize, ToSchema)]
pub struct StudyJob {
    /// The job.
    #[serde(flatten)]
    pub job: JobDoc,
    /// The study the job runs (`stu_` and 24 hex digits): the same request on the same bars is
    /// the same study.
    pub study_id: String,
    /// Where to follow it.
    pub links: StudyLinks,
}
