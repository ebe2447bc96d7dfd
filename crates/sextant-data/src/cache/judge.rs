//! Loading what the checks judge: the staged rows that are new or changed, each series with the
//! stored bars around them (a bounded tail of history, the stored bars the batch overlaps, and
//! the first stored bar after it), and the cross-section of returns on the same timestamps.

use super::sql_literal;
use crate::{DataError, Result};
use duckdb::arrow::array::{Array, BooleanArray, Float64Array, Int64Array, StringArray};
use duckdb::Connection;
use sextant_domain::{Resolution, SessionModel};
use sextant_quality::{
    basis_return, check_series, CrossSection, Flag, Gap, Move, QualityConfig, Row, Series,
};
use std::collections::BTreeMap;

/// The columns a [`Row`] is read from, with an optional table alias prefix (`"s."`).
fn cols(p: &str) -> String {
    format!(
        "epoch_us({p}ts), CAST(datediff('day', DATE '1970-01-01', {p}session) AS BIGINT), \
         {p}open, {p}high, {p}low, {p}close, {p}volume, coalesce({p}adj_close, 'NaN'::DOUBLE), \
         {p}split_coefficient"
    )
}

/// Judges the staged rows. `distinct` is the SQL predicate (over aliases `s` and `b`) that tells a
/// changed row from an unchanged one; `overlaps` says whether any stored bar shares a series with
/// the batch; `staged`: the stage's rows already as series (the fast reader's parked rows),
/// instead of reading them back. Returns the flags, the gaps and the number of rows judged.
pub(super) fn judge(
    conn: &Connection,
    cfg: &QualityConfig,
    overlaps: bool,
    key_join: &str,
    distinct: &str,
    staged: Option<Vec<Series>>,
) -> Result<(Vec<Flag>, Vec<Gap>, u64)> {
    let scols = cols("s.");
    let sql = if overlaps {
        format!(
            "SELECT s.symbol, s.resolution, {scols}, (b.symbol IS NULL OR {distinct}) \
             FROM stage_bars s LEFT JOIN bars b ON {key_join} \
             WHERE s.resolution NOT IN ('weekly', 'monthly')"
        )
    } else {
        format!(
            "SELECT s.symbol, s.resolution, {scols}, true FROM stage_bars s \
             WHERE s.resolution NOT IN ('weekly', 'monthly')"
        )
    };
    let t = std::time::Instant::now();
    let mut series = match staged {
        Some(series) => series,
        None => read_series(conn, &sql)?,
    };
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "judge: batch read");
    series.retain(|s| s.rows.iter().any(|r| r.judged));
    let names: Vec<String> = series.iter().map(|s| s.symbol.clone()).collect();
    let sessions = super::instruments::sessions_of(conn, &names)?;
    for s in &mut series {
        if let Some(m) = sessions.get(&s.symbol) {
            s.session = *m;
        }
    }
    let judged = series
        .iter()
        .map(|s| s.rows.iter().filter(|r| r.judged).count() as u64)
        .sum();
    if series.is_empty() {
        return Ok((Vec::new(), Vec::new(), 0));
    }
    for s in &mut series {
        add_context(conn, s, cfg.history, overlaps)?;
    }
    let cross = cross_section(conn, &series)?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "judge: context read");
    // One series per task on all cores; collected in order, so the flags do not depend on the
    // number of threads.
    use rayon::prelude::*;
    let results: Vec<_> = series
        .par_iter()
        .map(|s| check_series(s, cfg, &cross))
        .collect();
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "judge: checks run");
    let mut flags = Vec::new();
    let mut gaps = Vec::new();
    for (f, g) in results {
        flags.extend(f);
        gaps.extend(g);
    }
    Ok((flags, gaps, judged))
}

