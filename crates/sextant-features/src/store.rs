//! Materialising feature views into DuckDB and reading feature panels back.
//!
//! A view's version materialises into its own table (`fv_<name>_<version>`), written in one
//! transaction and registered in `feature_views` with the data snapshot it was computed from.
//! Quarantined bars are not in `bars`, so they never reach a feature.

use crate::kernels::CompiledView;
use crate::views::{FeatureView, Stage};
use chrono::{DateTime, NaiveDateTime, Utc};
use duckdb::{params, OptionalExt};
use serde::Serialize;
use sextant_data::cache::{
    read_series, snapshot_hash_on, sql_date_bounds, sql_ident, sql_literal, Slice,
};
use sextant_data::{Cache, DataError, Result};
use sextant_domain::{Resolution, Symbol};

/// One materialised version of a view.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MaterializedView {
    /// The view's name (`technical`, …).
    pub name: String,
    /// The view's version: 12 hex digits of its definition hash ([`FeatureView::version`]).
    pub version: String,
    /// The DuckDB table holding the values, `fv_<name>_<version>`.
    pub table_name: String,
    /// The bar resolution the view is computed at (serialised as its name: `daily`, `1min`, …).
    pub resolution: Resolution,
    /// Feature names in column order, from the stored definition.
    pub features: Vec<String>,
    /// Rows in the table: one per (symbol, ts) bar at the resolution.
    pub rows: u64,
    /// Distinct symbols in the table.
    pub symbols: u64,
    /// The content hash of the bars it was computed from (see `Cache::snapshot_hash`).
    pub data_snapshot: String,
    /// When this version was last materialised (UTC); "newest" means the latest of these.
    pub materialized_at: NaiveDateTime,
}

/// Feature values for some symbols over a range, one row per (symbol, ts), in (symbol, ts)
/// order. Values are column-major; NaN where a feature is undefined (warm-up windows).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FeaturePanel {
    /// Name of the view read.
    pub view: String,
    /// Version of the view read (resolved when the caller asked for the newest).
    pub version: String,
    /// Feature names, one per entry of `columns`, in the same order.
    pub features: Vec<String>,
    /// The symbol of each row (parallel to `ts`, so repeated), not a list of distinct symbols.
    pub symbols: Vec<String>,
    /// The bar timestamp (UTC) of each row.
    pub ts: Vec<NaiveDateTime>,
    /// One vector per feature, each `len()` long; NaN where the value is undefined.
    pub columns: Vec<Vec<f64>>,
}

impl FeaturePanel {
    /// Number of rows ((symbol, ts) pairs).
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when the panel has no rows.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The feature values of row `i`.
    pub fn row(&self, i: usize) -> Vec<f64> {
        self.columns.iter().map(|c| c[i]).collect()
    }
}

