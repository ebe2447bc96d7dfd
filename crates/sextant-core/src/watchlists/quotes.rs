//! Quotes of a watchlist: the latest cached close of each symbol and its trailing returns.
//!
//! Windows count trading bars, not calendar days: 1D = 1 bar, 1W = 5, 1M = 21, 3M = 63,
//! 1Y = 252; YTD compares with the last close of the previous calendar year. A window without
//! enough history is null rather than a shorter window, so numbers are always comparable.

use super::{WatchlistError, WatchlistService};
use crate::common::{blocking, daily_closes};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sextant_data::DataError;
use sextant_domain::{PriceBasis, Resolution, Symbol};

/// Simple price returns over trailing windows of daily bars; `None` without enough history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TrailingReturns {
    /// Last close over the previous one.
    pub one_day: Option<f64>,
    /// Over 5 bars.
    pub one_week: Option<f64>,
    /// Over 21 bars.
    pub one_month: Option<f64>,
    /// Over 63 bars.
    pub three_months: Option<f64>,
    /// Over the last close of the previous calendar year.
    pub ytd: Option<f64>,
    /// Over 252 bars.
    pub one_year: Option<f64>,
}

/// The latest close of one symbol and its trailing returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// The symbol quoted.
    pub symbol: Symbol,
    /// False when the cache holds no daily closes for the symbol (every other field is empty).
    pub known: bool,
    /// The latest cached daily close (raw, unadjusted).
    pub last_close: Option<f64>,
    /// The session date of `last_close`: how stale the quote is.
    pub last_date: Option<NaiveDate>,
    /// Trailing total returns as of `last_date` (splits neutral, dividends reinvested: a
    /// window across a 2:1 split is not a −50 % move); all empty for an unknown symbol.
    pub returns: TrailingReturns,
    /// False when the cache has no adjustment data for the symbol (no adjusted close, split,
    /// dividend, or fetched DIVIDENDS/SPLITS): its returns are then of the raw prints.
    pub returns_adjusted: bool,
}

/// Quotes of every symbol of a watchlist, in the list's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchlistQuotes {
    /// The watchlist's id.
    pub id: String,
    /// The watchlist's name.
    pub name: String,
    /// One quote per listed symbol, in the list's order, unknown symbols included.
    pub quotes: Vec<Quote>,
}

/// Trailing returns as of the last close of `closes` (oldest first). A window of `n` bars
/// compares the last close with the one `n` bars earlier, so it needs `n + 1` closes.
pub fn trailing_returns(closes: &[(NaiveDate, f64)]) -> TrailingReturns {
    let Some(&(last_date, last)) = closes.last() else {
        return TrailingReturns::default();
    };
    let ratio = |base: f64| (base > 0.0 && last.is_finite()).then(|| last / base - 1.0);
    let back = |n: usize| {
        closes
            .len()
            .checked_sub(n + 1)
            .and_then(|i| ratio(closes[i].1))
    };
    let ytd = closes
        .iter()
        .rposition(|(d, _)| d.year() < last_date.year())
        .and_then(|i| ratio(closes[i].1));
    TrailingReturns {
        one_day: back(1),
        one_week: back(5),
        one_month: back(21),
        three_months: back(63),
        ytd,
        one_year: back(252),
    }
}

impl WatchlistService {
    /// The latest close and trailing returns of every symbol.
    pub async fn quotes(&self, id: &str) -> Result<WatchlistQuotes, WatchlistError> {
        let stored = self.load(id).await?;
        let cache = self.cache.clone();
        let symbols = stored.symbols.clone();
        let quotes = blocking(move || {
            symbols
                .into_iter()
                .map(|symbol| {
                    let closes = daily_closes(&cache, &symbol)?;
                    let total: Vec<(NaiveDate, f64)> = cache
                        .bars_on(
                            &symbol,
                            Resolution::Daily,
                            None,
                            None,
                            PriceBasis::TotalReturn,
                        )?
                        .iter()
                        .map(|b| (b.ts.date(), b.close))
                        .collect();
                    Ok(Quote {
                        known: !closes.is_empty(),
                        last_close: closes.last().map(|c| c.1),
                        last_date: closes.last().map(|c| c.0),
                        returns: trailing_returns(&total),
                        returns_adjusted: cache.adjustment_known(&symbol, Resolution::Daily)?,
                        symbol,
                    })
                })
                .collect::<Result<Vec<_>, DataError>>()
        })
        .await?;
        Ok(WatchlistQuotes {
            id: id.to_string(),
            name: stored.name,
            quotes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_need_one_more_close_than_their_length() {
        let start = NaiveDate::from_ymd_opt(2012, 12, 24).unwrap_or_default();
        let closes: Vec<(NaiveDate, f64)> = (0..6)
            .map(|i| (start + chrono::Duration::days(i * 2), 100.0 + i as f64))
            .collect();
        let r = trailing_returns(&closes);
        assert_eq!(r.one_day, Some(105.0 / 104.0 - 1.0));
        assert_eq!(
            r.one_week,
            Some(105.0 / 100.0 - 1.0),
            "6 closes cover 5 bars"
        );
        assert_eq!(r.one_month, None);
        // Dec 24, 26, 28, 30 | Jan 1, 3: YTD is over Dec 30's close.
        assert_eq!(r.ytd, Some(105.0 / 103.0 - 1.0));
        assert_eq!(
            trailing_returns(&closes[4..]).ytd,
            None,
            "no close in the previous year"
        );
        assert_eq!(trailing_returns(&closes[4..5]).one_day, None);
        assert_eq!(trailing_returns(&[]), TrailingReturns::default());
    }
}
