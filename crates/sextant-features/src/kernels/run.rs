//! Materialising a compiled view: the bars read once as Arrow, every symbol's time-series
//! kernels on all cores, the cross-sectional ranks per timestamp, the data snapshot hashed
//! from the same rows on the side, and the table written by DuckDB on all its threads
//! ([`super::insert`]).

use super::compute::{compute_series_into, Pool, Prepared};
use super::insert::{insert_parallel, Rows};
use super::ranks::{cross_sectional_ranks_into, TsGroups};
use super::{CompiledView, Kernel};
use crate::views::FeatureView;
use duckdb::arrow::array::{Array, Date32Array, Float64Array, Int64Array, StringArray};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::params;
use sextant_data::cache::sql_ident;
use sextant_data::{DataError, Result};
use sextant_domain::Resolution;
use std::borrow::Cow;
use std::collections::HashMap;

/// The bars of one resolution as columns, in the order DuckDB returned them.
#[derive(Default)]
struct Columns {
    symbol_of_row: Vec<u32>,
    symbols: Vec<String>,
    ts: Vec<i64>,
    session: Vec<i32>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
    adj_close: Vec<Option<f64>>,
    dividend: Vec<f64>,
    split: Vec<f64>,
}

fn bad(what: &str) -> DataError {
    DataError::Invalid(format!("feature kernels: unexpected Arrow type for {what}"))
}

fn column<'a, T: 'static>(b: &'a RecordBatch, i: usize, what: &str) -> Result<&'a T> {
    b.column(i)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| bad(what))
}

fn read_bars(conn: &duckdb::Connection, resolution: Resolution) -> Result<Columns> {
    let mut stmt = conn.prepare(
        "SELECT symbol, epoch_us(ts), session, open, high, low, close, volume, adj_close, \
         dividend, split_coefficient FROM bars WHERE resolution = ?",
    )?;
    let mut cols = Columns::default();
    let mut index: HashMap<String, u32> = HashMap::new();
    for batch in stmt.query_arrow(params![resolution.as_str()])? {
        let sym = column::<StringArray>(&batch, 0, "symbol")?;
        let mut last: Option<(&str, u32)> = None;
        for i in 0..batch.num_rows() {
            let s = sym.value(i);
            let id = match last {
                Some((prev, id)) if prev == s => id,
                _ => {
                    let next = index.len() as u32;
                    let id = *index.entry(s.to_string()).or_insert(next);
                    if id == next {
                        cols.symbols.push(s.to_string());
                    }
                    id
                }
            };
            last = Some((s, id));
            cols.symbol_of_row.push(id);
        }
        cols.ts
            .extend_from_slice(column::<Int64Array>(&batch, 1, "ts")?.values());
        cols.session
            .extend_from_slice(column::<Date32Array>(&batch, 2, "session")?.values());
        for (j, out) in [
            &mut cols.open,
            &mut cols.high,
            &mut cols.low,
            &mut cols.close,
            &mut cols.volume,
        ]
        .into_iter()
        .enumerate()
        {
            out.extend_from_slice(column::<Float64Array>(&batch, 3 + j, "price")?.values());
        }
        let adj = column::<Float64Array>(&batch, 8, "adj_close")?;
        cols.adj_close
            .extend((0..adj.len()).map(|i| (!adj.is_null(i)).then(|| adj.value(i))));
        cols.dividend
            .extend_from_slice(column::<Float64Array>(&batch, 9, "dividend")?.values());
        cols.split
            .extend_from_slice(column::<Float64Array>(&batch, 10, "split")?.values());
    }
    Ok(cols)
}

/// The rows of every symbol, symbols in name order and rows in time order:
/// `order[offsets[s]..offsets[s + 1]]` for the `s`-th symbol of `names`, and their
/// timestamps in that order (`ts[i]` of row `order[i]`).
struct Ordered {
    names: Vec<String>,
    order: Vec<u32>,
    offsets: Vec<usize>,
    ts: Vec<i64>,
}

