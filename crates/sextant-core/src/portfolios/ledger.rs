//! Replaying transactions into cash and positions: pure, so validation, holdings and the value
//! series all share one definition of what a transaction does.
//!
//! Average cost includes fees: a buy adds `quantity × price + fee` to the cost of a long
//! position; a sell that opens or adds to a short records proceeds net of the fee. Reducing a
//! position keeps its average cost and realises `(price − average) × quantity` (sign-adjusted
//! for shorts) minus the fee; crossing zero closes the old side and opens the new one at the
//! trade price.

use super::transactions::{Transaction, TransactionKind};
use crate::common::InvalidField;
use chrono::NaiveDate;
use sextant_domain::Symbol;
use std::collections::BTreeMap;

/// Corporate actions of the traded symbols: per symbol, `(ex-date, split ratio, dividend per
/// share, payment date)` in date order (see `sextant_domain::prices::actions`; the payment date
/// is the vendor's from `DIVIDENDS`, the ex-date when unknown). Transactions are recorded in
/// the shares and prices of their day, so a position must follow its splits (100 shares bought
/// before a 2:1 split are 200 after it) and collect its dividends, or a split looks like a
/// halving of the position's value and a later sale of the post-split shares like a short.
pub(crate) type ActionBook = BTreeMap<Symbol, Vec<(NaiveDate, f64, f64, NaiveDate)>>;

/// The actions of an [`ActionBook`] in date order, applied to a ledger as its history is
/// replayed: everything dated on or before a day is applied before that day's transactions
/// (a position bought on the ex-date gets neither the split nor the dividend twice).
pub(crate) struct ActionFeed {
    events: Vec<(NaiveDate, Symbol, f64, f64, NaiveDate)>,
    next: usize,
}

impl ActionFeed {
    pub fn new(book: &ActionBook) -> Self {
        let mut events: Vec<(NaiveDate, Symbol, f64, f64, NaiveDate)> = book
            .iter()
            .flat_map(|(s, v)| {
                v.iter()
                    .map(move |&(d, k, div, pay)| (d, s.clone(), k, div, pay))
            })
            .collect();
        events.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        ActionFeed { events, next: 0 }
    }

    /// Applies every action dated on or before `date` not applied yet, and pays the dividends
    /// whose payment date has come; returns the dividend income earned (at the ex-dates).
    ///
    /// A dividend is earned on its ex-date by the shares held into it (so the ex-date's price
    /// drop is no loss: the entitlement is a receivable in the portfolio's value) and becomes
    /// cash on its payment date.
    pub fn apply_through(&mut self, ledger: &mut Ledger, date: NaiveDate) -> f64 {
        let mut paid = 0.0;
        while let Some((d, symbol, k, div, pay)) = self.events.get(self.next) {
            if *d > date {
                break;
            }
            if let Some(pos) = ledger.positions.get_mut(symbol) {
                if *div > 0.0 {
                    let cash = pos.quantity * div;
                    ledger.receivables.push((*pay, cash));
                    ledger.dividends += cash;
                    paid += cash;
                }
                if *k > 0.0 && *k != 1.0 {
                    pos.quantity *= k;
                    pos.average_cost /= k;
                }
            }
            self.next += 1;
        }
        // Dividends whose payment date has come become cash.
        let (due, later): (Vec<_>, Vec<_>) =
            ledger.receivables.iter().partition(|(pay, _)| *pay <= date);
        ledger.cash += due.iter().map(|(_, c)| c).sum::<f64>();
        ledger.receivables = later;
        paid
    }
}

/// Quantities within this of zero are zero: sums of fractional shares leave binary dust.
const DUST: f64 = 1e-9;

/// The position in one symbol.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Position {
    /// Negative for a short.
    pub quantity: f64,
    /// Per unit, fees included; 0 when flat.
    pub average_cost: f64,
}

/// Cash and positions after some transactions.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Ledger {
    pub cash: f64,
    pub positions: BTreeMap<Symbol, Position>,
    pub realised_pnl: f64,
    /// Dividends earned (paid, for shorts) through corporate actions, at their ex-dates.
    pub dividends: f64,
    /// Dividends earned and not yet paid: `(payment date, cash)`.
    pub receivables: Vec<(NaiveDate, f64)>,
}

impl Ledger {
    /// Dividends earned and not yet paid.
    pub fn receivable(&self) -> f64 {
        self.receivables.iter().map(|(_, c)| c).sum()
    }

    pub fn new(base_cash: f64) -> Self {
        Ledger {
            cash: base_cash,
            ..Ledger::default()
        }
    }