/// Reads rows of `SELECT symbol, resolution, <COLS>, judged` (in any order) into series, sorted
/// by symbol and resolution, each in time order. Sorting here rather than in SQL: a batch is
/// nearly always in time order already, which Rust's sort finds in one pass, while DuckDB's
/// `ORDER BY` over the batch's strings cost a quarter of a second per million rows.
fn read_series(conn: &Connection, sql: &str) -> Result<Vec<Series>> {
    let bad = |what: &str| DataError::Invalid(format!("quality: unexpected Arrow type for {what}"));
    let mut stmt = conn.prepare(sql)?;
    let mut out: Vec<Series> = Vec::new();
    let mut index: std::collections::HashMap<(String, Resolution), usize> =
        std::collections::HashMap::new();
    let mut last: Option<usize> = None;
    for batch in stmt.query_arrow([])? {
        let col = |i: usize| batch.column(i).as_any();
        let strs = |i: usize| {
            col(i)
                .downcast_ref::<StringArray>()
                .ok_or_else(|| bad("text"))
        };
        let ints = |i: usize| {
            col(i)
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| bad("int"))
        };
        let f64s = |i: usize| {
            col(i)
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| bad("double"))
        };
        let (sym, res) = (strs(0)?, strs(1)?);
        let (ts, session) = (ints(2)?, ints(3)?);
        let (o, h, l, c, v, adj, split) = (
            f64s(4)?,
            f64s(5)?,
            f64s(6)?,
            f64s(7)?,
            f64s(8)?,
            f64s(9)?,
            f64s(10)?,
        );
        let judged = col(11)
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| bad("flag"))?;
        for i in 0..batch.num_rows() {
            let row = Row {
                ts: ts.value(i),
                session: session.value(i),
                open: o.value(i),
                high: h.value(i),
                low: l.value(i),
                close: c.value(i),
                volume: v.value(i),
                adj: adj.value(i),
                split: split.value(i),
                judged: !judged.is_null(i) && judged.value(i),
            };
            let same = last.filter(|&k| {
                out[k].symbol == sym.value(i) && out[k].resolution.as_str() == res.value(i)
            });
            let k = match same {
                Some(k) => k,
                None => {
                    let resolution: Resolution = res.value(i).parse()?;
                    let key = (sym.value(i).to_string(), resolution);
                    *index.entry(key).or_insert_with(|| {
                        out.push(Series {
                            symbol: sym.value(i).to_string(),
                            resolution,
                            rows: Vec::new(),
                            session: SessionModel::Xnys,
                        });
                        out.len() - 1
                    })
                }
            };
            last = Some(k);
            out[k].rows.push(row);
        }
    }
    out.sort_by(|a, b| {
        (a.symbol.as_str(), a.resolution.as_str()).cmp(&(b.symbol.as_str(), b.resolution.as_str()))
    });
    for s in &mut out {
        s.rows.sort_by_key(|r| r.ts);
    }
    Ok(out)
}

/// Adds the stored bars the checks compare against: the `history` bars before the first judged
/// row, the stored bars inside the batch's range (when the batch overlaps stored data) and the
/// first stored bar after it (the other leg of a spike). Staged rows win over stored ones.
fn add_context(conn: &Connection, s: &mut Series, history: usize, overlaps: bool) -> Result<()> {
    if !overlaps {
        return Ok(());
    }
    let (Some(first), Some(last)) = (s.rows.first().map(|r| r.ts), s.rows.last().map(|r| r.ts))
    else {
        return Ok(());
    };
    let key = format!(
        "symbol = {} AND resolution = {}",
        sql_literal(&s.symbol),
        sql_literal(s.resolution.as_str())
    );
    let sym = sql_literal(&s.symbol);
    let res = sql_literal(s.resolution.as_str());
    let c = cols("");
    let sql = format!(
        "SELECT {sym}, {res}, * FROM (\
           (SELECT {c}, false FROM bars WHERE {key} AND ts < make_timestamp({first}) ORDER BY ts DESC LIMIT {history}) \
           UNION ALL (SELECT {c}, false FROM bars WHERE {key} AND ts BETWEEN make_timestamp({first}) AND make_timestamp({last})) \
           UNION ALL (SELECT {c}, false FROM bars WHERE {key} AND ts > make_timestamp({last}) ORDER BY ts LIMIT 1)) \
         ORDER BY 3"
    );
    let stored = read_series(conn, &sql)?;
    let mut merged: BTreeMap<i64, Row> = stored
        .into_iter()
        .flat_map(|x| x.rows)
        .map(|r| (r.ts, r))
        .collect();
    for r in s.rows.drain(..) {
        merged.insert(r.ts, r);
    }
    s.rows = merged.into_values().collect();
    Ok(())
}