fn order_rows(cols: &Columns) -> Ordered {
    let mut per: Vec<Vec<u32>> = vec![Vec::new(); cols.symbols.len()];
    for (row, &s) in cols.symbol_of_row.iter().enumerate() {
        per[s as usize].push(row as u32);
    }
    let mut by_name: Vec<usize> = (0..cols.symbols.len()).collect();
    by_name.sort_by(|&a, &b| cols.symbols[a].cmp(&cols.symbols[b]));
    let mut order = Vec::with_capacity(cols.ts.len());
    let mut offsets = vec![0];
    let mut names = Vec::with_capacity(by_name.len());
    for s in by_name {
        let rows = &mut per[s];
        if !rows
            .windows(2)
            .all(|w| cols.ts[w[0] as usize] < cols.ts[w[1] as usize])
        {
            rows.sort_by_key(|&r| cols.ts[r as usize]);
        }
        order.extend_from_slice(rows);
        offsets.push(order.len());
        names.push(cols.symbols[s].clone());
    }
    let ts = order.iter().map(|&r| cols.ts[r as usize]).collect();
    Ordered {
        names,
        order,
        offsets,
        ts,
    }
}

/// One symbol's prepared columns (`sextant_domain::prices` factors, as the SQL view's
/// `price_factors`: 1 where the series carries no corporate-action data). Borrowed from `cols`
/// when the rows are stored contiguously in time order and nothing is adjusted.
fn prepare<'a>(cols: &'a Columns, rows: &[u32]) -> Prepared<'a> {
    let contiguous = rows.first().is_some_and(|&r0| {
        rows.iter()
            .enumerate()
            .all(|(i, &r)| r as usize == r0 as usize + i)
    });
    let span = rows
        .first()
        .map_or(0..0, |&r0| r0 as usize..r0 as usize + rows.len());
    let g = |x: &'a [f64]| -> Cow<'a, [f64]> {
        if contiguous {
            Cow::Borrowed(&x[span.clone()])
        } else {
            Cow::Owned(rows.iter().map(|&r| x[r as usize]).collect())
        }
    };
    let (close, dividend, split) = (g(&cols.close), g(&cols.dividend), g(&cols.split));
    let actions = rows.iter().any(|&r| cols.adj_close[r as usize].is_some())
        || split.iter().any(|&k| k != 1.0)
        || dividend.iter().any(|&d| d != 0.0);
    let session = if contiguous {
        Cow::Borrowed(&cols.session[span.clone()])
    } else {
        Cow::Owned(rows.iter().map(|&r| cols.session[r as usize]).collect())
    };
    if !actions {
        return Prepared {
            o: g(&cols.open),
            h: g(&cols.high),
            l: g(&cols.low),
            c: close,
            v: g(&cols.volume),
            session,
        };
    }
    let adj_close: Vec<Option<f64>> = rows.iter().map(|&r| cols.adj_close[r as usize]).collect();
    let fx = sextant_domain::prices::factors_of(&close, &adj_close, &dividend, &split);
    let scale = |x: Cow<'a, [f64]>| -> Cow<'a, [f64]> {
        Cow::Owned(x.iter().zip(&fx.total).map(|(x, f)| x * f).collect())
    };
    Prepared {
        v: Cow::Owned(
            g(&cols.volume)
                .iter()
                .zip(&fx.split)
                .map(|(v, s)| v / s)
                .collect(),
        ),
        o: scale(g(&cols.open)),
        h: scale(g(&cols.high)),
        l: scale(g(&cols.low)),
        c: scale(close),
        session,
    }
}

