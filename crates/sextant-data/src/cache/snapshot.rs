//! Worker snapshots: every table a run's data load reads, cut to some symbols, as Parquet files
//! a worker on another machine imports into its own DuckDB file. Loading a request there gives
//! the same bars, held bars, adjustment flags, sessions and risk-free series as on the server,
//! so the same code computes the same numbers, without the worker ever opening the server's
//! database file (DuckDB lets one process write it).

use super::schema::SCHEMA_VERSION;
use super::{sql_ident, sql_literal, Cache};
use crate::{DataError, Result};
use sextant_domain::{Resolution, Symbol};
use std::path::{Path, PathBuf};

/// The tables a snapshot carries, in import order. Tables with a `symbol` column are cut to
/// the snapshot's symbols (and to its resolution where they have one); the economic tables
/// are small and carried whole (the risk-free rate is one of them).
pub const SNAPSHOT_TABLES: &[&str] = &[
    "bars",
    "quarantine",
    "quality_flags",
    "instruments",
    "corporate_actions",
    "corporate_action_fetches",
    "economic_series",
    "economic_observations",
];

/// One exported table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    /// The table's name (one of [`SNAPSHOT_TABLES`]).
    pub table: String,
    /// The Parquet file written.
    pub path: PathBuf,
    /// Rows in it.
    pub rows: u64,
}

impl Cache {
    /// Writes [`SNAPSHOT_TABLES`] cut to `symbols` (and `resolution`, where a table has one) as
    /// one Parquet file per table in `dir`, rows in a total order so equal data gives equal
    /// files. Reads one consistent view (a single transaction).
    pub fn export_snapshot(
        &self,
        symbols: &[Symbol],
        resolution: Resolution,
        dir: &Path,
    ) -> Result<Vec<SnapshotFile>> {
        std::fs::create_dir_all(dir).map_err(|source| DataError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let list = symbols
            .iter()
            .map(|s| sql_literal(s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut conn = self.conn();
        super::ingest::in_transaction(&mut conn, |conn| {
            let mut out = Vec::with_capacity(SNAPSHOT_TABLES.len());
            for table in SNAPSHOT_TABLES {
                let columns = columns_of(conn, table)?;
                let mut cond = vec!["TRUE".to_string()];
                if columns.iter().any(|c| c == "symbol") {
                    cond.push(if list.is_empty() {
                        "FALSE".into()
                    } else {
                        format!("symbol IN ({list})")
                    });
                }
                if columns.iter().any(|c| c == "resolution") {
                    cond.push(format!("resolution = {}", sql_literal(resolution.as_str())));
                }
                let select = format!(
                    "SELECT * FROM {} WHERE {} ORDER BY ALL",
                    sql_ident(table),
                    cond.join(" AND ")
                );
                let rows: i64 =
                    conn.query_row(&format!("SELECT count(*) FROM ({select})"), [], |r| {
                        r.get(0)
                    })?;
                let path = dir.join(format!("{table}.parquet"));
                conn.execute_batch(&format!(
                    "COPY ({select}) TO {} (FORMAT parquet, COMPRESSION zstd)",
                    sql_literal(&path.to_string_lossy())
                ))?;
                out.push(SnapshotFile {
                    table: table.to_string(),
                    path,
                    rows: rows as u64,
                });
            }
            Ok(out)
        })
    }

    /// Loads exported tables into this cache in one transaction (all or nothing). Meant for an
    /// empty cache of the same schema version ([`SCHEMA_VERSION`], which a snapshot's manifest
    /// records); a table outside [`SNAPSHOT_TABLES`] is refused.
    pub fn import_snapshot(&self, files: &[(String, PathBuf)]) -> Result<u64> {
        for (table, _) in files {
            if !SNAPSHOT_TABLES.contains(&table.as_str()) {
                return Err(DataError::Invalid(format!(
                    "snapshot table {table:?} is not one of {SNAPSHOT_TABLES:?}"
                )));
            }
        }
        self.write(|conn| {
            let mut rows = 0u64;
            for (table, path) in files {
                rows += conn.execute(
                    &format!(
                        "INSERT INTO {} SELECT * FROM read_parquet({})",
                        sql_ident(table),
                        sql_literal(&path.to_string_lossy())
                    ),
                    [],
                )? as u64;
            }
            Ok(rows)
        })
    }
}

/// The schema version snapshots of this build carry.
pub fn snapshot_schema_version() -> i32 {
    SCHEMA_VERSION
}

fn columns_of(conn: &duckdb::Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? \
         ORDER BY ordinal_position",
    )?;
    let cols = stmt
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if cols.is_empty() {
        return Err(DataError::Invalid(format!(
            "no table {table:?} in the cache"
        )));
    }
    Ok(cols)
}
