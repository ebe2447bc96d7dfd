//! Writing into the cache: every path (bars from a provider, a CSV or Parquet file, the bundled
//! sample, a Parquet import, a resample) fills the `stage_bars` temp table and then runs
//! [`merge_stage`]; every write to a stored table happens inside ONE transaction, so a crash
//! anywhere before `COMMIT` leaves nothing. The ingests fill and check the stage before that
//! transaction begins ([`Cache::write_staged`]): it is scratch space only their connection sees.
//!
//! The merge is an idempotent upsert on (symbol, resolution, ts): an identical row changes
//! nothing (not even `ingested_at`), a changed row is updated and its previous version is copied
//! to `bar_revisions` first, a new row is inserted.

use super::layout::{file_reader, stage_from_layout};
use super::schema::BAR_VALUE_COLUMNS;
use super::{sql_literal, Cache};
use crate::{DataError, Result};
use chrono::{NaiveDateTime, Utc};
use duckdb::{params, Connection};
use serde::Serialize;
use sextant_domain::{
    AssetClass, Bar, Instrument, Resolution, Source, Symbol, DEFAULT_EXCHANGE_TZ,
};
use sextant_quality::{Flag, QualityConfig, QualityReport};
use std::path::Path;

/// What one ingest did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IngestSummary {
    /// UUID of the batch, recorded with every row it wrote, its coverage, its flags and gaps.
    pub batch_id: String,
    /// Provenance name stored with the rows (`alphavantage`, `file`, `sample`, `resampled`).
    pub source: String,
    /// What was ingested, for the audit trail (`file <path>`, a provider request, …).
    pub request: String,
    /// Rows in the batch after identical duplicates were collapsed.
    pub rows_in: u64,
    /// Rows new to `bars`.
    pub inserted: u64,
    /// Stored rows whose values changed; their previous versions were copied to `bar_revisions`.
    pub updated: u64,
    /// Rows identical to the stored bar: nothing written, `ingested_at` kept.
    pub unchanged: u64,
    /// Rows the quality checks moved to quarantine instead of `bars`.
    pub quarantined: u64,
    /// Per (symbol, resolution), in that order: the range of the batch's rows that were not held.
    pub series: Vec<SeriesSummary>,
    /// What the quality checks found; all zero when they did not run (disabled, or derived data
    /// such as resampled or reviewed bars).
    pub quality: sextant_quality::QualityReport,
}

/// The range one batch covered for one (symbol, resolution).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeriesSummary {
    /// Symbol of the series.
    pub symbol: String,
    /// Resolution of the series (serialised as its name: `daily`, `5min`, …).
    pub resolution: Resolution,
    /// Earliest timestamp of the series in the batch (UTC).
    pub first_ts: NaiveDateTime,
    /// Latest timestamp of the series in the batch (UTC).
    pub last_ts: NaiveDateTime,
    /// Rows of the series in the batch (new, changed or unchanged; held rows excluded).
    pub rows: u64,
}

/// How to read a CSV or Parquet file of bars.
#[derive(Debug, Clone)]
pub struct FileOptions {
    /// The symbol when the file has no ticker column.
    pub symbol: Option<Symbol>,
    /// The resolution; inferred from the timestamps when `None`.
    pub resolution: Option<Resolution>,
    /// The exchange time zone (kept with every bar).
    pub tz: String,
    /// Intraday timestamps in the file are UTC (default: exchange-local, as vendors write them).
    pub timestamps_utc: bool,
    /// Explicit column mapping, field → column name (fields: symbol, time, open, high, low,
    /// close, volume, adj_close, dividend, split). Unmapped fields are found by common names.
    pub columns: Vec<(String, String)>,
    /// Provenance recorded with the rows.
    pub source: Source,
    /// What the file's symbols are (recorded with them, in the same transaction); `None` keeps
    /// any stored record (a symbol without one is a US equity).
    pub asset: Option<AssetClass>,
    /// Which parser reads a CSV file (default: sextant's own where it can, see [`CsvReader`]).
    pub reader: CsvReader,
}