    /// Applies one transaction and returns its external cash flow (deposits positive,
    /// withdrawals negative, trades 0). Fails, changing nothing, when a sell would leave a
    /// negative quantity and `allow_short` is off.
    pub fn apply(&mut self, tx: &Transaction, allow_short: bool) -> Result<f64, InvalidField> {
        let (symbol, qty, price) = match (tx.kind, &tx.symbol, tx.quantity, tx.price) {
            (TransactionKind::Deposit, ..) => {
                self.cash += tx.amount;
                return Ok(tx.amount);
            }
            (TransactionKind::Withdraw, ..) => {
                self.cash -= tx.amount;
                return Ok(-tx.amount);
            }
            (_, Some(s), Some(q), Some(p)) => (s, q, p),
            _ => {
                return Err(InvalidField::new(
                    "transaction",
                    format!("stored trade {} lacks symbol, quantity or price", tx.id),
                ))
            }
        };
        let buy = tx.kind == TransactionKind::Buy;
        let signed = if buy { qty } else { -qty };
        let pos = self.positions.get(symbol).copied().unwrap_or_default();
        let after = pos.quantity + signed;
        if !allow_short && after < -DUST {
            return Err(InvalidField::new(
                "quantity",
                format!(
                    "selling {qty} {symbol} on {} leaves {} held (shorting is off for this portfolio)",
                    tx.date, after
                ),
            ));
        }
        let held = pos.quantity.abs();
        let mut next = pos;
        if held <= DUST || pos.quantity.signum() == signed.signum() {
            // Opening or adding: fees raise a long's cost and lower a short's proceeds.
            let unit = if buy {
                price + tx.fee / qty
            } else {
                price - tx.fee / qty
            };
            next.average_cost = (pos.average_cost * held + unit * qty) / (held + qty);
        } else {
            let closed = qty.min(held);
            let direction = pos.quantity.signum();
            let fee_closed = tx.fee * closed / qty;
            self.realised_pnl += (price - pos.average_cost) * closed * direction - fee_closed;
            if qty > held + DUST {
                // Crossed zero: the remainder opens the other side at the trade price.
                let rest = qty - held;
                let fee_rest = tx.fee - fee_closed;
                next.average_cost = if buy {
                    price + fee_rest / rest
                } else {
                    price - fee_rest / rest
                };
            }
        }
        next.quantity = if after.abs() <= DUST { 0.0 } else { after };
        if next.quantity == 0.0 {
            next.average_cost = 0.0;
        }
        self.cash += if buy {
            -(tx.amount + tx.fee)
        } else {
            tx.amount - tx.fee
        };
        if next.quantity == 0.0 {
            self.positions.remove(symbol);
        } else {
            self.positions.insert(symbol.clone(), next);
        }
        Ok(0.0)
    }
}

/// Replays `txs` (already in order) from the opening cash with the corporate actions of
/// `actions` up to the last transaction (or `through`, when later), checking every step.
pub(crate) fn replay(
    base_cash: f64,
    txs: &[Transaction],
    allow_short: bool,
    actions: &ActionBook,
    through: Option<NaiveDate>,
) -> Result<Ledger, InvalidField> {
    let mut ledger = Ledger::new(base_cash);
    let mut feed = ActionFeed::new(actions);
    for tx in txs {
        feed.apply_through(&mut ledger, tx.date);
        ledger.apply(tx, allow_short)?;
    }
    if let Some(d) = through {
        feed.apply_through(&mut ledger, d);
    }
    Ok(ledger)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};

    fn trade(kind: TransactionKind, qty: f64, price: f64, fee: f64) -> Transaction {
        Transaction {
            id: String::new(),
            portfolio_id: String::new(),
            kind,
            date: NaiveDate::from_ymd_opt(2012, 1, 3).unwrap_or_default(),
            symbol: Symbol::new("MSFT").ok(),
            quantity: Some(qty),
            price: Some(price),
            fee,
            amount: qty * price,
            note: None,
            created_at: Utc::now(),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn average_cost_realised_pnl_and_crossing_zero() {
        let msft = Symbol::new("MSFT").expect("symbol");
        let mut l = Ledger::new(1_000.0);
        l.apply(&trade(TransactionKind::Buy, 10.0, 10.0, 1.0), false)
            .expect("buy");
        assert!(close(l.positions[&msft].average_cost, 10.1));
        assert!(close(l.cash, 899.0));
        // Without shorting, selling 15 of 10 is refused and changes nothing.
        let sell = trade(TransactionKind::Sell, 15.0, 12.0, 1.5);
        assert_eq!(
            l.apply(&sell, false).map_err(|e| e.field),
            Err("quantity".to_string())
        );
        assert!(close(l.cash, 899.0));
        // With shorting: 10 close at a profit of (12 − 10.1) × 10 − 1 (their share of the fee),
        // 5 open short at 12 − 0.5 / 5.
        l.apply(&sell, true).expect("sell");
        assert!(close(l.realised_pnl, 18.0));
        assert_eq!(l.positions[&msft].quantity, -5.0);
        assert!(close(l.positions[&msft].average_cost, 11.9));
        assert!(close(l.cash, 899.0 + 180.0 - 1.5));
        // Covering the short flattens the position and forgets its cost.
        l.apply(&trade(TransactionKind::Buy, 5.0, 11.0, 0.0), true)
            .expect("cover");
        assert!(!l.positions.contains_key(&msft));
        assert!(close(l.realised_pnl, 18.0 + 0.9 * 5.0));
    }
}
