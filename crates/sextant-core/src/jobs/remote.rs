//! Jobs through NATS JetStream ([`sextant_queue`]): the server publishes the jobs of the kinds
//! that travel, `sextant worker` processes pull and run them, and their events and cancels
//! travel back over core NATS subjects. The job record in the metadata store stays the truth:
//! a delivery is only a reason to try the claim protocol of the module docs.
//!
//! # What a worker does with a delivery
//!
//! * job finished (any terminal status) → acknowledge: a duplicate or a late redelivery;
//! * job queued → claim it (compare-and-swap) and run it, sending an in-progress
//!   acknowledgement with every lease renewal; acknowledge when its terminal status is written;
//! * job running under a lease that is still fresh → redeliver later (`nak` with the delay
//!   until the lease would be stale): someone is working on it;
//! * job running under a stale lease → its worker died: settle it by the interruption rule
//!   (re-queue a resumable job unless it already stopped `max_crashes` workers, else fail it)
//!   and, if re-queued, claim and run it. A poison job therefore ends `failed` after
//!   `max_crashes + 1` starts, never loops; on the message's last delivery a job still
//!   running is failed outright.

use super::context::now_ts;
use super::{lock, JobError, JobEvent, JobManager, JobRecord, JobStatus, COLLECTION};
use serde_json::{json, Value};
use sextant_meta::{Filter, Query};
use sextant_queue::{Delivery, JobMessage, Queue};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

/// Metadata collection of the worker registry (one document per worker process).
pub const WORKERS: &str = "workers";
/// How long one pull request waits for a message (then another is sent).
const PULL_WAIT: Duration = Duration::from_secs(5);
/// How long a message that lost the race for this worker's last free slot waits for one before
/// it is handed back to the queue.
const SLOT_WAIT: Duration = Duration::from_millis(100);
/// How often a coordinator reads its children's records while it waits, besides when a
/// child's terminal event arrives.
const CHILD_POLL: Duration = Duration::from_millis(250);

/// The transport of a manager that sends some kinds to remote workers (server) or takes them
/// from the queue (worker).
pub(crate) struct Remote {
    pub queue: Queue,
    /// Kinds that travel: the server publishes them and does not claim them itself.
    pub kinds: HashSet<String>,
    /// Deliveries of the jobs this process runs, for acknowledgements and drain.
    pub deliveries: Mutex<HashMap<String, Arc<Delivery>>>,
    /// True in a `sextant worker` (it pulls from the queue and is in the registry).
    pub serving: std::sync::atomic::AtomicBool,
}

/// One worker process as the registry shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerInfo {
    /// The worker's instance id (`<node>/<uuid>`).
    #[serde(rename = "_id")]
    pub id: String,
    /// Kinds it serves.
    pub kinds: Vec<String>,
    /// Jobs it runs at once.
    pub concurrency: usize,
    /// Jobs it runs now.
    pub running: usize,
    /// `active` or `draining` (stopping after its running jobs) or `stopped`.
    pub state: String,
    /// When it started.
    pub started_at: String,
    /// Its last heartbeat; a worker silent for longer than the stale threshold is gone.
    pub heartbeat_at: String,
}

impl JobManager {
    /// Sends jobs of `kinds` through `queue`: they are published at submission and this
    /// process never claims them from the store (workers do). Call before [`JobManager::start`];
    /// a second call is refused.
    pub fn use_queue(&self, queue: Queue, kinds: &[&str]) -> Result<(), JobError> {
        let remote = Remote {
            queue,
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
            deliveries: Mutex::new(HashMap::new()),
            serving: std::sync::atomic::AtomicBool::new(false),
        };
        self.remote
            .set(remote)
            .map_err(|_| JobError::Failed("the job queue is already set".into()))
    }

    /// The NATS transport, when one is configured.
    pub fn queue(&self) -> Option<&Queue> {
        self.remote.get().map(|r| &r.queue)
    }

