//! The fast CSV reader's rows as the ingest's stage, without copying them into DuckDB.
//!
//! Why: appending a million parsed rows to the `stage_bars` temp table cost ~0.43 s (DuckDB
//! converts and stores every value, on the caller's thread) and the `INSERT INTO bars` read them
//! back. Here the parsed columns stay in Rust, parked under a token ([`crate::parked`]), and
//! `stage_bars` is a temp *view* over the table function `sextant_staged_bars(token)`, which
//! hands 2048-row chunks of the projected columns to any DuckDB worker. Every statement of the
//! ingest reads the stage as before; the few that modify it (de-duplication, sessions of 24-hour
//! markets, quarantine) first turn the view into the temp table it stands for ([`ensure_table`]).

use super::fastcsv::FIELDS;
use super::sql_literal;
use crate::parked::{self, Parked};
use crate::Result;
use duckdb::core::{Inserter, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use duckdb::Connection;
use sextant_domain::{Resolution, SessionModel, Source};
use sextant_quality::{Row, Series};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The SQL name of the table function.
const FUNCTION: &str = "sextant_staged_bars";

/// The numeric columns, in the stage's order: the fast reader's fields.
const VALUES: usize = FIELDS.len();

/// The numeric columns' names.
fn value_names() -> impl Iterator<Item = &'static str> {
    FIELDS.iter().map(|(name, _)| *name)
}

/// Parsed bars, as columns, in file order.
#[derive(Default)]
pub(crate) struct StagedRows {
    /// The file's symbols; `symbol` holds indexes into it.
    pub names: Vec<String>,
    /// Each row's symbol.
    pub symbol: Vec<u32>,
    /// Each row's timestamp, UTC microseconds since the epoch.
    pub ts: Vec<i64>,
    /// Each row's session date, days since 1970-01-01.
    pub session: Vec<i32>,
    /// One column per numeric field of the stage (`fastcsv::FIELDS`), `NaN` for NULL.
    pub values: Vec<Vec<f64>>,
}

impl StagedRows {
    pub(crate) fn len(&self) -> usize {
        self.ts.len()
    }
}

/// The size, not the rows (a logged stage would print every value).
impl std::fmt::Debug for StagedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedRows")
            .field("symbols", &self.names.len())
            .field("rows", &self.len())
            .finish()
    }
}

/// The stage of an ingest whose rows are parked: the view reads them while this lives.
#[derive(Debug)]
pub(crate) struct ParkedStage {
    _parked: Parked,
    rows: Arc<StagedRows>,
    resolution: Resolution,
}

impl ParkedStage {
    /// True when no row breaks a rule of the stage's validation (`stage::validate_stage`, which
    /// runs when this is false and names the first offending row): every symbol 1 to 32 of
    /// `A-Z 0-9 . - ^ _ /`, prices, volume and dividend present and finite, the adjusted close
    /// absent or finite, the split coefficient finite and positive. (Timestamps, sessions, the
    /// resolution and the provenance are always present here.)
    pub(crate) fn passes_validation(&self) -> bool {
        let symbol_ok = |s: &str| {
            (1..=32).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b".-^_/".contains(&b))
        };
        let v = &self.rows.values;
        let finite = |k: usize| v[k].iter().all(|x| x.is_finite());
        self.rows.names.iter().all(|s| symbol_ok(s))
            && (0..5).all(finite)
            && v[5].iter().all(|x| !x.is_infinite())
            && finite(6)
            && v[7].iter().all(|x| x.is_finite() && *x > 0.0)
    }

    /// The staged rows as the checks' series (every row judged: for a batch that shares no
    /// series with stored bars), as `judge`'s SQL path reads them: sorted by symbol, each in
    /// time order, weekly and monthly bars left out. `None` once the stage is no longer the view
    /// over these rows (a statement modified it, see [`ensure_table`]).
    pub(crate) fn series(&self, conn: &Connection) -> Result<Option<Vec<Series>>> {
        if !is_view(conn)? {
            return Ok(None);
        }
        if matches!(self.resolution, Resolution::Weekly | Resolution::Monthly) {
            return Ok(Some(Vec::new()));
        }
        use rayon::prelude::*;
        let r = &self.rows;
        // The rows' positions grouped by symbol (a counting sort), then each symbol's rows
        // copied and put in time order on all cores.
        let mut start = vec![0usize; r.names.len() + 1];
        for &s in &r.symbol {
            start[s as usize + 1] += 1;
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        let mut fill = start.clone();
        // Row numbers fit in 32 bits: a parked file is at most 2 GiB (`fastcsv::MAX_BYTES`).
        let mut order = vec![0u32; r.len()];
        for (i, &s) in r.symbol.iter().enumerate() {
            order[fill[s as usize]] = i as u32;
            fill[s as usize] += 1;
        }
        let v = &r.values;
        let mut out: Vec<Series> = r
            .names
            .par_iter()
            .enumerate()
            .filter(|&(k, _)| start[k + 1] > start[k])
            .map(|(k, name)| {
                let mut rows: Vec<Row> = order[start[k]..start[k + 1]]
                    .iter()
                    .map(|&i| {
                        let i = i as usize;
                        Row {
                            ts: r.ts[i],
                            session: i64::from(r.session[i]),
                            open: v[0][i],
                            high: v[1][i],
                            low: v[2][i],
                            close: v[3][i],
                            volume: v[4][i],
                            adj: v[5][i],
                            split: v[7][i],
                            judged: true,
                        }
                    })
                    .collect();
                rows.sort_by_key(|x| x.ts);
                Series {
                    symbol: name.clone(),
                    resolution: self.resolution,
                    rows,
                    session: SessionModel::Xnys,
                }
            })
            .collect();
        out.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        Ok(Some(out))
    }
}

