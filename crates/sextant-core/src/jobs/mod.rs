//! Jobs: long work (backtests, walk-forwards, Alpha Vantage refreshes, later model training) run
//! in the background with persisted status and progress, cooperative cancellation and a
//! concurrency limit.
//!
//! * [`JobHandler`] is one kind of work; [`JobContext`] is what a running job sees (progress,
//!   cancellation). [`handlers`] holds the real ones; [`handlers::default_handlers`] builds them
//!   from the [`crate::Services`].
//! * [`JobManager`] submits, lists, cancels and streams jobs, and runs an in-process worker pool
//!   ([`JobManager::start`]). Build it once and share the `Arc`.
//!
//! # Records
//!
//! Every job is one document in the metadata collection [`COLLECTION`] ([`JobRecord`]). The store
//! is the only shared state, which is what lets workers in other processes and on other
//! machines share the queue: nothing below relies on memory shared with the process that
//! submitted the job. With a NATS JetStream queue ([`JobManager::use_queue`], see `remote.rs`)
//! the kinds that travel are published to `sextant worker` processes, which claim them under
//! the same protocol when their message arrives.
//!
//! # Claim and lease protocol
//!
//! * **Claim.** A worker reads the oldest `queued` jobs of the kinds it has handlers for and
//!   claims one with the store's compare-and-swap: `update_if(status == queued && attempts == n)
//!   → {status: running, worker: <instance id>, attempts: n + 1, started_at, heartbeat_at}`. When
//!   several workers race for a job exactly one `update_if` applies; the others move on to the
//!   next job. A job therefore never runs twice at once.
//! * **Lease.** The claiming worker holds the job while it is `running` with `worker` set to its
//!   instance id (`<node>/<uuid>`, unique per process). It renews the lease every
//!   [`JobConfig::heartbeat`] by writing `heartbeat_at` (and the latest progress). Every write a
//!   worker makes to a job it runs — progress, heartbeat, the terminal status — is conditional on
//!   `status == running && worker == <me>`, so a worker that lost its lease (it stalled and the
//!   job was recovered) can never overwrite the job's new state; it stops the handler instead.
//! * **Cancel.** Cancelling a queued job makes it `cancelled` at once (CAS on `queued`). A running
//!   job gets `cancel_requested: true`; the worker trips the job's [`JobContext`] token at once
//!   when it runs in this process, and otherwise at its next heartbeat (the heartbeat CAS also
//!   requires `cancel_requested != true`, so noticing costs nothing while no cancel is pending).
//!
//! # Recovery
//!
//! A job must never stay `running` after its worker is gone. A running job is *orphaned* when
//! its heartbeat is older than [`JobConfig::stale_after`] (any node; checked every
//! `stale_after / 2` by every started manager) or, at start-up ([`JobManager::recover`]), when
//! it belongs to an earlier instance of this manager's [`JobConfig::node`] (a restarted process
//! recovers its own jobs at once instead of waiting for them to go stale). An orphan is, by a
//! CAS on the `heartbeat_at` that was read:
//!
//! * `cancelled` if a cancel had been requested;
//! * re-queued (worker and progress cleared) if its handler declared itself
//!   [`JobHandler::resumable`] (the flag is stored in the record at submission, so any worker can
//!   apply the rule) and it has run fewer than [`JobConfig::max_attempts`] times, so a job that
//!   crashes its process every time does not loop forever;
//! * `failed` with [`INTERRUPTED`] otherwise.
//!
//! [`JobManager::shutdown`] applies the same rule to the jobs still running when its grace
//! period ends.

mod context;
mod events;
pub mod features;
pub mod handlers;
mod manager;
mod optimize;
mod record;
mod recovery;
mod remote;
pub(crate) mod train_signal;
mod worker;

pub use context::{parse_params, JobContext, JobHandler, PROGRESS_WRITE_INTERVAL};
pub use events::{JobEvent, JobSubscription};
pub use handlers::default_handlers;
pub use manager::{JobConfig, JobManager};
pub use optimize::OptimizeJob;
pub use record::{JobFilter, JobRecord, JobStatus, Progress};
pub use recovery::RecoveryReport;
pub use remote::{WorkerInfo, WORKERS};

