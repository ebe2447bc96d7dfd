//! An audit of a file: the checks run on it in an in-memory cache, so a user sees what an
//! ingest would hold and flag, and how the market's known crash days fare, before anything
//! reaches the real cache. `sextant quality audit` prints it; the real-data acceptance test
//! asserts on it.

use super::{FileOptions, QuarantineQuery};
use crate::{Cache, Result};
use chrono::NaiveDate;
use serde::Serialize;
use sextant_domain::Symbol;
use sextant_quality::{QualityConfig, Severity};
use std::collections::BTreeMap;
use std::path::Path;

/// Days of extreme real market moves: a correct check leaves them in the cache, at most
/// noticed.
pub const MARKET_DAYS: [(&str, &str); 24] = [
    ("1987-10-19", "Black Monday"),
    ("1987-10-20", "Black Monday rebound"),
    ("1987-10-26", "October 1987 second leg"),
    ("1989-10-13", "Friday the 13th mini-crash"),
    ("1997-10-27", "Asian crisis mini-crash"),
    ("1998-08-31", "LTCM/Russia sell-off"),
    ("2000-04-14", "dot-com sell-off"),
    ("2001-09-17", "reopening after 9/11"),
    ("2008-09-29", "TARP vote"),
    ("2008-10-09", "2008 crash"),
    ("2008-10-10", "2008 crash"),
    ("2008-10-13", "2008 rebound"),
    ("2008-10-15", "2008 crash"),
    ("2008-10-28", "2008 rebound"),
    ("2008-12-01", "2008 sell-off"),
    ("2010-05-06", "flash crash"),
    ("2011-08-08", "US downgrade sell-off"),
    ("2015-08-24", "August 2015 flash sell-off"),
    ("2016-06-24", "Brexit vote"),
    ("2018-02-05", "Volmageddon"),
    ("2018-12-24", "Christmas Eve sell-off"),
    ("2018-12-26", "Christmas rebound"),
    ("2020-03-16", "COVID crash"),
    ("2020-03-24", "COVID rebound"),
];

/// What the audit of one file found.
#[derive(Debug, Serialize)]
pub struct AuditReport {
    /// The audited path, as given.
    pub file: String,
    /// Name of the policy applied
    /// ([`QualityPolicy::as_str`](sextant_quality::QualityPolicy::as_str)).
    pub policy: String,
    /// Rows in the file after identical duplicates were collapsed.
    pub bars: u64,
    /// Bars the policy held (pending in the in-memory quarantine).
    pub held: u64,
    /// The held bars, newest first and at most 10,000, each as `SYMBOL YYYY-MM-DD (check,…)`.
    pub held_bars: Vec<String>,
    /// Findings of every severity.
    pub flags: u64,
    /// Findings per severity name (`notice`, `warning`, `critical`).
    pub by_severity: BTreeMap<String, u64>,
    /// Findings per check name ([`Check::as_str`](sextant_quality::Check::as_str)).
    pub by_check: BTreeMap<String, u64>,
    /// Notices as a fraction of the file's bars.
    pub notice_rate: f64,
    /// Known market days present in the file, with the worst severity flagged on them
    /// ("none" when unflagged).
    pub market_days: Vec<(String, String, String)>,
    /// Gap ranges reported against the exchange calendar.
    pub gaps: u64,
}

/// Runs the checks of `cfg` (quarantine on) on the file at `path` in an in-memory cache.
pub fn audit_file(
    path: &Path,
    symbol: Option<&Symbol>,
    cfg: &QualityConfig,
) -> Result<AuditReport> {
    let mut cfg = cfg.clone();
    cfg.enabled = true;
    cfg.quarantine = true;
    let cache = Cache::open_in_memory()?.with_quality(cfg.clone());
    let opts = FileOptions {
        symbol: symbol.cloned(),
        ..FileOptions::default()
    };
    let summary = cache.ingest_file(path, &opts)?;
    let flags = cache.quality_flags(None, 1_000_000)?;
    let (held, held_total) = cache.quarantined(&QuarantineQuery {
        symbol: None,
        status: Some("pending".into()),
        limit: 10_000,
        offset: 0,
    })?;
    let mut by_severity = BTreeMap::new();
    let mut by_check = BTreeMap::new();
    let mut worst: BTreeMap<NaiveDate, Severity> = BTreeMap::new();
    for f in &flags {
        *by_severity
            .entry(f.severity.as_str().to_string())
            .or_insert(0) += 1;
        *by_check.entry(f.check.as_str().to_string()).or_insert(0) += 1;
        let w = worst.entry(f.ts.date()).or_insert(f.severity);
        *w = (*w).max(f.severity);
    }
    let sessions: std::collections::BTreeSet<NaiveDate> = summary
        .series
        .iter()
        .flat_map(|sr| {
            let (a, b) = (sr.first_ts.date(), sr.last_ts.date());
            MARKET_DAYS.iter().filter_map(move |(d, _)| {
                d.parse::<NaiveDate>().ok().filter(|d| *d >= a && *d <= b)
            })
        })
        .collect();
    let names: BTreeMap<NaiveDate, &str> = MARKET_DAYS
        .iter()
        .filter_map(|(d, n)| d.parse().ok().map(|d| (d, *n)))
        .collect();
    let market_days = sessions
        .into_iter()
        .map(|d| {
            (
                d.to_string(),
                names.get(&d).copied().unwrap_or_default().to_string(),
                worst.get(&d).map_or("none", |s| s.as_str()).to_string(),
            )
        })
        .collect();
    let bars = summary.rows_in;
    let notices = by_severity.get("notice").copied().unwrap_or(0);
    Ok(AuditReport {
        file: path.display().to_string(),
        policy: cfg.policy.as_str().to_string(),
        bars,
        held: held_total,
        held_bars: held
            .iter()
            .map(|b| format!("{} {} ({})", b.symbol, b.ts.date(), b.reasons.join(",")))
            .collect(),
        flags: flags.len() as u64,
        by_severity,
        by_check,
        notice_rate: if bars > 0 {
            notices as f64 / bars as f64
        } else {
            0.0
        },
        market_days,
        gaps: summary.quality.gaps,
    })
}
