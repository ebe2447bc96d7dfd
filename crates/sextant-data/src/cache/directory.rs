//! The vendor's symbol directory (Alpha Vantage `LISTING_STATUS`) and a search over it and over
//! what the cache holds.

use super::Cache;
use crate::providers::alphavantage::Listing;
use crate::Result;
use chrono::Utc;
use duckdb::params;

/// One symbol a search found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DirectoryEntry {
    /// The ticker.
    pub symbol: String,
    /// The company or fund name (empty when the directory has none).
    pub name: String,
    /// Listing exchange (`NYSE`, `NASDAQ`, …); empty for a cached symbol not in the directory.
    pub exchange: String,
    /// `Stock`, `ETF`, or the cached instrument's asset class.
    pub asset_type: String,
    /// `Active`, `Delisted`, or `cached` for a symbol known only from the cache.
    pub status: String,
    /// Whether the cache holds bars of it.
    pub cached: bool,
}

impl Cache {
    /// Replaces the stored directory rows of one state (`Active` or `Delisted`) with `listings`
    /// (one transaction). Returns the rows written.
    pub fn store_listings(&self, listings: &[Listing], delisted: bool) -> Result<usize> {
        let status = if delisted { "Delisted" } else { "Active" };
        self.write(|conn| {
            conn.execute(
                "DELETE FROM symbol_directory WHERE status = ?",
                params![status],
            )?;
            let now = Utc::now().naive_utc();
            let mut app = conn.appender("symbol_directory")?;
            for l in listings {
                app.append_row(params![
                    l.symbol,
                    l.name,
                    l.exchange,
                    l.asset_type,
                    l.ipo_date,
                    l.delisting_date,
                    status,
                    now
                ])?;
            }
            app.flush()?;
            Ok(listings.len())
        })
    }

    /// Symbols whose ticker or name contains `query` (case-insensitive), from the directory and
    /// from the cache: exact ticker first, then tickers starting with it, then the rest by
    /// ticker. At most `limit`.
    pub fn search_symbols(&self, query: &str, limit: usize) -> Result<Vec<DirectoryEntry>> {
        let q = query.trim().to_ascii_lowercase();
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "WITH cached AS (SELECT DISTINCT symbol FROM bars), \
             dir AS ( \
               SELECT d.symbol, d.name, d.exchange, d.asset_type, d.status FROM symbol_directory d \
               UNION ALL \
               SELECT c.symbol, '', '', coalesce(i.asset_class, 'us_equity'), 'cached' FROM cached c \
               LEFT JOIN instruments i ON i.symbol = c.symbol \
               WHERE c.symbol NOT IN (SELECT symbol FROM symbol_directory)) \
             SELECT symbol, name, exchange, asset_type, status, symbol IN (SELECT symbol FROM cached) \
             FROM dir WHERE contains(lower(symbol), ?) OR contains(lower(name), ?) \
             ORDER BY lower(symbol) = ? DESC, starts_with(lower(symbol), ?) DESC, symbol, status \
             LIMIT ?",
        )?;
        let rows = stmt
            .query_map(params![q, q, q, q, limit as i64], |r| {
                Ok(DirectoryEntry {
                    symbol: r.get(0)?,
                    name: r.get(1)?,
                    exchange: r.get(2)?,
                    asset_type: r.get(3)?,
                    status: r.get(4)?,
                    cached: r.get(5)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
