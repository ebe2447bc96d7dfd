//! `[jobs]`: the worker pool, its lease timings, and the NATS JetStream transport that sends
//! jobs to `sextant worker` processes on other machines.

use super::{Config, Setter};
use crate::jobs::JobConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// How jobs run. Without `nats_url` every job runs in the server's own pool (the embedded
/// default); with it, the kinds that can travel go to workers through JetStream.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JobsSettings {
    /// NATS server with JetStream, e.g. `nats://127.0.0.1:4222`. Default: none (in-process
    /// pool only). Env: `SEXTANT_NATS_URL`.
    pub nats_url: Option<String>,
    /// First token of the NATS subjects and suffix of the stream name, so deployments can share
    /// a NATS server. Default: `sextant`. Env: `SEXTANT_NATS_PREFIX`.
    pub nats_prefix: String,
    /// Jobs this process runs at once. Default: 2 (the server's pool; a worker's
    /// `--concurrency` overrides it). Env: `SEXTANT_JOB_CONCURRENCY`.
    pub concurrency: usize,
    /// Lease renewal period of a running job, also the period of JetStream in-progress
    /// acknowledgements, in ms. Default: 5000. Env: `SEXTANT_JOB_HEARTBEAT_MS`.
    pub heartbeat_ms: u64,
    /// A running job whose lease is older than this is orphaned, in ms. Default: 30000.
    /// Env: `SEXTANT_JOB_STALE_MS`.
    pub stale_after_ms: u64,
    /// Deliveries of one job message before JetStream stops (the last one fails a job still
    /// unfinished). Default: 5. Env: `SEXTANT_NATS_MAX_DELIVER`.
    pub max_deliver: i64,
    /// Where a worker imports data snapshots (one DuckDB file each). Default:
    /// `<data_dir>/worker-snapshots`. Env: `SEXTANT_WORKER_CACHE`.
    pub worker_cache: Option<PathBuf>,
}

impl Default for JobsSettings {
    fn default() -> Self {
        let d = JobConfig::default();
        JobsSettings {
            nats_url: None,
            nats_prefix: "sextant".into(),
            concurrency: d.concurrency,
            heartbeat_ms: d.heartbeat.as_millis() as u64,
            stale_after_ms: d.stale_after.as_millis() as u64,
            max_deliver: 5,
            worker_cache: None,
        }
    }
}

impl JobsSettings {
    /// The pool configuration of a process named `node`.
    pub fn job_config(&self, node: &str) -> JobConfig {
        JobConfig {
            concurrency: self.concurrency.max(1),
            heartbeat: Duration::from_millis(self.heartbeat_ms),
            stale_after: Duration::from_millis(self.stale_after_ms),
            node: node.to_string(),
            ..JobConfig::default()
        }
    }

    /// The JetStream transport's configuration, when a NATS URL is set. `ack_wait` is the
    /// orphan threshold plus one heartbeat, so a redelivered message finds its dead worker's
    /// lease already stale and the job is settled at once.
    pub fn queue_config(&self) -> Option<sextant_queue::QueueConfig> {
        let url = self.nats_url.as_ref()?;
        let mut q = sextant_queue::QueueConfig::new(url.clone());
        q.prefix = self.nats_prefix.clone();
        q.stream = format!("{}_JOBS", self.nats_prefix.to_ascii_uppercase());
        q.ack_wait = Duration::from_millis(self.stale_after_ms + self.heartbeat_ms);
        q.max_deliver = self.max_deliver.max(1);
        Some(q)
    }

    /// Where a worker imports snapshots.
    pub fn worker_cache_dir(&self, config: &Config) -> PathBuf {
        self.worker_cache
            .clone()
            .unwrap_or_else(|| config.data_dir.join("worker-snapshots"))
    }
}

fn number<T: std::str::FromStr>(v: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.trim().parse().map_err(|e: T::Err| e.to_string())
}

/// The `[jobs]` environment overrides.
pub(super) const JOB_ENV_VARS: &[(&str, &str, Setter)] = &[
    (
        "SEXTANT_NATS_URL",
        "NATS JetStream server for scale-out jobs",
        |c, v| {
            c.jobs.nats_url = Some(v.to_string());
            Ok(())
        },
    ),
    (
        "SEXTANT_NATS_PREFIX",
        "NATS subject prefix (default sextant)",
        |c, v| {
            c.jobs.nats_prefix = v.to_string();
            Ok(())
        },
    ),
    (
        "SEXTANT_JOB_CONCURRENCY",
        "jobs run at once by this process",
        |c, v| {
            c.jobs.concurrency = number(v)?;
            Ok(())
        },
    ),
    (
        "SEXTANT_JOB_HEARTBEAT_MS",
        "job lease renewal period, ms",
        |c, v| {
            c.jobs.heartbeat_ms = number(v)?;
            Ok(())
        },
    ),
    (
        "SEXTANT_JOB_STALE_MS",
        "age of a lease that counts as orphaned, ms",
        |c, v| {
            c.jobs.stale_after_ms = number(v)?;
            Ok(())
        },
    ),
    (
        "SEXTANT_NATS_MAX_DELIVER",
        "deliveries of one job message",
        |c, v| {
            c.jobs.max_deliver = number(v)?;
            Ok(())
        },
    ),
    (
        "SEXTANT_WORKER_CACHE",
        "where a worker imports snapshots",
        |c, v| {
            c.jobs.worker_cache = Some(PathBuf::from(v));
            Ok(())
        },
    ),
];
