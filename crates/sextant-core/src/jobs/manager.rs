//! [`JobManager`]: submission, queries, cancellation and subscriptions. The worker pool is in
//! `worker.rs`, recovery in `recovery.rs`.

use super::context::now_ts;
use super::events::Broadcaster;
use super::{
    JobError, JobEvent, JobFilter, JobHandler, JobRecord, JobStatus, JobSubscription, Progress,
    COLLECTION, MAX_PARAMS_BYTES,
};
use crate::common::{clean_owner, find_page, Page, PageRequest};
use chrono::Utc;
use serde_json::{json, Value};
use sextant_meta::{validate_id, Filter, MetaError, MetaStore, Query};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, OnceCell, Semaphore};
use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::sync::CancellationToken;

/// Attempts of a cancel's read-then-CAS before giving up (the job kept changing state).
const CANCEL_ATTEMPTS: usize = 4;

/// How the worker pool behaves.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// Jobs this process runs at once.
    pub concurrency: usize,
    /// Lease renewal period of a running job.
    pub heartbeat: Duration,
    /// A running job whose heartbeat is older than this is orphaned (its worker died). Several
    /// heartbeats long, so a busy store does not make live jobs look dead.
    pub stale_after: Duration,
    /// How often an idle pool looks for jobs queued by other processes (local submissions wake
    /// it at once).
    pub poll_interval: Duration,
    /// Starts of a resumable job before an interruption fails it instead of re-queuing it.
    pub max_attempts: u32,
    /// How many interruptions (the running process died, or its lease went stale) a job may
    /// survive and be re-queued (default 1): a job that kills its process every time (say, one
    /// that exhausts memory) then fails with the reason instead of taking each restart down.
    pub max_crashes: u32,
    /// Jobs one owner may have queued or running at once (default 20); more are refused with
    /// [`JobError::Quota`] (429 over HTTP).
    pub max_open_per_owner: usize,
    /// Jobs of one owner running at once across the store (default 2). Claims are fair on
    /// top of it: a free worker takes the oldest job of the owner with the fewest running, so
    /// one key's long queue never keeps another key's job waiting behind it.
    pub max_running_per_owner: usize,
    /// This process's slot name: one process per node name per store. A restarted process
    /// recovers its node's jobs at once (see the module docs); give each process its own name
    /// when several share a store.
    pub node: String,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            concurrency: 2,
            heartbeat: Duration::from_secs(5),
            stale_after: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            max_attempts: 3,
            max_crashes: 1,
            max_open_per_owner: 20,
            max_running_per_owner: 2,
            node: "local".into(),
        }
    }
}

/// A job running in this process: its token (for cancel) and task (for shutdown).
pub(crate) struct Running {
    pub token: CancellationToken,
    pub abort: Option<AbortHandle>,
}

/// Submits, lists, cancels and runs jobs. Create it with [`JobManager::new`], share the `Arc`,
/// and call [`JobManager::start`] in processes that should run jobs.
pub struct JobManager {
    pub(crate) meta: Arc<dyn MetaStore>,
    pub(crate) handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    pub(crate) config: JobConfig,
    pub(crate) instance_id: String,
    pub(crate) events: Broadcaster,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) wake: Notify,
    pub(crate) stop: CancellationToken,
    pub(crate) running: Mutex<HashMap<String, Running>>,
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) started: AtomicBool,
    /// The NATS transport, when jobs travel to remote workers.
    pub(crate) remote: std::sync::OnceLock<super::remote::Remote>,
    /// Woken by every terminal event relayed from a worker (coordinators wait on it).
    pub(crate) remote_done: Notify,
    indexes: OnceCell<()>,
}

impl JobManager {
    /// A manager over `meta` with these handlers (a later handler of the same kind replaces an
    /// earlier one). Nothing runs until [`JobManager::start`].
    pub fn new(
        meta: Arc<dyn MetaStore>,
        handlers: Vec<Arc<dyn JobHandler>>,
        config: JobConfig,
    ) -> Arc<JobManager> {
        let mut config = config;
        config.concurrency = config.concurrency.max(1);
        config.heartbeat = config.heartbeat.max(Duration::from_millis(10));
        if config.stale_after < config.heartbeat * 3 {
            tracing::warn!("jobs: stale_after shorter than 3 heartbeats; using 3 heartbeats");
            config.stale_after = config.heartbeat * 3;
        }
        config.max_attempts = config.max_attempts.max(1);
        let instance_id = format!("{}/{}", config.node, uuid::Uuid::new_v4().simple());
        Arc::new(JobManager {
            meta,
            handlers: handlers.into_iter().map(|h| (h.kind(), h)).collect(),
            permits: Arc::new(Semaphore::new(config.concurrency)),
            config,
            instance_id,
            events: Broadcaster::default(),
            wake: Notify::new(),
            stop: CancellationToken::new(),
            running: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
            started: AtomicBool::new(false),
            remote: std::sync::OnceLock::new(),
            remote_done: Notify::new(),
            indexes: OnceCell::new(),
        })
    }

