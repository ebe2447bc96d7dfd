//! Parquet export of any slice of the cache (the format worker processes read snapshots in).

use super::{sql_literal, Cache};
use crate::{DataError, Result};
use chrono::NaiveDate;
use duckdb::params;
use sextant_domain::{Resolution, Symbol};
use std::path::Path;

/// Which bars to export. `None` means "all".
#[derive(Debug, Clone, Default)]
pub struct Slice {
    /// Only these symbols; empty for every symbol.
    pub symbols: Vec<Symbol>,
    /// Only this resolution; `None` for every resolution.
    pub resolution: Option<Resolution>,
    /// First session date, inclusive; `None` for no lower bound.
    pub from: Option<NaiveDate>,
    /// Last session date, inclusive; `None` for no upper bound.
    pub to: Option<NaiveDate>,
}

impl Cache {
    /// Writes the slice to a Parquet file (zstd), ordered by key so equal slices give equal files.
    /// Returns the number of rows written.
    pub fn export_parquet(&self, slice: &Slice, path: &Path) -> Result<u64> {
        let conn = self.conn();
        let where_sql = slice_where(slice);
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) FROM bars WHERE {where_sql}"),
            [],
            |r| r.get(0),
        )?;
        let tmp = path.with_extension("parquet.partial");
        conn.execute_batch(&format!(
            "COPY (SELECT * FROM bars WHERE {where_sql} ORDER BY symbol, resolution, ts) TO {} \
             (FORMAT parquet, COMPRESSION zstd)",
            sql_literal(&tmp.to_string_lossy())
        ))?;
        // Rename last, so a reader never sees a half-written export.
        std::fs::rename(&tmp, path).map_err(|source| DataError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(n as u64)
    }

    /// A content hash of a slice (sha256 over the ordered rows' values): the data snapshot id
    /// that run manifests record.
    pub fn snapshot_hash(&self, slice: &Slice) -> Result<String> {
        snapshot_hash_on(&self.conn(), slice)
    }
}

/// [`Cache::snapshot_hash`] on a connection (inside a caller's transaction). Reads Arrow
/// batches, not rows: ten million bars hash in about a second instead of ten.
pub fn snapshot_hash_on(conn: &duckdb::Connection, slice: &Slice) -> Result<String> {
    use duckdb::arrow::array::{Array, Float64Array, StringArray};
    use sha2::{Digest, Sha256};
    let mut stmt = conn.prepare(&format!(
        "SELECT symbol, CAST(resolution AS VARCHAR), CAST(ts AS VARCHAR), open, high, low, close, volume, \
         coalesce(adj_close, 'NaN'::DOUBLE), dividend, split_coefficient FROM bars WHERE {} \
         ORDER BY symbol, resolution, ts",
        slice_where(slice)
    ))?;
    let bad = |w: &str| DataError::Invalid(format!("snapshot hash: unexpected Arrow type for {w}"));
    let mut h = Sha256::new();
    for batch in stmt.query_arrow(params![])? {
        let strs: Vec<&StringArray> = (0..3)
            .map(|i| {
                batch
                    .column(i)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| bad("text"))
            })
            .collect::<Result<_>>()?;
        let nums: Vec<&Float64Array> = (3..11)
            .map(|i| {
                batch
                    .column(i)
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .ok_or_else(|| bad("number"))
            })
            .collect::<Result<_>>()?;
        for r in 0..batch.num_rows() {
            for a in &strs {
                h.update(a.value(r).as_bytes());
                h.update([0]);
            }
            for a in &nums {
                h.update(a.value(r).to_bits().to_le_bytes());
            }
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn slice_where(slice: &Slice) -> String {
    let mut parts = vec!["TRUE".to_string()];
    if !slice.symbols.is_empty() {
        let list = slice
            .symbols
            .iter()
            .map(|s| sql_literal(s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!("symbol IN ({list})"));
    }
    if let Some(r) = slice.resolution {
        parts.push(format!("resolution = {}", sql_literal(r.as_str())));
    }
    if let Some(f) = slice.from {
        parts.push(format!("session >= DATE {}", sql_literal(&f.to_string())));
    }
    if let Some(t) = slice.to {
        parts.push(format!("session <= DATE {}", sql_literal(&t.to_string())));
    }
    parts.join(" AND ")
}
