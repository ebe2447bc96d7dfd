//! `sextant build "..."` (the strategy builder) and `sextant chat "..."` (the ChatOps agent),
//! the same services the HTTP routes use, on this machine's cache and metadata store.

use anyhow::{bail, Result};
use clap::Args;
use sextant_agents::builder::BuildRequest;
use sextant_agents::chat::Caller;
use sextant_core::agents::{AgentsService, Preview};
use sextant_core::jobs::handlers::default_handlers;
use sextant_core::jobs::{JobConfig, JobManager};
use sextant_core::Services;
use sextant_domain::Role;
use std::sync::Arc;

#[derive(Args)]
pub struct BuildArgs {
    /// What to build, in words.
    ///
    /// Example: sextant build "buy when the 10-day average crosses above the 50-day, only in
    /// bull regimes, 0.1% commission" --regime-model spy_regimes
    text: String,
    /// The regime model that regime filters read.
    #[arg(long)]
    regime_model: Option<String>,
    /// The ML signal model that probability filters read.
    #[arg(long)]
    ml_model: Option<String>,
    /// Save the result as a user strategy (prints its `usd_…` id).
    #[arg(long)]
    save: bool,
    /// Backtest the result on these symbols before anything is saved.
    #[arg(long = "preview")]
    preview: Vec<String>,
    /// Print the whole answer as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ChatArgs {
    /// The question.
    ///
    /// Example: sextant chat "why did last night's refresh fail?"
    message: String,
    /// The role to act with: viewer, analyst or admin. Default: viewer.
    #[arg(long, default_value = "viewer")]
    role: Role,
    /// Confirm a proposed state change (refresh, cancel, approve, reject) in the same run; a
    /// queued job runs when a `sextant serve` worker picks it up.
    #[arg(long)]
    yes: bool,
    /// Print the whole answer as JSON.
    #[arg(long)]
    json: bool,
}

fn agents(services: Services) -> AgentsService {
    let services = Arc::new(services);
    let jobs = JobManager::new(
        services.meta.clone(),
        default_handlers(&services),
        JobConfig::default(),
    );
    AgentsService::new(services, jobs)
}

pub async fn build(a: BuildArgs, services: Services) -> Result<()> {
    let agents = agents(services);
    let req = BuildRequest {
        text: a.text,
        regime_model: a.regime_model,
        ml_model: a.ml_model,
    };
    let preview = (!a.preview.is_empty()).then(|| Preview {
        symbols: a.preview.clone(),
        from: None,
        to: None,
    });
    let out = agents.build("cli", &req, a.save, preview).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    match (&out.answer.config, &out.answer.question) {
        (Some(c), _) => {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"strategy": c.strategy, "params": c.params, "sim": c.sim})
                )?
            );
            for line in &out.answer.explanation {
                eprintln!("- {line}");
            }
            if let Some(s) = &out.saved {
                eprintln!("saved as {}", s["id"]);
            }
            if let Some(p) = &out.preview {
                eprintln!("preview {}: {}", p["run_id"], p["metrics"]);
            }
        }
        (None, Some(q)) => {
            println!("{q}");
            bail!("no config built ({})", out.answer.status)
        }
        _ => bail!("no config built"),
    }
    eprintln!(
        "[{} mode; embeddings {}; catalog entries used: {}]",
        out.answer.provenance.mode,
        out.answer.provenance.embedding_model,
        out.answer.used.join(", ")
    );
    Ok(())
}

pub async fn chat(a: ChatArgs, services: Services) -> Result<()> {
    let agents = agents(services);
    let caller = Caller {
        id: format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "local".into())
        ),
        role: a.role,
        channel: "cli".into(),
    };
    let mut answer = agents.chat(&caller, &a.message, None).await?;
    if let (Some(p), true) = (&answer.pending, a.yes) {
        let token = p.token.clone();
        answer = agents.confirm(&caller, &token).await?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    println!("{}", answer.reply);
    let calls: Vec<String> = answer
        .calls
        .iter()
        .map(|c| format!("{} ({})", c.tool, c.outcome))
        .collect();
    let routed = answer
        .provenance
        .routed
        .as_ref()
        .map_or(String::new(), |(t, s)| format!("; routed to {t} at {s:.2}"));
    eprintln!(
        "[{} mode; tools: {}{routed}]",
        answer.provenance.mode,
        if calls.is_empty() {
            "none".into()
        } else {
            calls.join(", ")
        }
    );
    if answer.pending.is_some() {
        eprintln!("(add --yes to confirm it in this run)");
    }
    Ok(())
}
