//! The bar-by-bar trading simulator.
//!
//! [`TradingSimulator`] walks the bars of a [`MarketData`] (one or many symbols on one timeline)
//! and, at each bar `t`:
//!
//! 1. fills the orders pending from earlier bars against bar `t` (market orders at `open[t]`,
//!    limit and stop orders when `t`'s range reaches them),
//! 2. calls the strategy with a [`Context`] whose [`BarView`] ends at `t` — the strategy cannot
//!    index past `t`, because the view hands out slices that stop there,
//! 3. with [`FillTiming::SignalClose`], fills the strategy's new market orders at `close[t]`
//!    (otherwise they wait for `open[t+1]`),
//! 4. marks the portfolio to `close[t]` for the equity curve.
//!
//! [`Session`] is the same loop as a stepper, for a caller that decides between bars (the
//! reinforcement-learning environment); [`TradingSimulator::run`] drives it with a strategy.
//!
//! Every cost rule (commission, slippage, all-in sizing, cash updates) lives in [`costs`] so that
//! the sweep engine can reuse the very same arithmetic and agree with the simulator bit for bit.
//!
//! # Conventions, and how the reference libraries differ
//!
//! `tests/backtest_golden.rs` reproduces backtesting.py 0.6.6 (next-open fills) and vectorbt
//! 1.2.0 (signal-close fills) trade for trade on real data. What had to be matched, or differs:
//!
//! * **All-in sizing** rounds differently in the two libraries ([`SizingConvention`]):
//!   backtesting.py buys `int(cash·(1−ε) // (price + commission/(1−ε)))` — with a fixed
//!   commission it divides that fee by the fractional order size, as if it were per unit —
//!   and vectorbt `((cash − fixed)/(1 + fee))/price // 1`. Both use Python's float `//`, which
//!   is not `floor(a / b)` ([`costs::py_floordiv`]).
//! * **Cash**: backtesting.py deducts only the entry commission at entry and books
//!   `size·(exit − entry) − exit commission` at exit; vectorbt (and we) pay the full cost at
//!   entry and receive the net proceeds at exit, snapping residues within 1e-9 relative to 0
//!   ([`costs::vbt_add`]). Equity agrees to rounding (1e-9 relative is asserted).
//! * **Trade PnL** is vectorbt's `size·exit − size·entry − fees` ([`Trade`]); backtesting.py's
//!   `size·(exit − entry) − fees` agrees to rounding. vectorbt reports a trade's entry price as
//!   the size-weighted mean `(size·price)/size`, which can differ from the fill price in the
//!   last bit; we report the fill price.
//! * **Bars**: backtesting.py (next open) records the fill bar as the entry/exit bar; vectorbt
//!   (close) the signal bar — the same thing in each mode. backtesting.py calls the strategy only
//!   from the first bar where every indicator is defined (+1); we call it from bar 0, but an
//!   indicator rule cannot fire earlier, so the first signal is on the same bar.
//! * **Pyramiding**: backtesting.py's `buy()` while long opens another trade; a [`Target`] is
//!   idempotent. (The golden strategy therefore buys only when flat.)
//! * **End of data**: by default open positions stay open, marked at the last close without exit
//!   commission, and are listed as open trades — as vectorbt does, and backtesting.py with
//!   `finalize_trades=False` (the open trade is then missing from its trade table).
//!   backtesting.py's `finalize_trades=True` closes them at the **open** of the last bar (it
//!   re-runs the broker on that bar, which also fills orders placed on it); our
//!   [`SimConfig::close_at_end`] closes at the last close instead.
//! * **Crossovers** are strict (see [`crate::strategy`]); vectorbt's `crossed_above` also fires
//!   after a tie and its MA is a prefix-sum mean that differs from TA-Lib's in the last bits,
//!   so a native vectorbt grid differs on a few combinations (`scripts/bench`).
//! * **Slippage** moves the fill price, and commission is charged on the moved price (vectorbt);
//!   backtesting.py's `spread` sizes with the unmoved price.

mod config;
pub mod costs;
mod data;
mod engine;
mod error;
mod exec;
mod order;
mod portfolio;
mod rebalance;
mod report;
mod result;
mod session;
mod view;

pub use config::{sim_object, CorporateActions, FillTiming, ShareRounding, SimConfig, Sizer};

/// The external series that carries each bar's split ratio (new shares per old; 1 or NaN for
/// none), applied at that bar's open under [`CorporateActions::Apply`].
pub const CA_SPLIT: &str = "ca_split";
/// The external series that carries each bar's cash dividend per share held into the bar
/// (0 or NaN for none).
pub const CA_DIVIDEND: &str = "ca_dividend";
pub use costs::{Costs, SizingConvention};
pub use data::{BarSeries, MarketData};
pub use engine::TradingSimulator;
pub use error::{DataError, SimError};
pub use order::{Intent, OrderKind, OrderRequest, Quantity, Side, Target};
pub use result::{returns_from_equity, BacktestResult, Fill, OrderRecord, OrderStatus, Trade};
pub use session::Session;
pub use view::{BarView, Context};
