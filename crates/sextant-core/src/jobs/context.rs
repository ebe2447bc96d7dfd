//! The handler trait and what a running job sees.

use super::events::Broadcaster;
use super::record::ts;
use super::{lock, JobError, JobEvent, JobStatus, Progress, COLLECTION};
use async_trait::async_trait;
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sextant_meta::{Filter, MetaStore};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Least time between two progress writes to the store: a handler may report per item without
/// turning the store into a bottleneck. Subscribers still get every report.
pub const PROGRESS_WRITE_INTERVAL: Duration = Duration::from_millis(100);

/// One kind of job.
///
/// A handler gets its parameters as JSON and returns its result as JSON, and everything it needs
/// besides (services, providers) it takes in its constructor. That keeps a job fully described
/// by its stored record, so any worker with the same handlers — in this process or, later, on
/// another machine — can run it.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The `kind` jobs are submitted under, e.g. `"backtest"`.
    fn kind(&self) -> &'static str;

    /// True when running the job again from the start is harmless (idempotent: a content-addressed
    /// backtest, an incremental refresh). Such jobs are re-queued when their process dies;
    /// the others fail with [`super::INTERRUPTED`].
    fn resumable(&self) -> bool {
        false
    }

    /// Checks the parameters at submission, so a bad request is refused (HTTP 422) instead of
    /// queued to fail later. Usually `parse_params::<MyParams>(params).map(|_| ())`.
    fn validate(&self, _params: &Value) -> Result<(), JobError> {
        Ok(())
    }

    /// Does the work. Report progress through `ctx` and check [`JobContext::is_cancelled`]
    /// between steps; return [`JobError::Cancelled`] when stopping early for it. A panic fails
    /// the job without harming the worker.
    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError>;
}

/// Deserialises a handler's parameters, mapping errors to [`JobError::InvalidParams`].
pub fn parse_params<T: DeserializeOwned>(params: &Value) -> Result<T, JobError> {
    T::deserialize(params).map_err(|e| JobError::InvalidParams(e.to_string()))
}

/// The running job's view: its id, progress reporting and cancellation. Cheap to clone (pass a
/// clone into `spawn_blocking`).
#[derive(Clone)]
pub struct JobContext {
    inner: Arc<Inner>,
}

struct Inner {
    job_id: String,
    /// The key that submitted the job: what it stores belongs to that key.
    owner: String,
    attempt: u32,
    token: CancellationToken,
    /// Where progress is persisted; `None` for a detached context.
    store: Option<(Arc<dyn MetaStore>, String)>,
    events: Broadcaster,
    /// When progress was last written, and the latest report (the heartbeat persists it).
    last: Mutex<(Option<Instant>, Progress)>,
    /// The manager running the job, for [`JobContext::fan_out`].
    manager: Option<std::sync::Weak<super::JobManager>>,
}

impl JobContext {
    pub(crate) fn new(
        job_id: &str,
        owner: &str,
        attempt: u32,
        token: CancellationToken,
        store: Arc<dyn MetaStore>,
        worker: &str,
        events: Broadcaster,
    ) -> Self {
        Self::build(
            job_id,
            owner,
            attempt,
            token,
            Some((store, worker.to_string())),
            events,
        )
    }

    /// A context backed by nothing: progress goes nowhere and only the returned token cancels.
    /// For running a handler inline (the CLI, tests).
    pub fn detached(job_id: impl Into<String>) -> Self {
        Self::build(
            &job_id.into(),
            "",
            1,
            CancellationToken::new(),
            None,
            Broadcaster::default(),
        )
    }

    fn build(
        job_id: &str,
        owner: &str,
        attempt: u32,
        token: CancellationToken,
        store: Option<(Arc<dyn MetaStore>, String)>,
        events: Broadcaster,
    ) -> Self {
        JobContext {
            inner: Arc::new(Inner {
                job_id: job_id.to_string(),
                owner: owner.to_string(),
                attempt,
                token,
                store,
                events,
                last: Mutex::new((None, Progress::default())),
                manager: None,
            }),
        }
    }

