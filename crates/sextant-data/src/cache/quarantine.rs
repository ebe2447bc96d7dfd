//! The quarantine: where the quality checks put the rows they isolate, and the review that
//! releases (approve: merged into `bars` like any ingest, with a revision if it replaces a
//! stored bar) or drops (reject: kept here for the audit, never merged) each of them.

use super::ingest::{merge_stage, prefixed, values_differ, IngestSummary};
use super::schema::{BAR_VALUE_COLUMNS, STAGE_FLAGS_DDL};
use super::Cache;
use crate::{DataError, Result};
use chrono::{NaiveDateTime, Utc};
use duckdb::{params, Connection, OptionalExt};
use serde::Serialize;
use sextant_domain::Resolution;
use sextant_quality::{Flag, Gap, QualityConfig, QualityReport};

/// Provenance of the batch being merged.
pub(crate) struct BatchContext<'a> {
    pub batch_id: &'a str,
    pub request: &'a str,
    pub now: NaiveDateTime,
}

/// Records the checks' findings for the staged batch, moves the rows with a critical or warning
/// flag (when quarantine is on) from `stage_bars` to `quarantine`, and returns the report.
pub(crate) fn record(
    conn: &Connection,
    cfg: &QualityConfig,
    flags: &[Flag],
    gaps: &[Gap],
    judged: u64,
    ctx: &BatchContext<'_>,
) -> Result<QualityReport> {
    let mut report = QualityReport::from_flags(judged, flags, gaps);
    let blocked = block_rejected(conn)?;
    clear_filled_gaps(conn)?;
    if flags.is_empty() && gaps.is_empty() {
        report.quarantined = blocked;
        return Ok(report);
    }
    conn.execute_batch(STAGE_FLAGS_DDL)?;
    {
        let mut app = conn.appender("stage_flags")?;
        for f in flags {
            app.append_row(params![
                f.symbol,
                f.resolution.as_str(),
                f.ts,
                f.check.as_str(),
                f.severity.as_str(),
                f.score,
                f.detail
            ])?;
        }
        app.flush()?;
    }
    let mut moved = 0usize;
    if cfg.quarantine {
        conn.execute_batch(
            "CREATE OR REPLACE TEMP TABLE stage_q AS SELECT symbol, resolution, ts, \
             string_agg(check_name, ',' ORDER BY check_name) AS reasons, \
             max(CASE severity WHEN 'critical' THEN 2 ELSE 1 END) AS sev, max(score) AS score \
             FROM stage_flags WHERE severity IN ('warning', 'critical') GROUP BY symbol, resolution, ts",
        )?;
        let same_as_held = values_differ("s", "x");
        let cols = prefixed("s", BAR_VALUE_COLUMNS);
        // A row already held (pending) or already rejected with the same values is not held a
        // second time: re-ingesting a file must not grow the review queue.
        insert_held(
            conn,
            &format!(
                "SELECT {cols}, ?, ?, ?, q.reasons, \
                 CASE q.sev WHEN 2 THEN 'critical' ELSE 'warning' END, q.score, 'pending', NULL, NULL, NULL \
                 FROM stage_bars s JOIN stage_q q ON q.symbol = s.symbol AND q.resolution = s.resolution AND q.ts = s.ts \
                 WHERE NOT EXISTS (SELECT 1 FROM quarantine x WHERE x.symbol = s.symbol AND x.resolution = s.resolution \
                   AND x.ts = s.ts AND x.status IN ('pending', 'rejected') AND NOT {same_as_held})"
            ),
            params![ctx.batch_id, ctx.request, ctx.now],
        )?;
        report.held_stored = hold_stored(conn, ctx)?;
        let held: i64 = conn.query_row("SELECT count(*) FROM stage_q", [], |r| r.get(0))?;
        // Only then is a view over parked rows copied into a table (notices move nothing).
        if held > 0 {
            super::staged::ensure_table(conn)?;
            moved = conn.execute(
                "DELETE FROM stage_bars USING stage_q q WHERE stage_bars.symbol = q.symbol \
                 AND stage_bars.resolution = q.resolution AND stage_bars.ts = q.ts",
                [],
            )?;
        }
    }
    report.quarantined = moved as u64 + blocked;
    conn.execute(
        "INSERT INTO quality_flags SELECT f.symbol, f.resolution, f.ts, f.check_name, f.severity, f.score, \
         f.detail, (? AND f.severity IN ('warning', 'critical')), ?, ? FROM stage_flags f \
         WHERE NOT EXISTS (SELECT 1 FROM quality_flags q WHERE q.symbol = f.symbol AND q.resolution = f.resolution \
           AND q.ts = f.ts AND q.check_name = f.check_name)",
        params![cfg.quarantine, ctx.batch_id, ctx.now],
    )?;
    {
        let mut app = conn.appender("quality_gaps")?;
        for g in gaps {
            app.append_row(params![
                g.symbol,
                g.resolution.as_str(),
                g.first_missing,
                g.last_missing,
                g.missing as i64,
                ctx.batch_id,
                ctx.now
            ])?;
        }
        app.flush()?;
    }
    // A gap reported by an earlier batch and found again (a re-ingest) is kept once.
    if !gaps.is_empty() {
        conn.execute_batch(
            "DELETE FROM quality_gaps g WHERE EXISTS (SELECT 1 FROM quality_gaps o WHERE o.symbol = g.symbol \
             AND o.resolution = g.resolution AND o.first_missing = g.first_missing \
             AND o.last_missing = g.last_missing AND o.found_at < g.found_at)",
        )?;
    }
    conn.execute_batch("DROP TABLE IF EXISTS stage_q; DROP TABLE stage_flags;")?;
    if report.quarantined > 0 || report.held_stored > 0 {
        tracing::warn!(
            batch_id = ctx.batch_id,
            flags = report.flags,
            quarantined = report.quarantined,
            gaps = report.gaps,
            "quality checks quarantined bars"
        );
    } else if report.flags > 0 {
        tracing::info!(
            batch_id = ctx.batch_id,
            notices = report.flags,
            "quality notices"
        );
    }
    Ok(report)
}

