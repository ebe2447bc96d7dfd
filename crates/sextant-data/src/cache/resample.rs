//! Derived resolutions by SQL resampling: intraday → coarser intraday → daily → weekly → monthly.
//!
//! Aggregation: open = first open, high = max, low = min, close = last close, volume = sum,
//! adjusted close = last, dividend = sum, split coefficient = product. Bars never cross a session
//! (`session` is part of every intraday group). Intraday buckets are aligned to the clock in UTC,
//! which for 60 minutes and finer equals the exchange clock wherever the zone's offset is a whole
//! number of hours (every US zone). Weekly bars group ISO weeks (Monday–Sunday) and monthly bars
//! calendar months; both are labelled with their last trading session, as Alpha Vantage does.

use super::ingest::{merge_stage, IngestSummary};
use super::{sql_literal, Cache};
use crate::{DataError, Result};
use duckdb::{params, Connection, OptionalExt};
use sextant_domain::{Resolution, Symbol};

impl Cache {
    /// Materialises `to` bars for `symbol` from its stored `from` bars (an idempotent upsert,
    /// provenance `resampled`).
    pub fn resample(
        &self,
        symbol: &Symbol,
        from: Resolution,
        to: Resolution,
    ) -> Result<IngestSummary> {
        let sql = resample_sql(symbol, from, to)?;
        self.write(|conn| {
            super::staged::fresh_stage(conn)?;
            conn.execute_batch(&format!(
                "INSERT INTO stage_bars SELECT symbol, resolution, ts, tz, session, open, high, low, close, \
                 volume, adj_close, dividend, split_coefficient, source FROM ({sql})"
            ))?;
            merge_stage(
                conn,
                "resampled",
                &format!("resample {symbol} {from} -> {to}"),
                None,
            )
        })
    }
}

/// The finest stored resolution strictly finer than `target`, if any.
pub(crate) fn finest_stored_below(
    conn: &Connection,
    symbol: &Symbol,
    target: Resolution,
) -> Result<Option<Resolution>> {
    for r in Resolution::ALL.iter().rev() {
        if *r >= target {
            continue;
        }
        let found: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM bars WHERE symbol = ? AND resolution = ? LIMIT 1",
                params![symbol.as_str(), r.as_str()],
                |row| row.get(0),
            )
            .optional()?;
        if found.is_some() {
            return Ok(Some(*r));
        }
    }
    Ok(None)
}

/// A SELECT producing `to` bars (all `bars` columns) from the stored `from` bars.
pub(crate) fn resample_sql(symbol: &Symbol, from: Resolution, to: Resolution) -> Result<String> {
    if to <= from {
        return Err(DataError::BadResample {
            from: from.to_string(),
            to: to.to_string(),
        });
    }
    let (key, label) = match to {
        Resolution::Weekly => (
            "date_trunc('week', session)",
            "CAST(max(session) AS TIMESTAMP)",
        ),
        Resolution::Monthly => (
            "date_trunc('month', session)",
            "CAST(max(session) AS TIMESTAMP)",
        ),
        Resolution::Daily => ("session", "CAST(session AS TIMESTAMP)"),
        intraday => {
            let m = intraday.minutes().unwrap_or(60);
            return Ok(aggregate(
                symbol,
                from,
                to,
                &format!("session, time_bucket(INTERVAL '{m} minutes', ts)"),
                &format!("time_bucket(INTERVAL '{m} minutes', ts)"),
            ));
        }
    };
    Ok(aggregate(symbol, from, to, key, label))
}

/// The resampling SQL. Every aggregate is defined by time, not by the rows' physical order
/// (which a parallel ingest does not keep): sums and products in time order, so a re-run gives
/// the same bits and a re-resample finds nothing changed.
fn aggregate(symbol: &Symbol, from: Resolution, to: Resolution, key: &str, label: &str) -> String {
    format!(
        "SELECT symbol, {to} AS resolution, {label} AS ts, arg_min(tz, ts) AS tz, max(session) AS session, \
         arg_min(open, ts) AS open, max(high) AS high, min(low) AS low, arg_max(close, ts) AS close, \
         sum(volume ORDER BY ts) AS volume, arg_max(adj_close, ts) AS adj_close, \
         sum(dividend ORDER BY ts) AS dividend, product(split_coefficient ORDER BY ts) AS split_coefficient, \
         'resampled' AS source, \
         max(ingested_at) AS ingested_at \
         FROM bars WHERE symbol = {sym} AND resolution = {fr} GROUP BY symbol, {key}",
        to = sql_literal(to.as_str()),
        sym = sql_literal(symbol.as_str()),
        fr = sql_literal(from.as_str()),
    )
}