/// Stored symbols at most that the cross-section of a batch reads (see [`cross_section`]).
pub(crate) const REFERENCE_SYMBOLS: usize = 500;
/// Stored symbols at least, when there are that many (a median needs a crowd).
pub(crate) const MIN_REFERENCE_SYMBOLS: usize = 20;
/// Stored bars the cross-section aims to read at most: long 1-minute series get fewer
/// reference symbols (never below [`MIN_REFERENCE_SYMBOLS`]).
pub(crate) const REFERENCE_ROWS: usize = 5_000_000;

/// The cross-section: for each timestamp, the returns (on the adjusted close where known) of
/// every symbol at the same resolution — the series being judged and up to
/// [`REFERENCE_SYMBOLS`] stored symbols not in the batch (fewer for long series, so about
/// [`REFERENCE_ROWS`] stored bars are read) — so a move the whole market made is not one
/// symbol's anomaly.
fn cross_section(conn: &Connection, series: &[Series]) -> Result<CrossSection> {
    use rayon::prelude::*;
    // Each series' returns and ranges, on all cores.
    let moves: Vec<Vec<Move>> = series
        .par_iter()
        .map(|s| {
            let mut m = Vec::with_capacity(s.rows.len());
            m.extend(s.rows.windows(2).filter_map(|w| {
                let r = basis_return(&w[0], &w[1])?;
                Some((w[1].ts, r, (w[1].high / w[1].low).ln()))
            }));
            m
        })
        .collect();
    // Per resolution: its series' runs of moves, span, symbols and longest series.
    struct Batch<'a> {
        runs: Vec<Vec<Move>>,
        lo: i64,
        hi: i64,
        symbols: Vec<&'a str>,
        longest: usize,
    }
    let mut by_res: BTreeMap<Resolution, Batch<'_>> = BTreeMap::new();
    for (s, m) in series.iter().zip(moves) {
        let (lo, hi) = match (s.rows.first(), s.rows.last()) {
            (Some(a), Some(b)) => (a.ts, b.ts),
            _ => continue,
        };
        let e = by_res.entry(s.resolution).or_insert(Batch {
            runs: Vec::new(),
            lo,
            hi,
            symbols: Vec::new(),
            longest: 0,
        });
        e.runs.push(m);
        e.lo = e.lo.min(lo);
        e.hi = e.hi.max(hi);
        e.symbols.push(&s.symbol);
        e.longest = e.longest.max(s.rows.len());
    }
    let mut cross = CrossSection::default();
    for (resolution, b) in by_res {
        let (lo, hi) = (b.lo, b.hi);
        let take =
            (REFERENCE_ROWS / b.longest.max(1)).clamp(MIN_REFERENCE_SYMBOLS, REFERENCE_SYMBOLS);
        let exclude = b
            .symbols
            .iter()
            .map(|s| sql_literal(s))
            .collect::<Vec<_>>()
            .join(", ");
        let res_lit = sql_literal(resolution.as_str());
        // The stored reference: `take` other symbols, chosen by a hash of the name (the same
        // ones every time), found in `coverage` rather than by scanning `bars`. A median needs a
        // crowd, not the whole market, and reading every stored symbol made each batch cost as
        // much as the cache already held.
        let reference = format!(
            "SELECT symbol FROM (SELECT DISTINCT symbol FROM coverage WHERE resolution = {res_lit} \
             AND symbol NOT IN ({exclude})) ORDER BY hash(symbol), symbol LIMIT {take}"
        );
        let sql = format!(
            "SELECT epoch_us(ts), r, hl FROM (SELECT ts, ln(p / lag(p) OVER (PARTITION BY symbol ORDER BY ts)) AS r, hl \
               FROM (SELECT symbol, ts, coalesce(adj_close, close) AS p, ln(high / low) AS hl FROM bars \
                     WHERE resolution = {res_lit} AND symbol IN ({reference}) \
                     AND ts BETWEEN make_timestamp({lo}) - INTERVAL 10 DAY AND make_timestamp({hi}))) \
             WHERE r IS NOT NULL AND isfinite(r) AND ts >= make_timestamp({lo})",
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, f64>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })?;
        let reference = rows.collect::<std::result::Result<Vec<Move>, _>>()?;
        cross.insert(resolution, &b.runs, reference);
    }
    Ok(cross)
}
