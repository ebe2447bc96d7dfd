//! sextant's own reader for CSV files of bars in the common layout: a header row, commas, no
//! quotes, ISO dates or `YYYY-MM-DD HH:MM:SS` timestamps, plain decimal numbers.
//!
//! Why: DuckDB's `read_csv` followed by the SQL that maps the columns, converts local time to
//! UTC and fills the stage is two passes that each materialise the file in DuckDB, and its
//! sniffing dominates small files. This reader parses byte ranges on all cores, converts them
//! into columns that stay in Rust (the stage is a view over them, see [`super::staged`]), and
//! learns in the same pass whether any two rows share a key, so the de-duplication pass can be
//! skipped. `sextant bench --ingest` prints the whole ingest both ways.
//!
//! It reads only what it reads exactly as that path would (the same rows, values and bits;
//! the tests store files both ways and compare): anything else (quotes, another delimiter, a
//! compression other than gzip, a cell it cannot read, a local time that does not exist) makes
//! it return `None`, and the file goes through `read_csv`, which also words the errors.

mod parse;

use super::ingest::FileOptions;
use super::layout::{layout_from_columns, zone_offset_minutes, Layout};
use super::staged::StagedRows;
use crate::{DataError, Result};
use chrono::DateTime;
use parse::{chunk_bounds, infer_resolution, parse_chunk, trim_cr, Chunk};
use rayon::prelude::*;
use sextant_domain::Resolution;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Files larger than this (after decompression) go through `read_csv`, which streams and can
/// spill: the parsed columns take 80 bytes a row (1.3× a 1-minute file of 60-byte lines, so
/// ~2.6 GiB for a file this size, beside the file itself), and the checks' copy as much again.
const MAX_BYTES: u64 = 2 << 30;
/// Bytes per parsed range: large enough that a range is tens of thousands of rows, small enough
/// that a group of them ([`GROUP_PER_THREAD`] per core) bounds the memory held before
/// conversion. (Small in tests, so that their files span many.)
const CHUNK_BYTES: usize = if cfg!(test) { 16 << 10 } else { 2 << 20 };
/// Ranges parsed at once per core, in parallel, while the group before is converted in file
/// order.
const GROUP_PER_THREAD: usize = 2;
/// Rows the resolution is inferred from (as the SQL path's `infer_resolution`).
const INFER_ROWS: usize = 200_000;
const DAY: i64 = 86_400;
/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The stage's numeric fields in order, with what a file without the column stores (`NaN`:
/// NULL), as `stage_from_layout` does.
pub(super) const FIELDS: [(&str, f64); 8] = [
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

/// What [`read_fast`] parsed.
pub(crate) struct Parsed {
    /// The rows, in file order, in the stage's units.
    pub rows: StagedRows,
    /// The resolution (given, or inferred from the first rows).
    pub resolution: Resolution,
    /// Each symbol's timestamps strictly increase in file order, so no two rows share a key and
    /// the de-duplication pass has nothing to find.
    pub distinct: bool,
}

/// Reads `path` when it is in a layout this reader reads exactly; `Ok(None)` when it is not.
pub(crate) fn read_fast(path: &Path, opts: &FileOptions) -> Result<Option<Parsed>> {
    let t = std::time::Instant::now();
    let Some(bytes) = load(path)? else {
        return Ok(None);
    };
    let Some((roles, body_start)) = plan(&bytes, path, opts) else {
        tracing::debug!(path = %path.display(), "not in the fast reader's layout: read_csv reads it");
        return Ok(None);
    };
    let body = &bytes[body_start..];
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "file loaded");
    let bounds = chunk_bounds(body, body.len() / CHUNK_BYTES + 1);
    // Groups of ranges are parsed on all cores and converted in file order, the conversion of
    // one group overlapping the parse of the next.
    let parse = |group: &[(usize, usize)]| -> Vec<Option<Chunk>> {
        group
            .par_iter()
            .map(|&(a, b)| parse_chunk(&body[a..b], &roles))
            .collect()
    };
    let group = GROUP_PER_THREAD * rayon::current_num_threads().max(1);
    let groups: Vec<&[(usize, usize)]> = bounds.chunks(group).collect();
    // The columns sized from the first range's lines (most files have lines of one length).
    let first = bounds.first().map_or(&body[..0], |&(a, b)| &body[a..b]);
    let line = first.len() / memchr::memchr_iter(b'\n', first).count().max(1);
    let mut sink = Sink::new(opts, body.len() / line.max(1) + 1);
    let mut parsed = groups.first().map(|g| parse(g));
    for k in 0..groups.len() {
        let chunks = parsed.take();
        let (next, taken) = rayon::join(
            || groups.get(k + 1).map(|g| parse(g)),
            || {
                chunks
                    .into_iter()
                    .flatten()
                    .all(|chunk| chunk.is_some_and(|c| sink.take(c)))
            },
        );
        if !taken {
            return Ok(None);
        }
        parsed = next;
        tracing::trace!(ms = t.elapsed().as_millis() as u64, k, "group converted");
    }
    let parsed = sink.finish();
    if let Some(p) = &parsed {
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            rows = p.rows.len(),
            "file parsed"
        );
    }
    Ok(parsed)
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
/// stage's columns.
struct Sink<'a> {
    opts: &'a FileOptions,
    /// Ranges held until the resolution is known.
    pending: Vec<Chunk>,
    resolution: Option<Resolution>,
    zone: Option<chrono_tz::Tz>,
    /// The zone's offset of the last hour converted.
    offset_memo: (i64, Option<i32>),
    rows: StagedRows,
    ids: HashMap<String, u32>,
    /// Per symbol, the last UTC timestamp seen.
    last_ts: Vec<i64>,
    distinct: bool,
    time_len: usize,
}

