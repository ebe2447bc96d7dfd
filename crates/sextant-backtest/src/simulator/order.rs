//! What a strategy can ask of the simulator.

use serde::{Deserialize, Serialize};

/// Direction of a fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Opens or adds to a long, or reduces or covers a short.
    Buy,
    /// Reduces or closes a long, or opens or adds to a short.
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
    /// Fills at the next fill point (next open, or this close with `SignalClose`) at the quoted
    /// price moved by slippage.
    Market,
    /// Fills at this price or better (before slippage): a buy once a bar trades at or below it, a
    /// sell at or above.
    Limit(f64),
    /// Fills once the price trades through this level: a buy at or above it, a sell at or below.
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
    /// The whole position on the side this order reduces (a sell closes a long, a buy covers a
    /// short), read when the order fills; with nothing to reduce the order is done without a
    /// fill. This is how protective exits (stop-loss, take-profit) are placed before the size of
    /// the position they protect is known, and why they can never open or flip a position.
    Position,
}

/// An explicit order on one symbol (by index in [`super::MarketData::symbols`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Index into [`MarketData::symbols`](super::MarketData::symbols); an index out of range makes
    /// the run panic.
    pub symbol: usize,
    /// Buy or sell; selling more than the long held (or from flat) opens a short.
    pub side: Side,
    /// Market, limit or stop.
    pub kind: OrderKind,
    /// How much; the direction comes from `side` alone.
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
    /// Hold a long position.
    Long,
    /// Hold nothing: close whatever is open.
    Flat,
    /// Hold a short position.
    Short,
}

/// Everything a strategy can submit on one bar, as recorded in the order log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// An explicit order ([`Context::submit`](super::Context::submit)).
    Order(OrderRequest),
    /// A target position ([`Context::target`](super::Context::target)).
    Target {
        /// Index into [`MarketData::symbols`](super::MarketData::symbols).
        symbol: usize,
        /// The position wanted.
        target: Target,
    },
    /// A target position opened with its own sizer instead of the configured one (per-rule
    /// sizing of user-defined strategies); closing and flipping work as for `Target`.
    SizedTarget {
        /// Index into [`MarketData::symbols`](super::MarketData::symbols).
        symbol: usize,
        /// The position wanted.
        target: Target,
        /// How a new position is sized.
        sizer: super::Sizer,
    },
    /// Target weights of equity per symbol (index, weight); symbols not named are left alone.
    /// Waits until every named symbol has a quote.
    Rebalance(Vec<(usize, f64)>),
    /// [`Intent::Rebalance`] for a universe, where some names may not trade on the fill bar
    /// (not yet listed, halted, delisted): those are skipped and keep their position, the others
    /// trade at once. Never waits.
    RebalanceAvailable(Vec<(usize, f64)>),
    /// One step of Qlib's `TopkDropout`: close every position in `sell`, then split
    /// `budget` × the cash left equally among the planned `buy` names (each bought all-in with
    /// its share). Names without a quote on the fill bar are skipped: a sell keeps its holding,
    /// a buy's share stays cash. Never waits.
    Rotate {
        /// Positions to close.
        sell: Vec<usize>,
        /// Names to buy, in this order.
        buy: Vec<usize>,
        /// Fraction of the cash after the sells that the buys may spend (Qlib's `risk_degree`).
        budget: f64,
    },
    /// Cancel the working limit/stop orders of a symbol (`None`: of all symbols).
    Cancel(Option<usize>),
}

impl Intent {
    /// The first symbol index the intent names that is not below `n` (the number of symbols
    /// in the data), if any: such an intent cannot be executed and is rejected, not run.
    pub(crate) fn symbol_out_of(&self, n: usize) -> Option<usize> {
        match self {
            Intent::Order(r) => (r.symbol >= n).then_some(r.symbol),
            Intent::Target { symbol, .. } | Intent::SizedTarget { symbol, .. } => {
                (*symbol >= n).then_some(*symbol)
            }
            Intent::Rebalance(weights) | Intent::RebalanceAvailable(weights) => {
                weights.iter().map(|(s, _)| *s).find(|s| *s >= n)
            }
            Intent::Rotate { sell, buy, .. } => sell.iter().chain(buy).copied().find(|s| *s >= n),
            Intent::Cancel(which) => which.filter(|s| *s >= n),
        }
    }

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