/// Replaces the (empty) `stage_bars` temp table with a view over `rows`: the stage's columns,
/// with the resolution, zone and provenance that are one value for the whole file as constants.
pub(crate) fn create_view(
    conn: &Connection,
    rows: StagedRows,
    resolution: Resolution,
    tz: &str,
    source: Source,
) -> Result<ParkedStage> {
    // Registered at every ingest: DuckDB replaces an entry of the same name.
    parked::register::<StagedBars>(conn, FUNCTION)?;
    let rows = Arc::new(rows);
    let parked = Parked::new(rows.clone());
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS stage_bars; \
         CREATE TEMP VIEW stage_bars AS SELECT symbol, {res} AS resolution, ts, {tz} AS tz, \
         session, {values}, {src} AS source FROM {FUNCTION}(CAST({token} AS UBIGINT))",
        res = sql_literal(resolution.as_str()),
        tz = sql_literal(tz),
        values = value_names().collect::<Vec<_>>().join(", "),
        src = sql_literal(source.as_str()),
        token = parked.token(),
    ))?;
    Ok(ParkedStage {
        _parked: parked,
        rows,
        resolution,
    })
}

/// True when `stage_bars` is the view over parked rows.
fn is_view(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM duckdb_views() WHERE view_name = 'stage_bars' AND temporary)",
        [],
        |r| r.get(0),
    )?)
}

/// Makes `stage_bars` a temp table (copying the parked rows) before a statement modifies it.
pub(crate) fn ensure_table(conn: &Connection) -> Result<()> {
    if is_view(conn)? {
        conn.execute_batch(
            "CREATE OR REPLACE TEMP TABLE stage_rows AS SELECT * FROM stage_bars; \
             DROP VIEW stage_bars; ALTER TABLE stage_rows RENAME TO stage_bars;",
        )?;
    }
    Ok(())
}

/// Creates the empty `stage_bars` temp table (replacing a view a failed ingest may have left on
/// this connection: a panic between [`create_view`] and [`drop_stage`]).
pub(crate) fn fresh_stage(conn: &Connection) -> Result<()> {
    if is_view(conn)? {
        conn.execute_batch("DROP VIEW stage_bars")?;
    }
    conn.execute_batch(super::schema::STAGE_DDL)?;
    Ok(())
}

/// Drops the staging tables of an ingest, `stage_bars` being a table or the view.
pub(crate) fn drop_stage(conn: &Connection) -> Result<()> {
    if is_view(conn)? {
        conn.execute_batch("DROP VIEW stage_bars")?;
    }
    conn.execute_batch(super::schema::DROP_STAGE)?;
    Ok(())
}

