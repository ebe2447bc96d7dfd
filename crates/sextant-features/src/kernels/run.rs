//! Materialising a compiled view: the bars read once as Arrow, every symbol's time-series
//! kernels on all cores, the cross-sectional ranks per timestamp, the data snapshot hashed
//! from the same rows on the side, and the table written through DuckDB's Arrow appender.

use super::compute::{compute_series, Prepared};
use super::ranks::{cross_sectional_ranks, TsGroups};
use super::{CompiledView, Kernel};
use crate::views::FeatureView;
use duckdb::arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use duckdb::arrow::buffer::{BooleanBuffer, NullBuffer};
use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::params;
use sextant_data::cache::sql_ident;
use sextant_data::{DataError, Result};
use sextant_domain::Resolution;
use std::collections::HashMap;
use std::sync::Arc;

/// Rows per record batch handed to the appender.
const BATCH_ROWS: usize = 1 << 17;

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
/// `order[offsets[s]..offsets[s + 1]]` for the `s`-th symbol of `names`.
struct Ordered {
    names: Vec<String>,
    order: Vec<u32>,
    offsets: Vec<usize>,
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
    Ordered {
        names,
        order,
        offsets,
    }
}

/// One symbol's prepared columns (`sextant_domain::prices` factors, as the SQL view's
/// `price_factors`: 1 where the series carries no corporate-action data).
fn prepare(cols: &Columns, rows: &[u32]) -> Prepared {
    let g = |x: &[f64]| -> Vec<f64> { rows.iter().map(|&r| x[r as usize]).collect() };
    let (open, high, low, close, volume) = (
        g(&cols.open),
        g(&cols.high),
        g(&cols.low),
        g(&cols.close),
        g(&cols.volume),
    );
    let adj: Vec<Option<f64>> = rows.iter().map(|&r| cols.adj_close[r as usize]).collect();
    let dividend = g(&cols.dividend);
    let split = g(&cols.split);
    let actions = adj.iter().any(Option::is_some)
        || split.iter().any(|&k| k != 1.0)
        || dividend.iter().any(|&d| d != 0.0);
    let (f, s) = if actions {
        let fx = sextant_domain::prices::factors_of(&close, &adj, &dividend, &split);
        (fx.total, fx.split)
    } else {
        (vec![1.0; rows.len()], vec![1.0; rows.len()])
    };
    let scale = |x: Vec<f64>| -> Vec<f64> { x.iter().zip(&f).map(|(x, f)| x * f).collect() };
    Prepared {
        v: volume.iter().zip(&s).map(|(v, s)| v / s).collect(),
        o: scale(open),
        h: scale(high),
        l: scale(low),
        c: scale(close),
        session: rows.iter().map(|&r| cols.session[r as usize]).collect(),
    }
}

/// DuckDB's `CAST(ts AS VARCHAR)` of a whole-second timestamp in years 1..=9999
/// (`YYYY-MM-DD HH:MM:SS`); `None` for anything else (then the hash is left to DuckDB).
fn ts_text(us: i64, out: &mut Vec<u8>) -> Option<()> {
    if us.rem_euclid(1_000_000) != 0 {
        return None;
    }
    let t = chrono::DateTime::from_timestamp_micros(us)?.naive_utc();
    let y = chrono::Datelike::year(&t);
    if !(1..=9999).contains(&y) {
        return None;
    }
    use std::io::Write;
    write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S")).ok()
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
    let (snapshot, columns) = rayon::join(
        || snapshot_hash(&cols, &ord, view.resolution),
        || compute(&cols, &ord, view, compiled),
    );
    let columns = columns?;
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        "kernels: computed and hashed"
    );
    let ts: Vec<i64> = ord.order.iter().map(|&r| cols.ts[r as usize]).collect();
    drop(cols);
    write_table(conn, view, table, &ord, &ts, &columns)?;
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        "kernels: table written"
    );
    Ok(Written {
        rows: ts.len() as u64,
        symbols: ord.names.len() as u64,
        snapshot,
    })
}

