//! Settling orphaned jobs (at start-up and periodically) and graceful shutdown. The rules are
//! in the module docs of [`super`].

use super::context::{lease, now_ts};
use super::{
    lock, JobError, JobEvent, JobManager, JobRecord, JobStatus, Progress, COLLECTION, INTERRUPTED,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sextant_meta::{Filter, Query};
use std::sync::Arc;
use std::time::Duration;

/// Running jobs read per page while looking for orphans.
const PAGE: u64 = 200;

/// What a recovery or a shutdown did to interrupted jobs, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryReport {
    /// Resumable jobs put back in the queue to run again from the start.
    pub requeued: Vec<String>,
    /// Jobs marked `failed` (with [`super::INTERRUPTED`] in their error).
    pub failed: Vec<String>,
    /// Jobs marked `cancelled` because a cancel had been requested.
    pub cancelled: Vec<String>,
}

impl RecoveryReport {
    /// True when no job was touched.
    pub fn is_empty(&self) -> bool {
        self.requeued.is_empty() && self.failed.is_empty() && self.cancelled.is_empty()
    }

    fn add(&mut self, id: String, status: JobStatus) {
        match status {
            JobStatus::Queued => self.requeued.push(id),
            JobStatus::Cancelled => self.cancelled.push(id),
            _ => self.failed.push(id),
        }
    }
}

impl JobManager {
    /// Settles jobs left `running` by dead workers: those of earlier instances of this node and
    /// those whose heartbeat is stale. [`JobManager::start`] calls it; it is safe to call any
    /// time and from several processes at once (each job is settled by one compare-and-swap).
    pub async fn recover(&self) -> Result<RecoveryReport, JobError> {
        let report = self.settle_orphans(true).await?;
        if !report.is_empty() {
            tracing::warn!(?report, "recovered jobs interrupted by a stopped process");
        }
        Ok(report)
    }

