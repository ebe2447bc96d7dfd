//! `sextant worker`: runs jobs sent over NATS JetStream (trial batches, walk-forward windows)
//! on this machine. It opens the metadata store and the object store, never the server's
//! DuckDB file: bars come from snapshots it imports into a DuckDB file of its own.

use anyhow::{anyhow, Result};
use clap::Args;
use sextant_core::jobs::JobManager;
use sextant_core::scale::handlers::{debug_handlers, worker_handlers};
use sextant_core::scale::snapshots::Snapshots;
use sextant_core::Config;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct WorkerArgs {
    /// NATS server with JetStream (default: `[jobs] nats_url`, env `SEXTANT_NATS_URL`).
    #[arg(long)]
    nats: Option<String>,
    /// Serve only these kinds (comma separated; default: every kind a worker runs).
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// Jobs run at once (default: the number of cores).
    #[arg(long)]
    concurrency: Option<usize>,
    /// This worker's name in the registry (default: `<host>-<pid>`; must be unique per
    /// process).
    #[arg(long)]
    node: Option<String>,
    /// Seconds running jobs get to finish after SIGTERM before they are handed back to the
    /// queue (re-queued, redelivered at once to another worker).
    #[arg(long, default_value_t = 30)]
    drain_secs: u64,
}

/// Prints a line, ignoring a closed stdout.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub async fn worker(args: WorkerArgs, mut config: Config) -> Result<()> {
    if let Some(n) = args.nats {
        config.jobs.nats_url = Some(n);
    }
    let queue_config = config.jobs.queue_config().ok_or_else(|| {
        anyhow!("a worker needs a NATS server: --nats URL, SEXTANT_NATS_URL or [jobs] nats_url")
    })?;
    let meta = sextant_core::registry::open_meta(&config).await?;
    let objects = Arc::new(sextant_objects::Objects::open(
        &config.objects,
        &config.data_dir,
    )?);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
    let node = args
        .node
        .unwrap_or_else(|| format!("{host}-{}", std::process::id()));
    if node.is_empty() || node.contains('/') {
        return Err(anyhow!("--node {node:?}: a non-empty name without '/'"));
    }
    // Its own directory: DuckDB lets one process open a snapshot file.
    let snapshots = Arc::new(Snapshots::new(
        objects,
        config.jobs.worker_cache_dir(&config).join(&node),
    ));
    let mut handlers = worker_handlers(meta.clone(), snapshots);
    handlers.extend(debug_handlers());
    if !args.kinds.is_empty() {
        let known: Vec<&str> = handlers.iter().map(|h| h.kind()).collect();
        if let Some(k) = args.kinds.iter().find(|k| !known.contains(&k.as_str())) {
            return Err(anyhow!("a worker cannot run {k:?} jobs; it runs {known:?}"));
        }
        handlers.retain(|h| args.kinds.iter().any(|k| k == h.kind()));
    }
    let mut job_config = config.jobs.job_config(&node);
    job_config.concurrency = args
        .concurrency
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let jobs = JobManager::new(meta, handlers, job_config);
    let kinds = jobs.kinds();
    jobs.use_queue(sextant_queue::Queue::connect(queue_config).await?, &kinds)?;
    jobs.start_worker().await?;
    say!(
        "sextant worker {} serving {} ({} at once)",
        jobs.instance_id(),
        kinds.join(", "),
        jobs.config().concurrency
    );
    crate::cmd_serve::shutdown_signal().await;
    say!(
        "draining: no new jobs; running ones get {} s",
        args.drain_secs
    );
    let report = jobs.shutdown(Duration::from_secs(args.drain_secs)).await?;
    say!(
        "sextant worker stopped (handed back: {}, failed: {})",
        report.requeued.len(),
        report.failed.len()
    );
    Ok(())
}
