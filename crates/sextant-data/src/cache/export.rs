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
    pub symbols: Vec<Symbol>,
    pub resolution: Option<Resolution>,
    pub from: Option<NaiveDate>,
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
        use sha2::{Digest, Sha256};
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT symbol, resolution, CAST(ts AS VARCHAR), open, high, low, close, volume, \
             coalesce(adj_close, 'NaN'::DOUBLE), dividend, split_coefficient FROM bars WHERE {} \
             ORDER BY symbol, resolution, ts",
            slice_where(slice)
        ))?;
        let mut rows = stmt.query(params![])?;
        let mut h = Sha256::new();
        while let Some(r) = rows.next()? {
            for i in 0..3 {
                let s: String = r.get(i)?;
                h.update(s.as_bytes());
                h.update([0]);
            }
            for i in 3..11 {
                let v: f64 = r.get(i)?;
                h.update(v.to_bits().to_le_bytes());
            }
        }
        Ok(hex::encode(h.finalize()))
    }
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