/// The SQL computing `view` over every symbol at its resolution. Always the whole universe:
/// cross-sectional features rank a symbol among all symbols at the same timestamp.
pub fn view_sql(view: &FeatureView) -> String {
    let ts_cols = view
        .features
        .iter()
        .filter(|f| f.stage == Stage::TimeSeries)
        .map(|f| format!("CAST({} AS DOUBLE) AS {}", f.sql, sql_ident(&f.name)))
        .collect::<Vec<_>>()
        .join(",\n  ");
    let out_cols = out_cols(view);
    // Prepared columns: prices scaled by the total-return factor and volume by the split factor
    // of `price_factors` (the one adjustment rule, `sextant_domain::prices`, written by
    // `write_price_factors`; 1 where a series has no corporate-action data), then the 1-bar log
    // return, true range, gains and losses.
    // Economic series, point in time: an ASOF join takes, for each bar, the latest observation
    // released on or before its session (`available_from`), never a later one.
    let mut macro_ctes = String::new();
    let mut macro_cols = String::new();
    let mut macro_joins = String::new();
    for (i, id) in view.macros.iter().enumerate() {
        macro_ctes.push_str(&format!(
            "m{i} AS (
  SELECT available_from, value, lag(value, 12) OVER (ORDER BY day) AS value_12
  FROM economic_observations WHERE series = {} AND value IS NOT NULL
), ",
            sql_literal(id)
        ));
        let col = sql_ident(&format!("m_{id}"));
        let col12 = sql_ident(&format!("m_{id}_12"));
        macro_cols.push_str(&format!(", m{i}.value AS {col}, m{i}.value_12 AS {col12}"));
        macro_joins.push_str(&format!(
            " ASOF LEFT JOIN m{i} ON b.session >= m{i}.available_from"
        ));
    }
    format!(
        "WITH {macro_ctes}b AS (
  SELECT symbol, ts, session, open, high, low, close, volume,
         coalesce(pf.f, 1.0) AS f, coalesce(pf.s, 1.0) AS s
  FROM bars LEFT JOIN price_factors pf USING (symbol, ts) WHERE resolution = {res}
), a AS (
  SELECT symbol, ts, session, close * f AS c, open * f AS o, high * f AS h, low * f AS l,
         volume / s AS v{macro_cols}
  FROM b{macro_joins}
), p AS (
  SELECT *, row_number() OVER w AS rn, ln(c / lag(c) OVER w) AS r1,
         greatest(h - l, abs(h - lag(c) OVER w), abs(l - lag(c) OVER w)) AS tr,
         CASE WHEN lag(c) OVER w IS NOT NULL THEN greatest(c - lag(c) OVER w, 0) END AS gain,
         CASE WHEN lag(c) OVER w IS NOT NULL THEN greatest(lag(c) OVER w - c, 0) END AS loss
  FROM a WINDOW w AS (PARTITION BY symbol ORDER BY ts)
), t AS (
  SELECT symbol, ts,
  {ts_cols}
  FROM p WINDOW w AS (PARTITION BY symbol ORDER BY ts)
)
SELECT symbol, ts, {out_cols} FROM t",
        res = sql_literal(view.resolution.as_str()),
    )
}

