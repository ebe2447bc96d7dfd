//! sextant's own reader for CSV files of bars in the common layout: a header row, commas, no
//! quotes, ISO dates or `YYYY-MM-DD HH:MM:SS` timestamps, plain decimal numbers.
//!
//! Why: DuckDB's `read_csv` followed by the SQL that maps the columns, converts local time to
//! UTC and fills the stage is two passes that each materialise the file in DuckDB, and its
//! sniffing dominates small files. This reader parses byte ranges on one thread while the
//! caller's thread converts them and appends Arrow batches to the stage (the append, not the
//! parse, is the slower half), and it learns in the same pass whether any two rows share a
//! key, so the de-duplication pass can be skipped. On the generated 1M-row 1-minute file the
//! whole ingest is ~5 % faster than through `read_csv` (DuckDB's reader is parallel and fast:
//! 0.95 s vs 0.99 s here); on the bundled daily file ~1.8× (`sextant bench --ingest` prints
//! both).
//!
//! It reads only what it reads exactly as that path would (the same rows, values and bits;
//! the tests store files both ways and compare): anything else (quotes, another delimiter, a
//! compression other than gzip, a cell it cannot read, a local time that does not exist) makes
//! it return `None`, and the file goes through `read_csv`, which also words the errors.

mod parse;

use super::ingest::FileOptions;
use super::layout::{layout_from_columns, zone_offset_minutes, Layout};
use super::sql_literal;
use crate::{DataError, Result};
use chrono::DateTime;
use duckdb::arrow::array::{
    ArrayRef, Date32Array, Float64Array, StringBuilder, TimestampMicrosecondArray,
};
use duckdb::arrow::buffer::{BooleanBuffer, NullBuffer};
use duckdb::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{Appender, Connection};
use parse::{chunk_bounds, infer_resolution, parse_chunk, trim_cr, Chunk};
use sextant_domain::Resolution;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Files larger than this (after decompression) go through `read_csv`, which streams.
const MAX_BYTES: u64 = 4 << 30;
/// Bytes per parsed range: small enough that parsing and appending overlap, large enough that
/// a range is tens of thousands of rows. (Small in tests, so that their files span many.)
const CHUNK_BYTES: usize = if cfg!(test) { 16 << 10 } else { 2 << 20 };
/// Rows the resolution is inferred from (as the SQL path's `infer_resolution`).
const INFER_ROWS: usize = 200_000;
const DAY: i64 = 86_400;
/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The stage's numeric fields in order, with what a file without the column stores (`NaN`:
/// NULL), as `stage_from_layout` does.
const FIELDS: [(&str, f64); 8] = [
    ("open", f64::NAN),
    ("high", f64::NAN),
    ("low", f64::NAN),
    ("close", f64::NAN),
    ("volume", 0.0),
    ("adj_close", f64::NAN),
    ("dividend", 0.0),
    ("split_coefficient", 1.0),
];

/// What a file column is read as.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Skip,
    Symbol,
    Time,
    Value(usize),
}

/// What [`stage_csv`] appended to `stage_bars`.
pub(crate) struct Staged {
    /// Rows appended.
    pub rows: usize,
    /// Each symbol's timestamps strictly increase in file order, so no two rows share a key and
    /// the de-duplication pass has nothing to find.
    pub distinct: bool,
}

/// Reads `path` into the (empty) `stage_bars` when it is in a layout this reader reads exactly.
/// `Ok(None)` when it is not; rows may then have been appended, and the caller recreates the
/// stage before reading the file another way.
pub(crate) fn stage_csv(
    conn: &Connection,
    path: &Path,
    opts: &FileOptions,
) -> Result<Option<Staged>> {
    let t = std::time::Instant::now();
    let Some(bytes) = load(path)? else {
        return Ok(None);
    };
    let Some((roles, body_start)) = plan(&bytes, path, opts) else {
        tracing::debug!(path = %path.display(), "not in the fast reader's layout: read_csv reads it");
        return Ok(None);
    };
    let body = &bytes[body_start..];
    let bounds = chunk_bounds(body, body.len() / CHUNK_BYTES + 1);
    // One thread parses the ranges in order while this one converts and appends them.
    let staged = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Option<Chunk>>(4);
        let roles = &roles;
        scope.spawn(move || {
            for (a, b) in bounds {
                let chunk = parse_chunk(&body[a..b], roles);
                let failed = chunk.is_none();
                if tx.send(chunk).is_err() || failed {
                    break;
                }
            }
        });
        let mut sink = Sink::new(conn, opts);
        for chunk in rx {
            let Some(chunk) = chunk else { return Ok(None) };
            if !sink.take(chunk)? {
                return Ok(None);
            }
        }
        sink.finish()
    })?;
    if let Some(s) = &staged {
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            rows = s.rows,
            "file staged"
        );
    }
    Ok(staged)
}