/// Which parser reads a CSV file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CsvReader {
    /// sextant's own parallel reader when the file is in the layout it reads exactly as
    /// DuckDB's path would (a header row, commas, no quotes, ISO dates or timestamps, plain
    /// numbers; gzip or none), DuckDB's `read_csv` otherwise. About twice as fast.
    #[default]
    Auto,
    /// Always DuckDB's `read_csv` (the reference the fast reader is tested against).
    DuckDb,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            symbol: None,
            resolution: None,
            tz: DEFAULT_EXCHANGE_TZ.to_string(),
            timestamps_utc: false,
            columns: Vec::new(),
            source: Source::File,
            asset: None,
            reader: CsvReader::Auto,
        }
    }
}

impl Cache {
    /// Writes bars from a provider in one transaction.
    pub fn ingest_bars(
        &self,
        bars: &[Bar],
        source: Source,
        request: &str,
    ) -> Result<IngestSummary> {
        self.ingest_bars_as(bars, source, request, None)
    }

    /// [`Cache::ingest_bars`], recording what the instrument is in the same transaction (so its
    /// session model governs the checks of this very batch).
    pub fn ingest_bars_as(
        &self,
        bars: &[Bar],
        source: Source,
        request: &str,
        instrument: Option<&Instrument>,
    ) -> Result<IngestSummary> {
        self.write_staged(
            |conn| {
                super::staged::fresh_stage(conn)?;
                let mut app = conn.appender("stage_bars")?;
                for b in bars {
                    let session = b.ts.date();
                    app.append_row(params![
                        b.symbol.as_str(),
                        b.resolution.as_str(),
                        b.ts,
                        b.tz,
                        session,
                        b.open,
                        b.high,
                        b.low,
                        b.close,
                        b.volume,
                        b.adj_close,
                        b.dividend,
                        b.split_coefficient,
                        b.source.as_str()
                    ])?;
                }
                app.flush()?;
                drop(app);
                super::stage::prepare_stage(conn, false)
            },
            |conn, duplicates| {
                if let Some(i) = instrument {
                    super::instruments::upsert(conn, i)?;
                }
                merge_prepared(
                    conn,
                    source.as_str(),
                    request,
                    Some(&self.quality),
                    duplicates,
                )
            },
        )
    }

    /// Reads a CSV (optionally gzip-compressed) or Parquet file of bars and writes it in one
    /// transaction. DuckDB's own readers do the parsing, which is what makes file ingest fast.
    pub fn ingest_file(&self, path: &Path, opts: &FileOptions) -> Result<IngestSummary> {
        if !path.exists() {
            return Err(DataError::File {
                path: path.display().to_string(),
                message: "no such file".into(),
            });
        }
        let reader = file_reader(path);
        let request = format!("file {}", path.display());
        // The fast reader's rows stay parked until the write is done (the stage is a view).
        self.write_staged(
            |conn| {
                super::staged::fresh_stage(conn)?;
                if opts.reader == CsvReader::Auto {
                    if let Some(p) = super::fastcsv::read_fast(path, opts)? {
                        let distinct = p.distinct;
                        let stage = super::staged::create_view(
                            conn,
                            p.rows,
                            p.resolution,
                            &opts.tz,
                            opts.source,
                        )?;
                        let screened = stage.passes_validation();
                        let duplicates = super::stage::prepare_screened(conn, screened, distinct)?;
                        return Ok((duplicates, Some(stage)));
                    }
                }
                let t = std::time::Instant::now();
                // Parse the file once; detection and staging then read the in-memory copy.
                conn.execute_batch(&format!(
                    "CREATE OR REPLACE TEMP TABLE raw_file AS SELECT * FROM {reader}"
                ))?;
                tracing::debug!(ms = t.elapsed().as_millis() as u64, "file parsed");
                let reader = "raw_file";
                let layout = super::layout::detect_layout(conn, reader, path, opts)?;
                tracing::debug!(
                    ms = t.elapsed().as_millis() as u64,
                    ?layout,
                    "layout detected"
                );
                stage_from_layout(conn, reader, &layout, opts)?;
                conn.execute_batch("DROP TABLE raw_file")?;
                tracing::debug!(ms = t.elapsed().as_millis() as u64, "file staged");
                Ok((super::stage::prepare_stage(conn, false)?, None))
            },
            |conn, (duplicates, parked)| {
                if let Some(class) = opts.asset {
                    record_file_instruments(conn, class)?;
                }
                let source = opts.source.as_str();
                let quality = Some(&self.quality);
                merge_parked(conn, source, &request, quality, duplicates, parked.as_ref())
            },
        )
    }

