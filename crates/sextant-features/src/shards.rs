//! Materialising a view in symbol shards on other machines. A time-series feature of a symbol
//! depends on that symbol's bars alone, so a worker computes it for a shard of symbols from a
//! snapshot holding just those ([`export_shard`]); a cross-sectional feature ranks a symbol
//! among all of them, so the server evaluates those once every shard is back, over the union,
//! with the view's own SQL ([`assemble_shards`]). The assembled table is the one a local
//! materialisation writes: same rows, order, columns and values.

use crate::store::{macro_snapshot, out_cols, register, table_counts};
use crate::views::{FeatureView, Stage};
use crate::{FeatureStore, MaterializedView};
use chrono::Utc;
use duckdb::params;
use sextant_data::cache::{snapshot_hash_on, sql_ident, sql_literal, Slice};
use sextant_data::{Cache, DataError, Result};
use sextant_domain::Symbol;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A shard's time-series features, written by [`export_shard`].
#[derive(Debug, Clone, PartialEq)]
pub struct ShardFile {
    /// The Parquet file: `symbol`, `ts` and the view's time-series features, in (symbol, ts)
    /// order.
    pub path: PathBuf,
    /// Rows in it.
    pub rows: u64,
    /// The symbols it covers (every symbol of the cache at the view's resolution), sorted.
    pub symbols: Vec<String>,
    /// What they were computed from: the hash of those symbols' bars at the view's resolution,
    /// extended with the view's economic series as a materialisation records it.
    pub data_snapshot: String,
}

/// A shard the server assembles: its file and what the worker said it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardPart {
    /// The shard's Parquet file, fetched to a local path.
    pub path: PathBuf,
    /// The symbols the worker computed.
    pub symbols: Vec<String>,
    /// Rows the worker wrote.
    pub rows: u64,
    /// What it computed them from ([`ShardFile::data_snapshot`]).
    pub data_snapshot: String,
}

fn time_series_cols(view: &FeatureView) -> Vec<String> {
    view.features
        .iter()
        .filter(|f| f.stage == Stage::TimeSeries)
        .map(|f| sql_ident(&f.name))
        .collect()
}