/// The file's bytes (gunzipped for `.gz`, as `read_csv` does by extension), or `None` for what
/// `read_csv` should read (Parquet, other compressions, very large files, bad gzip).
fn load(path: &Path) -> Result<Option<Vec<u8>>> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let other = [
        ".parquet", ".pq", ".zst", ".bz2", ".xz", ".zip", ".lz4", ".snappy",
    ];
    if other.iter().any(|e| name.ends_with(e)) {
        return Ok(None);
    }
    let io = |source| DataError::Io {
        path: path.display().to_string(),
        source,
    };
    if std::fs::metadata(path).map_err(io)?.len() > MAX_BYTES {
        return Ok(None);
    }
    let raw = std::fs::read(path).map_err(io)?;
    if !name.ends_with(".gz") {
        return Ok(Some(raw));
    }
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4));
    let unzipped = flate2::read::MultiGzDecoder::new(&raw[..])
        .take(MAX_BYTES + 1)
        .read_to_end(&mut out);
    Ok(match unzipped {
        Ok(n) if (n as u64) <= MAX_BYTES => Some(out),
        _ => None,
    })
}

/// Each column's role and where the rows start, or `None` when the header is not the layout
/// this reader reads (the same column finder as the SQL path decides which column is which).
fn plan(bytes: &[u8], path: &Path, opts: &FileOptions) -> Option<(Vec<Role>, usize)> {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let bytes = &bytes[bom..];
    if memchr::memchr(b'"', bytes).is_some() {
        return None;
    }
    let nl = memchr::memchr(b'\n', bytes)?;
    let header = std::str::from_utf8(trim_cr(&bytes[..nl])).ok()?;
    if header.contains([';', '\t', '|']) {
        return None;
    }
    let names: Vec<&str> = header.split(',').collect();
    let mut lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    lower.sort();
    lower.dedup();
    let odd_name = names.iter().any(|n| n.is_empty() || n.trim() != *n);
    if names.len() < 5 || lower.len() != names.len() || odd_name {
        return None;
    }
    let cols: Vec<(String, String)> = names
        .iter()
        .map(|n| (n.to_string(), "VARCHAR".to_string()))
        .collect();
    let layout = layout_from_columns(&cols, path, opts).ok()?;
    Some((roles(&names, &layout, opts)?, bom + nl + 1))
}

/// Each header column's role, from the layout's column names (matched as DuckDB matches
/// identifiers: exactly, else ignoring case).
fn roles(names: &[&str], layout: &Layout, opts: &FileOptions) -> Option<Vec<Role>> {
    let mut roles = vec![Role::Skip; names.len()];
    let mut assign = |col: &str, role: Role| -> Option<()> {
        let i = names
            .iter()
            .position(|n| *n == col)
            .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(col)))?;
        // One column read as two fields: leave such a file to the SQL path.
        (roles[i] == Role::Skip).then_some(())?;
        roles[i] = role;
        Some(())
    };
    if opts.symbol.is_none() {
        assign(layout.symbol.as_deref()?, Role::Symbol)?;
    }
    assign(&layout.time, Role::Time)?;
    let fields = [
        Some(&layout.open),
        Some(&layout.high),
        Some(&layout.low),
        Some(&layout.close),
        layout.volume.as_ref(),
        layout.adj_close.as_ref(),
        layout.dividend.as_ref(),
        layout.split.as_ref(),
    ];
    for (k, col) in fields.iter().enumerate() {
        if let Some(col) = col {
            assign(col, Role::Value(k))?;
        }
    }
    Some(roles)
}