    /// Imports a Parquet file written by [`Cache::export_parquet`], keeping its provenance columns.
    pub fn import_parquet(&self, path: &Path) -> Result<IngestSummary> {
        if !path.exists() {
            return Err(DataError::File {
                path: path.display().to_string(),
                message: "no such file".into(),
            });
        }
        let request = format!("parquet import {}", path.display());
        self.write_staged(
            |conn| {
                super::staged::fresh_stage(conn)?;
                conn.execute_batch(&format!(
                    "INSERT INTO stage_bars SELECT {BAR_VALUE_COLUMNS} FROM read_parquet({})",
                    sql_literal(&path.to_string_lossy())
                ))?;
                super::stage::prepare_stage(conn, false)
            },
            |conn, duplicates| {
                merge_prepared(conn, "parquet", &request, Some(&self.quality), duplicates)
            },
        )
    }

    /// Loads the bundled sample data set (real daily US-equity prices, public domain).
    pub fn ingest_sample(&self) -> Result<IngestSummary> {
        let dir = tempfile::tempdir().map_err(|source| DataError::Io {
            path: "temp dir".into(),
            source,
        })?;
        let path = dir.path().join(crate::providers::sample::FILE_NAME);
        std::fs::write(&path, crate::providers::sample::BYTES).map_err(|source| DataError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let opts = FileOptions {
            resolution: Some(Resolution::Daily),
            source: Source::Sample,
            ..FileOptions::default()
        };
        self.ingest_file(&path, &opts)
    }

    /// True when the cache holds no bars at all (first start).
    pub fn is_empty(&self) -> Result<bool> {
        let conn = self.conn();
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM (SELECT 1 FROM bars LIMIT 1)",
            [],
            |r| r.get(0),
        )?;
        Ok(n == 0)
    }
}

/// Rows in one of DuckDB's row groups (its default).
pub(crate) const ROW_GROUP: i64 = 122_880;