/// Every feature column in (symbol, ts) order.
fn compute(
    cols: &Columns,
    ord: &Ordered,
    view: &FeatureView,
    compiled: &CompiledView,
) -> Result<Vec<Vec<f64>>> {
    use rayon::prelude::*;
    let per_symbol: Vec<Vec<Vec<f64>>> = (0..ord.names.len())
        .into_par_iter()
        .map(|s| {
            let rows = &ord.order[ord.offsets[s]..ord.offsets[s + 1]];
            compute_series(&compiled.kernels, &prepare(cols, rows))
        })
        .collect();
    let n = ord.order.len();
    let mut columns: Vec<Vec<f64>> = (0..compiled.kernels.len())
        .into_par_iter()
        .map(|j| {
            let mut c = Vec::with_capacity(n);
            for s in &per_symbol {
                c.extend_from_slice(&s[j]);
            }
            c
        })
        .collect();
    drop(per_symbol);
    if compiled
        .kernels
        .iter()
        .any(|k| matches!(k, Kernel::CsRank(_)))
    {
        let ts: Vec<i64> = ord.order.iter().map(|&r| cols.ts[r as usize]).collect();
        let groups = TsGroups::new(&ts, &ord.offsets);
        for (j, k) in compiled.kernels.iter().enumerate() {
            if let Kernel::CsRank(of) = k {
                let src = view
                    .features
                    .iter()
                    .position(|f| &f.name == of)
                    .ok_or_else(|| {
                        DataError::Invalid(format!("rank of {of}, which the view does not have"))
                    })?;
                columns[j] = cross_sectional_ranks(&groups, &columns[src]);
            }
        }
    }
    Ok(columns)
}

fn write_table(
    conn: &duckdb::Connection,
    view: &FeatureView,
    table: &str,
    ord: &Ordered,
    ts: &[i64],
    columns: &[Vec<f64>],
) -> Result<()> {
    let mut ddl = format!(
        "CREATE OR REPLACE TABLE {} (symbol VARCHAR, ts TIMESTAMP",
        sql_ident(table)
    );
    let mut fields = vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
    ];
    for f in &view.features {
        ddl.push_str(&format!(", {} DOUBLE", sql_ident(&f.name)));
        fields.push(Field::new(&f.name, DataType::Float64, true));
    }
    ddl.push(')');
    conn.execute_batch(&ddl)?;
    let schema = Arc::new(Schema::new(fields));
    // The symbol of each output row, by walking the offsets.
    let mut symbol_at = Vec::with_capacity(ts.len());
    for s in 0..ord.names.len() {
        symbol_at.extend(std::iter::repeat_n(
            s as u32,
            ord.offsets[s + 1] - ord.offsets[s],
        ));
    }
    let mut app = conn.appender(table)?;
    let mut start = 0;
    while start < ts.len() {
        let end = (start + BATCH_ROWS).min(ts.len());
        let mut sym = StringBuilder::with_capacity(end - start, (end - start) * 8);
        for &s in &symbol_at[start..end] {
            sym.append_value(&ord.names[s as usize]);
        }
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(sym.finish()),
            Arc::new(TimestampMicrosecondArray::from(ts[start..end].to_vec())),
        ];
        for c in columns {
            let values = c[start..end].to_vec();
            let valid = BooleanBuffer::collect_bool(values.len(), |i| !values[i].is_nan());
            arrays.push(Arc::new(Float64Array::new(
                values.into(),
                Some(NullBuffer::new(valid)),
            )));
        }
        let batch = RecordBatch::try_new(schema.clone(), arrays)
            .map_err(|e| DataError::Invalid(format!("feature kernels: {e}")))?;
        app.append_record_batch(batch)?;
        start = end;
    }
    app.flush()?;
    Ok(())
}
