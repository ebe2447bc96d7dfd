//! What a run produces: equity curve, trade log, order log and fills.

use super::order::{Intent, Side};
use serde::{Deserialize, Serialize};

/// One round trip (or the open remainder of one at the end of the data).
///
/// Positions are kept as FIFO lots: a fill against the opposite side closes the oldest lot first,
/// splitting it (and its entry commission, pro rata) when only part is closed, as backtesting.py
/// does. `pnl` follows vectorbt's formula: `size·exit − size·entry` (zeroed when it is zero up
/// to 1e-9 relative), sign-flipped for shorts, minus entry and exit commission; `ret` is `pnl`
/// over the entry notional `size·entry_price`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    pub symbol: usize,
    pub long: bool,
    /// Units, always positive.
    pub size: f64,
    pub entry_bar: usize,
    pub entry_ts: i64,
    pub entry_price: f64,
    pub entry_commission: f64,
    /// For an open trade: the last bar.
    pub exit_bar: usize,
    pub exit_ts: i64,
    /// For an open trade: the last known close it is marked at.
    pub exit_price: f64,
    /// 0 for an open trade (nothing was paid yet), like vectorbt.
    pub exit_commission: f64,
    pub pnl: f64,
    pub ret: f64,
    pub open: bool,
}

/// One execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    /// Index into [`BacktestResult::orders`] of the order this fill belongs to; `None` for the
    /// close-out at the end of the data ([`super::SimConfig::close_at_end`]).
    pub order: Option<usize>,
    pub bar: usize,
    pub ts: i64,
    pub symbol: usize,
    pub side: Side,
    pub qty: f64,
    /// Price after slippage.
    pub price: f64,
    pub commission: f64,
}

/// The fate of one submitted intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum OrderStatus {
    /// Still waiting when the data ended.
    Pending,
    /// Executed (see [`BacktestResult::fills`]) at this bar.
    Filled {
        bar: usize,
    },
    /// Nothing to do: the target was already held, or a cancel order was applied.
    Done {
        bar: usize,
    },
    Cancelled {
        bar: usize,
    },
    Rejected {
        bar: usize,
        reason: String,
    },
}

/// A submitted intent, the bar it was submitted at, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub bar: usize,
    pub intent: Intent,
    pub status: OrderStatus,
}

/// Everything a run produced. `equity[t]` and `cash[t]` are after bar `t`'s fills, marked at the
/// latest close known at `t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestResult {
    pub symbols: Vec<String>,
    pub ts: Vec<i64>,
    pub equity: Vec<f64>,
    pub cash: Vec<f64>,
    /// Gross value of the positions (sum of |units × mark|) after bar `t`.
    pub exposure: Vec<f64>,
    /// Closed trades in exit order, then the still-open ones in entry order.
    pub trades: Vec<Trade>,
    pub orders: Vec<OrderRecord>,
    pub fills: Vec<Fill>,
    pub initial_cash: f64,
}

impl BacktestResult {
    pub fn final_equity(&self) -> f64 {
        self.equity.last().copied().unwrap_or(self.initial_cash)
    }

    /// Simple per-bar returns of the equity curve; the first is relative to the initial cash.
    pub fn returns(&self) -> Vec<f64> {
        let mut prev = self.initial_cash;
        self.equity
            .iter()
            .map(|&e| {
                let r = e / prev - 1.0;
                prev = e;
                r
            })
            .collect()
    }

    pub fn closed_trades(&self) -> impl Iterator<Item = &Trade> {
        self.trades.iter().filter(|t| !t.open)
    }
}
