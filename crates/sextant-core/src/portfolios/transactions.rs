//! Recording transactions: validation of each one on its own, then of the whole history with it
//! (a back-dated sell must not leave any later date short), under the portfolio's revision
//! compare-and-swap.

use super::{ledger, PortfolioError, PortfolioService, CAS_ATTEMPTS, TRANSACTIONS};
use crate::common::{find_page, fixed_ts, from_doc, to_doc, InvalidField, Page, PageRequest};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sextant_domain::Symbol;
use sextant_meta::{Filter, Query};

/// Longest note, in characters.
pub const MAX_NOTE_LEN: usize = 500;

/// What a transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    /// Buy `quantity` of `symbol` at `price`, paying `fee`.
    Buy,
    /// Sell `quantity` of `symbol` at `price`, paying `fee`.
    Sell,
    /// Cash in from outside (an external flow).
    Deposit,
    /// Cash out (an external flow).
    Withdraw,
}

impl TransactionKind {
    fn is_trade(self) -> bool {
        matches!(self, TransactionKind::Buy | TransactionKind::Sell)
    }
}

/// A transaction to record. Trades need `symbol`, `quantity`, `price` (and optionally `fee`);
/// deposits and withdrawals need `amount` and nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTransaction {
    /// What the transaction does.
    pub kind: TransactionKind,
    /// The day it takes effect: from 1800-01-01 and not after today in the earliest time zone
    /// (UTC+14).
    pub date: NaiveDate,
    /// Trades only (required): the ticker, trimmed and upper-cased.
    #[serde(default)]
    pub symbol: Option<String>,
    /// Trades only (required): units traded, finite and greater than 0.
    #[serde(default)]
    pub quantity: Option<f64>,
    /// Trades only (required): price per unit, finite and greater than 0.
    #[serde(default)]
    pub price: Option<f64>,
    /// Trades only: cost of the trade, finite and not negative. Default: `0` (deposits and
    /// withdrawals accept only 0).
    #[serde(default)]
    pub fee: Option<f64>,
    /// Deposits and withdrawals only (required): cash moved, finite and greater than 0.
    #[serde(default)]
    pub amount: Option<f64>,
    /// Free text for people, at most [`MAX_NOTE_LEN`] characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// A recorded transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// The store's id, assigned when recorded.
    pub id: String,
    /// The portfolio it belongs to.
    pub portfolio_id: String,
    /// What the transaction does.
    pub kind: TransactionKind,
    /// Takes effect at the close of this date.
    pub date: NaiveDate,
    /// The ticker traded; none for deposits and withdrawals.
    pub symbol: Option<Symbol>,
    /// Units traded (always positive; `kind` gives the side); none for cash flows.
    pub quantity: Option<f64>,
    /// Price per unit; none for deposits and withdrawals.
    pub price: Option<f64>,
    /// Always 0 for deposits and withdrawals.
    pub fee: f64,
    /// Gross cash moved: `quantity × price` for trades, the amount for deposits and withdrawals.
    pub amount: f64,
    /// Free text given when recorded.
    pub note: Option<String>,
    /// When it was recorded: orders transactions of the same date, so a same-day buy and sell
    /// apply in the order they were entered.
    #[serde(with = "fixed_ts")]
    pub created_at: DateTime<Utc>,
}

impl Transaction {
    /// The order transactions apply in: by date, then as recorded. Stored as `order_key` so the
    /// store sorts and pages on it.
    fn order_key(&self) -> String {
        format!("{}|{}", self.date, fixed_ts::format(&self.created_at))
    }
}

/// Checks a transaction on its own and builds the record (id and portfolio left to the caller).
pub fn validate(new: &NewTransaction, now: DateTime<Utc>) -> Result<Transaction, InvalidField> {
    // "Today" somewhere on Earth: UTC+14 is the earliest time zone, so a user there entering
    // today's trade is not told it is in the future.
    let latest = (now + Duration::hours(14)).date_naive();
    if let Err(e) = sextant_domain::dates::check_date("date", new.date) {
        return Err(InvalidField::new("date", e.to_string()));
    }
    if new.date > latest {
        return Err(InvalidField::new(
            "date",
            format!("{} is in the future", new.date),
        ));
    }
    let positive = |field: &str, v: Option<f64>| match v {
        Some(x) if x.is_finite() && x > 0.0 => Ok(x),
        Some(_) => Err(InvalidField::new(
            field,
            "must be a finite number greater than 0",
        )),
        None => Err(InvalidField::new(
            field,
            format!("is required for a {:?}", new.kind).to_lowercase(),
        )),
    };
    let absent = |field: &str, present: bool| {
        if present {
            Err(InvalidField::new(field, "is only for buys and sells"))
        } else {
            Ok(())
        }
    };
    let note = match &new.note {
        Some(n) if n.chars().count() > MAX_NOTE_LEN => {
            return Err(InvalidField::new(
                "note",
                format!("must be at most {MAX_NOTE_LEN} characters"),
            ))
        }
        n => n.clone(),
    };
    let mut tx = Transaction {
        id: String::new(),
        portfolio_id: String::new(),
        kind: new.kind,
        date: new.date,
        symbol: None,
        quantity: None,
        price: None,
        fee: 0.0,
        amount: 0.0,
        note,
        created_at: now,
    };
    if new.kind.is_trade() {
        let raw = new
            .symbol
            .as_deref()
            .ok_or_else(|| InvalidField::new("symbol", "is required for a trade"))?;
        let symbol = Symbol::new(raw).map_err(|e| InvalidField::new("symbol", e.to_string()))?;
        let quantity = positive("quantity", new.quantity)?;
        let price = positive("price", new.price)?;
        let fee = new.fee.unwrap_or(0.0);
        if !(fee.is_finite() && fee >= 0.0) {
            return Err(InvalidField::new(
                "fee",
                "must be a finite number, zero or more",
            ));
        }
        if new.amount.is_some() {
            return Err(InvalidField::new(
                "amount",
                "is only for deposits and withdrawals",
            ));
        }
        let amount = quantity * price;
        if !amount.is_finite() {
            return Err(InvalidField::new("quantity", "quantity × price overflows"));
        }
        (tx.symbol, tx.quantity, tx.price, tx.fee, tx.amount) =
            (Some(symbol), Some(quantity), Some(price), fee, amount);
    } else {
        absent("symbol", new.symbol.is_some())?;
        absent("quantity", new.quantity.is_some())?;
        absent("price", new.price.is_some())?;
        absent("fee", new.fee.is_some_and(|f| f != 0.0))?;
        tx.amount = positive("amount", new.amount)?;
    }
    Ok(tx)
}