/// Inserts the rows of the query `rows` (every quarantine column but `id`, in order) with ids
/// from `quarantine_seq` in (symbol, resolution, ts) order, returning how many. Not `nextval` per
/// row: DuckDB evaluates it on several threads, before the ORDER BY of its own query and in a
/// parallel sort's output (ids out of order from ~120k rows, measured), and an id must not
/// depend on timing. Runs under the write lock, so the range taken from the sequence is ours.
fn insert_held(conn: &Connection, rows: &str, params: &[&dyn duckdb::ToSql]) -> Result<usize> {
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM ({rows})"), params, |r| {
        r.get(0)
    })?;
    if n == 0 {
        return Ok(0);
    }
    let base: i64 = conn.query_row("SELECT nextval('quarantine_seq')", [], |r| r.get(0))?;
    if n > 1 {
        let last: i64 = conn.query_row(
            &format!(
                "SELECT max(nextval('quarantine_seq')) FROM range({})",
                n - 1
            ),
            [],
            |r| r.get(0),
        )?;
        if last != base + n - 1 {
            return Err(DataError::Invalid(format!(
                "quarantine ids: the sequence gave {base}..{last} for {n} rows"
            )));
        }
    }
    let mut all: Vec<&dyn duckdb::ToSql> = vec![&base];
    all.extend_from_slice(params);
    Ok(conn.execute(
        &format!(
            "INSERT INTO quarantine SELECT CAST(? AS BIGINT) - 1 \
             + row_number() OVER (ORDER BY symbol, resolution, ts), * FROM ({rows})"
        ),
        all.as_slice(),
    )?)
}

/// Drops staged rows equal to a bar a reviewer already rejected (same key, same values): a
/// rejected bar never reaches `bars`, however it is re-sent. Returns how many were dropped.
fn block_rejected(conn: &Connection) -> Result<u64> {
    let any: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM quarantine WHERE status = 'rejected')",
        [],
        |r| r.get(0),
    )?;
    if !any {
        return Ok(0);
    }
    let same = values_differ("stage_bars", "x");
    let rejected = format!(
        "EXISTS (SELECT 1 FROM quarantine x WHERE x.status = 'rejected' \
         AND x.symbol = stage_bars.symbol AND x.resolution = stage_bars.resolution \
         AND x.ts = stage_bars.ts AND NOT {same})"
    );
    let found: i64 = conn.query_row(
        &format!("SELECT count(*) FROM stage_bars WHERE {rejected}"),
        [],
        |r| r.get(0),
    )?;
    if found == 0 {
        return Ok(0);
    }
    super::staged::ensure_table(conn)?;
    let n = conn.execute(&format!("DELETE FROM stage_bars WHERE {rejected}"), [])?;
    if n > 0 {
        tracing::info!(rows = n, "staged rows equal to rejected bars were dropped");
    }
    Ok(n as u64)
}

/// Removes reported gaps that staged rows fill: the checks report what is still missing next
/// to the new rows again, so a partly filled gap is replaced by its remainder.
fn clear_filled_gaps(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM quality_gaps g WHERE EXISTS (SELECT 1 FROM stage_bars s WHERE s.symbol = g.symbol \
         AND s.resolution = g.resolution \
         AND s.session BETWEEN CAST(g.first_missing AS DATE) AND CAST(g.last_missing AS DATE))",
    )?;
    Ok(())
}

