//! The in-process worker pool: claims queued jobs (see the claim protocol in the module docs),
//! runs at most `concurrency` at once, renews their leases and writes their outcome.

use super::context::{lease, now_ts};
use super::manager::Running;
use super::{
    lock, JobContext, JobError, JobEvent, JobHandler, JobManager, JobRecord, JobStatus, COLLECTION,
};
use serde_json::{json, Value};
use sextant_meta::{Filter, Query};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::{AbortHandle, JoinError};
use tokio_util::sync::CancellationToken;

/// Queued jobs read per claim attempt: enough to get past the ones other workers just took.
const CLAIM_BATCH: u64 = 16;
/// Tries of a terminal write before leaving the job to recovery.
const FINISH_ATTEMPTS: u32 = 3;

/// How a job ended.
enum Outcome {
    Succeeded(Value),
    Failed(String),
    Cancelled,
}

/// Aborts the handler's task when the job's driver is dropped (shutdown aborts the driver).
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl JobManager {
    /// Recovers orphaned jobs, then starts the worker pool and the periodic orphan sweep. Must be
    /// called inside a Tokio runtime; a second call does nothing.
    pub async fn start(self: &Arc<Self>) -> Result<(), JobError> {
        // Recovery first, so a start that fails (store unreachable) can be retried; two
        // concurrent starts may both recover, which is idempotent, but only one spawns the pool.
        self.ensure_indexes().await?;
        self.recover().await?;
        if self.started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let pool = tokio::spawn(self.clone().claim_loop());
        let sweep = tokio::spawn(self.clone().sweep_loop());
        lock(&self.tasks).extend([pool, sweep]);
        if self.queue().is_some() {
            // Remote jobs queued before a crash of this process may never have been published.
            if let Err(e) = self.republish_queued().await {
                tracing::warn!(error = %e, "re-publishing queued jobs failed");
            }
            let relay = tokio::spawn(self.clone().relay_loop());
            lock(&self.tasks).push(relay);
        }
        let concurrency = self.config.concurrency;
        tracing::info!(worker = %self.instance_id, concurrency, "job pool started");
        Ok(())
    }

    async fn claim_loop(self: Arc<Self>) {
        loop {
            // `biased`: once stopping, never take another job even if a slot is free.
            let permit = tokio::select! {
                biased;
                _ = self.stop.cancelled() => return,
                p = self.permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let idle = match self.claim_next().await {
                Ok(Some(record)) => {
                    self.spawn_job(record, permit);
                    continue;
                }
                Ok(None) => self.config.poll_interval,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming a job failed");
                    self.config.poll_interval
                }
            };
            drop(permit);
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(idle) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }

    /// Claims the oldest queued job this process has a handler for, if any.
    async fn claim_next(&self) -> Result<Option<JobRecord>, JobError> {
        // Kinds that travel are claimed by workers when their message arrives, never here.
        let local = self.handlers.keys().copied().filter(|k| !self.is_remote(k));
        let filter = Filter::new().eq("status", "queued").any_of("kind", local);
        let query = Query::new()
            .filter(filter)
            .sort_asc("created_at")
            .limit(CLAIM_BATCH * 4);
        let queued = self.meta.find(COLLECTION, &query).await?;
        if queued.is_empty() {
            return Ok(None);
        }
        // Fair order: owners with fewer running jobs first, oldest first within that; owners at
        // their cap wait.
        let running = self
            .meta
            .find(
                COLLECTION,
                &Query::new()
                    .filter(Filter::new().eq("status", "running"))
                    .limit(10_000),
            )
            .await?;
        let mut per_owner: HashMap<String, usize> = HashMap::new();
        // Child jobs (run by remote workers for a running parent) do not hold their owner back.
        for d in running
            .iter()
            .filter(|d| d.get("parent").is_none_or(Value::is_null))
        {
            if let Some(o) = d.get("owner").and_then(Value::as_str) {
                *per_owner.entry(o.to_string()).or_default() += 1;
            }
        }
        let load = |d: &Value| {
            d.get("owner")
                .and_then(Value::as_str)
                .map_or(0, |o| per_owner.get(o).copied().unwrap_or(0))
        };
        let mut candidates: Vec<(usize, usize, Value)> = queued
            .into_iter()
            .enumerate()
            .map(|(i, d)| (load(&d), i, d))
            .filter(|(n, _, _)| *n < self.config.max_running_per_owner)
            .collect();
        candidates.sort_by_key(|c| (c.0, c.1));
        for (_, _, doc) in candidates.into_iter().take(CLAIM_BATCH as usize) {
            let id = doc.get("_id").and_then(Value::as_str).unwrap_or_default();
            let record = match JobRecord::from_doc(doc.clone()) {
                Ok(r) => r,
                Err(e) => {
                    self.fail_corrupt(id, &e).await;
                    continue;
                }
            };
            if let Some(claimed) = self.claim(&record).await? {
                return Ok(Some(claimed));
            }
        }
        Ok(None)
    }

    /// Claims `record` (read as `queued`) by compare-and-swap: the running record when this
    /// process won it, `None` when another worker did or it changed meanwhile.
    pub(crate) async fn claim(&self, record: &JobRecord) -> Result<Option<JobRecord>, JobError> {
        let now = chrono::Utc::now();
        let attempts = record.attempts + 1;
        let patch = json!({
            "status": JobStatus::Running,
            "worker": self.instance_id,
            "attempts": attempts,
            "started_at": super::record::ts(now),
            "heartbeat_at": super::record::ts(now),
            "progress": super::Progress::default(),
            "error": null,
        });
        // `attempts` in the condition makes the read-modify-write of the counter exact.
        let expected = Filter::new()
            .eq("status", "queued")
            .eq("attempts", record.attempts);
        if !self
            .meta
            .update_if(COLLECTION, &record.id, &expected, patch)
            .await?
        {
            return Ok(None);
        }
        let mut record = record.clone();
        record.status = JobStatus::Running;
        record.worker = Some(self.instance_id.clone());
        record.attempts = attempts;
        record.started_at = Some(now);
        record.heartbeat_at = Some(now);
        record.progress = super::Progress::default();
        Ok(Some(record))
    }

    /// A queued document that does not parse would be retried forever: fail it instead.
    async fn fail_corrupt(&self, id: &str, e: &JobError) {
        tracing::error!(job = %id, error = %e, "malformed queued job");
        let patch =
            json!({ "status": JobStatus::Failed, "error": e.to_string(), "finished_at": now_ts() });
        let expected = Filter::new().eq("status", "queued");
        if let Err(e) = self.meta.update_if(COLLECTION, id, &expected, patch).await {
            tracing::warn!(job = %id, error = %e, "could not fail a malformed job");
        }
    }

    pub(crate) fn spawn_job(self: &Arc<Self>, record: JobRecord, permit: OwnedSemaphorePermit) {
        let token = CancellationToken::new();
        let id = record.id.clone();
        // Registered before the task exists, so a cancel arriving at once finds the token.
        lock(&self.running).insert(
            id.clone(),
            Running {
                token: token.clone(),
                abort: None,
            },
        );
        let me = self.clone();
        let task = tokio::spawn(async move {
            let _permit = permit;
            me.drive(record, token).await;
        });
        if let Some(r) = lock(&self.running).get_mut(&id) {
            r.abort = Some(task.abort_handle());
        }
    }

    /// Runs one claimed job to its end: the handler in its own task (so a panic is a
    /// `JoinError`, not a dead worker), heartbeats beside it, then the terminal write.
    async fn drive(self: Arc<Self>, record: JobRecord, token: CancellationToken) {
        let id = record.id.clone();
        tracing::info!(job = %id, kind = %record.kind, attempt = record.attempts, "job started");
        self.events.publish(JobEvent::from(&record));
        let ctx = JobContext::new(
            &id,
            &record.owner,
            record.attempts,
            token.clone(),
            self.meta.clone(),
            &self.instance_id,
            self.events.clone(),
        )
        .with_manager(Arc::downgrade(&self));
        let joined = match self.handlers.get(record.kind.as_str()).cloned() {
            Some(handler) => self.run_handler(handler, &record, &ctx, &token).await,
            None => Ok((Err(JobError::UnknownKind(record.kind.clone())), true)),
        };
        lock(&self.running).remove(&id);
        let outcome = match joined {
            Ok((_, false)) => {
                // The job is someone else's now: hand its message back at once.
                if let Some(d) = self.take_delivery(&id) {
                    let _ = d.nak(Duration::ZERO).await;
                }
                return;
            }
            Ok((Ok(v), true)) => Outcome::Succeeded(v),
            Ok((Err(e), true)) if matches!(e, JobError::Cancelled) || token.is_cancelled() => {
                Outcome::Cancelled
            }
            Ok((Err(e), true)) => Outcome::Failed(e.to_string()),
            Err(e) => Outcome::Failed(join_error(e)),
        };
        self.finish(&record, outcome, ctx.latest()).await;
        if let Some(d) = self.take_delivery(&id) {
            if let Err(e) = d.ack().await {
                // The message comes back after `ack_wait` and finds the job finished.
                tracing::warn!(job = %id, error = %e, "ack failed");
            }
        }
    }

    /// The handler in its own task, with lease renewals beside it. Returns the handler's result
    /// and whether the lease was still held at the end.
    async fn run_handler(
        &self,
        handler: Arc<dyn JobHandler>,
        record: &JobRecord,
        ctx: &JobContext,
        token: &CancellationToken,
    ) -> Result<(Result<Value, JobError>, bool), JoinError> {
        let (c, params) = (ctx.clone(), record.params.clone());
        let mut task = tokio::spawn(async move { handler.run(c, params).await });
        let _abort = AbortOnDrop(task.abort_handle());
        let mut beat = tokio::time::interval(self.config.heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        beat.tick().await;
        let mut held = true;
        let joined = loop {
            tokio::select! {
                r = &mut task => break r,
                _ = beat.tick(), if held => {
                    held = self.heartbeat(&record.id, ctx, token).await;
                    if let Some(d) = self.delivery(&record.id) {
                        if let Err(e) = d.progress().await {
                            tracing::warn!(job = %record.id, error = %e, "in-progress ack failed");
                        }
                    }
                    if !held {
                        tracing::warn!(job = %record.id, "lost the job's lease; stopping it");
                        token.cancel();
                    }
                }
            }
        };
        joined.map(|r| (r, held))
    }

    /// Renews the lease (and persists the latest progress). Returns false when the lease is lost;
    /// trips `token` when a cancel was requested from elsewhere.
    async fn heartbeat(&self, id: &str, ctx: &JobContext, token: &CancellationToken) -> bool {
        let patch = json!({ "heartbeat_at": now_ts(), "progress": ctx.latest() });
        let fence = lease(&self.instance_id);
        let quiet = fence.clone().ne("cancel_requested", true);
        let r = match self
            .meta
            .update_if(COLLECTION, id, &quiet, patch.clone())
            .await
        {
            Ok(true) => return true,
            Ok(false) => self.meta.update_if(COLLECTION, id, &fence, patch).await,
            Err(e) => Err(e),
        };
        match r {
            Ok(true) => {
                token.cancel(); // still ours, so the first CAS failed on `cancel_requested`
                true
            }
            Ok(false) => false,
            Err(e) => {
                // A store hiccup is not a lost lease; recovery handles a long outage.
                tracing::warn!(job = %id, error = %e, "heartbeat failed");
                true
            }
        }
    }

    /// Writes the terminal status under the lease, then tells subscribers.
    async fn finish(&self, record: &JobRecord, outcome: Outcome, last: super::Progress) {
        let mut progress = last;
        let (status, result, error) = match outcome {
            Outcome::Succeeded(v) => {
                progress.fraction = 1.0;
                (JobStatus::Succeeded, Some(v), None)
            }
            Outcome::Failed(m) => (JobStatus::Failed, None, Some(m)),
            Outcome::Cancelled => (JobStatus::Cancelled, None, Some("cancelled".to_string())),
        };
        let patch = json!({
            "status": status, "result": result, "error": error,
            "progress": progress, "finished_at": now_ts(),
        });
        let fence = lease(&self.instance_id);
        for attempt in 1..=FINISH_ATTEMPTS {
            match self
                .meta
                .update_if(COLLECTION, &record.id, &fence, patch.clone())
                .await
            {
                Ok(applied) => {
                    if applied {
                        tracing::info!(job = %record.id, %status, "job finished");
                        self.events.publish(JobEvent {
                            job_id: record.id.clone(),
                            status,
                            progress,
                            result,
                            error,
                        });
                    } else {
                        tracing::warn!(job = %record.id, "job outcome dropped: lease lost");
                    }
                    return;
                }
                Err(e) => {
                    tracing::warn!(job = %record.id, attempt, error = %e, "terminal write failed");
                    tokio::time::sleep(Duration::from_millis(200) * attempt).await;
                }
            }
        }
        tracing::error!(job = %record.id, "terminal status not written; recovery will settle it");
    }
}

/// A handler task that panicked (or was aborted) as a job error.
fn join_error(e: JoinError) -> String {
    if !e.is_panic() {
        return "the job's task was aborted".into();
    }
    let payload = e.into_panic();
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("job panicked: {msg}")
}
