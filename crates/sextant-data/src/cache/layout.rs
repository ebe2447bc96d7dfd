//! Reading a user's file into the staging table: which reader DuckDB uses for it, which
//! column holds which field, and the conversion of local timestamps to UTC.

use super::ingest::FileOptions;
use super::{sql_ident, sql_literal};
use crate::{DataError, Result};
use chrono::NaiveDate;
use duckdb::{params, Connection};
use sextant_domain::Resolution;
use std::path::Path;

pub(crate) fn file_reader(path: &Path) -> String {
    let p = sql_literal(&path.to_string_lossy());
    let lower = path.to_string_lossy().to_ascii_lowercase();
    if lower.ends_with(".parquet") || lower.ends_with(".pq") {
        format!("read_parquet({p})")
    } else {
        format!("read_csv({p}, header = true, auto_detect = true, sample_size = 20480)")
    }
}

/// Which column of the file holds which field.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub symbol: Option<String>,
    pub time: String,
    pub open: String,
    pub high: String,
    pub low: String,
    pub close: String,
    pub volume: Option<String>,
    pub adj_close: Option<String>,
    pub dividend: Option<String>,
    pub split: Option<String>,
    pub resolution: Resolution,
}

fn num(col: &Option<String>, default: &str) -> String {
    match col {
        Some(c) => format!("TRY_CAST({} AS DOUBLE)", sql_ident(c)),
        None => default.to_string(),
    }
}

pub(crate) fn stage_from_layout(
    conn: &Connection,
    reader: &str,
    l: &Layout,
    opts: &FileOptions,
) -> Result<()> {
    let sym = match (&l.symbol, &opts.symbol) {
        (_, Some(s)) => sql_literal(s.as_str()),
        (Some(c), None) => format!("upper(trim(CAST({} AS VARCHAR)))", sql_ident(c)),
        (None, None) => {
            return Err(DataError::Invalid(
                "the file has no ticker/symbol column: pass the symbol (--symbol)".into(),
            ))
        }
    };
    let t = sql_ident(&l.time);
    let tz = sql_literal(&opts.tz);
    let res = sql_literal(l.resolution.as_str());
    let src = sql_literal(opts.source.as_str());
    let cols = format!(
        "{}, {}, {}, {}, {}, {}, {}, {}",
        num(&Some(l.open.clone()), "NULL"),
        num(&Some(l.high.clone()), "NULL"),
        num(&Some(l.low.clone()), "NULL"),
        num(&Some(l.close.clone()), "NULL"),
        num(&l.volume, "0.0"),
        num(&l.adj_close, "NULL"),
        num(&l.dividend, "0.0"),
        num(&l.split, "1.0"),
    );
    let sql = if l.resolution.is_intraday() {
        // The exchange zone's UTC offset for every hour of the file's range, keyed by the hour
        // the file's timestamps are written in (local or UTC). Joining on the hour converts
        // without a time-zone extension in DuckDB, and is exact because zone offsets change on
        // the hour. A local time that does not exist (the skipped hour of a spring-forward) has
        // no offset, hence no timestamp, and rejects the batch naming the row; an ambiguous one
        // (the repeated hour of a fall-back) takes the earlier instant.
        let (lo, hi): (Option<NaiveDate>, Option<NaiveDate>) = conn.query_row(
            &format!("SELECT min(TRY_CAST({t} AS DATE)), max(TRY_CAST({t} AS DATE)) FROM {reader}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        fill_offsets(conn, &opts.tz, lo, hi, opts.timestamps_utc)?;
        let (utc_expr, local_expr) = if opts.timestamps_utc {
            (
                format!("CAST(f.{t} AS TIMESTAMP)"),
                format!("(CAST(f.{t} AS TIMESTAMP) + to_minutes(o.offset_min))"),
            )
        } else {
            (
                format!("(CAST(f.{t} AS TIMESTAMP) - to_minutes(o.offset_min))"),
                format!("CAST(f.{t} AS TIMESTAMP)"),
            )
        };
        let cols = cols.replace("TRY_CAST(\"", "TRY_CAST(f.\"");
        let sym = sym.replace("CAST(\"", "CAST(f.\"");
        format!(
            "INSERT INTO stage_bars SELECT {sym}, {res}, {utc_expr}, {tz}, CAST({local_expr} AS DATE), {cols}, {src} \
             FROM {reader} f LEFT JOIN tz_offsets o ON o.h = date_trunc('hour', TRY_CAST(f.{t} AS TIMESTAMP))"
        )
    } else {
        format!(
            "INSERT INTO stage_bars SELECT {sym}, {res}, CAST(TRY_CAST({t} AS DATE) AS TIMESTAMP), {tz}, \
             TRY_CAST({t} AS DATE), {cols}, {src} FROM {reader}"
        )
    };
    conn.execute_batch(&sql)?;
    Ok(())
}

/// Fills the temp table `tz_offsets(h TIMESTAMP, offset_min INTEGER)`: the UTC offset of `tz`
/// for every hour from the day before `lo` to the day after `hi`, keyed by the local hour (or by
/// the UTC hour when `utc_keys`). Skipped local hours get no row.
fn fill_offsets(
    conn: &Connection,
    tz: &str,
    lo: Option<NaiveDate>,
    hi: Option<NaiveDate>,
    utc_keys: bool,
) -> Result<()> {
    let zone: chrono_tz::Tz = tz
        .parse()
        .map_err(|_| DataError::Invalid(format!("unknown time zone {tz:?}")))?;
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE tz_offsets (h TIMESTAMP, offset_min INTEGER)",
    )?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(());
    };
    let start = lo
        .pred_opt()
        .unwrap_or(lo)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default();
    let end = hi
        .succ_opt()
        .unwrap_or(hi)
        .and_hms_opt(23, 0, 0)
        .unwrap_or_default();
    let mut app = conn.appender("tz_offsets")?;
    let mut h = start;
    while h <= end {
        if let Some(off) = zone_offset_minutes(&zone, h, utc_keys) {
            app.append_row(params![h, off])?;
        }
        h += chrono::Duration::hours(1);
    }
    app.flush()?;
    Ok(())
}