impl PortfolioService {
    /// Records a transaction after checking it and the history it joins: without shorting, no
    /// date may end with a negative quantity of any symbol.
    pub async fn add_transaction(
        &self,
        portfolio_id: &str,
        new: &NewTransaction,
    ) -> Result<Transaction, PortfolioError> {
        let mut tx = validate(new, Utc::now())?;
        tx.portfolio_id = portfolio_id.to_string();
        for _ in 0..CAS_ATTEMPTS {
            let p = self.get(portfolio_id).await?;
            let mut txs = self.all_transactions(portfolio_id).await?;
            txs.push(tx.clone());
            sort(&mut txs);
            let actions = self.actions(&txs).await?;
            ledger::replay(p.base_cash, &txs, p.allow_short, &actions, None)?;
            // Claim the revision first: a concurrent writer that validated against the same
            // history now fails its swap and re-validates with this transaction included (see
            // `still_valid` for the narrow window that remains).
            if self.bump(&p, json!({})).await?.is_none() {
                continue;
            }
            let mut doc = to_doc(&tx)?;
            if let Some(o) = doc.as_object_mut() {
                o.insert("order_key".into(), json!(tx.order_key()));
            }
            tx.id = self.meta.insert(TRANSACTIONS, doc).await?;
            if !self.still_valid(&p).await? {
                self.meta.delete(TRANSACTIONS, &tx.id).await?;
                break;
            }
            return Ok(tx);
        }
        Err(PortfolioError::Conflict(portfolio_id.to_string()))
    }

    /// Deletes a transaction unless the history without it is invalid (a sell left uncovered).
    pub async fn delete_transaction(
        &self,
        portfolio_id: &str,
        transaction_id: &str,
    ) -> Result<(), PortfolioError> {
        for _ in 0..CAS_ATTEMPTS {
            let p = self.get(portfolio_id).await?;
            let mut txs = self.all_transactions(portfolio_id).await?;
            let before = txs.len();
            txs.retain(|t| t.id != transaction_id);
            if txs.len() == before {
                return Err(PortfolioError::TransactionNotFound {
                    portfolio: portfolio_id.to_string(),
                    transaction: transaction_id.to_string(),
                });
            }
            let actions = self.actions(&txs).await?;
            ledger::replay(p.base_cash, &txs, p.allow_short, &actions, None)
                .map_err(|e| InvalidField::new("transaction_id", e.message))?;
            if self.bump(&p, json!({})).await?.is_none() {
                continue;
            }
            let Some(doc) = self.meta.get(TRANSACTIONS, transaction_id).await? else {
                continue;
            };
            self.meta.delete(TRANSACTIONS, transaction_id).await?;
            if !self.still_valid(&p).await? {
                self.meta.insert(TRANSACTIONS, doc).await?;
                break;
            }
            return Ok(());
        }
        Err(PortfolioError::Conflict(portfolio_id.to_string()))
    }

    /// Checks the stored history again after a write. The revision swap orders writers, but one
    /// that read the history between another's swap and its write validated without that
    /// change; whichever writer checks last sees the combined history, and undoes its own
    /// write (reporting a conflict, so the caller retries and gets the real reason) when the
    /// combination is invalid.
    async fn still_valid(&self, p: &super::Portfolio) -> Result<bool, PortfolioError> {
        let txs = self.all_transactions(&p.id).await?;
        let actions = self.actions(&txs).await?;
        Ok(ledger::replay(p.base_cash, &txs, p.allow_short, &actions, None).is_ok())
    }

    /// A page of the portfolio's transactions in the order they apply (date, then as recorded).
    pub async fn transactions(
        &self,
        portfolio_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Transaction>, PortfolioError> {
        self.get(portfolio_id).await?;
        self.ensure_index().await?;
        let query = Query::new()
            .filter(Filter::new().eq("portfolio_id", portfolio_id))
            .sort_asc("order_key");
        let page =
            find_page::<PortfolioError>(self.meta.as_ref(), TRANSACTIONS, query, page).await?;
        page.try_map(|d| Ok(from_doc(d)?))
    }

    /// Every transaction of the portfolio, in the order they apply.
    pub(crate) async fn all_transactions(
        &self,
        portfolio_id: &str,
    ) -> Result<Vec<Transaction>, PortfolioError> {
        self.ensure_index().await?;
        let query = Query::new()
            .filter(Filter::new().eq("portfolio_id", portfolio_id))
            .sort_asc("order_key");
        let docs = self.meta.find(TRANSACTIONS, &query).await?;
        let mut txs = docs
            .into_iter()
            .map(from_doc)
            .collect::<Result<Vec<Transaction>, _>>()?;
        sort(&mut txs);
        Ok(txs)
    }
}

fn sort(txs: &mut [Transaction]) {
    txs.sort_by_cached_key(|t| (t.order_key(), t.id.clone()));
}