    /// Whether jobs of `kind` go to remote workers.
    pub fn is_remote(&self, kind: &str) -> bool {
        self.remote.get().is_some_and(|r| r.kinds.contains(kind))
    }

    /// Publishes a queued job of a travelling kind. The message id makes a second publish of
    /// the same start harmless; a failure is logged and repaired by [`Self::republish_queued`].
    pub(crate) async fn publish_job(&self, record: &JobRecord) {
        let Some(remote) = self.remote.get() else {
            return;
        };
        if !remote.kinds.contains(&record.kind) {
            return;
        }
        let msg = JobMessage {
            job_id: record.id.clone(),
            kind: record.kind.clone(),
        };
        let dedupe = format!("{}.{}.{}", record.id, record.attempts, record.crashes);
        if let Err(e) = remote.queue.publish(&msg, &dedupe).await {
            tracing::warn!(job = %record.id, error = %e, "publishing a job failed; will retry");
        }
    }

    /// Publishes every queued job of a travelling kind again (de-duplicated by JetStream for an
    /// hour): repairs a publish lost to a crash between the store write and the publish.
    /// Returns how many were sent.
    pub async fn republish_queued(&self) -> Result<usize, JobError> {
        let Some(remote) = self.remote.get() else {
            return Ok(0);
        };
        let kinds: Vec<Value> = remote.kinds.iter().map(|k| json!(k)).collect();
        let query = Query::new()
            .filter(Filter::new().eq("status", "queued").any_of("kind", kinds))
            .limit(10_000);
        let docs = self.meta.find(COLLECTION, &query).await?;
        let mut sent = 0;
        for d in docs {
            if let Ok(r) = JobRecord::from_doc(d) {
                self.publish_job(&r).await;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Server side: events of remote jobs (from NATS) to this process's subscribers, and a
    /// periodic re-publish of queued remote jobs.
    pub(crate) async fn relay_loop(self: Arc<Self>) {
        let Some(remote) = self.remote.get() else {
            return;
        };
        let mut events = match remote.queue.events().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot subscribe to job events");
                return;
            }
        };
        let mut republish = tokio::time::interval(self.config.stale_after);
        republish.tick().await;
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                e = futures::StreamExt::next(&mut events) => match e {
                    Some((_, bytes)) => match serde_json::from_slice::<JobEvent>(&bytes) {
                        Ok(ev) => {
                            let done = ev.is_terminal();
                            self.events.publish(ev);
                            if done {
                                self.remote_done.notify_waiters();
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "malformed job event"),
                    },
                    None => return,
                },
                _ = republish.tick() => {
                    if let Err(e) = self.republish_queued().await {
                        tracing::warn!(error = %e, "re-publishing queued jobs failed");
                    }
                }
            }
        }
    }

    /// Worker side: serves the kinds of this manager's handlers from the queue until
    /// [`JobManager::drain`]. Registers the worker, listens for cancels, forwards events.
    pub async fn start_worker(self: &Arc<Self>) -> Result<(), JobError> {
        let Some(remote) = self.remote.get() else {
            return Err(JobError::Failed(
                "a worker needs a job queue (--nats)".into(),
            ));
        };
        self.ensure_indexes().await?;
        self.recover().await?;
        if self.started.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        remote
            .serving
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.events.set_tap(tx);
        // Not among the tasks shutdown waits for: the events of jobs finishing during a drain
        // must still reach the server; it ends with the process.
        tokio::spawn(self.clone().forward_events(rx));
        let mut tasks = vec![
            tokio::spawn(self.clone().cancel_loop()),
            tokio::spawn(self.clone().registry_loop()),
            tokio::spawn(self.clone().sweep_loop()),
        ];
        for kind in self.kinds() {
            let consumer = remote
                .queue
                .consumer(kind)
                .await
                .map_err(|e| JobError::Failed(e.to_string()))?;
            tasks.push(tokio::spawn(self.clone().pull_loop(kind, consumer)));
        }
        lock(&self.tasks).extend(tasks);
        tracing::info!(worker = %self.instance_id, kinds = ?self.kinds(),
                       concurrency = self.config.concurrency, "worker started");
        Ok(())
    }