/// Finds which column of a file holds which field, and the resolution when not given.
pub(crate) fn detect_layout(
    conn: &Connection,
    reader: &str,
    path: &Path,
    opts: &FileOptions,
) -> Result<Layout> {
    let mut stmt = conn.prepare(&format!("DESCRIBE SELECT * FROM {reader}"))?;
    let cols: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<std::result::Result<_, _>>()?;
    let layout = layout_from_columns(&cols, path, opts)?;
    let resolution = match opts.resolution {
        Some(r) => r,
        None => infer_resolution(conn, reader, &layout.time)?,
    };
    Ok(Layout {
        resolution,
        ..layout
    })
}

/// Which column holds which field, from the file's (name, DuckDB type) columns; the resolution
/// is left `Daily` for the caller to set.
pub(crate) fn layout_from_columns(
    cols: &[(String, String)],
    path: &Path,
    opts: &FileOptions,
) -> Result<Layout> {
    let file_err = |message: String| DataError::File {
        path: path.display().to_string(),
        message,
    };
    let norm = |s: &str| {
        s.to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
    };
    let explicit = |field: &str| {
        opts.columns
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, c)| c.clone())
    };
    let find = |field: &str, names: &[&str]| -> Option<String> {
        if let Some(c) = explicit(field) {
            return Some(c);
        }
        cols.iter()
            .find(|(c, _)| {
                let n = norm(c);
                // "1. open" (Alpha Vantage) normalises to "1open".
                names.iter().any(|want| {
                    n == *want || n.trim_start_matches(|ch: char| ch.is_ascii_digit()) == *want
                })
            })
            .map(|(c, _)| c.clone())
    };
    let required = |field: &str, names: &[&str]| {
        find(field, names).ok_or_else(|| {
            file_err(format!(
                "no {field} column (looked for {names:?}; columns are {:?})",
                cols.iter().map(|c| &c.0).collect::<Vec<_>>()
            ))
        })
    };
    let time = match find("time", &["date", "datetime", "timestamp", "time", "ts"]) {
        Some(t) => t,
        // An unnamed first column (a pandas index written without a name) holding dates.
        None => match cols.first() {
            Some((name, ty))
                if (name.is_empty()
                    || norm(name).starts_with("column")
                    || norm(name) == "unnamed0")
                    && (ty.starts_with("DATE") || ty.starts_with("TIMESTAMP")) =>
            {
                name.clone()
            }
            _ => return Err(file_err("no date/datetime/timestamp column".into())),
        },
    };
    let layout = Layout {
        symbol: find("symbol", &["ticker", "symbol", "sym"]),
        open: required("open", &["open", "o"])?,
        high: required("high", &["high", "h"])?,
        low: required("low", &["low", "l"])?,
        close: required("close", &["close", "c"])?,
        volume: find("volume", &["volume", "vol", "v"]),
        adj_close: find("adj_close", &["adjclose", "adjustedclose", "adjcl"]),
        dividend: find("dividend", &["dividend", "dividendamount", "dividends"]),
        split: find(
            "split",
            &["split", "splitcoefficient", "stocksplits", "splitfactor"],
        ),
        resolution: Resolution::Daily,
        time,
    };
    Ok(layout)
}