impl<'a> Sink<'a> {
    /// `rows`: a guess of the file's rows, to size the columns.
    fn new(opts: &'a FileOptions, rows: usize) -> Self {
        Sink {
            opts,
            pending: Vec::new(),
            resolution: opts.resolution,
            zone: None,
            offset_memo: (i64::MIN, None),
            rows: StagedRows {
                names: Vec::new(),
                symbol: Vec::with_capacity(rows),
                ts: Vec::with_capacity(rows),
                session: Vec::with_capacity(rows),
                values: (0..FIELDS.len())
                    .map(|_| Vec::with_capacity(rows))
                    .collect(),
            },
            ids: HashMap::new(),
            last_ts: Vec::new(),
            distinct: true,
            time_len: 0,
        }
    }

    /// `false` when the range is not what this reader reads.
    fn take(&mut self, chunk: Chunk) -> bool {
        if chunk.time_len != 0 {
            if self.time_len == 0 {
                self.time_len = chunk.time_len;
            } else if chunk.time_len != self.time_len {
                return false;
            }
        }
        if self.resolution.is_some() {
            return self.append(chunk);
        }
        self.pending.push(chunk);
        if self.pending.iter().map(|c| c.time.len()).sum::<usize>() >= INFER_ROWS {
            return self.release();
        }
        true
    }

    /// Decides the resolution from the held ranges and appends them.
    fn release(&mut self) -> bool {
        if self.resolution.is_none() {
            let first: Vec<i64> = self
                .pending
                .iter()
                .flat_map(|c| c.time.iter().copied())
                .take(INFER_ROWS)
                .collect();
            if first.is_empty() {
                return false;
            }
            let Some(r) = infer_resolution(&first) else {
                return false;
            };
            self.resolution = Some(r);
        }
        std::mem::take(&mut self.pending)
            .into_iter()
            .all(|chunk| self.append(chunk))
    }

    fn finish(mut self) -> Option<Parsed> {
        if !self.release() || self.rows.len() == 0 {
            return None;
        }
        Some(Parsed {
            resolution: self.resolution?,
            rows: self.rows,
            distinct: self.distinct,
        })
    }

    fn append(&mut self, chunk: Chunk) -> bool {
        let n = chunk.time.len();
        if n == 0 {
            return true;
        }
        if self.convert(&chunk.time).is_none() {
            return false;
        }
        let from = self.rows.symbol.len();
        self.symbols(&chunk);
        let (symbol, ts) = (&self.rows.symbol[from..], &self.rows.ts[from..]);
        for (&s, &t) in symbol.iter().zip(ts) {
            let prev = std::mem::replace(&mut self.last_ts[s as usize], t);
            self.distinct &= t > prev;
        }
        for ((column, values), (_, absent)) in
            self.rows.values.iter_mut().zip(chunk.values).zip(FIELDS)
        {
            if values.is_empty() {
                column.resize(column.len() + n, absent);
            } else {
                column.extend_from_slice(&values);
            }
        }
        true
    }

    /// Appends the range's symbols, as indexes into the file's dictionary.
    fn symbols(&mut self, chunk: &Chunk) {
        let names = &mut self.rows.names;
        if let Some(s) = &self.opts.symbol {
            if names.is_empty() {
                names.push(s.as_str().to_string());
                self.last_ts.push(i64::MIN);
            }
            let n = self.rows.symbol.len() + chunk.time.len();
            self.rows.symbol.resize(n, 0);
            return;
        }
        let map: Vec<u32> = chunk
            .names
            .iter()
            .map(|name| {
                let next = self.ids.len() as u32;
                *self.ids.entry(name.clone()).or_insert_with(|| {
                    names.push(name.clone());
                    self.last_ts.push(i64::MIN);
                    next
                })
            })
            .collect();
        self.rows
            .symbol
            .extend(chunk.symbol.iter().map(|&i| map[i as usize]));
    }

    /// Appends UTC microseconds and session days, as `stage_from_layout`: daily bars at the
    /// session date's midnight; intraday ones shifted by the zone's offset of the hour they were
    /// written in (the earlier instant of a repeated hour). `None` for a local time that does
    /// not exist or an unknown zone (the SQL path words the error).
    fn convert(&mut self, time: &[i64]) -> Option<()> {
        let (ts, session) = (&mut self.rows.ts, &mut self.rows.session);
        if !self.resolution?.is_intraday() {
            for &t in time {
                let day = t.div_euclid(DAY);
                ts.push(day * DAY * 1_000_000);
                session.push(i32::try_from(day).ok()?);
            }
            return Some(());
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
        Some(())
    }
}

#[cfg(test)]
mod tests;
