//! What a strategy sees at bar `t`: data up to and including `t`, its portfolio, an order pad.

use super::data::MarketData;
use super::order::{Intent, OrderRequest, Target};

/// The market up to and including bar `t`.
///
/// Its fields are private and every accessor returns a slice ending at `t`, so a strategy has no
/// way to read a later bar: look-ahead is a compile error, not a convention.
#[derive(Debug, Clone, Copy)]
pub struct BarView<'a> {
    data: &'a MarketData,
    t: usize,
}

impl<'a> BarView<'a> {
    /// The view at bar `t`. Panics if `t` is outside the data (the simulator never does that).
    pub(crate) fn new(data: &'a MarketData, t: usize) -> Self {
        assert!(
            t < data.len(),
            "bar {t} outside data of {} bars",
            data.len()
        );
        BarView { data, t }
    }

    /// Index of the current bar on the timeline.
    pub fn t(&self) -> usize {
        self.t
    }
    /// Number of bars visible (`t + 1`).
    pub fn len(&self) -> usize {
        self.t + 1
    }
    /// Never true: a view holds at least the current bar.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Symbol names; the `symbol` argument of the accessors and of orders is an index into this.
    pub fn symbols(&self) -> &'a [String] {
        self.data.symbols()
    }
    /// Number of symbols.
    pub fn n_symbols(&self) -> usize {
        self.data.symbols().len()
    }
    /// Index of `symbol` in [`Self::symbols`], if present.
    pub fn symbol_index(&self, symbol: &str) -> Option<usize> {
        self.data.symbol_index(symbol)
    }
    /// Timestamps (Unix seconds) up to `t`.
    pub fn ts(&self) -> &'a [i64] {
        &self.data.ts()[..=self.t]
    }
    /// Opening prices of `symbol` up to `t`, `NaN` where the symbol has no bar. Panics if `symbol`
    /// is out of range.
    pub fn open(&self, symbol: usize) -> &'a [f64] {
        &self.data.cols[symbol].open[..=self.t]
    }
    /// Highest prices of `symbol` up to `t`, `NaN` where the symbol has no bar. Panics if `symbol`
    /// is out of range.
    pub fn high(&self, symbol: usize) -> &'a [f64] {
        &self.data.cols[symbol].high[..=self.t]
    }
    /// Lowest prices of `symbol` up to `t`, `NaN` where the symbol has no bar. Panics if `symbol`
    /// is out of range.
    pub fn low(&self, symbol: usize) -> &'a [f64] {
        &self.data.cols[symbol].low[..=self.t]
    }
    /// Closing prices of `symbol` up to `t`, `NaN` where the symbol has no bar. Panics if `symbol`
    /// is out of range.
    pub fn close(&self, symbol: usize) -> &'a [f64] {
        &self.data.cols[symbol].close[..=self.t]
    }
    /// Volumes of `symbol` up to `t`, `NaN` where the symbol has no bar. Panics if `symbol` is out
    /// of range.
    pub fn volume(&self, symbol: usize) -> &'a [f64] {
        &self.data.cols[symbol].volume[..=self.t]
    }
    /// A named external series of `symbol` (see [`super::BarSeries::with_series`]) up to `t`.
    pub fn series(&self, symbol: usize, name: &str) -> Option<&'a [f64]> {
        self.data.cols[symbol]
            .external
            .get(name)
            .map(|v| &v[..=self.t])
    }
    /// Whether `symbol` has a bar at `t` (aligned multi-symbol data has gaps).
    pub fn has_bar(&self, symbol: usize) -> bool {
        !self.data.cols[symbol].close[self.t].is_nan()
    }
}

/// The strategy's handle at one bar: the view, the portfolio after this bar's fills, and a pad
/// for intents that the simulator executes after the strategy returns.
pub struct Context<'a> {
    view: BarView<'a>,
    positions: &'a [f64],
    cash: f64,
    equity: f64,
    intents: &'a mut Vec<Intent>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        view: BarView<'a>,
        positions: &'a [f64],
        cash: f64,
        equity: f64,
        intents: &'a mut Vec<Intent>,
    ) -> Self {
        Context {
            view,
            positions,
            cash,
            equity,
            intents,
        }
    }

    /// The market data up to and including this bar.
    pub fn view(&self) -> &BarView<'a> {
        &self.view
    }
    /// Signed units held of `symbol` (negative when short).
    pub fn position(&self, symbol: usize) -> f64 {
        self.positions[symbol]
    }
    /// Cash after the fills so far at this bar (orders pending from earlier bars); orders placed
    /// now fill only after `on_bar` returns.
    pub fn cash(&self) -> f64 {
        self.cash
    }
    /// Cash plus positions marked at the latest known closes (this bar's, where it has one).
    pub fn equity(&self) -> f64 {
        self.equity
    }
    /// Places an explicit order, executed after `on_bar` returns (see
    /// [`OrderKind`](super::OrderKind) for when it fills).
    pub fn submit(&mut self, order: OrderRequest) {
        self.intents.push(Intent::Order(order));
    }
    /// Asks for a target position on `symbol`; a no-op when it is already held, so it can be
    /// restated every bar.
    pub fn target(&mut self, symbol: usize, target: Target) {
        self.intents.push(Intent::Target { symbol, target });
    }
    /// [`Self::target`] with its own sizer for a position it opens (instead of the configured
    /// one).
    pub fn target_sized(&mut self, symbol: usize, target: Target, sizer: super::Sizer) {
        self.intents.push(Intent::SizedTarget {
            symbol,
            target,
            sizer,
        });
    }
    /// Trade every named symbol to `weight × equity` at the next fill (sells first, then buys
    /// with the cash available).
    pub fn rebalance(&mut self, weights: Vec<(usize, f64)>) {
        self.intents.push(Intent::Rebalance(weights));
    }
    /// [`Self::rebalance`] skipping the names without a quote at the fill (they keep their
    /// position) instead of waiting for them: for universes.
    pub fn rebalance_available(&mut self, weights: Vec<(usize, f64)>) {
        self.intents.push(Intent::RebalanceAvailable(weights));
    }
    /// Close `sell`, then buy `buy` with equal shares of `budget` × the cash left ([`Intent::Rotate`]).
    pub fn rotate(&mut self, sell: Vec<usize>, buy: Vec<usize>, budget: f64) {
        self.intents.push(Intent::Rotate { sell, buy, budget });
    }
    /// Cancel working limit/stop orders of `symbol`, or of all symbols with `None`.
    pub fn cancel(&mut self, symbol: Option<usize>) {
        self.intents.push(Intent::Cancel(symbol));
    }
}