/// The table function serving parked [`StagedRows`].
struct StagedBars;

/// The scan's shared cursor (the first row not yet handed out) and the columns it emits
/// (indexes: 0 symbol, 1 ts, 2 session, 3.. the values). Chunks go to whichever worker asks, so
/// a parallel insert interleaves 2048-row runs of the file in its row groups (each row group
/// then spans about as many rows of the file as there are threads times its own size): per-task
/// blocks would keep row groups contiguous, but this crate's table-function API has no per-task
/// state, and a thread-local one would lose rows when DuckDB moves a task between threads.
struct Scan {
    next: AtomicUsize,
    columns: Vec<usize>,
}

type VtabResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

impl VTab for StagedBars {
    type InitData = Scan;
    type BindData = Arc<StagedRows>;

    fn bind(bind: &BindInfo) -> VtabResult<Arc<StagedRows>> {
        let token = bind.get_parameter(0).to_uint64();
        let rows = parked::get::<StagedRows>(token)
            .ok_or("sextant_staged_bars: no rows are parked under this token")?;
        bind.add_result_column("symbol", LogicalTypeHandle::from(LogicalTypeId::Varchar));
        bind.add_result_column("ts", LogicalTypeHandle::from(LogicalTypeId::Timestamp));
        bind.add_result_column("session", LogicalTypeHandle::from(LogicalTypeId::Date));
        for v in value_names() {
            bind.add_result_column(v, LogicalTypeHandle::from(LogicalTypeId::Double));
        }
        bind.set_cardinality(rows.len() as u64, true);
        Ok(rows)
    }

