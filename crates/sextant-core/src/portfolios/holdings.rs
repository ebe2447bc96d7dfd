//! Holdings on a date: every open position with its cost, its last known price, its value and
//! its share of the portfolio.

use super::ledger::{self, Ledger};
use super::prices::{PriceBook, PriceSource};
use super::{PortfolioError, PortfolioService};
use crate::common::blocking;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::Symbol;

/// One open position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holding {
    /// The symbol held.
    pub symbol: Symbol,
    /// Negative for a short.
    pub quantity: f64,
    /// Per unit, fees included.
    pub average_cost: f64,
    /// The last known price on or before the holdings date (see [`super`] on pricing).
    pub last_price: f64,
    /// The date `last_price` is from: the holdings date or an earlier one carried forward.
    pub price_date: NaiveDate,
    /// Whether `last_price` is a cached close or the portfolio's own latest trade price.
    pub price_source: PriceSource,
    /// `quantity × last_price` (negative for a short).
    pub market_value: f64,
    /// `(last_price − average_cost) × quantity`.
    pub unrealised_pnl: f64,
    /// Market value over the portfolio's total value (cash included); `None` when that total is
    /// not positive.
    pub weight: Option<f64>,
}

/// Everything held on a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holdings {
    /// The portfolio valued.
    pub portfolio_id: String,
    /// The holdings date: transactions dated after it are left out.
    pub as_of: NaiveDate,
    /// Cash after the transactions up to `as_of`; negative when more was spent than held.
    pub cash: f64,
    /// Sum of the positions' market values.
    pub market_value: f64,
    /// Cash plus dividends receivable plus market value.
    pub total_value: f64,
    /// Profit already realised by sells (buys to cover for shorts), net of their fees.
    pub realised_pnl: f64,
    /// Dividends earned (paid on shorts) since the first transaction, at their ex-dates: in
    /// `cash` once paid, in `dividends_receivable` until their payment date.
    pub dividends: f64,
    /// Dividends earned whose payment date is after `as_of` (the vendor's payment date from
    /// `DIVIDENDS`; without one a dividend is paid on its ex-date).
    pub dividends_receivable: f64,
    /// Sum of the positions' unrealised P&L.
    pub unrealised_pnl: f64,
    /// By symbol.
    pub positions: Vec<Holding>,
}

/// Values a ledger at `as_of`. A position with no price at all (impossible for one opened by a
/// trade, which brings its own price) is valued at its average cost.
pub(crate) fn value_ledger(
    portfolio_id: &str,
    ledger: &Ledger,
    book: &PriceBook,
    as_of: NaiveDate,
) -> Holdings {
    let mut positions: Vec<Holding> = ledger
        .positions
        .iter()
        .map(|(symbol, pos)| {
            let mark = book.mark(symbol, as_of);
            let (price, date, source) = mark
                .map_or((pos.average_cost, as_of, PriceSource::Trade), |m| {
                    (m.price, m.date, m.source)
                });
            Holding {
                symbol: symbol.clone(),
                quantity: pos.quantity,
                average_cost: pos.average_cost,
                last_price: price,
                price_date: date,
                price_source: source,
                market_value: pos.quantity * price,
                unrealised_pnl: (price - pos.average_cost) * pos.quantity,
                weight: None,
            }
        })
        .collect();
    let market_value: f64 = positions.iter().map(|h| h.market_value).sum();
    let total_value = ledger.cash + ledger.receivable() + market_value;
    for h in &mut positions {
        h.weight = (total_value > 0.0).then(|| h.market_value / total_value);
    }
    Holdings {
        portfolio_id: portfolio_id.to_string(),
        as_of,
        cash: ledger.cash,
        market_value,
        total_value,
        realised_pnl: ledger.realised_pnl,
        dividends: ledger.dividends,
        dividends_receivable: ledger.receivable(),
        unrealised_pnl: positions.iter().map(|h| h.unrealised_pnl).sum(),
        positions,
    }
}

impl PortfolioService {
    /// Holdings after every transaction dated on or before `as_of` (default: today, UTC).
    pub async fn holdings(
        &self,
        portfolio_id: &str,
        as_of: Option<NaiveDate>,
    ) -> Result<Holdings, PortfolioError> {
        let p = self.get(portfolio_id).await?;
        let as_of = as_of.unwrap_or_else(|| Utc::now().date_naive());
        let mut txs = self.all_transactions(portfolio_id).await?;
        txs.retain(|t| t.date <= as_of);
        // Stored history was validated on write; replaying it with shorting allowed only
        // recomputes it.
        let cache = self.cache.clone();
        let history = txs.clone();
        let book = blocking(move || PriceBook::load(&cache, &history)).await?;
        let ledger = ledger::replay(p.base_cash, &txs, true, &book.actions, Some(as_of))?;
        Ok(value_ledger(portfolio_id, &ledger, &book, as_of))
    }
}