/// Moves stored bars the batch revealed as bad (flagged keys with no staged row) from `bars` to
/// quarantine, keeping their original provenance and a revision copy. Runs before the flagged
/// staged rows leave the stage, so a flagged *changed* row keeps its accepted stored version.
fn hold_stored(conn: &Connection, ctx: &BatchContext<'_>) -> Result<u64> {
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE stage_retro AS SELECT q.* FROM stage_q q \
         WHERE NOT EXISTS (SELECT 1 FROM stage_bars s WHERE s.symbol = q.symbol AND s.resolution = q.resolution AND s.ts = q.ts) \
         AND EXISTS (SELECT 1 FROM bars b WHERE b.symbol = q.symbol AND b.resolution = q.resolution AND b.ts = q.ts)",
    )?;
    let n: i64 = conn.query_row("SELECT count(*) FROM stage_retro", [], |r| r.get(0))?;
    if n == 0 {
        return Ok(0);
    }
    let cols = prefixed("b", BAR_VALUE_COLUMNS);
    let join =
        "JOIN stage_retro q ON q.symbol = b.symbol AND q.resolution = b.resolution AND q.ts = b.ts";
    let request = format!(
        "held when batch {} revealed it: {}",
        ctx.batch_id, ctx.request
    );
    insert_held(
        conn,
        &format!(
            "SELECT {cols}, b.batch_id, ?, b.ingested_at, \
             q.reasons, CASE q.sev WHEN 2 THEN 'critical' ELSE 'warning' END, q.score, 'pending', NULL, NULL, NULL \
             FROM bars b {join}"
        ),
        params![request],
    )?;
    conn.execute(
        &format!("INSERT INTO bar_revisions SELECT b.*, ?, ? FROM bars b {join}"),
        params![ctx.now, ctx.batch_id],
    )?;
    conn.execute_batch(
        "DELETE FROM bars USING stage_retro q WHERE bars.symbol = q.symbol \
         AND bars.resolution = q.resolution AND bars.ts = q.ts; DROP TABLE stage_retro;",
    )?;
    tracing::warn!(
        rows = n,
        "stored bars revealed as bad were moved to quarantine"
    );
    Ok(n as u64)
}

/// One held bar with why it was held and what the review decided.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuarantinedBar {
    /// Row id in `quarantine`, from a sequence: what [`Cache::review`] takes.
    pub id: i64,
    /// Symbol of the held bar.
    pub symbol: String,
    /// Resolution of the held bar (serialised as its name: `daily`, `5min`, …).
    pub resolution: Resolution,
    /// Timestamp of the held bar (UTC); with `symbol` and `resolution` it is the bar's key.
    pub ts: NaiveDateTime,
    /// Opening price as received (unadjusted).
    pub open: f64,
    /// Highest price as received (unadjusted).
    pub high: f64,
    /// Lowest price as received (unadjusted).
    pub low: f64,
    /// Closing price as received (unadjusted).
    pub close: f64,
    /// Volume as received.
    pub volume: f64,
    /// The vendor's adjusted close, when the source gave one.
    pub adj_close: Option<f64>,
    /// Where the bar came from ([`Source::as_str`](sextant_domain::Source::as_str): `file`, …).
    pub source: String,
    /// The ingest batch that delivered the bar; for a stored bar held later, the batch that
    /// wrote it.
    pub batch_id: String,
    /// What was ingested (`file <path>`, …); for a stored bar held later, `held when batch <id>
    /// revealed it: <request>`.
    pub request: String,
    /// When the bar was received (UTC).
    pub ingested_at: NaiveDateTime,
    /// Names of the checks that held it, sorted
    /// ([`Check::as_str`](sextant_quality::Check::as_str)).
    pub reasons: Vec<String>,
    /// `critical` or `warning`: the worst severity among the holding flags.
    pub severity: String,
    /// The largest statistic among the holding flags (see [`Flag::score`]).
    pub score: f64,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Who reviewed it; `None` while pending.
    pub reviewed_by: Option<String>,
    /// When it was reviewed (UTC); `None` while pending.
    pub reviewed_at: Option<NaiveDateTime>,
    /// The reviewer's note, if any.
    pub review_note: Option<String>,
}

/// Which held bars to list.
#[derive(Debug, Clone, Default)]
pub struct QuarantineQuery {
    /// Only this symbol (exact match); `None` for every symbol.
    pub symbol: Option<String>,
    /// Only this status (`pending`, `approved`, `rejected`); `None` for every status.
    pub status: Option<String>,
    /// Maximum rows returned, newest first. Values below 1 (the `Default`, 0) are read as 1.
    pub limit: usize,
    /// Rows to skip, for paging.
    pub offset: usize,
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Merge the bar into `bars` as received, without re-running the checks; a stored bar it
    /// replaces is kept as a revision.
    Approve,
    /// Keep the bar out of `bars` for good: an identical bar sent again is dropped on ingest.
    Reject,
}