/// DuckDB's `CAST(ts AS VARCHAR)` of a whole-second timestamp in years 1..=9999
/// (`YYYY-MM-DD HH:MM:SS`); `None` for anything else (then the hash is left to DuckDB).
fn ts_text(us: i64, out: &mut Vec<u8>) -> Option<()> {
    if us.rem_euclid(1_000_000) != 0 {
        return None;
    }
    let secs = us.div_euclid(1_000_000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = sextant_domain::dates::civil_from_days(days);
    let (m, d) = (i64::from(m), i64::from(d));
    if !(1..=9999).contains(&y) {
        return None;
    }
    let two = |out: &mut Vec<u8>, v: i64| {
        out.push(b'0' + (v / 10) as u8);
        out.push(b'0' + (v % 10) as u8);
    };
    two(out, y / 100);
    two(out, y % 100);
    out.push(b'-');
    two(out, m);
    out.push(b'-');
    two(out, d);
    out.push(b' ');
    two(out, sod / 3600);
    out.push(b':');
    two(out, sod / 60 % 60);
    out.push(b':');
    two(out, sod % 60);
    Some(())
}

/// The data snapshot of these bars, byte for byte what `snapshot_hash_on` computes for the
/// resolution (rows in (symbol, ts) order); `None` when a timestamp has sub-second digits or a
/// year outside 1..=9999 (whose text form is left to DuckDB).
fn snapshot_hash(cols: &Columns, ord: &Ordered, resolution: Resolution) -> Option<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut text = Vec::with_capacity(32);
    for (s, name) in ord.names.iter().enumerate() {
        for &r in &ord.order[ord.offsets[s]..ord.offsets[s + 1]] {
            let r = r as usize;
            buf.extend_from_slice(name.as_bytes());
            buf.push(0);
            buf.extend_from_slice(resolution.as_str().as_bytes());
            buf.push(0);
            text.clear();
            ts_text(cols.ts[r], &mut text)?;
            buf.extend_from_slice(&text);
            buf.push(0);
            for v in [
                cols.open[r],
                cols.high[r],
                cols.low[r],
                cols.close[r],
                cols.volume[r],
                cols.adj_close[r].unwrap_or(f64::NAN),
                cols.dividend[r],
                cols.split[r],
            ] {
                buf.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            if buf.len() >= 1 << 16 {
                h.update(&buf);
                buf.clear();
            }
        }
    }
    h.update(&buf);
    Some(hex::encode(h.finalize()))
}

/// What a kernel materialisation wrote.
pub(crate) struct Written {
    pub rows: u64,
    pub symbols: u64,
    /// The data snapshot, when it could be computed from the rows read (see [`snapshot_hash`]).
    pub snapshot: Option<String>,
}

/// Computes `view` (compiled as `compiled`) over every symbol at its resolution and writes it
/// to `table` (replaced), inside the caller's transaction.
pub(crate) fn materialize(
    conn: &duckdb::Connection,
    view: &FeatureView,
    compiled: &CompiledView,
    table: &str,
) -> Result<Written> {
    let t = std::time::Instant::now();
    let cols = read_bars(conn, view.resolution)?;
    let ord = order_rows(&cols);
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        rows = cols.ts.len(),
        "kernels: bars read"
    );
    let ((snapshot, hash_ms), (columns, compute_ms)) = rayon::join(
        || timed(|| snapshot_hash(&cols, &ord, view.resolution)),
        || timed(|| compute(&cols, &ord, view, compiled)),
    );
    tracing::debug!(
        hash_ms,
        compute_ms,
        "kernels: hash and compute (concurrent)"
    );
    let columns = columns?;
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        "kernels: computed and hashed"
    );
    drop(cols);
    let written = Written {
        rows: ord.ts.len() as u64,
        symbols: ord.names.len() as u64,
        snapshot,
    };
    write_table(conn, view, table, ord, columns)?;
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        "kernels: table written"
    );
    Ok(written)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let t = std::time::Instant::now();
    let out = f();
    (out, t.elapsed().as_millis() as u64)
}

/// Where a kernel materialisation spends its time, measured without writing anything.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Profile {
    /// Rows computed.
    pub rows: usize,
    /// Reading the bars from DuckDB as Arrow, and ordering them by symbol and time.
    pub read_seconds: f64,
    /// Every feature computed from the bars in memory (time series and ranks, all cores).
    pub compute_seconds: f64,
    /// The data snapshot hashed from the same rows (one core).
    pub hash_seconds: f64,
}

/// Reads the bars of `view`'s resolution and times the kernels and the snapshot hash one after
/// the other, writing nothing: the in-memory share of a materialisation, comparable with a
/// dataframe library computing the same features from bars it holds. `None` when the view
/// does not compile to kernels.
pub fn profile(cache: &sextant_data::Cache, view: &FeatureView) -> Result<Option<Profile>> {
    let Some(compiled) = CompiledView::compile(view) else {
        return Ok(None);
    };
    let conn = cache.conn();
    let t = std::time::Instant::now();
    let cols = read_bars(&conn, view.resolution)?;
    let ord = order_rows(&cols);
    let read_seconds = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let columns = compute(&cols, &ord, view, &compiled)?;
    let compute_seconds = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    std::hint::black_box(snapshot_hash(&cols, &ord, view.resolution));
    let hash_seconds = t.elapsed().as_secs_f64();
    Ok(Some(Profile {
        rows: columns.first().map_or(0, Vec::len),
        read_seconds,
        compute_seconds,
        hash_seconds,
    }))
}

