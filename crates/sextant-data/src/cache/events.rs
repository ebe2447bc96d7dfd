//! Vendor corporate actions and economic series: stored whole per fetch (one transaction, the
//! previous copy replaced), read back for the price adjustment, the risk-free rate and features.
//!
//! Corporate actions reach prices through [`overlay_actions`]: a raw series that carries no split
//! or dividend of its own (a `TIME_SERIES_DAILY` download, a plain file) gets the stored events on
//! its bars as it is read, so the adjustment module (`sextant_domain::prices`) turns raw prints
//! plus `DIVIDENDS`/`SPLITS` into split-adjusted and total-return series. A series with its own
//! events (an adjusted download) keeps them: the two are never added together.

use super::Cache;
use crate::{DataError, Result};
use chrono::{NaiveDate, Utc};
use duckdb::params;
use sextant_domain::{
    Bar, DividendEvent, EconomicSeries, Observation, Resolution, SeriesKey, SplitEvent, Symbol,
};

/// What a stored economic series holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EconomicSummary {
    /// The series id (`treasury_yield_3month_daily`).
    pub series: String,
    /// The vendor's name for it.
    pub name: String,
    /// The vendor's unit.
    pub unit: String,
    /// Observations stored (missing ones included).
    pub observations: u64,
    /// First observation date.
    pub first: Option<NaiveDate>,
    /// Last observation date.
    pub last: Option<NaiveDate>,
    /// The provider request it came from.
    pub request: String,
}

impl Cache {
    /// Replaces the stored dividends of `symbol` with `events` (one transaction).
    pub fn store_dividends(
        &self,
        symbol: &Symbol,
        events: &[DividendEvent],
        request: &str,
    ) -> Result<usize> {
        self.store_actions(symbol, Some((events, request)), None)
    }

    /// Replaces the stored splits of `symbol` with `events` (one transaction).
    pub fn store_splits(
        &self,
        symbol: &Symbol,
        events: &[SplitEvent],
        request: &str,
    ) -> Result<usize> {
        self.store_actions(symbol, None, Some((events, request)))
    }