    /// This context with the manager that runs the job (which lets it fan out).
    pub(crate) fn with_manager(mut self, manager: std::sync::Weak<super::JobManager>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.manager = Some(manager);
        }
        self
    }

    /// True when the job can send child jobs of `kind` to remote workers
    /// ([`JobContext::fan_out`]): a NATS queue is configured, `kind` travels, and a live
    /// worker serves it. Without one the coordinator runs the work itself rather than wait
    /// for a worker that may never come (the result is the same either way).
    pub async fn can_fan_out(&self, kind: &str) -> bool {
        match self.manager() {
            Some(m) if m.queue().is_some() && m.is_remote(kind) => m.live_slots(kind).await > 0,
            _ => false,
        }
    }

    fn manager(&self) -> Option<Arc<super::JobManager>> {
        self.inner.manager.as_ref().and_then(|w| w.upgrade())
    }

    /// Runs one child job of `kind` per element of `params` on the remote workers and waits for
    /// them all: each child's result, in order (`Err` carries a child's error). Cancelling this
    /// job cancels the children. Only when [`JobContext::can_fan_out`] says so.
    pub async fn fan_out(
        &self,
        kind: &str,
        params: Vec<Value>,
    ) -> Result<Vec<Result<Value, String>>, JobError> {
        let Some(m) = self.manager().filter(|m| m.is_remote(kind)) else {
            return Err(JobError::Failed(format!(
                "{kind} jobs cannot be sent to workers from here (no NATS queue)"
            )));
        };
        m.run_children(
            &self.inner.job_id,
            &self.inner.owner,
            kind,
            params,
            &self.inner.token,
        )
        .await
    }

    /// Job slots of the live workers serving `kind` (1 without a queue).
    pub async fn remote_slots(&self, kind: &str) -> usize {
        match self.manager() {
            Some(m) => m.remote_slots(kind).await,
            None => 1,
        }
    }

    /// The id of the running job (the given id for a detached context).
    pub fn job_id(&self) -> &str {
        &self.inner.job_id
    }

    /// The key that submitted the job (empty for a detached context).
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// 1 on the first run, more when the job was re-queued after an interruption.
    pub fn attempt(&self) -> u32 {
        self.inner.attempt
    }

    /// True once cancellation was requested (safe to call from blocking threads).
    pub fn is_cancelled(&self) -> bool {
        self.inner.token.is_cancelled()
    }

    /// Resolves when cancellation is requested: `select!` it against a long await.
    pub async fn cancelled(&self) {
        self.inner.token.cancelled().await
    }

    /// The token itself, for code that takes a `CancellationToken`.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.inner.token.clone()
    }

    /// `Err(Cancelled)` when cancellation was requested: `ctx.check()?;` between steps.
    pub fn check(&self) -> Result<(), JobError> {
        if self.is_cancelled() {
            Err(JobError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Reports progress: broadcast to subscribers every time, persisted at most every
    /// [`PROGRESS_WRITE_INTERVAL`] (and always for a fraction of 1). A report the throttle skips
    /// is persisted by the next heartbeat. Store errors are logged, never fail the job.
    pub async fn progress(&self, fraction: f64, message: impl Into<String>) {
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let progress = Progress {
            fraction,
            message: message.into(),
        };
        let write = {
            let mut last = lock(&self.inner.last);
            let due = fraction >= 1.0
                || last
                    .0
                    .is_none_or(|t| t.elapsed() >= PROGRESS_WRITE_INTERVAL);
            if due {
                last.0 = Some(Instant::now());
            }
            last.1 = progress.clone();
            due
        };
        self.inner.events.publish(JobEvent {
            job_id: self.inner.job_id.clone(),
            status: JobStatus::Running,
            progress: progress.clone(),
            result: None,
            error: None,
        });
        let Some((meta, worker)) = &self.inner.store else {
            return;
        };
        if write {
            let patch = json!({ "progress": progress });
            let lease = lease(worker);
            if let Err(e) = meta
                .update_if(COLLECTION, &self.inner.job_id, &lease, patch)
                .await
            {
                tracing::warn!(job = %self.inner.job_id, error = %e, "progress write failed");
            }
        }
    }

    /// The latest report (persisted by heartbeats and the terminal write).
    pub(crate) fn latest(&self) -> Progress {
        lock(&self.inner.last).1.clone()
    }
}

/// The condition under which a worker may write to a job: it still holds the lease.
pub(crate) fn lease(worker: &str) -> Filter {
    Filter::new().eq("status", "running").eq("worker", worker)
}

/// `now` in the stored form.
pub(crate) fn now_ts() -> String {
    ts(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn detached_context_clamps_progress_and_cancels() {
        let ctx = JobContext::detached("j");
        ctx.progress(f64::NAN, "nan").await;
        assert_eq!(ctx.latest().fraction, 0.0);
        ctx.progress(7.0, "over").await;
        assert_eq!(
            (ctx.latest().fraction, ctx.latest().message.as_str()),
            (1.0, "over")
        );
        assert!(ctx.check().is_ok());
        ctx.cancellation_token().cancel();
        ctx.cancelled().await;
        assert!(matches!(ctx.check(), Err(JobError::Cancelled)));
    }
}