/// Every feature column in (symbol, ts) order.
fn compute(
    cols: &Columns,
    ord: &Ordered,
    view: &FeatureView,
    compiled: &CompiledView,
) -> Result<Vec<Vec<f64>>> {
    use rayon::prelude::*;
    let t = std::time::Instant::now();
    let n = ord.order.len();
    let k = compiled.kernels.len();
    // Zeroed, not NaN-filled: every kernel writes every value of its slice (cross-sectional
    // ones every row of their column, after the time series), so a large column (32 MiB and
    // up, see `sextant_data::process::tune_allocator`) comes from fresh zeroed pages instead
    // of being written twice (1.4 GB at 10M rows).
    let mut columns: Vec<Vec<f64>> = (0..k).map(|_| vec![0.0; n]).collect();
    // Backed in one call per column, on all cores, rather than one fault per page as the
    // kernels first write them (~7 % of the compute at 10M rows).
    columns
        .par_iter_mut()
        .for_each(|c| sextant_data::process::populate(c));
    // Each symbol writes its own slice of every column: per symbol, one slice per kernel.
    let mut per_symbol: Vec<Vec<&mut [f64]>> = (0..ord.names.len())
        .map(|_| Vec::with_capacity(k))
        .collect();
    for col in columns.iter_mut() {
        let mut rest: &mut [f64] = col;
        for (s, slot) in per_symbol.iter_mut().enumerate() {
            let (head, tail) = rest.split_at_mut(ord.offsets[s + 1] - ord.offsets[s]);
            slot.push(head);
            rest = tail;
        }
    }
    // One task per worker, each taking the next symbol from a shared queue and keeping its
    // scratch buffers (`Pool`) from one symbol to the next.
    let queue = std::sync::Mutex::new(per_symbol.into_iter().enumerate());
    let workers = rayon::current_num_threads().min(ord.names.len()).max(1);
    (0..workers).into_par_iter().for_each(|_| {
        let mut pool = Pool::new();
        loop {
            // A poisoned queue means another worker panicked; rayon re-raises that panic.
            let next = match queue.lock() {
                Ok(mut q) => q.next(),
                Err(_) => None,
            };
            let Some((s, mut out)) = next else { break };
            let rows = &ord.order[ord.offsets[s]..ord.offsets[s + 1]];
            compute_series_into(&compiled.kernels, &prepare(cols, rows), &mut out, &mut pool);
        }
    });
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "kernels: time series");
    if compiled
        .kernels
        .iter()
        .any(|k| matches!(k, Kernel::CsRank(_)))
    {
        let groups = TsGroups::new(&ord.ts, &ord.offsets);
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            "kernels: timestamp groups"
        );
        let mut ranked = Vec::new();
        for (j, k) in compiled.kernels.iter().enumerate() {
            if let Kernel::CsRank(of) = k {
                let src = view
                    .features
                    .iter()
                    .position(|f| &f.name == of)
                    .filter(|&src| src != j)
                    .ok_or_else(|| {
                        DataError::Invalid(format!("rank of {of}, which the view does not have"))
                    })?;
                let (values, out) = if src < j {
                    let (a, b) = columns.split_at_mut(j);
                    (&a[src], &mut b[0])
                } else {
                    let (a, b) = columns.split_at_mut(src);
                    (&b[0], &mut a[j])
                };
                cross_sectional_ranks_into(&groups, values, &mut ranked, out);
            }
        }
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "kernels: ranks");
    }
    Ok(columns)
}

fn write_table(
    conn: &duckdb::Connection,
    view: &FeatureView,
    table: &str,
    ord: Ordered,
    columns: Vec<Vec<f64>>,
) -> Result<()> {
    let mut ddl = format!(
        "CREATE OR REPLACE TABLE {} (symbol VARCHAR, ts TIMESTAMP",
        sql_ident(table)
    );
    for f in &view.features {
        ddl.push_str(&format!(", {} DOUBLE", sql_ident(&f.name)));
    }
    ddl.push(')');
    conn.execute_batch(&ddl)?;
    let rows = Rows {
        names: ord.names,
        offsets: ord.offsets,
        ts: ord.ts,
        features: view.features.iter().map(|f| f.name.clone()).collect(),
        columns,
    };
    insert_parallel(conn, table, rows)
}

#[cfg(test)]
mod tests {
    use super::ts_text;

    #[test]
    fn timestamp_text_is_duckdbs() {
        for t in [
            "1970-01-01 00:00:00",
            "2008-09-29 13:37:59",
            "2000-02-29 23:59:59",
            "1899-12-31 00:00:01",
            "9999-12-31 23:59:59",
            "0001-01-01 00:00:00",
        ] {
            let parsed =
                chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").unwrap_or_default();
            let mut out = Vec::new();
            assert!(
                ts_text(parsed.and_utc().timestamp_micros(), &mut out).is_some(),
                "{t}"
            );
            assert_eq!(String::from_utf8_lossy(&out), t);
        }
        let mut out = Vec::new();
        assert!(
            ts_text(1_500_000, &mut out).is_none(),
            "sub-second digits go to DuckDB"
        );
    }
}
