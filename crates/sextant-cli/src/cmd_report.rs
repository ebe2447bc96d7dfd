//! `sextant report BACKTEST_ID`: the narrative of a stored backtest.

use anyhow::{Context, Result};
use clap::Args;
use sextant_core::Services;

#[derive(Args)]
pub struct ReportArgs {
    /// A run id from `sextant backtest` (bt_...).
    id: String,
    /// Print the whole report as JSON (fact sheet, validation, attempts) instead of markdown.
    #[arg(long)]
    json: bool,
}

pub async fn run(a: ReportArgs, s: &Services) -> Result<()> {
    if let Some(e) = s.reports.config_error() {
        anyhow::bail!("LLM configuration unusable: {e}");
    }
    let report = s
        .reports
        .report(&a.id)
        .await?
        .with_context(|| format!("no backtest {} (run `sextant backtest ...` first)", a.id))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("{}", report.markdown);
    eprintln!(
        "[{} via {}; prompt {}@{}; {} attempt(s){}{}]",
        report.model,
        report.provider,
        report.prompt.name,
        report.prompt.version,
        report.attempts.len(),
        if report.fallback {
            "; grounded template fallback"
        } else {
            ""
        },
        if report.cached { "; cached" } else { "" },
    );
    Ok(())
}
