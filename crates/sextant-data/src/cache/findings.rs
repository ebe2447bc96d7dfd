//! What the checks found, for people: every flag and gap recorded at ingest, and their counts
//! per symbol and day and in total (the review screens and the dashboard's heat map).

use super::Cache;
use crate::{DataError, Result};
use chrono::{NaiveDate, NaiveDateTime};
use duckdb::params;
use serde::Serialize;
use sextant_quality::{Flag, Gap};
use std::collections::BTreeMap;

/// Flag counts for one symbol and session day (the admin dashboard's heat map).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SymbolDayQuality {
    /// Symbol of the flagged bars.
    pub symbol: String,
    /// The UTC date of the flagged bars.
    pub session: NaiveDate,
    /// Flags recorded that day, of every severity.
    pub flags: u64,
    /// Bars held that day, counted as the most holding flags of any one check (exact for daily
    /// bars; a lower bound when different checks held different intraday bars).
    pub quarantined: u64,
    /// The worst severity among the day's flags: `notice`, `warning` or `critical`.
    pub max_severity: String,
    /// Flag count per check name ([`Check::as_str`](sextant_quality::Check::as_str)).
    pub checks: BTreeMap<String, u64>,
}

/// Totals for `/ready` and the dashboard.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct QualityTotals {
    /// Held bars waiting for review.
    pub pending: u64,
    /// Held bars approved (merged into `bars`).
    pub approved: u64,
    /// Held bars rejected (kept out of `bars`).
    pub rejected: u64,
    /// Recorded flags per severity name (`notice`, `warning`, `critical`); a severity with no flag
    /// is absent.
    pub flags_by_severity: BTreeMap<String, u64>,
    /// Reported gap ranges not yet filled by a later ingest.
    pub gaps: u64,
    /// Bars missing across those gaps.
    pub missing_bars: u64,
}

impl Cache {
    /// Sessions in `[from, to]` where a kept bar of `symbol` was flagged as split-like
    /// (`possible_split`: a jump by a split ratio such as 2:1 or 3:2), oldest first: in a series
    /// without adjustment data these moves may be corporate actions that an adjusted basis
    /// cannot remove. Return jumps of other sizes are left out: they are usually real moves.
    pub fn split_like_moves(
        &self,
        symbol: &sextant_domain::Symbol,
        resolution: sextant_domain::Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<NaiveDate>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT CAST(ts AS DATE) AS d FROM quality_flags \
             WHERE symbol = ? AND resolution = ? AND NOT quarantined \
             AND check_name = 'possible_split' \
             AND (CAST(? AS DATE) IS NULL OR CAST(ts AS DATE) >= CAST(? AS DATE)) \
             AND (CAST(? AS DATE) IS NULL OR CAST(ts AS DATE) <= CAST(? AS DATE)) ORDER BY d",
        )?;
        let rows = stmt.query_map(
            params![symbol.as_str(), resolution.as_str(), from, from, to, to],
            |r| r.get::<_, NaiveDate>(0),
        )?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Every recorded flag for a symbol (or all), newest bar first.
    pub fn quality_flags(&self, symbol: Option<&str>, limit: usize) -> Result<Vec<Flag>> {
        let rows = self.read_flags(
            "WHERE ? IS NULL OR symbol = ? ORDER BY ts DESC, symbol, check_name LIMIT ?",
            params![symbol, symbol, limit as i64],
        )?;
        Ok(rows.into_iter().map(|(f, _)| f).collect())
    }

    /// Flags recorded after `since` (all when `None`), oldest record first, with the record
    /// time of the newest one read: what an incremental copy to the metadata store reads. The
    /// watermark comes from the rows themselves, so a batch recorded meanwhile is not skipped.
    pub fn quality_flags_since(
        &self,
        since: Option<NaiveDateTime>,
        limit: usize,
    ) -> Result<(Vec<Flag>, Option<NaiveDateTime>)> {
        let rows = self.read_flags(
            "WHERE ? IS NULL OR flagged_at > ? ORDER BY flagged_at, symbol, ts, check_name LIMIT ?",
            params![since, since, limit as i64],
        )?;
        let newest = rows.last().map(|(_, at)| *at).or(since);
        Ok((rows.into_iter().map(|(f, _)| f).collect(), newest))
    }