/// Serialises writers across every connection of this process (see the key note in `schema`).
static WRITE_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` between `BEGIN` and `COMMIT` under the process-wide write lock, rolling back on any
/// error.
pub(crate) fn in_transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    let _writer = WRITE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    conn.execute_batch("BEGIN TRANSACTION")?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            if let Err(rb) = conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %rb, "rollback failed after ingest error");
            }
            // A write may relax insertion order for one statement (the feature store's parallel
            // insert); when that statement fails, the aborted transaction runs no SET, so the
            // setting is reset here, after the rollback and still under the lock.
            reset_insertion_order(conn);
            Err(e)
        }
    }
}

/// Sets the connection's `preserve_insertion_order` back to DuckDB's default (sextant relaxes it
/// only for single statements). A failure is logged, not returned: callers reset it after work
/// that has already succeeded or already failed with its own error.
pub fn reset_insertion_order(conn: &Connection) {
    if let Err(e) = conn.execute_batch("RESET SESSION preserve_insertion_order") {
        tracing::warn!(error = %e, "could not reset preserve_insertion_order");
    }
}

/// The value columns an upsert compares (everything but the key and the provenance).
const COMPARED: [&str; 9] = [
    "open",
    "high",
    "low",
    "close",
    "volume",
    "adj_close",
    "dividend",
    "split_coefficient",
    "tz",
];

/// SQL that is true when the row aliased `new` differs in value from the row aliased `old`.
pub(crate) fn values_differ(new: &str, old: &str) -> String {
    let parts: Vec<String> = COMPARED
        .iter()
        .map(|c| format!("{new}.{c} IS DISTINCT FROM {old}.{c}"))
        .collect();
    format!("({})", parts.join(" OR "))
}

pub(crate) const KEY_JOIN: &str =
    "b.symbol = s.symbol AND b.resolution = s.resolution AND b.ts = s.ts";

/// Validates the staged rows, runs the quality checks (when `quality` is given and enabled;
/// derived data such as resampled bars and reviewed rows skip them), moves what they isolate to
/// quarantine and upserts the rest into `bars`. Runs inside the caller's transaction.
pub(crate) fn merge_stage(
    conn: &Connection,
    source: &str,
    request: &str,
    quality: Option<&QualityConfig>,
) -> Result<IngestSummary> {
    let duplicates = super::stage::prepare_stage(conn, false)?;
    merge_prepared(conn, source, request, quality, duplicates)
}

/// The rest of [`merge_stage`] after [`super::stage::prepare_stage`], inside the write transaction: sessions
/// of 24-hour markets from the instruments (recorded in the same transaction), the checks,
/// quarantine, the upsert, coverage and the batch record.
pub(crate) fn merge_prepared(
    conn: &Connection,
    source: &str,
    request: &str,
    quality: Option<&QualityConfig>,
    duplicates: Vec<Flag>,
) -> Result<IngestSummary> {
    merge_parked(conn, source, request, quality, duplicates, None)
}

/// [`merge_prepared`] for a stage that may be the view over parked rows, which the checks then
/// read directly.
fn merge_parked(
    conn: &Connection,
    source: &str,
    request: &str,
    quality: Option<&QualityConfig>,
    duplicates: Vec<Flag>,
    parked: Option<&super::staged::ParkedStage>,
) -> Result<IngestSummary> {
    let t = std::time::Instant::now();
    super::instruments::assign_sessions(conn)?;
    let batch_id = uuid::Uuid::new_v4().to_string();
    let now = Utc::now().naive_utc();
    let differ = values_differ("s", "b");

    // Fast path: no stored bar shares a (symbol, resolution) with the batch (first ingest of a
    // series), so every row is new and no join against `bars` is needed.
    let overlaps: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM bars b SEMI JOIN (SELECT DISTINCT symbol, resolution FROM stage_bars) s \
         ON b.symbol = s.symbol AND b.resolution = s.resolution)",
        [],
        |r| r.get(0),
    )?;
    let rows_in: i64 = conn.query_row("SELECT count(*) FROM stage_bars", [], |r| r.get(0))?;
    let ctx = super::quarantine::BatchContext {
        batch_id: &batch_id,
        request,
        now,
    };
    let quality = match quality.filter(|q| q.enabled) {
        Some(cfg) => {
            // Without overlap every staged row is new: the parked rows are the series.
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "checks start");
            let parked = match parked.filter(|_| !overlaps) {
                Some(p) => p.series(conn)?,
                None => None,
            };
            let (mut flags, gaps, judged) =
                super::judge::judge(conn, cfg, overlaps, KEY_JOIN, &differ, parked)?;
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "checks judged");
            flags.extend(duplicates);
            super::quarantine::record(conn, cfg, &flags, &gaps, judged, &ctx)?
        }
        None => QualityReport::default(),
    };
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "quality checked");
    let quarantined = quality.quarantined as i64;
    let (inserted, updated) = if overlaps {
        conn.query_row(
            &format!(
                "SELECT count(*) FILTER (WHERE b.symbol IS NULL), \
                 count(*) FILTER (WHERE b.symbol IS NOT NULL AND {differ}) \
                 FROM stage_bars s LEFT JOIN bars b ON {KEY_JOIN}"
            ),
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )?
    } else {
        (rows_in - quarantined, 0)
    };
    if updated > 0 {
        conn.execute(
            &format!(
                "INSERT INTO bar_revisions SELECT b.*, ?, ? FROM bars b JOIN stage_bars s ON {KEY_JOIN} \
                 WHERE {differ}"
            ),
            params![now, batch_id],
        )?;
        conn.execute(
            &format!(
                "UPDATE bars AS b SET tz = s.tz, session = s.session, open = s.open, high = s.high, \
                 low = s.low, close = s.close, volume = s.volume, adj_close = s.adj_close, \
                 dividend = s.dividend, split_coefficient = s.split_coefficient, source = s.source, \
                 batch_id = ?, ingested_at = ? FROM stage_bars s WHERE {KEY_JOIN} AND {differ}"
            ),
            params![batch_id, now],
        )?;
    }
    if inserted > 0 {
        insert_bars(conn, overlaps, inserted, &ctx)?;
    }
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        overlaps,
        "bars written"
    );
    let mut stmt = conn.prepare(
        "SELECT symbol, resolution, min(ts), max(ts), count(*) FROM stage_bars \
         GROUP BY symbol, resolution ORDER BY symbol, resolution",
    )?;
    let series = stmt
        .query_map([], |r| {
            Ok(SeriesSummary {
                symbol: r.get(0)?,
                resolution: super::resolution_at(r, 1)?,
                first_ts: r.get(2)?,
                last_ts: r.get(3)?,
                rows: r.get::<_, i64>(4)? as u64,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    {
        let mut app = conn.appender("coverage")?;
        for x in &series {
            app.append_row(params![
                x.symbol,
                x.resolution.as_str(),
                source,
                x.first_ts,
                x.last_ts,
                x.rows as i64,
                batch_id,
                now
            ])?;
        }
        app.flush()?;
    }
    conn.execute(
        "INSERT INTO ingest_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            batch_id,
            source,
            request,
            now,
            rows_in,
            inserted,
            updated,
            rows_in - inserted - updated - quarantined
        ],
    )?;
    tracing::info!(%batch_id, source, rows_in, inserted, updated, "ingest batch merged");
    Ok(IngestSummary {
        batch_id,
        source: source.to_string(),
        request: request.to_string(),
        rows_in: rows_in as u64,
        inserted: inserted as u64,
        updated: updated as u64,
        unchanged: (rows_in - inserted - updated - quarantined) as u64,
        quarantined: quarantined as u64,
        series,
        quality,
    })
}

/// Inserts the staged rows that are new to `bars` (all of them without `overlaps`): `rows` of
/// them, which decides whether insertion order is relaxed.
fn insert_bars(
    conn: &Connection,
    overlaps: bool,
    rows: i64,
    ctx: &super::quarantine::BatchContext<'_>,
) -> Result<()> {
    let cols = prefixed("s", BAR_VALUE_COLUMNS);
    let sql = if overlaps {
        format!(
            "INSERT INTO bars SELECT {cols}, ?, ? FROM stage_bars s \
             WHERE NOT EXISTS (SELECT 1 FROM bars b WHERE {KEY_JOIN})"
        )
    } else {
        format!("INSERT INTO bars SELECT {cols}, ?, ? FROM stage_bars s")
    };
    // A large batch is written on all of DuckDB's threads: it splits the work by row groups
    // (122,880 rows) and, scanning a view over parked rows (the fast reader's stage), keeps
    // insertion order only on one thread. Order in `bars` is then not (symbol, ts) within the
    // batch; every reader orders explicitly. Restored right after (after a failure, by the
    // transaction wrapper once it has rolled back).
    let relax = rows >= 2 * ROW_GROUP;
    if relax {
        conn.execute_batch("SET SESSION preserve_insertion_order = false")?;
    }
    conn.execute(&sql, params![ctx.batch_id, ctx.now])?;
    if relax {
        reset_insertion_order(conn);
    }
    Ok(())
}

pub(crate) fn prefixed(alias: &str, cols: &str) -> String {
    cols.split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records every staged symbol as an instrument of `class` (a file ingest told what it holds).
fn record_file_instruments(conn: &Connection, class: AssetClass) -> Result<()> {
    let mut stmt =
        conn.prepare("SELECT DISTINCT symbol FROM stage_bars WHERE symbol IS NOT NULL")?;
    let symbols = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for s in symbols {
        let symbol = Symbol::new(&s).map_err(|e| DataError::Invalid(e.to_string()))?;
        super::instruments::upsert(conn, &Instrument::new(symbol, class))?;
    }
    Ok(())
}