    /// This process's worker id (`<node>/<uuid>`), as written in the `worker` of jobs it runs.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// The configuration in force: as given to [`JobManager::new`] after its corrections
    /// (concurrency and `max_attempts` at least 1, heartbeat at least 10 ms, `stale_after` at least
    /// three heartbeats).
    pub fn config(&self) -> &JobConfig {
        &self.config
    }

    /// The kinds that can be submitted, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.handlers.keys().copied().collect();
        k.sort_unstable();
        k
    }

    /// Validates and queues a job; a started pool picks it up at once.
    pub async fn submit(
        &self,
        kind: &str,
        params: Value,
        owner: &str,
    ) -> Result<JobRecord, JobError> {
        let handler = self
            .handlers
            .get(kind)
            .ok_or_else(|| JobError::UnknownKind(kind.to_string()))?;
        if crate::scale::CHILD_KINDS.contains(&kind) {
            return Err(JobError::InvalidParams(format!(
                "{kind} jobs are queued by the job they are part of, not submitted"
            )));
        }
        let owner = clean_owner(owner)?;
        let size = serde_json::to_vec(&params).map_or(usize::MAX, |b| b.len());
        if size > MAX_PARAMS_BYTES {
            return Err(JobError::InvalidParams(format!(
                "params are {size} bytes; at most {MAX_PARAMS_BYTES} are stored with a job"
            )));
        }
        handler.validate(&params)?;
        self.ensure_indexes().await?;
        // Per-owner quota: one key cannot fill the queue for everyone. Counted, then inserted:
        // concurrent submissions of one owner may overshoot by the number in flight, never
        // by more.
        let open = self
            .meta
            .count(
                COLLECTION,
                &Filter::new()
                    .eq("owner", owner.as_str())
                    .any_of("status", vec![json!("queued"), json!("running")])
                    // Child jobs (a study's trial batches) ride on their parent's place.
                    .eq("parent", Value::Null),
            )
            .await?;
        if open >= self.config.max_open_per_owner as u64 {
            return Err(JobError::Quota {
                owner,
                open,
                limit: self.config.max_open_per_owner,
            });
        }
        let record = self
            .insert_record(handler.as_ref(), params, owner, None)
            .await?;
        tracing::info!(job = %record.id, kind, "job queued");
        self.publish_job(&record).await;
        self.wake.notify_one();
        Ok(record)
    }

    /// Queues a child job of `parent` for `owner`, outside the owner's quota (the parent holds
    /// a place in it).
    pub(crate) async fn insert_child(
        &self,
        kind: &str,
        params: Value,
        owner: &str,
        parent: &str,
    ) -> Result<JobRecord, JobError> {
        let handler = self
            .handlers
            .get(kind)
            .ok_or_else(|| JobError::UnknownKind(kind.to_string()))?
            .clone();
        handler.validate(&params)?;
        self.ensure_indexes().await?;
        self.insert_record(handler.as_ref(), params, owner.to_string(), Some(parent))
            .await
    }

    async fn insert_record(
        &self,
        handler: &dyn JobHandler,
        params: Value,
        owner: String,
        parent: Option<&str>,
    ) -> Result<JobRecord, JobError> {
        let mut record = JobRecord {
            id: String::new(),
            kind: handler.kind().to_string(),
            params,
            status: JobStatus::Queued,
            progress: Progress::default(),
            result: None,
            error: None,
            owner,
            created_at: Utc::now(),
            started_at: None,
            finished_at: None,
            heartbeat_at: None,
            worker: None,
            attempts: 0,
            cancel_requested: false,
            crashes: 0,
            last_interruption: None,
            resumable: handler.resumable(),
            parent: parent.map(str::to_string),
        };
        record.id = match self.meta.insert(COLLECTION, record.to_doc()?).await {
            Ok(id) => id,
            // Too deep or otherwise unstorable JSON is the caller's parameters' fault.
            Err(MetaError::Invalid(m)) => return Err(JobError::InvalidParams(m)),
            Err(e) => return Err(e.into()),
        };
        Ok(record)
    }

    /// One job.
    /// The job `id` if `actor` may see it (its owner, or an admin); otherwise not found.
    pub async fn get_as(
        &self,
        id: &str,
        actor: crate::common::Actor<'_>,
    ) -> Result<JobRecord, JobError> {
        let r = self.get(id).await?;
        if actor.may(&r.owner) {
            Ok(r)
        } else {
            Err(JobError::NotFound(id.to_string()))
        }
    }

    /// The job `id`, whoever owns it (for trusted callers; use [`JobManager::get_as`] on behalf
    /// of an API key).
    ///
    /// # Errors
    /// [`JobError::NotFound`] for an unknown or malformed id, [`JobError::Corrupt`] for a stored
    /// document that does not read as a [`JobRecord`], [`JobError::Store`] when the store fails.
    pub async fn get(&self, id: &str) -> Result<JobRecord, JobError> {
        if validate_id(id).is_err() {
            return Err(JobError::NotFound(id.to_string()));
        }
        match self.meta.get(COLLECTION, id).await? {
            Some(doc) => JobRecord::from_doc(doc),
            None => Err(JobError::NotFound(id.to_string())),
        }
    }

    /// A page of jobs, newest first, with the cursor of the next page.
    pub async fn list(
        &self,
        filter: &JobFilter,
        page: &PageRequest,
    ) -> Result<Page<JobRecord>, JobError> {
        let query = Query::new()
            .filter(filter.to_filter())
            .sort_desc("created_at");
        let docs = find_page::<JobError>(self.meta.as_ref(), COLLECTION, query, page).await?;
        docs.try_map(JobRecord::from_doc)
    }

    /// Cancels a job: a queued one becomes `cancelled` at once; a running one gets
    /// `cancel_requested` and stops when its handler notices (immediately signalled in this
    /// process, at the next heartbeat elsewhere). Returns the updated record; a finished job is
    /// [`JobError::NotCancellable`].
    pub async fn cancel(&self, id: &str) -> Result<JobRecord, JobError> {
        for _ in 0..CANCEL_ATTEMPTS {
            let record = self.get(id).await?;
            let applied = match record.status {
                s if s.is_terminal() => return Err(JobError::NotCancellable { status: s }),
                JobStatus::Queued => {
                    let patch = json!({
                        "status": JobStatus::Cancelled,
                        "cancel_requested": true,
                        "error": "cancelled before it started",
                        "finished_at": now_ts(),
                    });
                    let expected = Filter::new().eq("status", "queued");
                    self.meta
                        .update_if(COLLECTION, id, &expected, patch)
                        .await?
                }
                _ => {
                    let patch = json!({ "cancel_requested": true });
                    let expected = Filter::new().eq("status", "running");
                    let applied = self
                        .meta
                        .update_if(COLLECTION, id, &expected, patch)
                        .await?;
                    if applied {
                        if let Some(r) = super::lock(&self.running).get(id) {
                            r.token.cancel();
                        }
                        // A remote worker hears it now rather than at its next heartbeat.
                        if let Some(q) = self.queue() {
                            if let Err(e) = q.publish_cancel(id).await {
                                tracing::warn!(job = %id, error = %e, "cancel not sent over NATS");
                            }
                        }
                    }
                    applied
                }
            };
            if applied {
                let updated = self.get(id).await?;
                tracing::info!(job = %id, status = %updated.status, "job cancel requested");
                if updated.status.is_terminal() {
                    self.events.publish(JobEvent::from(&updated));
                }
                return Ok(updated);
            }
        }
        Err(JobError::Failed(format!(
            "job {id} kept changing state while being cancelled; retry"
        )))
    }

    /// The job now and its later events (for a server-sent-events stream).
    pub async fn subscribe(&self, id: &str) -> Result<JobSubscription, JobError> {
        // Subscribe before reading, so no event falls between the snapshot and the stream.
        let events = self.events.subscribe(id);
        let snapshot = match self.get(id).await {
            Ok(r) => r,
            Err(e) => {
                self.events.close(id);
                return Err(e);
            }
        };
        if snapshot.status.is_terminal() {
            self.events.close(id);
        }
        Ok(JobSubscription { snapshot, events })
    }

    pub(crate) async fn ensure_indexes(&self) -> Result<(), JobError> {
        self.indexes
            .get_or_try_init(|| async {
                for field in ["status", "created_at", "owner"] {
                    self.meta.ensure_index(COLLECTION, field, false).await?;
                }
                Ok::<(), JobError>(())
            })
            .await?;
        Ok(())
    }
}