fn symbols_at(conn: &duckdb::Connection, view: &FeatureView) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT DISTINCT symbol FROM bars WHERE resolution = ? ORDER BY symbol")?;
    let rows = stmt.query_map(params![view.resolution.as_str()], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// The hash of `symbols`' bars at `view`'s resolution with the view's economic series.
fn shard_snapshot(
    conn: &duckdb::Connection,
    view: &FeatureView,
    symbols: &[String],
) -> Result<String> {
    let bars = snapshot_hash_on(
        conn,
        &Slice {
            symbols: parse_symbols(symbols)?,
            resolution: Some(view.resolution),
            from: None,
            to: None,
        },
    )?;
    macro_snapshot(conn, view, bars)
}

fn parse_symbols(names: &[String]) -> Result<Vec<Symbol>> {
    names
        .iter()
        .map(|s| Symbol::new(s).map_err(|e| DataError::Invalid(e.to_string())))
        .collect()
}

/// Worker: materialises `view` over every symbol of `cache` (a snapshot cut to one shard) and
/// writes its time-series features to `dir/shard.parquet`. The view's table in `cache` is
/// written too (its cross-sectional columns rank within the shard only and are not exported).
pub fn export_shard(cache: &Cache, view: &FeatureView, dir: &Path) -> Result<ShardFile> {
    let mv = cache.materialize_view(view)?;
    let path = dir.join("shard.parquet");
    let conn = cache.conn();
    let symbols = symbols_at(&conn, view)?;
    let data_snapshot = shard_snapshot(&conn, view, &symbols)?;
    let mut cols = vec!["symbol".to_string(), "ts".to_string()];
    cols.extend(time_series_cols(view));
    conn.execute_batch(&format!(
        "COPY (SELECT {} FROM {} ORDER BY symbol, ts) TO {} (FORMAT parquet)",
        cols.join(", "),
        sql_ident(&mv.table_name),
        sql_literal(&path.display().to_string())
    ))?;
    Ok(ShardFile {
        path,
        rows: mv.rows,
        symbols,
        data_snapshot,
    })
}

/// Server: writes `view`'s table from the shards' time-series features, evaluates its
/// cross-sectional features over all of them, and records it as materialised, in one
/// transaction. Refuses shards that overlap, miss a symbol the cache holds at the view's
/// resolution, or were computed from other bars than the cache's (bars changed since the
/// snapshots were cut: materialise again).
pub fn assemble_shards(
    cache: &Cache,
    view: &FeatureView,
    parts: &[ShardPart],
) -> Result<MaterializedView> {
    let table = view.table_name();
    let now = Utc::now().naive_utc();
    let (rows, symbols, snapshot) = cache.write(|conn| {
        let mut covered = BTreeSet::new();
        for p in parts {
            if shard_snapshot(conn, view, &p.symbols)? != p.data_snapshot {
                return Err(DataError::Invalid(format!(
                    "a shard of {} was computed from other bars or economic series than the \
                     cache holds (they changed since its snapshot was cut): materialise again",
                    view.name
                )));
            }
            for s in &p.symbols {
                if !covered.insert(s.clone()) {
                    return Err(DataError::Invalid(format!("symbol {s} is in two shards")));
                }
            }
        }
        let all = symbols_at(conn, view)?;
        if all.iter().ne(covered.iter()) {
            return Err(DataError::Invalid(format!(
                "the shards of {} cover {} symbols, the cache holds {} at {}: materialise again",
                view.name,
                covered.len(),
                all.len(),
                view.resolution
            )));
        }
        let files: Vec<String> = parts
            .iter()
            .map(|p| sql_literal(&p.path.display().to_string()))
            .collect();
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TABLE {} AS WITH t AS (SELECT * FROM read_parquet([{}])) \
             SELECT symbol, ts, {} FROM t ORDER BY symbol, ts",
            sql_ident(&table),
            files.join(", "),
            out_cols(view)
        ))?;
        let (rows, symbols) = table_counts(conn, &table)?;
        let claimed: u64 = parts.iter().map(|p| p.rows).sum();
        if rows as u64 != claimed {
            return Err(DataError::Invalid(format!(
                "the shards of {} hold {rows} rows, their workers wrote {claimed}",
                view.name
            )));
        }
        let bars = snapshot_hash_on(
            conn,
            &Slice {
                resolution: Some(view.resolution),
                ..Slice::default()
            },
        )?;
        let snapshot = macro_snapshot(conn, view, bars)?;
        register(conn, view, &table, (rows, symbols), &snapshot, now)?;
        Ok((rows as u64, symbols as u64, snapshot))
    })?;
    tracing::info!(view = %view.name, shards = parts.len(), rows, "feature view assembled from shards");
    Ok(MaterializedView {
        name: view.name.clone(),
        version: view.version(),
        table_name: table,
        resolution: view.resolution,
        features: view.feature_names(),
        rows,
        symbols,
        data_snapshot: snapshot,
        materialized_at: now,
    })
}

/// The symbols `cache` holds at `view`'s resolution, sorted: what a coordinator shards.
pub fn view_symbols(cache: &Cache, view: &FeatureView) -> Result<Vec<Symbol>> {
    parse_symbols(&symbols_at(&cache.conn(), view)?)
}

/// The data snapshot a materialisation of `view` on `cache` records now: the hash of every bar
/// at its resolution, extended with its economic series' observations. What a coordinator
/// checks a view computed elsewhere against.
pub fn view_data_snapshot(cache: &Cache, view: &FeatureView) -> Result<String> {
    let conn = cache.conn();
    let bars = snapshot_hash_on(
        &conn,
        &Slice {
            resolution: Some(view.resolution),
            ..Slice::default()
        },
    )?;
    macro_snapshot(&conn, view, bars)
}