/// Takes parsed ranges in file order: one symbol dictionary, the resolution (inferred from the
/// first rows, as the SQL path's `infer_resolution`), UTC timestamps, the key check, and the
/// append to the stage.
struct Sink<'a> {
    conn: &'a Connection,
    opts: &'a FileOptions,
    /// Ranges held until the resolution is known.
    pending: Vec<Chunk>,
    resolution: Option<Resolution>,
    appender: Option<(Appender<'a>, SchemaRef)>,
    zone: Option<chrono_tz::Tz>,
    /// The zone's offset of the last hour converted.
    offset_memo: (i64, Option<i32>),
    names: Vec<String>,
    ids: HashMap<String, u32>,
    /// Per symbol, the last UTC timestamp seen.
    last_ts: Vec<i64>,
    distinct: bool,
    time_len: usize,
    rows: usize,
}

impl<'a> Sink<'a> {
    fn new(conn: &'a Connection, opts: &'a FileOptions) -> Self {
        Sink {
            conn,
            opts,
            pending: Vec::new(),
            resolution: opts.resolution,
            appender: None,
            zone: None,
            offset_memo: (i64::MIN, None),
            names: Vec::new(),
            ids: HashMap::new(),
            last_ts: Vec::new(),
            distinct: true,
            time_len: 0,
            rows: 0,
        }
    }

    /// `Ok(false)` when the range is not what this reader reads.
    fn take(&mut self, chunk: Chunk) -> Result<bool> {
        if chunk.time_len != 0 {
            if self.time_len == 0 {
                self.time_len = chunk.time_len;
            } else if chunk.time_len != self.time_len {
                return Ok(false);
            }
        }
        if self.resolution.is_some() {
            return self.append(chunk);
        }
        self.pending.push(chunk);
        if self.pending.iter().map(|c| c.time.len()).sum::<usize>() >= INFER_ROWS {
            return self.release();
        }
        Ok(true)
    }

