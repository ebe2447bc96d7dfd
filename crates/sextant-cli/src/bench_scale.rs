//! `sextant bench --scale-generate DIR`: the generated universe of `scripts/bench-scale`, written
//! as Parquet shards by DuckDB itself (50M rows would not fit in memory as `Bar`s): daily bars of
//! many symbols over 20 years of NYSE sessions, and 1-minute bars of a hundred symbols over five.
//! Prices are geometric random walks (daily steps uniform within ±2 %, 1-minute steps within
//! ±0.1 %), deterministic in the symbol and the time, so a rerun writes the same files.

use anyhow::Result;
use std::path::Path;

/// What to generate.
pub struct ScaleSpec {
    /// Symbols with daily bars.
    pub daily_symbols: u64,
    /// Years of daily sessions (from 2005-01-03).
    pub daily_years: u32,
    /// Symbols with 1-minute bars.
    pub intraday_symbols: u64,
    /// Years of 1-minute regular-session bars (from 2020-01-02).
    pub intraday_years: u32,
    /// Symbols per Parquet shard (one ingest transaction each).
    pub shard_symbols: u64,
}

/// `DATE '…'` literals of the NYSE holidays of `years`, for leaving them out as a vendor would.
fn holiday_list(years: std::ops::Range<i32>) -> String {
    years
        .flat_map(sextant_quality::calendar::holidays)
        .map(|d| format!("DATE '{d}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes `daily-NNN.parquet` and `intraday-NNN.parquet` shards into `dir`; returns the rows of
/// each kind.
pub fn generate(dir: &Path, spec: &ScaleSpec) -> Result<(u64, u64)> {
    let conn = duckdb::Connection::open_in_memory()?;
    let end_year = 2005 + spec.daily_years as i32;
    conn.execute_batch(&format!(
        "CREATE TABLE days AS SELECT d::DATE AS d FROM range(DATE '2005-01-03', DATE '{end_year}-01-01', INTERVAL 1 DAY) t(d)
         WHERE dayofweek(d) BETWEEN 1 AND 5 AND d NOT IN ({})",
        holiday_list(2005..end_year)
    ))?;
    let iend = 2020 + spec.intraday_years as i32;
    conn.execute_batch(&format!(
        "CREATE TABLE idays AS SELECT d::DATE AS d FROM range(DATE '2020-01-02', DATE '{iend}-01-01', INTERVAL 1 DAY) t(d)
         WHERE dayofweek(d) BETWEEN 1 AND 5 AND d NOT IN ({})",
        holiday_list(2020..iend)
    ))?;
    let mut rows = (0, 0);
    let mut lo = 0;
    while lo < spec.daily_symbols {
        let hi = (lo + spec.shard_symbols).min(spec.daily_symbols);
        let out = dir.join(format!("daily-{:03}.parquet", lo / spec.shard_symbols));
        rows.0 += copy(
            &conn,
            &format!(
                "WITH r AS (
                   SELECT 'S' || lpad(i::VARCHAR, 5, '0') AS symbol, d,
                          ((hash(i, d) % 40001)::DOUBLE - 20000) / 1000000 AS step,
                          1e5 + (hash(d, i) % 1000000)::DOUBLE AS volume
                   FROM range({lo}, {hi}) s(i), days),
                 p AS (SELECT symbol, d, volume, 50 * exp(sum(step) OVER w) AS close,
                              50 * exp(coalesce(sum(step) OVER w - step, 0)) AS open
                       FROM r WINDOW w AS (PARTITION BY symbol ORDER BY d))
                 SELECT symbol, strftime(d, '%Y-%m-%d') AS date, round(open, 4) AS open,
                        round(greatest(open, close) * 1.004, 4) AS high,
                        round(least(open, close) * 0.996, 4) AS low, round(close, 4) AS close,
                        round(close, 4) AS adjusted_close, volume
                 FROM p ORDER BY symbol, date"
            ),
            &out,
        )?;
        lo = hi;
    }
    let mut lo = 0;
    while lo < spec.intraday_symbols {
        let hi = (lo + spec.shard_symbols.min(10)).min(spec.intraday_symbols);
        let out = dir.join(format!(
            "intraday-{:03}.parquet",
            lo / spec.shard_symbols.min(10)
        ));
        rows.1 += copy(
            &conn,
            &format!(
                "WITH r AS (
                   SELECT 'M' || lpad(i::VARCHAR, 3, '0') AS symbol,
                          d + INTERVAL 570 MINUTE + to_minutes(m) AS t,
                          ((hash(i, d, m) % 2001)::DOUBLE - 1000) / 1000000 AS step,
                          100 + (hash(m, i, d) % 5000)::DOUBLE AS volume
                   FROM range({lo}, {hi}) s(i), idays, range(390) mm(m)),
                 p AS (SELECT symbol, t, volume, 80 * exp(sum(step) OVER w) AS close,
                              80 * exp(coalesce(sum(step) OVER w - step, 0)) AS open
                       FROM r WINDOW w AS (PARTITION BY symbol ORDER BY t))
                 SELECT symbol, strftime(t, '%Y-%m-%d %H:%M:%S') AS datetime, round(open, 4) AS open,
                        round(greatest(open, close) * 1.0005, 4) AS high,
                        round(least(open, close) * 0.9995, 4) AS low, round(close, 4) AS close, volume
                 FROM p ORDER BY symbol, datetime"
            ),
            &out,
        )?;
        lo = hi;
    }
    Ok(rows)
}

/// `COPY (query) TO out` as Parquet; returns the rows written.
fn copy(conn: &duckdb::Connection, query: &str, out: &Path) -> Result<u64> {
    let lit = out.to_string_lossy().replace('\'', "''");
    let n = conn.execute(
        &format!("COPY ({query}) TO '{lit}' (FORMAT parquet, COMPRESSION zstd)"),
        [],
    )?;
    tracing::info!(file = %out.display(), rows = n, "shard written");
    Ok(n as u64)
}