    /// Flags with their record time.
    fn read_flags(
        &self,
        tail: &str,
        p: &[&dyn duckdb::ToSql],
    ) -> Result<Vec<(Flag, NaiveDateTime)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT symbol, resolution, ts, check_name, severity, score, detail, flagged_at \
             FROM quality_flags {tail}"
        ))?;
        let rows = stmt
            .query_map(p, |r| {
                let check: String = r.get(3)?;
                let sev: String = r.get(4)?;
                let at: NaiveDateTime = r.get(7)?;
                Ok((
                    r.get(0)?,
                    super::resolution_at(r, 1)?,
                    r.get(2)?,
                    check,
                    sev,
                    r.get(5)?,
                    r.get(6)?,
                    at,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        // A stored flag whose check or severity this build does not know is an error, not a
        // flag that silently disappears from every listing.
        rows.into_iter()
            .map(|(symbol, resolution, ts, check, sev, score, detail, at)| {
                let unknown = |what: &str, v: &str| {
                    DataError::Invalid(format!("stored quality flag with unknown {what} {v:?}"))
                };
                let flag = Flag {
                    symbol,
                    resolution,
                    ts,
                    check: sextant_quality::Check::parse(&check)
                        .ok_or_else(|| unknown("check", &check))?,
                    severity: sextant_quality::Severity::parse(&sev)
                        .ok_or_else(|| unknown("severity", &sev))?,
                    score,
                    detail,
                };
                Ok((flag, at))
            })
            .collect()
    }

    /// Reported gaps for a symbol (or all), oldest first.
    pub fn quality_gaps(&self, symbol: Option<&str>) -> Result<Vec<Gap>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT symbol, resolution, first_missing, last_missing, missing FROM quality_gaps \
             WHERE ? IS NULL OR symbol = ? ORDER BY symbol, resolution, first_missing",
        )?;
        let rows = stmt
            .query_map(params![symbol, symbol], |r| {
                Ok(Gap {
                    symbol: r.get(0)?,
                    resolution: super::resolution_at(r, 1)?,
                    first_missing: r.get(2)?,
                    last_missing: r.get(3)?,
                    missing: r.get::<_, i64>(4)? as u64,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Flag counts and worst severity per symbol and day between two dates (inclusive).
    pub fn quality_by_day(
        &self,
        symbol: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<SymbolDayQuality>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT symbol, CAST(ts AS DATE) AS d, check_name, count(*), \
             count(*) FILTER (WHERE quarantined), \
             max(CASE severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END) \
             FROM quality_flags WHERE (? IS NULL OR symbol = ?) AND CAST(ts AS DATE) BETWEEN ? AND ? \
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )?;
        let rows = stmt
            .query_map(params![symbol, symbol, from, to], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, NaiveDate>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i32>(5)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut out: Vec<SymbolDayQuality> = Vec::new();
        let mut worst: Vec<i32> = Vec::new();
        for (symbol, session, check, n, q, sev) in rows {
            let same = out
                .last()
                .is_some_and(|x| x.symbol == symbol && x.session == session);
            if !same {
                out.push(SymbolDayQuality {
                    symbol,
                    session,
                    flags: 0,
                    quarantined: 0,
                    max_severity: String::new(),
                    checks: BTreeMap::new(),
                });
                worst.push(0);
            }
            if let (Some(x), Some(w)) = (out.last_mut(), worst.last_mut()) {
                x.flags += n as u64;
                x.quarantined = x.quarantined.max(q as u64);
                x.checks.insert(check, n as u64);
                *w = (*w).max(sev);
            }
        }
        for (x, w) in out.iter_mut().zip(worst) {
            x.max_severity = ["notice", "warning", "critical"][w.clamp(0, 2) as usize].into();
        }
        Ok(out)
    }

    /// Quarantine and flag totals.
    pub fn quality_totals(&self) -> Result<QualityTotals> {
        let conn = self.conn();
        let mut t = QualityTotals::default();
        let mut stmt = conn.prepare("SELECT status, count(*) FROM quarantine GROUP BY status")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (status, n) = row?;
            match status.as_str() {
                "pending" => t.pending = n as u64,
                "approved" => t.approved = n as u64,
                "rejected" => t.rejected = n as u64,
                other => {
                    let why = format!("{n} quarantined rows with an unknown status {other:?}");
                    return Err(crate::DataError::Invalid(why));
                }
            }
        }
        let mut stmt =
            conn.prepare("SELECT severity, count(*) FROM quality_flags GROUP BY severity")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (sev, n) = row?;
            t.flags_by_severity.insert(sev, n as u64);
        }
        let (gaps, missing): (i64, Option<i64>) = conn.query_row(
            "SELECT count(*), CAST(sum(missing) AS BIGINT) FROM quality_gaps",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        t.gaps = gaps as u64;
        t.missing_bars = missing.unwrap_or(0) as u64;
        Ok(t)
    }
}