use crate::common::InvalidField;
use sextant_meta::MetaError;

/// The kinds of work Sextant's own handlers do ([`handlers::default_handlers`]), named once so
/// that the API, the CLI and the handlers agree. The queue itself takes any kind a registered
/// handler names; these are the built-in ones.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::Display,
    strum::EnumString,
    strum::AsRefStr,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum JobKind {
    /// One backtest, stored like an inline run.
    Backtest,
    /// A walk-forward (parameter choice in-sample, trading out-of-sample).
    WalkForward,
    /// Fetching symbols from Alpha Vantage into the cache.
    IngestAlphavantage,
    /// Training an ML signal model.
    TrainSignal,
    /// A parameter-tuning study.
    Optimize,
    /// Retraining a model (when its schedule's trigger holds) and judging the candidate by
    /// the promotion rule.
    RetrainModel,
    /// Checking the drift of one or every production model.
    DriftCheck,
    /// Training a reinforcement-learning policy, evaluated out of sample and registered.
    TrainRl,
    /// Materialising a built-in feature view (in symbol shards on workers when there are).
    MaterializeFeatures,
}

impl JobKind {
    /// The kind's name as stored in job records and used on the API.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Metadata collection holding job records.
pub const COLLECTION: &str = "jobs";

/// The most bytes of parameters stored with a job (64 KiB): enough for any request the routes
/// accept, small enough that listing jobs stays cheap.
pub const MAX_PARAMS_BYTES: usize = 64 * 1024;

/// The error of a job that was running when its process stopped and cannot be resumed.
pub const INTERRUPTED: &str = "interrupted: the process stopped while the job was running";

/// Why a job operation failed, or why a job's handler failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No handler is registered for this kind.
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    /// No job has this id, or [`JobManager::get_as`] hides it from the actor (both look the
    /// same, so the ids of other owners' jobs do not leak).
    #[error("job {0} not found")]
    NotFound(String),
    /// The job already finished (succeeded, failed or was cancelled).
    #[error("job is {status} and cannot be cancelled")]
    NotCancellable {
        /// The status it finished with.
        status: JobStatus,
    },
    /// The handler rejected the parameters (at submission, or when the job started).
    #[error("invalid job parameters: {0}")]
    InvalidParams(String),
    /// A list request was malformed (limit, cursor, owner).
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The job's work failed; the message is stored as the job's `error`.
    #[error("{0}")]
    Failed(String),
    /// The handler stopped because cancellation was requested.
    #[error("cancelled")]
    Cancelled,
    /// The metadata store failed.
    #[error("metadata store: {0}")]
    Store(#[from] MetaError),
    /// The owner already has the most open (queued or running) jobs allowed.
    #[error("{owner} has {open} open jobs (queued or running), the most allowed is {limit}: wait for some to finish or cancel them")]
    Quota {
        /// The owner whose quota is used up.
        owner: String,
        /// Jobs the owner has queued or running.
        open: u64,
        /// [`JobConfig::max_open_per_owner`].
        limit: usize,
    },
    /// A stored job document does not deserialise (written by an incompatible version).
    #[error("stored job is malformed: {0}")]
    Corrupt(String),
}

impl From<crate::backtest::RunError> for JobError {
    fn from(e: crate::backtest::RunError) -> Self {
        use crate::backtest::RunError as R;
        match e {
            R::Cancelled => JobError::Cancelled,
            R::Limit { .. } | R::Params(_) | R::Sim(_) => JobError::InvalidParams(e.to_string()),
            other => JobError::Failed(other.to_string()),
        }
    }
}

impl From<crate::backtest::BacktestError> for JobError {
    fn from(e: crate::backtest::BacktestError) -> Self {
        match e {
            crate::backtest::BacktestError::Run(r) => r.into(),
            other => JobError::Failed(other.to_string()),
        }
    }
}

impl From<sextant_data::DataError> for JobError {
    fn from(e: sextant_data::DataError) -> Self {
        JobError::Failed(e.to_string())
    }
}

/// Locks a std mutex, ignoring poisoning: the guarded maps stay consistent across a panic
/// because every critical section is a single insert/remove.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
