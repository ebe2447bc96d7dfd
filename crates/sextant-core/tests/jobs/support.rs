//! Test handlers and helpers shared by the job tests.

use async_trait::async_trait;
use serde_json::{json, Value};
use sextant_core::jobs::{JobConfig, JobContext, JobError, JobHandler, JobManager, JobRecord};
use sextant_meta::{open_store, MetaConfig, MetaStore};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Hang guard only: every wait normally ends in milliseconds.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// Counts jobs inside a section and remembers the most at once.
#[derive(Default)]
pub struct Gauge {
    pub current: AtomicUsize,
    pub max: AtomicUsize,
}

/// What a [`TestJob`] does.
#[derive(Clone)]
pub enum Behaviour {
    /// Four progress steps, then returns `{"echo": params}`; params must be an object.
    Echo,
    Fail,
    Panic,
    /// Reports progress, then waits for cancellation (forever if none comes).
    Block,
    /// Enters the gauge, waits for a permit from the semaphore, leaves.
    Gate(Arc<Semaphore>, Arc<Gauge>),
    /// Counts executions per job id.
    Count(Arc<Mutex<HashMap<String, u32>>>),
    /// Returns `{"attempt": n}`.
    Attempt,
}

pub struct TestJob {
    pub kind: &'static str,
    pub resumable: bool,
    pub behaviour: Behaviour,
}

pub fn job(kind: &'static str, resumable: bool, behaviour: Behaviour) -> Arc<dyn JobHandler> {
    Arc::new(TestJob {
        kind,
        resumable,
        behaviour,
    })
}

#[async_trait]
impl JobHandler for TestJob {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn resumable(&self) -> bool {
        self.resumable
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        match self.behaviour {
            Behaviour::Echo if !params.is_object() => {
                Err(JobError::InvalidParams("expected an object".into()))
            }
            _ => Ok(()),
        }
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        match &self.behaviour {
            Behaviour::Echo => {
                for i in 1..=4 {
                    ctx.progress(f64::from(i) / 4.0, format!("step {i}")).await;
                }
                Ok(json!({ "echo": params }))
            }
            Behaviour::Fail => Err(JobError::Failed("boom: bad input".into())),
            Behaviour::Panic => panic!("kaboom"),
            Behaviour::Block => {
                ctx.progress(0.1, "blocking").await;
                ctx.cancelled().await;
                Err(JobError::Cancelled)
            }
            Behaviour::Gate(gate, gauge) => {
                let now = gauge.current.fetch_add(1, Ordering::SeqCst) + 1;
                gauge.max.fetch_max(now, Ordering::SeqCst);
                let permit = gate.acquire().await;
                gauge.current.fetch_sub(1, Ordering::SeqCst);
                if let Ok(p) = permit {
                    p.forget();
                }
                Ok(json!({}))
            }
            Behaviour::Count(counts) => {
                *counts
                    .lock()
                    .expect("counts")
                    .entry(ctx.job_id().to_string())
                    .or_default() += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(json!({}))
            }
            Behaviour::Attempt => Ok(json!({ "attempt": ctx.attempt() })),
        }
    }
}

/// Fast heartbeats and polling; staleness far away so only the tests that want it see it.
pub fn config(node: &str, concurrency: usize) -> JobConfig {
    JobConfig {
        concurrency,
        heartbeat: Duration::from_millis(20),
        stale_after: Duration::from_secs(3600),
        poll_interval: Duration::from_millis(20),
        max_attempts: 3,
        max_crashes: 1,
        max_open_per_owner: 1_000,
        max_running_per_owner: 1_000,
        node: node.into(),
    }
}

pub async fn store(path: &Path) -> Arc<dyn MetaStore> {
    open_store(&MetaConfig::embedded(path))
        .await
        .expect("open store")
}

/// Polls the job until `done` holds for it.
pub async fn wait_for(mgr: &JobManager, id: &str, done: impl Fn(&JobRecord) -> bool) -> JobRecord {
    let poll = async {
        loop {
            let r = mgr.get(id).await.expect("get");
            if done(&r) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, poll)
        .await
        .expect("job did not reach the expected state")
}

/// Polls until the job is finished.
pub async fn finished(mgr: &JobManager, id: &str) -> JobRecord {
    wait_for(mgr, id, |r| r.status.is_terminal()).await
}

/// Polls `cond` until it holds.
pub async fn until(cond: impl Fn() -> bool) {
    let poll = async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, poll)
        .await
        .expect("condition never held");
}