    /// Replaces the stored dividends and/or splits of `symbol` in ONE transaction (a refresh
    /// that fetched both writes both or neither), each with the request it came from. Returns
    /// the number of events written. Refuses a non-finite or negative amount, a factor ≤ 0.
    pub fn store_actions(
        &self,
        symbol: &Symbol,
        dividends: Option<(&[DividendEvent], &str)>,
        splits: Option<(&[SplitEvent], &str)>,
    ) -> Result<usize> {
        for e in dividends.map_or(&[][..], |d| d.0) {
            if !(e.amount.is_finite() && e.amount >= 0.0) {
                return Err(DataError::Invalid(format!(
                    "dividend of {symbol} on {}: amount {} is not a finite number >= 0",
                    e.ex_date, e.amount
                )));
            }
        }
        for e in splits.map_or(&[][..], |s| s.0) {
            if !(e.factor.is_finite() && e.factor > 0.0) {
                return Err(DataError::Invalid(format!(
                    "split of {symbol} on {}: factor {} is not a finite number > 0",
                    e.effective_date, e.factor
                )));
            }
        }
        // (kind, day, declaration, record, payment, value, request)
        type Row<'a> = (
            &'static str,
            NaiveDate,
            Option<NaiveDate>,
            Option<NaiveDate>,
            Option<NaiveDate>,
            f64,
            &'a str,
        );
        let mut rows: Vec<Row<'_>> = Vec::new();
        let mut kinds: Vec<(&str, &str, usize)> = Vec::new();
        if let Some((events, request)) = dividends {
            kinds.push(("dividend", request, events.len()));
            rows.extend(events.iter().map(|e| {
                let (ex, decl, rec, pay) =
                    (e.ex_date, e.declaration_date, e.record_date, e.payment_date);
                ("dividend", ex, decl, rec, pay, e.amount, request)
            }));
        }
        if let Some((events, request)) = splits {
            kinds.push(("split", request, events.len()));
            rows.extend(events.iter().map(|e| {
                (
                    "split",
                    e.effective_date,
                    None,
                    None,
                    None,
                    e.factor,
                    request,
                )
            }));
        }
        self.write(|conn| {
            for (kind, request, n) in &kinds {
                conn.execute(
                    "DELETE FROM corporate_actions WHERE symbol = ? AND kind = ?",
                    params![symbol.as_str(), kind],
                )?;
                record_fetch(conn, symbol, kind, request, *n)?;
            }
            let now = Utc::now().naive_utc();
            let mut app = conn.appender("corporate_actions")?;
            for (kind, day, decl, rec, pay, value, request) in &rows {
                app.append_row(params![
                    symbol.as_str(),
                    kind,
                    day,
                    decl,
                    rec,
                    pay,
                    value,
                    request,
                    now
                ])?;
            }
            app.flush()?;
            Ok(rows.len())
        })
    }

    /// The stored dividends of `symbol`, oldest first.
    pub fn dividends(&self, symbol: &Symbol) -> Result<Vec<DividendEvent>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, declaration_date, record_date, payment_date, value FROM corporate_actions \
             WHERE symbol = ? AND kind = 'dividend' ORDER BY day",
        )?;
        let rows = stmt
            .query_map(params![symbol.as_str()], |r| {
                Ok(DividendEvent {
                    ex_date: r.get(0)?,
                    declaration_date: r.get(1)?,
                    record_date: r.get(2)?,
                    payment_date: r.get(3)?,
                    amount: r.get(4)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The stored splits of `symbol`, oldest first.
    pub fn splits(&self, symbol: &Symbol) -> Result<Vec<SplitEvent>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, value FROM corporate_actions WHERE symbol = ? AND kind = 'split' ORDER BY day",
        )?;
        let rows = stmt
            .query_map(params![symbol.as_str()], |r| {
                Ok(SplitEvent {
                    effective_date: r.get(0)?,
                    factor: r.get(1)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// True when both the dividends and the splits of `symbol` were fetched (even if it has
    /// none): its raw prices plus the stored events are then fully adjustable.
    pub fn actions_fetched(&self, symbol: &Symbol) -> Result<bool> {
        let conn = self.conn();
        let kinds: i64 = conn.query_row(
            "SELECT count(DISTINCT kind) FROM corporate_action_fetches WHERE symbol = ?",
            params![symbol.as_str()],
            |r| r.get(0),
        )?;
        Ok(kinds == 2)
    }

    /// Replaces the stored copy of `series` (its observations and their availability dates).
    pub fn store_economic(&self, series: &EconomicSeries, request: &str) -> Result<usize> {
        let id = series.key.id();
        for o in &series.observations {
            if o.value.is_some_and(|v| !v.is_finite()) {
                return Err(DataError::Invalid(format!(
                    "{id} on {}: value is not finite",
                    o.date
                )));
            }
        }
        self.write(|conn| {
            conn.execute("DELETE FROM economic_series WHERE series = ?", params![id])?;
            conn.execute(
                "DELETE FROM economic_observations WHERE series = ?",
                params![id],
            )?;
            conn.execute(
                "INSERT INTO economic_series VALUES (?, ?, ?, ?, ?)",
                params![
                    id,
                    series.name,
                    series.unit,
                    request,
                    Utc::now().naive_utc()
                ],
            )?;
            let mut app = conn.appender("economic_observations")?;
            for o in &series.observations {
                app.append_row(params![
                    id,
                    o.date,
                    o.value,
                    series.key.available_from(o.date)
                ])?;
            }
            app.flush()?;
            Ok(series.observations.len())
        })
    }

    /// The stored observations of `key`, oldest first (missing ones as `None`).
    pub fn economic(&self, key: &SeriesKey) -> Result<Vec<Observation>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, value FROM economic_observations WHERE series = ? ORDER BY day",
        )?;
        let rows = stmt
            .query_map(params![key.id()], |r| {
                Ok(Observation {
                    date: r.get(0)?,
                    value: r.get(1)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// `(available_from, value)` of the non-missing observations of `key`, by availability:
    /// what a point-in-time join reads.
    pub fn economic_available(&self, key: &SeriesKey) -> Result<Vec<(NaiveDate, f64)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT available_from, value FROM economic_observations \
             WHERE series = ? AND value IS NOT NULL ORDER BY available_from, day",
        )?;
        let rows = stmt
            .query_map(params![key.id()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Every stored economic series, by id.
    pub fn economic_series(&self) -> Result<Vec<EconomicSummary>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT s.series, s.name, s.unit, count(o.day), min(o.day), max(o.day), s.request \
             FROM economic_series s LEFT JOIN economic_observations o ON o.series = s.series \
             GROUP BY ALL ORDER BY s.series",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(EconomicSummary {
                    series: r.get(0)?,
                    name: r.get(1)?,
                    unit: r.get(2)?,
                    observations: r.get::<_, i64>(3)?.max(0) as u64,
                    first: r.get(4)?,
                    last: r.get(5)?,
                    request: r.get(6)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Puts the stored corporate actions of `symbol` on its daily `bars` when the bars carry
    /// none of their own (see the module docs). An event dated on a day without a bar goes on
    /// the next bar (the first session that trades after it). Other resolutions are unchanged.
    pub fn overlay_actions(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        bars: &mut [Bar],
    ) -> Result<()> {
        if resolution != Resolution::Daily || bars.is_empty() {
            return Ok(());
        }
        let own = bars
            .iter()
            .any(|b| b.dividend != 0.0 || b.split_coefficient != 1.0 || b.adj_close.is_some());
        if own {
            return Ok(());
        }
        let (dividends, splits) = (self.dividends(symbol)?, self.splits(symbol)?);
        if dividends.is_empty() && splits.is_empty() {
            return Ok(());
        }
        let on_or_after = |d: NaiveDate| bars.partition_point(|b| b.ts.date() < d);
        let mut adds: Vec<(usize, f64, f64)> = Vec::new();
        for e in &dividends {
            adds.push((on_or_after(e.ex_date), e.amount, 1.0));
        }
        for e in &splits {
            adds.push((on_or_after(e.effective_date), 0.0, e.factor));
        }
        for (i, dividend, split) in adds {
            if let Some(b) = bars.get_mut(i) {
                b.dividend += dividend;
                b.split_coefficient *= split;
            }
        }
        Ok(())
    }
}

fn record_fetch(
    conn: &duckdb::Connection,
    symbol: &Symbol,
    kind: &str,
    request: &str,
    events: usize,
) -> Result<()> {
    conn.execute(
        "DELETE FROM corporate_action_fetches WHERE symbol = ? AND kind = ?",
        params![symbol.as_str(), kind],
    )?;
    conn.execute(
        "INSERT INTO corporate_action_fetches VALUES (?, ?, ?, ?, ?)",
        params![
            symbol.as_str(),
            kind,
            request,
            events as i64,
            Utc::now().naive_utc()
        ],
    )?;
    Ok(())
}
