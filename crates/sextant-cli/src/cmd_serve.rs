//! `sextant serve` and `sextant keys`.

use anyhow::Result;
use clap::{Args, Subcommand};
use sextant_core::{Config, Services};
use sextant_server::auth::{Auth, Role};
use sextant_server::{AppState, Limits};
use std::sync::Arc;

#[derive(Args)]
pub struct ServeArgs {
    /// Listen address (default from config: 127.0.0.1:8077).
    #[arg(long)]
    addr: Option<String>,
    /// Sustained requests per second allowed per API key.
    #[arg(long, default_value_t = 2000.0)]
    rate_limit: f64,
    /// Memory for the bars endpoint's rendered series, in MiB (least recently used evicted
    /// first; past it, requests for series not held read DuckDB again).
    #[arg(long, default_value_t = 512)]
    series_cache_mb: usize,
}

#[derive(Subcommand)]
pub enum KeysCmd {
    /// Create a key and print it (only its hash is stored).
    Create {
        #[arg(long, default_value = "analyst")]
        role: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List keys (never the secrets).
    Ls,
    /// Revoke a key by id.
    Revoke { id: String },
}

/// Prints a line, ignoring a closed stdout: a server must not die because whoever started it
/// stopped reading its output (`println!` panics on a broken pipe).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub async fn serve(args: ServeArgs, config: Config) -> Result<()> {
    let addr = args.addr.unwrap_or_else(|| config.server.addr.clone());
    let services = Arc::new(Services::build(config).await?);
    let limits = Limits {
        requests_per_second: args.rate_limit,
        burst: args.rate_limit * 2.0,
        series_cache_bytes: args.series_cache_mb << 20,
        ..Limits::default()
    };
    let state = AppState::new(services.clone(), &limits);
    if let Some(q) = services.config.jobs.queue_config() {
        // Scale-out: the kinds that travel go to `sextant worker` processes through JetStream.
        let queue = sextant_queue::Queue::connect(q).await?;
        state
            .jobs
            .use_queue(queue, &sextant_core::scale::TRAVELLING)?;
        say!("jobs: trial batches and walk-forward windows go to workers over NATS");
    }
    if state.auth.needs_bootstrap().await? {
        let key = state.auth.create(Role::Admin, "bootstrap admin").await?;
        say!("First start: created an admin API key (shown once, only its hash is stored):");
        say!("  {}", key.key);
        say!("Create more with `sextant keys create --role analyst`.");
    }
    // Starting the pool first settles jobs a previous process left running (re-queued when
    // idempotent, failed otherwise), so no job is silently lost across a crash.
    state.jobs.start().await?;
    let jobs = state.jobs.clone();
    // Retraining and drift-check schedules: due slots are claimed and submitted every 30 s
    // (a slot missed while the server was down fires once at start).
    let stop_scheduler = tokio_util::sync::CancellationToken::new();
    let scheduler = sextant_core::mlops::Scheduler::new(services.meta.clone(), jobs.clone());
    let scheduler =
        tokio::spawn(scheduler.run(std::time::Duration::from_secs(30), stop_scheduler.clone()));
    let app = sextant_server::router(state, &limits);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    say!("sextant serving on http://{local} (docs at /docs)");
    say!(
        "try: curl -H 'Authorization: Bearer <key>' 'http://{local}/api/v1/market-data/bars/MSFT?from=2008-09-01&to=2008-10-31'"
    );
    sextant_server::serve(listener, app, shutdown_signal()).await?;
    stop_scheduler.cancel();
    let _ = scheduler.await;
    // Running jobs get a grace period, then are marked interrupted (resumable ones re-queued).
    jobs.shutdown(std::time::Duration::from_secs(10)).await?;
    say!("sextant stopped");
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received: draining requests");
}

pub async fn keys(cmd: KeysCmd, config: Config) -> Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let meta = sextant_core::registry::open_meta(&config).await?;
    let auth = Auth::new(meta);
    match cmd {
        KeysCmd::Create { role, name } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let k = auth.create(role, &name).await?;
            println!("{}", k.key);
            eprintln!(
                "created {:?} key {} ({}); only its hash is stored",
                k.role, k.id, k.name
            );
        }
        KeysCmd::Ls => {
            let rows: Vec<Vec<String>> = auth
                .list()
                .await?
                .into_iter()
                .map(|k| {
                    vec![
                        k.id,
                        format!("{:?}", k.role).to_lowercase(),
                        k.name,
                        k.created_at,
                        k.revoked.to_string(),
                    ]
                })
                .collect();
            crate::output::table(&["id", "role", "name", "created", "revoked"], &rows);
        }
        KeysCmd::Revoke { id } => {
            let ok = auth.revoke(&id).await?;
            anyhow::ensure!(ok, "no key {id}");
            println!("revoked {id}");
        }
    }
    Ok(())
}