/// What a review did: the bar as now recorded, and the merge when it was approved.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReviewOutcome {
    /// The held bar as now recorded, with its new status and the reviewer.
    pub bar: QuarantinedBar,
    /// The merge into `bars` for an approval; `None` for a rejection.
    pub merged: Option<IngestSummary>,
}

const Q_COLS: &str = "id, symbol, resolution, ts, open, high, low, close, volume, adj_close, source, \
     batch_id, request, ingested_at, reasons, severity, score, status, reviewed_by, reviewed_at, review_note";

fn read_q(r: &duckdb::Row<'_>) -> duckdb::Result<QuarantinedBar> {
    let reasons: String = r.get(14)?;
    Ok(QuarantinedBar {
        id: r.get(0)?,
        symbol: r.get(1)?,
        resolution: super::resolution_at(r, 2)?,
        ts: r.get(3)?,
        open: r.get(4)?,
        high: r.get(5)?,
        low: r.get(6)?,
        close: r.get(7)?,
        volume: r.get(8)?,
        adj_close: r.get(9)?,
        source: r.get(10)?,
        batch_id: r.get(11)?,
        request: r.get(12)?,
        ingested_at: r.get(13)?,
        reasons: reasons.split(',').map(str::to_string).collect(),
        severity: r.get(15)?,
        score: r.get(16)?,
        status: r.get(17)?,
        reviewed_by: r.get(18)?,
        reviewed_at: r.get(19)?,
        review_note: r.get(20)?,
    })
}

fn get_q(conn: &Connection, id: i64) -> Result<Option<QuarantinedBar>> {
    Ok(conn
        .query_row(
            &format!("SELECT {Q_COLS} FROM quarantine WHERE id = ?"),
            [id],
            read_q,
        )
        .optional()?)
}

impl Cache {
    /// Held bars, newest first, and how many match in all.
    pub fn quarantined(&self, q: &QuarantineQuery) -> Result<(Vec<QuarantinedBar>, u64)> {
        let conn = self.conn();
        let filter = "(? IS NULL OR symbol = ?) AND (? IS NULL OR status = ?)";
        let total: i64 = conn.query_row(
            &format!("SELECT count(*) FROM quarantine WHERE {filter}"),
            params![q.symbol, q.symbol, q.status, q.status],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {Q_COLS} FROM quarantine WHERE {filter} ORDER BY id DESC LIMIT ? OFFSET ?"
        ))?;
        let rows = stmt
            .query_map(
                params![
                    q.symbol,
                    q.symbol,
                    q.status,
                    q.status,
                    q.limit.max(1) as i64,
                    q.offset as i64
                ],
                read_q,
            )?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok((rows, total as u64))
    }

    /// One held bar.
    pub fn quarantined_bar(&self, id: i64) -> Result<Option<QuarantinedBar>> {
        get_q(&self.conn(), id)
    }

    /// Approves (merges into `bars`) or rejects (drops) a pending held bar, recording who and
    /// when. A bar is reviewed once; a second review is [`DataError::AlreadyReviewed`].
    pub fn review(
        &self,
        id: i64,
        decision: Decision,
        reviewer: &str,
        note: Option<&str>,
    ) -> Result<ReviewOutcome> {
        self.write(|conn| {
            let held = get_q(conn, id)?.ok_or(DataError::NotInQuarantine { id })?;
            if held.status != "pending" {
                return Err(DataError::AlreadyReviewed {
                    id,
                    status: held.status,
                });
            }
            let merged = match decision {
                Decision::Approve => {
                    super::staged::fresh_stage(conn)?;
                    conn.execute(
                        &format!(
                            "INSERT INTO stage_bars SELECT {BAR_VALUE_COLUMNS} FROM quarantine WHERE id = ?"
                        ),
                        [id],
                    )?;
                    let request = format!("quarantine review: {reviewer} approved #{id}");
                    Some(merge_stage(conn, &held.source, &request, None)?)
                }
                Decision::Reject => None,
            };
            let status = match decision {
                Decision::Approve => "approved",
                Decision::Reject => "rejected",
            };
            conn.execute(
                "UPDATE quarantine SET status = ?, reviewed_by = ?, reviewed_at = ?, review_note = ? WHERE id = ?",
                params![status, reviewer, Utc::now().naive_utc(), note, id],
            )?;
            let bar = get_q(conn, id)?.ok_or(DataError::NotInQuarantine { id })?;
            tracing::info!(id, status, reviewer, "quarantine review");
            Ok(ReviewOutcome { bar, merged })
        })
    }
}