    /// Decides the resolution from the held ranges and appends them.
    fn release(&mut self) -> Result<bool> {
        if self.resolution.is_none() {
            let first: Vec<i64> = self
                .pending
                .iter()
                .flat_map(|c| c.time.iter().copied())
                .take(INFER_ROWS)
                .collect();
            if first.is_empty() {
                return Ok(false);
            }
            let Some(r) = infer_resolution(&first) else {
                return Ok(false);
            };
            self.resolution = Some(r);
        }
        for chunk in std::mem::take(&mut self.pending) {
            if !self.append(chunk)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn finish(mut self) -> Result<Option<Staged>> {
        if !self.release()? || self.rows == 0 {
            return Ok(None);
        }
        if let Some((mut app, _)) = self.appender.take() {
            app.flush()?;
        }
        Ok(Some(Staged {
            rows: self.rows,
            distinct: self.distinct,
        }))
    }

    fn append(&mut self, chunk: Chunk) -> Result<bool> {
        let n = chunk.time.len();
        if n == 0 {
            return Ok(true);
        }
        let Some((ts, session)) = self.convert(&chunk.time) else {
            return Ok(false);
        };
        let symbol = self.symbols(&chunk);
        for (&s, &t) in symbol.iter().zip(&ts) {
            let prev = std::mem::replace(&mut self.last_ts[s as usize], t);
            self.distinct &= t > prev;
        }
        let mut names = StringBuilder::with_capacity(n, n * 8);
        for &s in &symbol {
            names.append_value(&self.names[s as usize]);
        }
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(names.finish()),
            Arc::new(TimestampMicrosecondArray::from(ts)),
            Arc::new(Date32Array::from(session)),
        ];
        for (values, (_, absent)) in chunk.values.into_iter().zip(FIELDS) {
            let values = if values.is_empty() {
                vec![absent; n]
            } else {
                values
            };
            let nulls = values
                .iter()
                .any(|v| v.is_nan())
                .then(|| NullBuffer::new(BooleanBuffer::collect_bool(n, |i| !values[i].is_nan())));
            arrays.push(Arc::new(Float64Array::new(values.into(), nulls)));
        }
        if self.appender.is_none() {
            // Ranges are held until the resolution is known, so it is known here.
            let Some(resolution) = self.resolution else {
                return Ok(false);
            };
            self.appender = Some(open_appender(self.conn, self.opts, resolution)?);
        }
        let Some((app, schema)) = self.appender.as_mut() else {
            return Ok(false);
        };
        let batch = RecordBatch::try_new(schema.clone(), arrays)
            .map_err(|e| DataError::Invalid(format!("fast CSV reader: {e}")))?;
        app.append_record_batch(batch)?;
        self.rows += n;
        Ok(true)
    }

    /// The range's symbols as indexes into the file's dictionary.
    fn symbols(&mut self, chunk: &Chunk) -> Vec<u32> {
        if let Some(s) = &self.opts.symbol {
            if self.names.is_empty() {
                self.names.push(s.as_str().to_string());
                self.last_ts.push(i64::MIN);
            }
            return vec![0; chunk.time.len()];
        }
        let map: Vec<u32> = chunk
            .names
            .iter()
            .map(|name| {
                let next = self.ids.len() as u32;
                *self.ids.entry(name.clone()).or_insert_with(|| {
                    self.names.push(name.clone());
                    self.last_ts.push(i64::MIN);
                    next
                })
            })
            .collect();
        chunk.symbol.iter().map(|&i| map[i as usize]).collect()
    }

    /// UTC microseconds and session days, as `stage_from_layout`: daily bars at the session
    /// date's midnight; intraday ones shifted by the zone's offset of the hour they were
    /// written in (the earlier instant of a repeated hour). `None` for a local time that does
    /// not exist or an unknown zone (the SQL path words the error).
    fn convert(&mut self, time: &[i64]) -> Option<(Vec<i64>, Vec<i32>)> {
        let mut ts = Vec::with_capacity(time.len());
        let mut session = Vec::with_capacity(time.len());
        if !self.resolution?.is_intraday() {
            for &t in time {
                let day = t.div_euclid(DAY);
                ts.push(day * DAY * 1_000_000);
                session.push(i32::try_from(day).ok()?);
            }
            return Some((ts, session));
        }
        let zone = match self.zone {
            Some(z) => z,
            None => *self.zone.insert(self.opts.tz.parse().ok()?),
        };
        let utc = self.opts.timestamps_utc;
        for &t in time {
            let hour = t - t.rem_euclid(3600);
            if hour != self.offset_memo.0 {
                let h = DateTime::from_timestamp(hour, 0)?.naive_utc();
                self.offset_memo = (hour, zone_offset_minutes(&zone, h, utc));
            }
            let offset = i64::from(self.offset_memo.1?) * 60;
            let (at, local) = if utc {
                (t, t + offset)
            } else {
                (t - offset, t)
            };
            ts.push(at * 1_000_000);
            session.push(i32::try_from(local.div_euclid(DAY)).ok()?);
        }
        Some((ts, session))
    }
}

/// An appender on `stage_bars` for the columns that vary by row. Those that are one value for
/// the whole file (resolution, zone, source) become the stage's defaults: the appender fills
/// them without converting a string per row (a fifth of the append's time, measured here).
fn open_appender<'a>(
    conn: &'a Connection,
    opts: &FileOptions,
    resolution: Resolution,
) -> Result<(Appender<'a>, SchemaRef)> {
    conn.execute_batch(&format!(
        "ALTER TABLE stage_bars ALTER resolution SET DEFAULT {}; \
         ALTER TABLE stage_bars ALTER tz SET DEFAULT {}; \
         ALTER TABLE stage_bars ALTER source SET DEFAULT {};",
        sql_literal(resolution.as_str()),
        sql_literal(&opts.tz),
        sql_literal(opts.source.as_str()),
    ))?;
    let mut fields = vec![
        Field::new("symbol", DataType::Utf8, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("session", DataType::Date32, true),
    ];
    fields.extend(
        FIELDS
            .iter()
            .map(|(f, _)| Field::new(*f, DataType::Float64, true)),
    );
    let schema = Arc::new(Schema::new(fields));
    let mut app = conn.appender("stage_bars")?;
    for f in schema.fields() {
        app.add_column(f.name())?;
    }
    Ok((app, schema))
}

#[cfg(test)]
mod tests;
