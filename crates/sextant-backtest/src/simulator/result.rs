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
    /// Index into [`BacktestResult::symbols`].
    pub symbol: usize,
    /// `true` for a long trade, `false` for a short.
    pub long: bool,
    /// Units, always positive.
    pub size: f64,
    /// Bar (index on the timeline) of the entry fill.
    pub entry_bar: usize,
    /// Timestamp of `entry_bar`, Unix seconds.
    pub entry_ts: i64,
    /// Entry fill price, slippage included.
    pub entry_price: f64,
    /// This trade's share of the entry fill's commission (pro rata when a lot was split).
    pub entry_commission: f64,
    /// For an open trade: the last bar.
    pub exit_bar: usize,
    /// Timestamp of `exit_bar`, Unix seconds.
    pub exit_ts: i64,
    /// For an open trade: the last known close it is marked at.
    pub exit_price: f64,
    /// 0 for an open trade (nothing was paid yet), like vectorbt.
    pub exit_commission: f64,
    /// Profit or loss in account currency, net of entry and exit commission.
    pub pnl: f64,
    /// `pnl` over the entry notional, as a fraction (0.05 = +5 %).
    pub ret: f64,
    /// `true` for a position still open at the end of the data (unrealised, see `exit_price`).
    pub open: bool,
}

/// One execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    /// Index into [`BacktestResult::orders`] of the order this fill belongs to; `None` for the
    /// close-out at the end of the data ([`super::SimConfig::close_at_end`]).
    pub order: Option<usize>,
    /// Bar (index on the timeline) of the execution.
    pub bar: usize,
    /// Timestamp of `bar`, Unix seconds.
    pub ts: i64,
    /// Index into [`BacktestResult::symbols`].
    pub symbol: usize,
    /// Buy or sell.
    pub side: Side,
    /// Units, always positive (`side` gives the direction).
    pub qty: f64,
    /// Price after slippage.
    pub price: f64,
    /// Commission charged on this fill, in account currency.
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
        /// Bar of the fill.
        bar: usize,
    },
    /// Nothing to do: the target was already held, or a cancel order was applied.
    Done {
        /// Bar at which it was settled.
        bar: usize,
    },
    /// A working limit or stop order removed by a cancel intent.
    Cancelled {
        /// Bar of the cancel.
        bar: usize,
    },
    /// Not executed and dropped, e.g. a size that rounds to 0 units or no cash for one unit.
    Rejected {
        /// Bar of the rejection.
        bar: usize,
        /// Why, in words.
        reason: String,
    },
}

/// A submitted intent, the bar it was submitted at, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// Bar the strategy submitted the intent on (its signal bar).
    pub bar: usize,
    /// What was asked.
    pub intent: Intent,
    /// What became of it.
    pub status: OrderStatus,
}

/// Simple per-bar returns of an equity curve started from `initial_cash`.
pub fn returns_from_equity(initial_cash: f64, equity: &[f64]) -> Vec<f64> {
    let mut prev = initial_cash;
    equity
        .iter()
        .map(|&e| {
            let r = e / prev - 1.0;
            prev = e;
            r
        })
        .collect()
}

/// Everything a run produced. `equity[t]` and `cash[t]` are after bar `t`'s fills, marked at the
/// latest close known at `t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestResult {
    /// Symbol names; every `symbol` index in trades, fills and intents points here.
    pub symbols: Vec<String>,
    /// Timestamp of each bar, Unix seconds; `equity`, `cash` and `exposure` have one value per
    /// entry.
    pub ts: Vec<i64>,
    /// Cash plus positions marked at the latest known close, per bar, in account currency.
    pub equity: Vec<f64>,
    /// Cash per bar, in account currency; negative when the position is leveraged.
    pub cash: Vec<f64>,
    /// Gross value of the positions (sum of |units × mark|) after bar `t`.
    pub exposure: Vec<f64>,
    /// Closed trades in exit order, then the still-open ones in entry order.
    pub trades: Vec<Trade>,
    /// Every intent the strategy submitted, in submission order; [`Fill::order`] indexes it.
    pub orders: Vec<OrderRecord>,
    /// Every execution, in execution order.
    pub fills: Vec<Fill>,
    /// Starting cash of the run, in account currency.
    pub initial_cash: f64,
}

impl BacktestResult {
    /// Equity after the last bar; the initial cash when there is no bar.
    pub fn final_equity(&self) -> f64 {
        self.equity.last().copied().unwrap_or(self.initial_cash)
    }

    /// Simple per-bar returns of the equity curve; the first is relative to the initial cash.
    pub fn returns(&self) -> Vec<f64> {
        returns_from_equity(self.initial_cash, &self.equity)
    }

    /// The trades that were closed, leaving out those still open at the end.
    pub fn closed_trades(&self) -> impl Iterator<Item = &Trade> {
        self.trades.iter().filter(|t| !t.open)
    }
}
