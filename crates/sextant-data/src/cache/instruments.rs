//! What each symbol is and when it trades: the `instruments` table, and the session date of
//! around-the-clock intraday bars (FX days close at 17:00 New York, crypto days at 00:00 UTC).

use super::Cache;
use crate::{DataError, Result};
use chrono::{NaiveDate, NaiveDateTime, Utc};
use duckdb::{params, Connection, OptionalExt};
use sextant_domain::{AssetClass, Instrument, Resolution, SessionModel, Symbol};
use std::collections::BTreeMap;

impl Cache {
    /// Records what `instrument` is (an upsert, in its own transaction).
    pub fn set_instrument(&self, instrument: &Instrument) -> Result<()> {
        self.write(|conn| upsert(conn, instrument))
    }

    /// What `symbol` is: its stored record, or a US equity on the NYSE calendar when it has none.
    pub fn instrument(&self, symbol: &Symbol) -> Result<Instrument> {
        let conn = self.conn();
        Ok(stored(&conn, symbol)?.unwrap_or_else(|| Instrument::us_equity(symbol.clone())))
    }

    /// Every symbol with a stored instrument record, by symbol.
    pub fn instruments(&self) -> Result<Vec<Instrument>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT symbol, asset_class, session, base, quote FROM instruments ORDER BY symbol",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows.into_iter().map(decode).collect()
    }

    /// The session model shared by `symbols`, or an error naming two that differ (a run mixing
    /// FX and equities has no single annualisation). The NYSE calendar for no symbols.
    pub fn common_session(&self, symbols: &[Symbol]) -> Result<SessionModel> {
        let mut found: Option<(Symbol, SessionModel)> = None;
        for s in symbols {
            let model = self.instrument(s)?.session;
            match &found {
                Some((first, m)) if *m != model => {
                    return Err(DataError::Invalid(format!(
                        "{first} trades on the {m} session model and {s} on {model}: run them \
                         separately, or give periods_per_year explicitly"
                    )))
                }
                Some(_) => {}
                None => found = Some((s.clone(), model)),
            }
        }
        Ok(found.map_or(SessionModel::Xnys, |(_, m)| m))
    }
}

/// Inserts or replaces `instrument`'s row; runs inside the caller's transaction.
pub(crate) fn upsert(conn: &Connection, instrument: &Instrument) -> Result<()> {
    conn.execute(
        "DELETE FROM instruments WHERE symbol = ?",
        params![instrument.symbol.as_str()],
    )?;
    conn.execute(
        "INSERT INTO instruments VALUES (?, ?, ?, ?, ?, ?)",
        params![
            instrument.symbol.as_str(),
            instrument.asset_class.as_str(),
            instrument.session.as_str(),
            instrument.base,
            instrument.quote,
            Utc::now().naive_utc()
        ],
    )?;
    Ok(())
}

fn stored(conn: &Connection, symbol: &Symbol) -> Result<Option<Instrument>> {
    let row = conn
        .query_row(
            "SELECT symbol, asset_class, session, base, quote FROM instruments WHERE symbol = ?",
            params![symbol.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    row.map(decode).transpose()
}

type Row = (String, String, String, Option<String>, Option<String>);

fn decode((symbol, class, session, base, quote): Row) -> Result<Instrument> {
    let bad =
        |what: &str, v: &str| DataError::Invalid(format!("instruments: unknown {what} {v:?}"));
    Ok(Instrument {
        symbol: Symbol::new(&symbol).map_err(|e| DataError::Invalid(e.to_string()))?,
        asset_class: class
            .parse::<AssetClass>()
            .map_err(|_| bad("asset class", &class))?,
        session: session
            .parse::<SessionModel>()
            .map_err(|_| bad("session model", &session))?,
        base,
        quote,
    })
}

/// The session models of `symbols` that have a stored record (others are NYSE).
pub(crate) fn sessions_of(
    conn: &Connection,
    symbols: &[String],
) -> Result<BTreeMap<String, SessionModel>> {
    let mut out = BTreeMap::new();
    for s in symbols {
        let symbol = Symbol::new(s).map_err(|e| DataError::Invalid(e.to_string()))?;
        if let Some(i) = stored(conn, &symbol)? {
            out.insert(s.clone(), i.session);
        }
    }
    Ok(out)
}

/// Gives the staged intraday bars of around-the-clock instruments the session their model
/// assigns (an FX bar starting Sunday 17:00 New York is Monday's), replacing the local date the
/// staging wrote. Runs inside the ingest's transaction, before the checks.
pub(crate) fn assign_sessions(conn: &Connection) -> Result<()> {
    let intraday: Vec<String> = Resolution::ALL
        .iter()
        .filter(|r| r.is_intraday())
        .map(|r| format!("'{}'", r.as_str()))
        .collect();
    let list = intraday.join(", ");
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT s.symbol, i.session FROM stage_bars s JOIN instruments i ON i.symbol = s.symbol \
         WHERE i.session IN ('fx_24x5', 'crypto_24x7') AND s.resolution IN ({list})"
    ))?;
    let targets = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if targets.is_empty() {
        return Ok(());
    }
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE stage_sessions (symbol VARCHAR, ts TIMESTAMP, session DATE)",
    )?;
    for (symbol, model) in targets {
        let model = model
            .parse::<SessionModel>()
            .map_err(|_| DataError::Invalid(format!("instruments: unknown session {model:?}")))?;
        let mut read = conn.prepare(&format!(
            "SELECT DISTINCT ts FROM stage_bars WHERE symbol = ? AND resolution IN ({list}) AND ts IS NOT NULL"
        ))?;
        let times = read
            .query_map(params![symbol], |r| r.get::<_, NaiveDateTime>(0))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut app = conn.appender("stage_sessions")?;
        for ts in times {
            let session: Option<NaiveDate> = model.session_of(ts);
            if let Some(d) = session {
                app.append_row(params![symbol, ts, d])?;
            }
        }
        app.flush()?;
    }
    super::staged::ensure_table(conn)?;
    conn.execute_batch(&format!(
        "UPDATE stage_bars SET session = x.session FROM stage_sessions x \
         WHERE stage_bars.symbol = x.symbol AND stage_bars.ts = x.ts AND stage_bars.resolution IN ({list}); \
         DROP TABLE stage_sessions;"
    ))?;
    Ok(())
}