    fn init(init: &InitInfo) -> VtabResult<Scan> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        init.set_max_threads(threads as u64);
        let columns = init
            .get_column_indices()
            .into_iter()
            .map(|c| usize::try_from(c).unwrap_or(usize::MAX))
            .collect();
        Ok(Scan {
            next: AtomicUsize::new(0),
            columns,
        })
    }

    fn func(
        info: &TableFunctionInfo<Self>,
        output: &mut duckdb::core::DataChunkHandle,
    ) -> VtabResult<()> {
        let rows = info.get_bind_data();
        let scan = info.get_init_data();
        // DuckDB's vector size (2048) when there is a column to ask.
        let chunk = match output.num_columns() {
            0 => 2048,
            _ => output.flat_vector(0).capacity(),
        };
        let start = scan.next.fetch_add(chunk, Ordering::Relaxed);
        let n = rows.len();
        if start >= n {
            output.set_len(0);
            return Ok(());
        }
        let end = (start + chunk).min(n);
        for (k, &column) in scan.columns.iter().enumerate() {
            let mut v = output.flat_vector(k);
            match column {
                0 => {
                    for (i, &s) in rows.symbol[start..end].iter().enumerate() {
                        v.insert(i, rows.names[s as usize].as_str());
                    }
                }
                // SAFETY (all three): the column was declared with the matching width (TIMESTAMP
                // as i64 microseconds, DATE as i32 days, DOUBLE as f64) and the chunk holds
                // `chunk` >= end - start rows; no other reference to this vector exists.
                1 => unsafe { v.copy(&rows.ts[start..end]) },
                2 => unsafe { v.copy(&rows.session[start..end]) },
                c if (3..3 + VALUES).contains(&c) => {
                    let values = &rows.values[c - 3][start..end];
                    unsafe { v.copy(values) };
                    for (i, x) in values.iter().enumerate() {
                        if x.is_nan() {
                            v.set_null(i);
                        }
                    }
                }
                // A column DuckDB asks for that is not one of ours (a row id for `count(*)`):
                // nothing reads its values.
                _ => {}
            }
        }
        output.set_len(end - start);
        Ok(())
    }

    fn supports_pushdown() -> bool {
        true
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> StagedRows {
        StagedRows {
            names: vec!["AAA".into(), "A_LONGER_SYMBOL_NAME".into()],
            symbol: (0..n).map(|i| (i % 3 == 0) as u32).collect(),
            ts: (0..n as i64).map(|i| i * 60_000_000).collect(),
            session: (0..n as i32).map(|i| i / 390).collect(),
            values: (0..VALUES)
                .map(|k| {
                    (0..n)
                        .map(|i| {
                            if k == 5 && i % 7 == 0 {
                                f64::NAN
                            } else {
                                i as f64 + k as f64 / 8.0
                            }
                        })
                        .collect()
                })
                .collect(),
        }
    }

    fn conn() -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(&format!(
            "SET threads = 2; {}",
            super::super::schema::STAGE_DDL
        ))
        .expect("stage");
        conn
    }

    #[test]
    fn the_view_reads_every_row_and_column() -> std::result::Result<(), Box<dyn std::error::Error>>
    {
        let conn = conn();
        // Several chunks, not a multiple of the chunk size.
        let n = 5 * 2048 + 17;
        let _stage = create_view(
            &conn,
            rows(n),
            Resolution::Min1,
            "America/New_York",
            Source::File,
        )?;
        let want = rows(n);
        let mut stmt = conn.prepare(
            "SELECT symbol, resolution, epoch_us(ts), tz, \
             CAST(datediff('day', DATE '1970-01-01', session) AS INTEGER), open, high, low, close, \
             volume, adj_close, dividend, split_coefficient, source FROM stage_bars ORDER BY ts",
        )?;
        let mut got = stmt.query([])?;
        let mut i = 0;
        while let Some(r) = got.next()? {
            assert_eq!(r.get::<_, String>(0)?, want.names[want.symbol[i] as usize]);
            assert_eq!(r.get::<_, String>(1)?, "1min");
            assert_eq!(r.get::<_, i64>(2)?, want.ts[i]);
            assert_eq!(r.get::<_, String>(3)?, "America/New_York");
            assert_eq!(r.get::<_, i32>(4)?, want.session[i]);
            for k in 0..VALUES {
                let w = want.values[k][i];
                assert_eq!(
                    r.get::<_, Option<f64>>(5 + k)?,
                    (!w.is_nan()).then_some(w),
                    "row {i} col {k}"
                );
            }
            assert_eq!(r.get::<_, String>(13)?, "file");
            i += 1;
        }
        assert_eq!(i, n);
        // Projections and counts.
        let (count, symbols, nulls): (i64, i64, i64) = conn.query_row(
            "SELECT count(*), count(DISTINCT symbol), count(*) FILTER (WHERE adj_close IS NULL) FROM stage_bars",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        assert_eq!((count, symbols), (n as i64, 2));
        assert_eq!(nulls, n.div_ceil(7) as i64);
        let only_count: i64 =
            conn.query_row("SELECT count(*) FROM stage_bars", [], |r| r.get(0))?;
        assert_eq!(only_count, n as i64);
        Ok(())
    }

    #[test]
    fn ensure_table_copies_the_view_and_drop_stage_clears_either(
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let conn = conn();
        let stage = create_view(&conn, rows(100), Resolution::Daily, "UTC", Source::Sample)?;
        assert!(is_view(&conn)?);
        ensure_table(&conn)?;
        drop(stage);
        assert!(!is_view(&conn)?);
        // The rows were copied: the table outlives the parked rows, and can be modified.
        conn.execute_batch("DELETE FROM stage_bars WHERE symbol = 'AAA'")?;
        let n: i64 = conn.query_row("SELECT count(*) FROM stage_bars", [], |r| r.get(0))?;
        assert_eq!(n, 34);
        ensure_table(&conn)?;
        drop_stage(&conn)?;
        let _again = create_view(&conn, rows(3), Resolution::Daily, "UTC", Source::File)?;
        drop_stage(&conn)?;
        // Both forms gone: a new stage table can be created.
        conn.execute_batch(super::super::schema::STAGE_DDL)?;
        Ok(())
    }

    #[test]
    fn a_call_naming_no_parked_rows_fails() {
        let conn = conn();
        let stage =
            create_view(&conn, rows(3), Resolution::Daily, "UTC", Source::File).expect("view");
        drop(stage);
        assert!(conn
            .query_row("SELECT count(*) FROM stage_bars", [], |r| r
                .get::<_, i64>(0))
            .is_err());
        assert!(conn
            .query_row(
                &format!("SELECT count(*) FROM {FUNCTION}(123456789)"),
                [],
                |r| r.get::<_, i64>(0)
            )
            .is_err());
    }
}