/// Daily when every timestamp is midnight; otherwise the smallest spacing within a day. Looks at
/// the first 200,000 rows (enough for any layout; `--resolution` overrides).
fn infer_resolution(conn: &Connection, reader: &str, time: &str) -> Result<Resolution> {
    let t = sql_ident(time);
    let (all_midnight, minutes): (Option<bool>, Option<f64>) = conn.query_row(
        &format!(
            "WITH t AS (SELECT DISTINCT CAST({t} AS TIMESTAMP) AS ts FROM (SELECT {t} FROM {reader} LIMIT 200000)), \
             d AS (SELECT ts, lag(ts) OVER (ORDER BY ts) AS p FROM t) \
             SELECT bool_and(ts = date_trunc('day', ts)), \
             min(CASE WHEN CAST(ts AS DATE) = CAST(p AS DATE) THEN epoch(ts - p) / 60 END) FROM d"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if all_midnight.unwrap_or(true) {
        return Ok(Resolution::Daily);
    }
    let Some(minutes) = minutes.map(|m| m.round() as i64) else {
        return Err(DataError::Invalid(
            "cannot infer the resolution: no two intraday timestamps share a day; pass --resolution".into(),
        ));
    };
    Ok(resolution_of_spacing(minutes))
}

/// The intraday resolution whose bars are `minutes` apart (the smallest spacing within a day).
pub(crate) fn resolution_of_spacing(minutes: i64) -> Resolution {
    match minutes {
        m if m <= 1 => Resolution::Min1,
        m if m <= 5 => Resolution::Min5,
        m if m <= 15 => Resolution::Min15,
        m if m <= 30 => Resolution::Min30,
        _ => Resolution::Min60,
    }
}

/// The UTC offset of `zone` in minutes at `hour`, read as a UTC time (`utc`) or a local one;
/// `None` for a local time that does not exist (a spring-forward's skipped hour). A repeated
/// local hour takes its earlier instant.
pub(crate) fn zone_offset_minutes(
    zone: &chrono_tz::Tz,
    hour: chrono::NaiveDateTime,
    utc: bool,
) -> Option<i32> {
    use chrono::{Offset, TimeZone};
    if utc {
        Some(
            zone.from_utc_datetime(&hour)
                .offset()
                .fix()
                .local_minus_utc()
                / 60,
        )
    } else {
        zone.from_local_datetime(&hour)
            .earliest()
            .map(|dt| dt.offset().fix().local_minus_utc() / 60)
    }
}
