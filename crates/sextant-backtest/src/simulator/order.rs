//! What a strategy can ask of the simulator.

use serde::{Deserialize, Serialize};

/// Direction of a fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// +1 for a buy, -1 for a sell.
    pub fn sign(self) -> f64 {
        match self {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        }
    }
}

/// When an order may fill.
///
/// Market orders fill at the next bar's open, or at the signal bar's close with
/// [`super::FillTiming::SignalClose`]. Limit and stop orders are checked against the range of
/// each later bar (never the bar they were placed on, whose range the strategy has already seen)
/// and stay working until filled or cancelled, with backtesting.py's fill prices: a buy stop
/// triggers when `high >= stop` and fills at `max(open, stop)`, a buy limit when `low <= limit`
/// and fills at `min(open, limit)`; sells mirror this.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    Market,
    Limit(f64),
    Stop(f64),
}

/// How much an order trades.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// A number of units (floored to whole shares when the simulator trades whole shares).
    Units(f64),
    /// Whatever the configured [`super::Sizer`] gives at fill time.
    Sized,
}

/// An explicit order on one symbol (by index in [`super::MarketData::symbols`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub symbol: usize,
    pub side: Side,
    pub kind: OrderKind,
    pub qty: Quantity,
}

/// A desired position on one symbol, reached with market orders.
///
/// `Long`/`Short` from flat open a position sized by the configured [`super::Sizer`]; from the
/// opposite side they first close it, then open. Asking for the side already held does nothing,
/// so a strategy can state its target every bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Long,
    Flat,
    Short,
}

/// Everything a strategy can submit on one bar, as recorded in the order log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Order(OrderRequest),
    Target {
        symbol: usize,
        target: Target,
    },
    /// Target weights of equity per symbol (index, weight); symbols not named are left alone.
    Rebalance(Vec<(usize, f64)>),
    /// Cancel the working limit/stop orders of a symbol (`None`: of all symbols).
    Cancel(Option<usize>),
}

impl Intent {
    /// Whether the intent waits for a later bar's range (limit/stop) rather than the next fill.
    pub(crate) fn is_resting(&self) -> bool {
        matches!(
            self,
            Intent::Order(OrderRequest {
                kind: OrderKind::Limit(_) | OrderKind::Stop(_),
                ..
            })
        )
    }
}
