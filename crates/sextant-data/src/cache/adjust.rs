//! Bars in a chosen [`PriceBasis`], and what a range excludes.
//!
//! The factors themselves are computed in one place, [`sextant_domain::prices`]; this module
//! only reads what they need. Factors depend on *later* corporate actions, so the whole stored
//! history of the series is read and the range is cut afterwards, and a data snapshot of an
//! adjusted request covers the corporate actions after the range too ([`Cache::actions_hash`]).

use super::{sql_literal, Cache};
use crate::{DataError, Result};
use chrono::{NaiveDate, NaiveDateTime};
use duckdb::params;
use sextant_domain::{Bar, HeldBar, PriceBasis, Resolution, Symbol};
use sha2::{Digest, Sha256};

impl Cache {
    /// Bars of `symbol` in `[from, to]` in the given basis. `Raw` reads only the range.
    pub fn bars_on(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        basis: PriceBasis,
    ) -> Result<Vec<Bar>> {
        if basis == PriceBasis::Raw {
            return self.bars(symbol, resolution, from, to);
        }
        let all = self.bars(symbol, resolution, None, None)?;
        let out = basis
            .apply(&all)
            .into_iter()
            .filter(|b| {
                let d = b.ts.date();
                from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t)
            })
            .collect();
        Ok(out)
    }

    /// Whether the stored series of `symbol` carries any adjustment information: the vendor's
    /// adjusted close on every bar, or a split or a dividend somewhere. Without it the
    /// `split_adjusted` and `total_return` bases equal the raw prints, and a result on them must
    /// say so rather than call its prices adjusted. Also true when the vendor's dividends and
    /// splits were fetched for it (even none). False for a symbol with no bars and no fetch.
    pub fn adjustment_known(&self, symbol: &Symbol, resolution: Resolution) -> Result<bool> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT coalesce(bool_and(adj_close IS NOT NULL AND adj_close > 0), false), \
             coalesce(bool_or(split_coefficient <> 1 OR dividend <> 0), false) \
             FROM bars WHERE symbol = ? AND resolution = ?",
        )?;
        let (vendor, actions): (bool, bool) = stmt
            .query_row(params![symbol.as_str(), resolution.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        drop(stmt);
        drop(conn);
        // Raw bars plus fetched DIVIDENDS and SPLITS are adjustable too (see `events`).
        Ok(vendor || actions || self.actions_fetched(symbol)?)
    }

    /// A hash of the corporate actions (split coefficients, dividends, vendor adjusted-to-raw
    /// ratios) of the given series after `to`: the part of an adjusted price's inputs that lies
    /// outside the range it covers. Empty input (no `to`) hashes the empty list.
    pub fn actions_hash(
        &self,
        symbols: &[Symbol],
        resolution: Resolution,
        to: Option<NaiveDate>,
    ) -> Result<String> {
        let mut h = Sha256::new();
        if let Some(to) = to {
            let conn = self.conn();
            for s in symbols {
                let mut stmt = conn.prepare_cached(
                    "SELECT CAST(ts AS VARCHAR), split_coefficient, dividend, \
                     coalesce(adj_close / nullif(close, 0), 'NaN'::DOUBLE) \
                     FROM bars WHERE symbol = ? AND resolution = ? AND session > ? ORDER BY ts",
                )?;
                let rows = stmt.query_map(params![s.as_str(), resolution.as_str(), to], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, f64>(1)?,
                        r.get::<_, f64>(2)?,
                        r.get::<_, f64>(3)?,
                    ))
                })?;
                h.update(s.as_str().as_bytes());
                h.update([0]);
                for row in rows {
                    let (ts, split, div, ratio) = row?;
                    h.update(ts.as_bytes());
                    for v in [split, div, ratio] {
                        h.update(v.to_bits().to_le_bytes());
                    }
                }
            }
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Bars the quality checks keep out of `[from, to]` for these symbols: held for review or
    /// rejected, with no bar stored at the same timestamp. Oldest first.
    pub fn held_bars(
        &self,
        symbols: &[Symbol],
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<HeldBar>> {
        if symbols.is_empty() {
            return Ok(Vec::new());
        }
        let list = symbols
            .iter()
            .map(|s| sql_literal(s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let (lo, hi) = super::query::sql_date_bounds(from, to)?;
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT q.symbol, q.resolution, q.ts, q.status, q.reasons, max(q.id) FROM quarantine q \
             WHERE q.symbol IN ({list}) AND q.resolution = ? AND q.session BETWEEN ? AND ? \
               AND q.status IN ('pending', 'rejected') \
               AND NOT EXISTS (SELECT 1 FROM bars b WHERE b.symbol = q.symbol \
                               AND b.resolution = q.resolution AND b.ts = q.ts) \
             GROUP BY q.symbol, q.resolution, q.ts, q.status, q.reasons \
             ORDER BY q.ts, q.symbol"
        ))?;
        let rows = stmt
            .query_map(params![resolution.as_str(), lo, hi], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, NaiveDateTime>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(symbol, ts, status, reasons, quarantine_id)| {
                Ok(HeldBar {
                    symbol: Symbol::new(&symbol).map_err(|e| {
                        DataError::Invalid(format!("quarantine row {quarantine_id}: {e}"))
                    })?,
                    resolution,
                    ts,
                    status: status.parse().map_err(|_| {
                        DataError::Invalid(format!(
                            "quarantine row {quarantine_id}: unknown status {status:?}"
                        ))
                    })?,
                    reasons,
                    quarantine_id,
                })
            })
            .collect()
    }
}