    async fn settle_orphans(&self, startup: bool) -> Result<RecoveryReport, JobError> {
        self.ensure_indexes().await?;
        let stale = chrono::Duration::from_std(self.config.stale_after)
            .unwrap_or_else(|_| chrono::Duration::seconds(30));
        let cutoff = Utc::now() - stale;
        let mut report = RecoveryReport::default();
        let mut query = Query::new()
            .filter(Filter::new().eq("status", "running"))
            .limit(PAGE);
        loop {
            let docs = self.meta.find(COLLECTION, &query).await?;
            for doc in &docs {
                let record = match JobRecord::from_doc(doc.clone()) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "skipping a malformed running job");
                        continue;
                    }
                };
                if !self.is_orphan(&record, cutoff, startup) {
                    continue;
                }
                // The exact lease that was read: a worker that renews it meanwhile wins.
                let seen = |f: &str| doc.get(f).cloned().unwrap_or(Value::Null);
                let expected = Filter::new()
                    .eq("status", "running")
                    .eq("worker", seen("worker"))
                    .eq("heartbeat_at", seen("heartbeat_at"));
                if let Some(status) = self.interrupt(&record, &expected, true).await? {
                    report.add(record.id, status);
                }
            }
            match query.cursor_after(&docs) {
                Some(c) if docs.len() as u64 == PAGE => query = query.after(c),
                _ => return Ok(report),
            }
        }
    }

    fn is_orphan(&self, r: &JobRecord, cutoff: DateTime<Utc>, startup: bool) -> bool {
        if lock(&self.running).contains_key(&r.id) {
            return false;
        }
        let Some(worker) = r.worker.as_deref() else {
            return true;
        };
        let stale = r.heartbeat_at.is_none_or(|t| t < cutoff);
        let same_node = worker.rsplit_once('/').map(|(node, _)| node) == Some(&self.config.node);
        stale || (startup && same_node && worker != self.instance_id)
    }

    /// Applies the interruption rule to a running job if it still matches `expected`. Returns
    /// the status written, or `None` when the job had changed meanwhile. `crash` is false for
    /// this process's own graceful shutdown, which is no evidence against the job.
    pub(crate) async fn interrupt(
        &self,
        r: &JobRecord,
        expected: &Filter,
        crash: bool,
    ) -> Result<Option<JobStatus>, JobError> {
        let crashes = r.crashes + u32::from(crash);
        let reason = if crash {
            format!(
                "worker {} stopped while running it (last heartbeat {})",
                r.worker.as_deref().unwrap_or("unknown"),
                r.heartbeat_at
                    .map_or_else(|| "never".to_string(), |t| t.to_rfc3339())
            )
        } else {
            "the process shut down before it finished".to_string()
        };
        let (status, error) = if r.cancel_requested {
            (JobStatus::Cancelled, "cancelled".to_string())
        } else if r.resumable
            && r.attempts < self.config.max_attempts
            && crashes <= self.config.max_crashes
        {
            (JobStatus::Queued, String::new())
        } else if r.resumable {
            let n = r.attempts;
            (
                JobStatus::Failed,
                format!(
                    "{INTERRUPTED} (after {n} attempts, {crashes} interruptions; not re-run \
                     again, since it may be what stopped the process; last: {reason})"
                ),
            )
        } else if crash {
            (JobStatus::Failed, format!("{INTERRUPTED} ({reason})"))
        } else {
            (JobStatus::Failed, INTERRUPTED.to_string())
        };
        let progress = if status == JobStatus::Queued {
            Progress {
                fraction: 0.0,
                message: "re-queued after an interruption".into(),
            }
        } else {
            r.progress.clone()
        };
        let patch = if status == JobStatus::Queued {
            json!({ "status": status, "worker": null, "started_at": null,
                    "heartbeat_at": null, "progress": progress,
                    "crashes": crashes, "last_interruption": reason })
        } else {
            json!({ "status": status, "error": error, "finished_at": now_ts(),
                    "crashes": crashes, "last_interruption": reason })
        };
        if !self
            .meta
            .update_if(COLLECTION, &r.id, expected, patch)
            .await?
        {
            return Ok(None);
        }
        tracing::warn!(job = %r.id, worker = ?r.worker, %status, "interrupted job settled");
        self.events.publish(JobEvent {
            job_id: r.id.clone(),
            status,
            progress,
            result: None,
            error: (status != JobStatus::Queued).then_some(error),
        });
        if status == JobStatus::Queued {
            self.wake.notify_one();
        }
        Ok(Some(status))
    }

    /// A stopping worker hands the messages of the jobs it no longer runs back to JetStream at
    /// once (their jobs were re-queued or settled above), and leaves the registry.
    async fn release_deliveries(&self) {
        let Some(remote) = self.remote.get() else {
            return;
        };
        let left: Vec<_> = lock(&remote.deliveries).drain().collect();
        for (id, d) in left {
            if let Err(e) = d.nak(Duration::ZERO).await {
                tracing::warn!(job = %id, error = %e, "message not handed back; redelivered later");
            }
        }
        if remote.serving.load(std::sync::atomic::Ordering::SeqCst) {
            self.register("stopped", &now_ts()).await;
        }
    }

    /// Every `stale_after / 2`: settles jobs whose worker died while this process runs.
    pub(crate) async fn sweep_loop(self: Arc<Self>) {
        let period = self.config.stale_after / 2;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = self.stop.cancelled() => return,
            }
            match self.settle_orphans(false).await {
                Ok(r) if !r.is_empty() => tracing::warn!(report = ?r, "settled orphaned jobs"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "orphan sweep failed"),
            }
        }
    }

    /// Stops claiming, waits up to `grace` for the running jobs to finish, then stops the rest
    /// and settles them by the interruption rule (a resumable job goes back to the queue for
    /// the next process). Final: the manager runs no job afterwards.
    pub async fn shutdown(&self, grace: Duration) -> Result<RecoveryReport, JobError> {
        self.stop.cancel();
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        for t in tasks {
            let _ = t.await;
        }
        let all = u32::try_from(self.config.concurrency).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(grace, self.permits.acquire_many(all)).await;
        self.permits.close();
        let mut report = RecoveryReport::default();
        if matches!(drained, Ok(Ok(_))) {
            self.release_deliveries().await;
            return Ok(report);
        }
        let left: Vec<_> = lock(&self.running).drain().collect();
        for (id, running) in left {
            // Abort rather than cancel: a handler that saw its token would end as "cancelled",
            // which is not what happened. The token is tripped after the status is written,
            // for blocking work the abort cannot reach.
            if let Some(task) = running.abort {
                task.abort();
            }
            let _stop_blocking_work = running.token.drop_guard();
            let record = match self.get(&id).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(job = %id, error = %e, "cannot settle a stopped job");
                    continue;
                }
            };
            let mine = record.worker.as_deref() == Some(self.instance_id.as_str());
            if record.status == JobStatus::Running && mine {
                if let Some(status) = self
                    .interrupt(&record, &lease(&self.instance_id), false)
                    .await?
                {
                    report.add(id, status);
                }
            }
        }
        self.release_deliveries().await;
        tracing::info!(?report, "job pool stopped");
        Ok(report)
    }
}