    /// Pulls `kind`'s messages while this worker has a free slot. A loop does not hold a slot
    /// while it waits for a message (that would starve the other kinds' loops); when two kinds'
    /// messages race for the last slot, the loser waits briefly and is otherwise handed back.
    async fn pull_loop(self: Arc<Self>, kind: &'static str, consumer: sextant_queue::KindConsumer) {
        loop {
            // Wait for a free slot without taking it.
            tokio::select! {
                biased;
                _ = self.stop.cancelled() => return,
                p = self.permits.acquire() => match p {
                    Ok(p) => drop(p),
                    Err(_) => return,
                },
            }
            let next = tokio::select! {
                _ = self.stop.cancelled() => return,
                n = consumer.next(PULL_WAIT) => n,
            };
            let d = match next {
                Ok(Some(d)) => d,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(kind, error = %e, "pulling jobs failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            let permit =
                match tokio::time::timeout(SLOT_WAIT, self.permits.clone().acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    _ => {
                        let _ = d.nak(Duration::ZERO).await;
                        continue;
                    }
                };
            if self.stop.is_cancelled() {
                let _ = d.nak(Duration::ZERO).await;
                return;
            }
            self.clone().take(d, permit).await;
        }
    }

    /// Decides what a delivery means (see the module docs) and runs the job if it is ours.
    async fn take(self: Arc<Self>, d: Delivery, permit: OwnedSemaphorePermit) {
        let id = d.job.job_id.clone();
        let record = match self.get(&id).await {
            Ok(r) => r,
            Err(JobError::NotFound(_)) => {
                tracing::warn!(job = %id, "message for an unknown job: terminated");
                let _ = d.term().await;
                return;
            }
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "cannot read a delivered job");
                let _ = d.nak(Duration::from_secs(1)).await;
                return;
            }
        };
        let record = match record.status {
            s if s.is_terminal() => {
                let _ = d.ack().await;
                return;
            }
            JobStatus::Running => match self.settle_running(&record, &d).await {
                Some(r) => r,
                None => return,
            },
            _ => record,
        };
        match self.claim(&record).await {
            Ok(Some(claimed)) => {
                let d = Arc::new(d);
                if let Some(r) = self.remote.get() {
                    lock(&r.deliveries).insert(id.clone(), d.clone());
                }
                self.spawn_job(claimed, permit);
            }
            Ok(None) => {
                let _ = d.nak(Duration::from_millis(200)).await;
            }
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "claiming a delivered job failed");
                let _ = d.nak(Duration::from_secs(1)).await;
            }
        }
    }

    /// A delivered job that is `running`: `Some(re-queued record)` when its worker is gone and
    /// it may run again; `None` when the delivery was settled here (redelivered later, or the
    /// job ended).
    async fn settle_running(&self, record: &JobRecord, d: &Delivery) -> Option<JobRecord> {
        let stale = chrono::Duration::from_std(self.config.stale_after).ok()?;
        let age = record
            .heartbeat_at
            .map_or(stale, |t| chrono::Utc::now() - t);
        let expected = Filter::new()
            .eq("status", "running")
            .eq(
                "worker",
                record.worker.clone().map_or(Value::Null, Value::from),
            )
            .eq(
                "heartbeat_at",
                record
                    .heartbeat_at
                    .map_or(Value::Null, |t| Value::from(super::record::ts(t))),
            );
        if age < stale {
            let wait = (stale - age).to_std().unwrap_or_default() + Duration::from_millis(100);
            let _ = d.nak(wait).await;
            return None;
        }
        if d.is_last() {
            let error = format!(
                "failed after {} deliveries: every worker that took it stopped while running it",
                d.delivered
            );
            let patch = json!({ "status": JobStatus::Failed, "error": error,
                                "finished_at": now_ts() });
            if let Ok(true) = self
                .meta
                .update_if(COLLECTION, &record.id, &expected, patch)
                .await
            {
                self.events.publish(JobEvent {
                    job_id: record.id.clone(),
                    status: JobStatus::Failed,
                    progress: record.progress.clone(),
                    result: None,
                    error: Some(error),
                });
            }
            let _ = d.term().await;
            return None;
        }
        match self.interrupt(record, &expected, true).await {
            Ok(Some(JobStatus::Queued)) => self.get(&record.id).await.ok(),
            Ok(Some(_)) => {
                let _ = d.ack().await;
                None
            }
            Ok(None) | Err(_) => {
                let _ = d.nak(Duration::from_millis(200)).await;
                None
            }
        }
    }

    /// The delivery of a job this process runs, taken out of the registry.
    pub(crate) fn take_delivery(&self, id: &str) -> Option<Arc<Delivery>> {
        self.remote
            .get()
            .and_then(|r| lock(&r.deliveries).remove(id))
    }

    /// The delivery of a job this process runs (for in-progress acknowledgements).
    pub(crate) fn delivery(&self, id: &str) -> Option<Arc<Delivery>> {
        self.remote
            .get()
            .and_then(|r| lock(&r.deliveries).get(id).cloned())
    }

    async fn forward_events(
        self: Arc<Self>,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<JobEvent>,
    ) {
        let Some(remote) = self.remote.get() else {
            return;
        };
        while let Some(ev) = rx.recv().await {
            if let Ok(bytes) = serde_json::to_vec(&ev) {
                if let Err(e) = remote.queue.publish_event(&ev.job_id, bytes).await {
                    tracing::debug!(error = %e, "job event not forwarded");
                }
            }
        }
    }

    async fn cancel_loop(self: Arc<Self>) {
        let Some(remote) = self.remote.get() else {
            return;
        };
        let mut cancels = match remote.queue.cancels().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot subscribe to cancels; heartbeats still see them");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                c = futures::StreamExt::next(&mut cancels) => match c {
                    Some(id) => {
                        if let Some(r) = lock(&self.running).get(&id) {
                            tracing::info!(job = %id, "cancel received");
                            r.token.cancel();
                        }
                    }
                    None => return,
                },
            }
        }
    }

    async fn registry_loop(self: Arc<Self>) {
        self.prune_registry().await;
        let started = now_ts();
        let mut beat = tokio::time::interval(self.config.heartbeat);
        loop {
            let state = if self.stop.is_cancelled() {
                "draining"
            } else {
                "active"
            };
            self.register(state, &started).await;
            tokio::select! {
                _ = beat.tick() => {}
                _ = self.stop.cancelled() => {
                    self.register("draining", &started).await;
                    return;
                }
            }
        }
    }

    pub(crate) async fn register(&self, state: &str, started: &str) {
        let info = WorkerInfo {
            id: self.instance_id.clone(),
            kinds: self.kinds().iter().map(|k| k.to_string()).collect(),
            concurrency: self.config.concurrency,
            running: lock(&self.running).len(),
            state: state.to_string(),
            started_at: started.to_string(),
            heartbeat_at: now_ts(),
        };
        let doc = match serde_json::to_value(&info) {
            Ok(d) => d,
            Err(_) => return,
        };
        if let Err(e) = self.meta.upsert(WORKERS, &info.id, doc).await {
            tracing::warn!(error = %e, "worker heartbeat not written");
        }
    }

    /// Forgets workers silent for an hour (stopped or dead), so the registry stays as small as
    /// the fleet.
    async fn prune_registry(&self) {
        let Ok(docs) = self.meta.find(WORKERS, &Query::new().limit(10_000)).await else {
            return;
        };
        let cutoff = chrono::Utc::now() - chrono::Duration::hours(1);
        for w in docs.into_iter().filter_map(worker_info) {
            let old = match chrono::DateTime::parse_from_rfc3339(&w.heartbeat_at) {
                Ok(t) => t.with_timezone(&chrono::Utc) < cutoff,
                Err(_) => true,
            };
            if old {
                let _ = self.meta.delete(WORKERS, &w.id).await;
            }
        }
    }

    /// Workers whose heartbeat is younger than the stale threshold, as the registry shows them.
    pub async fn workers(&self) -> Result<Vec<WorkerInfo>, JobError> {
        let stale = chrono::Duration::from_std(self.config.stale_after)
            .unwrap_or_else(|_| chrono::Duration::seconds(30));
        let now = chrono::Utc::now();
        let docs = self.meta.find(WORKERS, &Query::new().limit(10_000)).await?;
        Ok(docs
            .into_iter()
            .filter_map(worker_info)
            .filter(|w| {
                w.state != "stopped"
                    && chrono::DateTime::parse_from_rfc3339(&w.heartbeat_at)
                        .is_ok_and(|t| now - t.with_timezone(&chrono::Utc) < stale)
            })
            .collect())
    }

    /// Job slots of the live workers serving `kind` (at least 1): how many pieces a coordinator
    /// splits its work into.
    pub async fn remote_slots(&self, kind: &str) -> usize {
        self.live_slots(kind).await.max(1)
    }

    /// Job slots of the live workers serving `kind`; 0 when there is none (or the registry
    /// cannot be read).
    pub async fn live_slots(&self, kind: &str) -> usize {
        match self.workers().await {
            Ok(ws) => ws
                .iter()
                .filter(|w| w.kinds.iter().any(|k| k == kind) && w.state == "active")
                .map(|w| w.concurrency)
                .sum::<usize>(),
            Err(e) => {
                tracing::warn!(error = %e, "worker registry unreadable: running locally");
                0
            }
        }
    }

    /// Runs `params.len()` child jobs of `kind` on the workers and waits for all of them: the
    /// results in order (`Err` holds a child's error). Children belong to `owner`, do not count
    /// against its quota (the parent does), and are cancelled with the parent (`token`).
    pub(crate) async fn run_children(
        self: &Arc<Self>,
        parent: &str,
        owner: &str,
        kind: &str,
        params: Vec<Value>,
        token: &tokio_util::sync::CancellationToken,
    ) -> Result<Vec<Result<Value, String>>, JobError> {
        let mut ids = Vec::with_capacity(params.len());
        for p in params {
            let record = self.insert_child(kind, p, owner, parent).await?;
            self.publish_job(&record).await;
            ids.push(record.id);
        }
        let want: Vec<Value> = ids.iter().map(|i| json!(i)).collect();
        loop {
            // Registered before the store is read, so a child finishing in between still wakes
            // this loop; the poll is the fallback for an event lost on the way.
            let woken = self.remote_done.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if token.is_cancelled() {
                for id in &ids {
                    let _ = self.cancel(id).await;
                }
                return Err(JobError::Cancelled);
            }
            let docs = self
                .meta
                .find(
                    COLLECTION,
                    &Query::new()
                        .filter(Filter::new().any_of("_id", want.clone()))
                        .limit(ids.len() as u64 + 1),
                )
                .await?;
            let mut done: HashMap<String, JobRecord> = HashMap::new();
            for d in docs {
                let r = JobRecord::from_doc(d)?;
                if r.status.is_terminal() {
                    done.insert(r.id.clone(), r);
                }
            }
            if done.len() == ids.len() {
                return Ok(ids
                    .iter()
                    .map(|id| {
                        let r = &done[id];
                        match (r.status, &r.result) {
                            (JobStatus::Succeeded, Some(v)) => Ok(v.clone()),
                            _ => Err(r.error.clone().unwrap_or_else(|| r.status.to_string())),
                        }
                    })
                    .collect());
            }
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(CHILD_POLL) => {}
                _ = token.cancelled() => {}
            }
        }
    }
}

/// A worker's registry document, or `None` (logged) when it does not read.
fn worker_info(doc: serde_json::Value) -> Option<WorkerInfo> {
    crate::common::readable(doc, "worker registry")
}
