//! The prices a valuation may use: cached daily closes and the portfolio's own trade prices.

use super::ledger::ActionBook;
use super::transactions::Transaction;
use crate::common::{daily_closes, value_at};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_data::{Cache, DataError};
use sextant_domain::{Resolution, Symbol};
use std::collections::BTreeMap;

/// Where a valuation price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// A cached daily close (on the date or carried forward from an earlier one).
    Close,
    /// The portfolio's own latest trade in the symbol, newer than any cached close.
    Trade,
}

/// A price used to value a position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Mark {
    pub date: NaiveDate,
    pub price: f64,
    pub source: PriceSource,
}

/// Closes and trade prices of every symbol a portfolio ever traded, oldest first.
#[derive(Debug, Default)]
pub(crate) struct PriceBook {
    closes: BTreeMap<Symbol, Vec<(NaiveDate, f64)>>,
    trades: BTreeMap<Symbol, Vec<(NaiveDate, f64)>>,
    /// Splits and dividends of the traded symbols, applied to positions as history replays.
    pub actions: ActionBook,
}

/// The corporate actions of `symbols` from their cached daily bars (explicit vendor data, or
/// recovered from the adjusted/raw ratio; see `sextant_domain::prices::actions`). Symbols with
/// no cached bars have none.
pub(crate) fn load_actions(cache: &Cache, symbols: &[Symbol]) -> Result<ActionBook, DataError> {
    let mut book = ActionBook::new();
    for s in symbols {
        let bars = cache.bars(s, Resolution::Daily, None, None)?;
        // The vendor's DIVIDENDS where fetched, by ex-date: the declared amount (more exact
        // than one implied by an adjusted-close ratio, which the vendor rounds) and the payment
        // date. Without them a dividend is the bars' and is paid on its ex-date.
        let mut declared: BTreeMap<NaiveDate, (f64, Option<NaiveDate>)> = BTreeMap::new();
        for e in cache.dividends(s)? {
            let entry = declared.entry(e.ex_date).or_insert((0.0, None));
            entry.0 += e.amount;
            entry.1 = entry.1.or(e.payment_date);
        }
        let acts: Vec<(NaiveDate, f64, f64, NaiveDate)> = bars
            .iter()
            .zip(sextant_domain::prices::actions(&bars))
            .filter(|(_, (k, d))| *k != 1.0 || *d > 0.0)
            .map(|(b, (k, d))| {
                let ex = b.ts.date();
                let (amount, pay) = match declared.get(&ex) {
                    Some(&(amount, pay)) if d > 0.0 => (amount, pay),
                    _ => (d, None),
                };
                (ex, k, amount, pay.filter(|p| *p >= ex).unwrap_or(ex))
            })
            .collect();
        if !acts.is_empty() {
            book.insert(s.clone(), acts);
        }
    }
    Ok(book)
}

/// The symbols `txs` trade, each once.
pub(crate) fn traded_symbols(txs: &[Transaction]) -> Vec<Symbol> {
    let mut v: Vec<Symbol> = txs.iter().filter_map(|t| t.symbol.clone()).collect();
    v.sort();
    v.dedup();
    v
}

impl PriceBook {
    /// Reads the closes of the symbols in `txs` from the cache (blocking).
    pub fn load(cache: &Cache, txs: &[Transaction]) -> Result<PriceBook, DataError> {
        let mut book = PriceBook::default();
        for tx in txs {
            if let (Some(s), Some(p)) = (&tx.symbol, tx.price) {
                book.trades.entry(s.clone()).or_default().push((tx.date, p));
            }
        }
        for series in book.trades.values_mut() {
            // Stable: same-date trades keep their recorded order, the last one wins.
            series.sort_by_key(|(d, _)| *d);
        }
        let symbols: Vec<Symbol> = book.trades.keys().cloned().collect();
        book.actions = load_actions(cache, &symbols)?;
        for s in symbols {
            let closes = daily_closes(cache, &s)?;
            book.closes.insert(s, closes);
        }
        Ok(book)
    }

    /// The last known price on or before `date`: the latest close, unless a trade is more recent
    /// (a close wins a tie, being the market's end-of-day price).
    pub fn mark(&self, symbol: &Symbol, date: NaiveDate) -> Option<Mark> {
        let close = self.closes.get(symbol).and_then(|s| value_at(s, date));
        let trade = self.trades.get(symbol).and_then(|s| value_at(s, date));
        match (close, trade) {
            (Some(c), Some(t)) if t.0 > c.0 => Some(mark(t, PriceSource::Trade)),
            (Some(c), _) => Some(mark(c, PriceSource::Close)),
            (None, Some(t)) => Some(mark(t, PriceSource::Trade)),
            (None, None) => None,
        }
    }

    /// Every date with a cached close in `[from, to]`, over all symbols.
    pub fn close_dates(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Iterator<Item = NaiveDate> + '_ {
        self.closes.values().flat_map(move |s| {
            let lo = s.partition_point(|(d, _)| *d < from);
            let hi = s.partition_point(|(d, _)| *d <= to);
            s.get(lo..hi).unwrap_or_default().iter().map(|(d, _)| *d)
        })
    }

    /// The newest cached close of any symbol.
    pub fn last_close_date(&self) -> Option<NaiveDate> {
        self.closes
            .values()
            .filter_map(|s| s.last().map(|c| c.0))
            .max()
    }
}

fn mark((date, price): (NaiveDate, f64), source: PriceSource) -> Mark {
    Mark {
        date,
        price,
        source,
    }
}
