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
    let run = s
        .backtests
        .get(&a.id)
        .await?
        .with_context(|| format!("no backtest {} (run `sextant backtest ...` first)", a.id))?;
    let data = s.backtests.load_for(&s.cache, &run.manifest.request)?;
    let sheet = sextant_narrative::fact_sheet_for(&run.manifest.request, &data)?;
    let service = sextant_server::reports::report_service(&s.config.llm, s.meta.clone())
        .map_err(anyhow::Error::msg)?;
    let report = service.report(&sheet, &a.id).await?;
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
