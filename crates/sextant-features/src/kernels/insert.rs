//! Writing computed feature columns into DuckDB on all cores.
//!
//! DuckDB's appender runs on the caller's thread, and at 10M rows × 17 features the table's
//! statistics and compression (ALP) kept one core busy for ~10 s. DuckDB inserts in parallel
//! when the source of an `INSERT … SELECT` is a table function that several threads may scan,
//! so the computed columns are served to DuckDB by one: [`FeatureRows`], registered as
//! `sextant_feature_rows(token)`, hands out 2048-row chunks to whichever DuckDB worker asks.
//!
//! The columns never pass through SQL: they are parked under a token for the length of the
//! statement ([`sextant_data::parked`]); a call naming no parked token (a user's SQL naming
//! the function) finds nothing and fails. The function only reads.

use duckdb::core::{Inserter, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use sextant_data::cache::reset_insertion_order;
use sextant_data::parked::{self, Parked};
use sextant_data::Result;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The SQL name of the table function.
const FUNCTION: &str = "sextant_feature_rows";

/// Rows in one of DuckDB's row groups (its default).
const ROW_GROUP: usize = 122_880;

/// A feature table's rows in (symbol, ts) order, as columns.
pub(crate) struct Rows {
    /// Symbol names, in row order.
    pub names: Vec<String>,
    /// The rows of `names[s]` are `offsets[s]..offsets[s + 1]` (one more entry than `names`).
    pub offsets: Vec<usize>,
    /// Each row's timestamp, microseconds since the epoch (UTC).
    pub ts: Vec<i64>,
    /// Feature names, one per column.
    pub features: Vec<String>,
    /// One column per feature, NaN for NULL.
    pub columns: Vec<Vec<f64>>,
}

/// The table function serving parked [`Rows`].
struct FeatureRows;

/// What the bind found: the rows behind the token.
struct Bound(Arc<Rows>);

/// The scan's shared cursor: the first row not yet handed out.
struct Cursor(AtomicUsize);

type VtabResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

impl VTab for FeatureRows {
    type InitData = Cursor;
    type BindData = Bound;

    fn bind(bind: &BindInfo) -> VtabResult<Bound> {
        let token = bind.get_parameter(0).to_uint64();
        let rows = parked::get::<Rows>(token)
            .ok_or("sextant_feature_rows: no rows are parked under this token")?;
        bind.add_result_column("symbol", LogicalTypeHandle::from(LogicalTypeId::Varchar));
        bind.add_result_column("ts", LogicalTypeHandle::from(LogicalTypeId::Timestamp));
        for f in &rows.features {
            bind.add_result_column(f, LogicalTypeHandle::from(LogicalTypeId::Double));
        }
        Ok(Bound(rows))
    }

    fn init(init: &InitInfo) -> VtabResult<Cursor> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        init.set_max_threads(threads as u64);
        Ok(Cursor(AtomicUsize::new(0)))
    }

    fn func(
        info: &TableFunctionInfo<Self>,
        output: &mut duckdb::core::DataChunkHandle,
    ) -> VtabResult<()> {
        let rows = &info.get_bind_data().0;
        let symbol = output.flat_vector(0);
        let chunk = symbol.capacity();
        let start = info.get_init_data().0.fetch_add(chunk, Ordering::Relaxed);
        let n = rows.ts.len();
        if start >= n {
            output.set_len(0);
            return Ok(());
        }
        let end = (start + chunk).min(n);
        // The symbol of the chunk's first row, then walk the offsets.
        let mut s = rows.offsets.partition_point(|&o| o <= start) - 1;
        for (i, row) in (start..end).enumerate() {
            while rows.offsets[s + 1] <= row {
                s += 1;
            }
            symbol.insert(i, rows.names[s].as_str());
        }
        let mut ts = output.flat_vector(1);
        // SAFETY: column 1 was declared TIMESTAMP, stored as i64 microseconds, and the chunk
        // holds `chunk` >= end - start rows; no other reference to this vector exists.
        unsafe { ts.copy(&rows.ts[start..end]) };
        for (j, col) in rows.columns.iter().enumerate() {
            let mut v = output.flat_vector(2 + j);
            let values = &col[start..end];
            // SAFETY: feature columns were declared DOUBLE (f64); the length is within the
            // chunk's capacity as above.
            unsafe { v.copy(values) };
            for (i, x) in values.iter().enumerate() {
                if x.is_nan() {
                    v.set_null(i);
                }
            }
        }
        output.set_len(end - start);
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}

/// Inserts `rows` into `table` (which must have the columns symbol, ts, then the features, in
/// that order) with one `INSERT … SELECT` that DuckDB runs on all its threads. Row order in the
/// table is not (symbol, ts) (readers order explicitly); insertion order is relaxed for this
/// statement on this connection only (from two row groups up) and restored after it succeeds
/// (after a failure, by `Cache`'s transaction wrapper once it has rolled back).
pub(crate) fn insert_parallel(conn: &duckdb::Connection, table: &str, rows: Rows) -> Result<()> {
    if let Some(bad) = rows.features.iter().find(|f| f.contains('\0')) {
        return Err(sextant_data::DataError::Invalid(format!(
            "feature name {bad:?} contains a NUL byte"
        )));
    }
    // Registered in the database's catalog (shared by its connections) at every write: DuckDB
    // replaces an entry of the same name and signature (`registering_again_replaces_the_function`),
    // which costs ~25 µs, where asking `duckdb_functions()` first cost ~10 ms.
    parked::register::<FeatureRows>(conn, FUNCTION)?;
    // DuckDB splits a parallel insert by row groups (122,880 rows): below two of them one
    // thread writes anyway, and the setting is left alone.
    let parallel = rows.ts.len() >= 2 * ROW_GROUP;
    let parked = Parked::new(Arc::new(rows));
    if parallel {
        conn.execute_batch("SET SESSION preserve_insertion_order = false")?;
    }
    // A failed insert aborts the caller's transaction, and then no SET runs until it is rolled
    // back: `Cache`'s transaction wrapper resets the setting after the rollback.
    conn.execute(
        &format!(
            "INSERT INTO {} SELECT * FROM {FUNCTION}(?)",
            sextant_data::cache::sql_ident(table)
        ),
        duckdb::params![parked.token()],
    )?;
    drop(parked);
    if parallel {
        reset_insertion_order(conn);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Rows {
        Rows {
            names: vec!["AAA".into(), "A_LONGER_SYMBOL_NAME".into()],
            offsets: vec![0, n / 3, n],
            ts: (0..n as i64).map(|i| i * 60_000_000).collect(),
            features: vec!["x".into(), "y y".into()],
            columns: vec![
                (0..n).map(|i| i as f64 * 0.25).collect(),
                (0..n)
                    .map(|i| if i % 7 == 0 { f64::NAN } else { -(i as f64) })
                    .collect(),
            ],
        }
    }

    #[test]
    fn every_row_arrives_with_nan_as_null() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let conn = duckdb::Connection::open_in_memory()?;
        conn.execute_batch("SET threads = 2; CREATE TABLE t (symbol VARCHAR, ts TIMESTAMP, x DOUBLE, \"y y\" DOUBLE)")?;
        // Enough rows for the parallel insert, and not a multiple of the chunk size.
        let n = 2 * ROW_GROUP + 4_099;
        insert_parallel(&conn, "t", rows(n))?;
        let preserve: bool = conn.query_row(
            "SELECT current_setting('preserve_insertion_order')",
            [],
            |r| r.get(0),
        )?;
        assert!(preserve, "restored after the insert");
        let mut stmt =
            conn.prepare("SELECT symbol, epoch_us(ts), x, \"y y\" FROM t ORDER BY ts")?;
        let got: Vec<(String, i64, f64, Option<f64>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<std::result::Result<_, _>>()?;
        assert_eq!(got.len(), n);
        let want = rows(n);
        for (i, (sym, ts, x, y)) in got.into_iter().enumerate() {
            assert_eq!(sym, want.names[usize::from(i >= n / 3)], "row {i}");
            assert_eq!(ts, want.ts[i], "row {i}");
            assert_eq!(x, want.columns[0][i], "row {i}");
            let wy = want.columns[1][i];
            assert_eq!(y, (!wy.is_nan()).then_some(wy), "row {i}");
        }
        Ok(())
    }

    #[test]
    fn a_failed_insert_leaves_the_setting_to_reset(
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let conn = duckdb::Connection::open_in_memory()?;
        // One column too few: the insert fails inside the transaction.
        conn.execute_batch("CREATE TABLE t (symbol VARCHAR, ts TIMESTAMP, x DOUBLE); BEGIN")?;
        assert!(insert_parallel(&conn, "t", rows(2 * ROW_GROUP)).is_err());
        conn.execute_batch("ROLLBACK")?;
        let preserve: bool = conn.query_row(
            "SELECT current_setting('preserve_insertion_order')",
            [],
            |r| r.get(0),
        )?;
        assert!(
            !preserve,
            "a failed insert leaves it relaxed, even after the rollback"
        );
        reset_insertion_order(&conn);
        let preserve: bool = conn.query_row(
            "SELECT current_setting('preserve_insertion_order')",
            [],
            |r| r.get(0),
        )?;
        assert!(preserve);
        // The function stays registered once, however often writes run.
        conn.execute_batch(
            "CREATE TABLE u (symbol VARCHAR, ts TIMESTAMP, x DOUBLE, \"y y\" DOUBLE)",
        )?;
        for _ in 0..3 {
            insert_parallel(&conn, "u", rows(5))?;
        }
        let n: i64 = conn.query_row("SELECT count(*) FROM u", [], |r| r.get(0))?;
        assert_eq!(n, 15);
        Ok(())
    }

    #[test]
    fn registering_again_replaces_the_function(
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let conn = duckdb::Connection::open_in_memory()?;
        for _ in 0..3 {
            conn.register_table_function::<FeatureRows>(FUNCTION)?;
        }
        let other = conn.try_clone()?;
        other.register_table_function::<FeatureRows>(FUNCTION)?;
        conn.execute_batch(
            "CREATE TABLE u (symbol VARCHAR, ts TIMESTAMP, x DOUBLE, \"y y\" DOUBLE)",
        )?;
        insert_parallel(&conn, "u", rows(5))?;
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'sextant_feature_rows'",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(n, 1);
        Ok(())
    }

    #[test]
    fn a_nul_in_a_feature_name_is_an_error() -> std::result::Result<(), Box<dyn std::error::Error>>
    {
        let conn = duckdb::Connection::open_in_memory()?;
        let mut r = rows(3);
        r.features[0] = "bad\0name".into();
        assert!(insert_parallel(&conn, "t", r).is_err());
        Ok(())
    }
}
