//! `sextant quality`: the quarantine review queue, anomaly flags and gaps.

use anyhow::Result;
use clap::Subcommand;
use sextant_core::Services;
use sextant_data::cache::{Decision, QuarantineQuery};

#[derive(Subcommand)]
pub enum QualityCmd {
    /// Quarantine and flag totals.
    Summary,
    /// Held bars, newest first.
    Ls {
        #[arg(long)]
        symbol: Option<String>,
        /// pending (default), approved, rejected or all.
        #[arg(long, default_value = "pending")]
        status: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One held bar, with its reasons and provenance, as JSON.
    Show { id: i64 },
    /// Release a held bar into the cache.
    Approve {
        id: i64,
        /// Who reviews (recorded in the audit trail). Default: $USER.
        #[arg(long)]
        reviewer: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Drop a held bar for good (it stays in the audit trail).
    Reject {
        id: i64,
        #[arg(long)]
        reviewer: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Anomaly flags of every severity, newest bar first.
    Flags {
        #[arg(long)]
        symbol: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Bars missing against the exchange calendar.
    Gaps {
        #[arg(long)]
        symbol: Option<String>,
    },
    /// Run the checks on a file without touching the cache: what would be held, what flagged,
    /// and the severity given to the market's known crash days.
    Audit(AuditArgs),
}

/// `sextant quality audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// A CSV or Parquet file (the layouts `sextant ingest file` reads).
    pub file: std::path::PathBuf,
    /// The symbol, for a file without a ticker column.
    #[arg(long)]
    pub symbol: Option<sextant_domain::Symbol>,
    /// provable (default), structural or strict; default: the configured policy.
    #[arg(long)]
    pub policy: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn reviewer(r: Option<String>) -> String {
    r.or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "cli".into())
}

pub async fn run(cmd: QualityCmd, s: &Services) -> Result<()> {
    let q = &s.quality;
    match cmd {
        QualityCmd::Audit(a) => crate::audit::run(a, s)?,
        QualityCmd::Summary => println!("{}", serde_json::to_string_pretty(&q.totals().await?)?),
        QualityCmd::Ls {
            symbol,
            status,
            limit,
        } => {
            let query = QuarantineQuery {
                symbol: symbol.map(|s| s.to_ascii_uppercase()),
                status: (status != "all").then_some(status),
                limit,
                offset: 0,
            };
            let (items, total) = q.quarantined(query).await?;
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|b| {
                    vec![
                        b.id.to_string(),
                        b.symbol.clone(),
                        b.ts.to_string(),
                        b.severity.clone(),
                        b.reasons.join(","),
                        crate::output::price(b.close),
                        b.status.clone(),
                        b.source.clone(),
                    ]
                })
                .collect();
            crate::output::table(
                &[
                    "id", "symbol", "ts", "severity", "reasons", "close", "status", "source",
                ],
                &rows,
            );
            println!("{} of {total} shown", items.len());
        }
        QualityCmd::Show { id } => println!("{}", serde_json::to_string_pretty(&q.get(id).await?)?),
        QualityCmd::Approve {
            id,
            reviewer: r,
            note,
        } => {
            let out = q.review(id, Decision::Approve, &reviewer(r), note).await?;
            println!(
                "approved #{id} ({} {}): merged into the cache by {}",
                out.bar.symbol,
                out.bar.ts,
                out.bar.reviewed_by.unwrap_or_default()
            );
        }
        QualityCmd::Reject {
            id,
            reviewer: r,
            note,
        } => {
            let out = q.review(id, Decision::Reject, &reviewer(r), note).await?;
            println!(
                "rejected #{id} ({} {}) by {}",
                out.bar.symbol,
                out.bar.ts,
                out.bar.reviewed_by.unwrap_or_default()
            );
        }
        QualityCmd::Flags { symbol, limit } => {
            let flags = q
                .flags(symbol.map(|s| s.to_ascii_uppercase()), limit)
                .await?;
            let rows: Vec<Vec<String>> = flags
                .iter()
                .map(|f| {
                    vec![
                        f.symbol.clone(),
                        f.ts.to_string(),
                        f.check.as_str().into(),
                        f.severity.as_str().into(),
                        f.detail.clone(),
                    ]
                })
                .collect();
            crate::output::table(&["symbol", "ts", "check", "severity", "detail"], &rows);
        }
        QualityCmd::Gaps { symbol } => {
            let gaps = q
                .gaps(symbol.map(|s| s.to_ascii_uppercase()), usize::MAX)
                .await?;
            let rows: Vec<Vec<String>> = gaps
                .iter()
                .map(|g| {
                    vec![
                        g.symbol.clone(),
                        g.resolution.to_string(),
                        g.first_missing.to_string(),
                        g.last_missing.to_string(),
                        g.missing.to_string(),
                    ]
                })
                .collect();
            crate::output::table(&["symbol", "resolution", "first", "last", "missing"], &rows);
        }
    }
    Ok(())
}
