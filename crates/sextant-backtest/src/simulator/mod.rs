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
//! Every cost rule (commission, slippage, all-in sizing, cash updates) lives in [`costs`] so that
//! the sweep engine can reuse the very same arithmetic and agree with the simulator bit for bit.

mod config;
pub mod costs;
mod data;
mod engine;
mod error;
mod exec;
mod order;
mod portfolio;
mod result;
mod view;

pub use config::{FillTiming, ShareRounding, SimConfig, Sizer};
pub use costs::{Costs, SizingConvention};
pub use data::{BarSeries, MarketData};
pub use engine::TradingSimulator;
pub use error::{DataError, SimError};
pub use order::{Intent, OrderKind, OrderRequest, Quantity, Side, Target};
pub use result::{BacktestResult, Fill, OrderRecord, OrderStatus, Trade};
pub use view::{BarView, Context};
