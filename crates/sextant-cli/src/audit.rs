//! `sextant quality audit FILE`: the quality checks run on a file in an in-memory cache, so a
//! user sees what an ingest would hold and flag (and how the market's known crash days fare)
//! before anything reaches the real cache.

use crate::cmd_quality::AuditArgs;
use anyhow::{Context, Result};
use sextant_core::Services;
use sextant_data::cache::audit::audit_file;
use sextant_quality::QualityPolicy;

pub fn run(a: AuditArgs, s: &Services) -> Result<()> {
    let mut cfg = s.config.quality.clone();
    if let Some(p) = &a.policy {
        cfg.policy = QualityPolicy::parse(p)
            .with_context(|| format!("--policy {p:?}: expected provable, structural or strict"))?;
    }
    let report = audit_file(&a.file, a.symbol.as_ref(), &cfg)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{}: {} bars, policy {}: {} held, {} flags {:?}, notices {:.2}% of bars, {} calendar gaps",
        report.file,
        report.bars,
        report.policy,
        report.held,
        report.flags,
        report.by_severity,
        100.0 * report.notice_rate,
        report.gaps
    );
    println!("by check: {:?}", report.by_check);
    for h in &report.held_bars {
        println!("  held {h}");
    }
    for (d, name, sev) in &report.market_days {
        println!("  {d} {name:<32} {sev}");
    }
    Ok(())
}