/// The output columns of `view` over a relation holding its time-series features by name:
/// those as they are, each cross-sectional one evaluated (partitioned by `ts`) as DOUBLE.
pub(crate) fn out_cols(view: &FeatureView) -> String {
    view.features
        .iter()
        .map(|f| match f.stage {
            Stage::TimeSeries => sql_ident(&f.name),
            Stage::CrossSection => format!("CAST({} AS DOUBLE) AS {}", f.sql, sql_ident(&f.name)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows and distinct symbols of a feature table.
pub(crate) fn table_counts(conn: &duckdb::Connection, table: &str) -> Result<(i64, i64)> {
    Ok(conn.query_row(
        &format!(
            "SELECT count(*), count(DISTINCT symbol) FROM {}",
            sql_ident(table)
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Records `table` as the materialised `view` (replacing an earlier record of its version).
pub(crate) fn register(
    conn: &duckdb::Connection,
    view: &FeatureView,
    table: &str,
    (rows, symbols): (i64, i64),
    snapshot: &str,
    now: NaiveDateTime,
) -> Result<()> {
    let version = view.version();
    let definition = serde_json::to_string(view)
        .map_err(|e| DataError::Invalid(format!("feature view definition: {e}")))?;
    conn.execute(
        "DELETE FROM feature_views WHERE name = ? AND version = ?",
        params![view.name, version],
    )?;
    conn.execute(
        "INSERT INTO feature_views VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            view.name,
            version,
            table,
            view.resolution.as_str(),
            definition,
            rows,
            symbols,
            snapshot,
            now
        ],
    )?;
    Ok(())
}

/// Fills the temporary `price_factors` table with the adjustment factors of every series at
/// `resolution` that carries corporate-action data (a vendor adjusted close, a split or a
/// dividend), computed by `sextant_domain::prices::factors`. Series without any (most intraday
/// data) are left out and read as factor 1, so this costs nothing where there is nothing to do.
fn write_price_factors(conn: &duckdb::Connection, resolution: Resolution) -> Result<()> {
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE price_factors (symbol VARCHAR, ts TIMESTAMP, f DOUBLE, s DOUBLE)",
    )?;
    let symbols: Vec<String> = {
        let mut stmt = conn.prepare(
            "SELECT DISTINCT symbol FROM bars WHERE resolution = ? AND \
             (adj_close IS NOT NULL OR split_coefficient <> 1 OR dividend <> 0) ORDER BY symbol",
        )?;
        let rows = stmt.query_map([resolution.as_str()], |r| r.get(0))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    let mut app = conn.appender("price_factors")?;
    for name in symbols {
        let symbol = Symbol::new(&name).map_err(|e| DataError::Invalid(e.to_string()))?;
        let bars = read_series(conn, &symbol, resolution)?;
        let f = sextant_domain::prices::factors(&bars);
        for (i, b) in bars.iter().enumerate() {
            app.append_row(params![name, b.ts, f.total[i], f.split[i]])?;
        }
    }
    app.flush()?;
    Ok(())
}

/// Which engine computes a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Rust kernels when every feature is a built-in expression ([`CompiledView::compile`]),
    /// DuckDB otherwise. The default.
    #[default]
    Auto,
    /// DuckDB's window SQL always (the reference the kernels are checked against).
    Sql,
}

/// The feature store over the bar store: materialised views and the panels read from them.
/// Implemented for [`Cache`], so any holder of the cache reads features with the same calls.
pub trait FeatureStore {
    /// Computes `view` over every symbol at its resolution and stores it as the view's current
    /// version (replacing an earlier materialisation of the same version).
    fn materialize_view(&self, view: &FeatureView) -> Result<MaterializedView> {
        self.materialize_view_with(view, Engine::Auto)
    }

    /// [`FeatureStore::materialize_view`] with the engine chosen.
    fn materialize_view_with(&self, view: &FeatureView, engine: Engine)
        -> Result<MaterializedView>;

    /// Every materialised version, newest first within each view.
    fn materialized_views(&self) -> Result<Vec<MaterializedView>>;

    /// One materialised version of `name` (`version: None` = the newest).
    fn materialized_view(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<MaterializedView>>;

    /// The stored definition of a materialised version (for reproducing it).
    fn view_definition(&self, name: &str, version: &str) -> Result<Option<FeatureView>>;

    /// The newest feature row of every symbol in a materialised version: what the online store
    /// of the scoring service holds in memory between data changes.
    fn feature_latest_all(
        &self,
        table_name: &str,
        features: &[String],
    ) -> Result<std::collections::HashMap<String, (NaiveDateTime, Vec<f64>)>>;

    /// The newest bar timestamp of one symbol at a resolution (to tell a stale view).
    fn last_bar_ts(&self, symbol: &Symbol, resolution: Resolution)
        -> Result<Option<NaiveDateTime>>;

    /// Reads a feature panel from a materialised version (`version: None` = the newest one).
    fn feature_panel(
        &self,
        name: &str,
        version: Option<&str>,
        symbols: &[Symbol],
        from: Option<NaiveDateTime>,
        to: Option<NaiveDateTime>,
    ) -> Result<FeaturePanel>;
}

impl FeatureStore for Cache {
    fn materialize_view_with(
        &self,
        view: &FeatureView,
        engine: Engine,
    ) -> Result<MaterializedView> {
        let resolution = view.resolution;
        let slice = Slice {
            resolution: Some(resolution),
            ..Slice::default()
        };
        let version = view.version();
        let table = view.table_name();
        let sql = view_sql(view);
        let compiled = match engine {
            Engine::Auto => CompiledView::compile(view),
            Engine::Sql => None,
        };
        let now = Utc::now().naive_utc();
        let (rows, symbols, snapshot) = self.write(|conn| {
            // Inside the transaction, under the write lock: the recorded snapshot is exactly
            // the bars the table was computed from.
            let (rows, symbols, bars_snapshot) = match &compiled {
                Some(c) => {
                    let w = crate::kernels::materialize(conn, view, c, &table)?;
                    let snapshot = match w.snapshot {
                        Some(s) => s,
                        None => snapshot_hash_on(conn, &slice)?,
                    };
                    (w.rows as i64, w.symbols as i64, snapshot)
                }
                None => {
                    let snapshot = snapshot_hash_on(conn, &slice)?;
                    write_price_factors(conn, resolution)?;
                    conn.execute_batch(&format!(
                        "CREATE OR REPLACE TABLE {} AS SELECT * FROM ({sql}) ORDER BY symbol, ts",
                        sql_ident(&table)
                    ))?;
                    let (rows, symbols) = table_counts(conn, &table)?;
                    (rows, symbols, snapshot)
                }
            };
            let snapshot = macro_snapshot(conn, view, bars_snapshot)?;
            register(conn, view, &table, (rows, symbols), &snapshot, now)?;
            Ok((rows as u64, symbols as u64, snapshot))
        })?;
        tracing::info!(
            view = %view.name,
            %version,
            rows,
            kernels = compiled.is_some(),
            "feature view materialised"
        );
        Ok(MaterializedView {
            name: view.name.clone(),
            version,
            table_name: table,
            resolution: view.resolution,
            features: view.feature_names(),
            rows,
            symbols,
            data_snapshot: snapshot,
            materialized_at: now,
        })
    }

    fn materialized_views(&self) -> Result<Vec<MaterializedView>> {
        read_views(self, "ORDER BY name, materialized_at DESC", params![])
    }

    fn materialized_view(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<MaterializedView>> {
        let found = read_views(
            self,
            "WHERE name = ? AND (? IS NULL OR version = ?) ORDER BY materialized_at DESC LIMIT 1",
            params![name, version, version],
        )?;
        Ok(found.into_iter().next())
    }

    fn view_definition(&self, name: &str, version: &str) -> Result<Option<FeatureView>> {
        let conn = self.conn();
        let def: Option<String> = conn
            .query_row(
                "SELECT definition FROM feature_views WHERE name = ? AND version = ?",
                params![name, version],
                |r| r.get(0),
            )
            .optional()?;
        def.map(|d| {
            serde_json::from_str(&d).map_err(|e| {
                DataError::Invalid(format!("stored feature view {name}@{version}: {e}"))
            })
        })
        .transpose()
    }

    fn feature_latest_all(
        &self,
        table_name: &str,
        features: &[String],
    ) -> Result<std::collections::HashMap<String, (NaiveDateTime, Vec<f64>)>> {
        let cols = features
            .iter()
            .map(|f| format!("coalesce({}, 'NaN'::DOUBLE)", sql_ident(f)))
            .collect::<Vec<_>>()
            .join(", ");
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT symbol, ts, {cols} FROM {} QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY ts DESC) = 1",
            sql_ident(table_name)
        ))?;
        let mut rows = stmt.query([])?;
        let mut out = std::collections::HashMap::new();
        while let Some(r) = rows.next()? {
            let sym: String = r.get(0)?;
            let ts: NaiveDateTime = r.get(1)?;
            let mut v = Vec::with_capacity(features.len());
            for i in 0..features.len() {
                v.push(r.get::<_, f64>(i + 2)?);
            }
            out.insert(sym, (ts, v));
        }
        Ok(out)
    }

    fn last_bar_ts(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
    ) -> Result<Option<NaiveDateTime>> {
        let conn = self.conn();
        Ok(conn.query_row(
            "SELECT max(ts) FROM bars WHERE symbol = ? AND resolution = ?",
            params![symbol.as_str(), resolution.as_str()],
            |r| r.get(0),
        )?)
    }

    fn feature_panel(
        &self,
        name: &str,
        version: Option<&str>,
        symbols: &[Symbol],
        from: Option<NaiveDateTime>,
        to: Option<NaiveDateTime>,
    ) -> Result<FeaturePanel> {
        let mv =
            self.materialized_view(name, version)?
                .ok_or_else(|| DataError::NoFeatureView {
                    name: name.to_string(),
                    version: version.unwrap_or("latest").to_string(),
                })?;
        sql_date_bounds(from.map(|t| t.date()), to.map(|t| t.date()))?;
        let mut filter = vec!["TRUE".to_string()];
        if !symbols.is_empty() {
            let list = symbols
                .iter()
                .map(|s| sql_literal(s.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            filter.push(format!("symbol IN ({list})"));
        }
        if let Some(f) = from {
            filter.push(format!("ts >= TIMESTAMP '{f}'"));
        }
        if let Some(t) = to {
            filter.push(format!("ts <= TIMESTAMP '{t}'"));
        }
        let cols = mv
            .features
            .iter()
            .map(|f| format!("coalesce({}, 'NaN'::DOUBLE)", sql_ident(f)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT symbol, epoch_us(ts), {cols} FROM {} WHERE {} ORDER BY symbol, ts",
            sql_ident(&mv.table_name),
            filter.join(" AND ")
        );
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let mut panel = FeaturePanel {
            view: mv.name.clone(),
            version: mv.version.clone(),
            features: mv.features.clone(),
            symbols: Vec::new(),
            ts: Vec::new(),
            columns: vec![Vec::new(); mv.features.len()],
        };
        use duckdb::arrow::array::{Array, Float64Array, Int64Array, StringArray};
        let bad =
            |w: &str| DataError::Invalid(format!("feature panel: unexpected Arrow type for {w}"));
        for batch in stmt.query_arrow([])? {
            let sym = batch
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| bad("symbol"))?;
            let ts = batch
                .column(1)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| bad("ts"))?;
            for i in 0..batch.num_rows() {
                panel.symbols.push(sym.value(i).to_string());
                let t = DateTime::from_timestamp_micros(ts.value(i))
                    .ok_or_else(|| bad("ts (out of range)"))?;
                panel.ts.push(t.naive_utc());
            }
            for (j, col) in panel.columns.iter_mut().enumerate() {
                let a = batch
                    .column(j + 2)
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .ok_or_else(|| bad("feature"))?;
                col.extend(a.values().iter().copied());
            }
        }
        Ok(panel)
    }
}

fn read_views(
    cache: &Cache,
    tail: &str,
    p: &[&dyn duckdb::ToSql],
) -> Result<Vec<MaterializedView>> {
    let conn = cache.conn();
    let mut stmt = conn.prepare(&format!(
        "SELECT name, version, table_name, resolution, definition, rows, symbols, data_snapshot, \
         materialized_at FROM feature_views {tail}"
    ))?;
    let rows = stmt
        .query_map(p, |r| {
            let def: String = r.get(4)?;
            // A stored definition that no longer parses is an error, never an empty view.
            let features = serde_json::from_str::<FeatureView>(&def)
                .map(|v| v.feature_names())
                .map_err(|e| {
                    duckdb::Error::FromSqlConversionFailure(
                        4,
                        duckdb::types::Type::Text,
                        Box::new(e),
                    )
                })?;
            Ok(MaterializedView {
                name: r.get(0)?,
                version: r.get(1)?,
                table_name: r.get(2)?,
                resolution: r.get::<_, String>(3)?.parse().map_err(|e| {
                    duckdb::Error::FromSqlConversionFailure(
                        3,
                        duckdb::types::Type::Text,
                        Box::new(e),
                    )
                })?,
                features,
                rows: r.get::<_, i64>(5)? as u64,
                symbols: r.get::<_, i64>(6)? as u64,
                data_snapshot: r.get(7)?,
                materialized_at: r.get(8)?,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The bars' snapshot extended with the observations of the view's economic series (so a
/// revised series is a different snapshot); refuses a view whose series is not cached.
pub(crate) fn macro_snapshot(
    conn: &duckdb::Connection,
    view: &FeatureView,
    bars: String,
) -> Result<String> {
    if view.macros.is_empty() {
        return Ok(bars);
    }
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(bars.as_bytes());
    for id in &view.macros {
        sextant_domain::SeriesKey::parse_id(id)
            .map_err(|e| DataError::Invalid(format!("feature view {}: {e}", view.name)))?;
        let mut stmt = conn.prepare(
            "SELECT CAST(day AS VARCHAR), coalesce(CAST(value AS VARCHAR), 'NA'), CAST(available_from AS VARCHAR) \
             FROM economic_observations WHERE series = ? ORDER BY day",
        )?;
        let rows = stmt
            .query_map(params![id], |r| {
                Ok(format!(
                    "{}|{}|{}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Err(DataError::Invalid(format!(
                "feature view {} needs the economic series {id}, which is not cached \
                 (sextant ingest macro)",
                view.name
            )));
        }
        h.update(id.as_bytes());
        for r in rows {
            h.update(r.as_bytes());
        }
    }
    Ok(format!("{:x}", h.finalize()))
}
