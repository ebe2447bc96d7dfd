//! The run loop as a stepper: one bar at a time, driven by a strategy ([`TradingSimulator::run`])
//! or from outside (a reinforcement-learning environment, which decides between bars).
//!
//! Each bar `t` is [`Session::open_bar`] (corporate actions, pending orders meet `t`'s open and
//! range, marks to `t`'s close), then [`Session::decide`] (the decision on `t`'s close), then
//! [`Session::close_bar`] (new market orders fill at the close or wait for the next open; the
//! portfolio is marked for the equity curve). A session may start at any bar with fresh cash:
//! nothing is pending before its first bar.

use super::config::{CorporateActions, FillTiming, SimConfig};
use super::data::MarketData;
use super::engine::TradingSimulator;
use super::exec::{Executor, Outcome, Phase};
use super::order::Intent;
use super::portfolio::{FillAt, Portfolio};
use super::result::{BacktestResult, OrderRecord, OrderStatus};
use super::view::{BarView, Context};
use super::{CA_DIVIDEND, CA_SPLIT};

/// An intent waiting for a later bar: its index in the order log and its signal bar.
#[derive(Debug, Clone)]
struct Pending {
    order: usize,
    signal: usize,
}

/// A run in progress from bar `start`. It owns its state but not the market data: every step is
/// given the same [`MarketData`] (so an environment can own both), and a step on data of another
/// length or width is a no-op rather than a panic.
#[derive(Debug, Clone)]
pub struct Session {
    cfg: SimConfig,
    bars: usize,
    pf: Portfolio,
    orders: Vec<OrderRecord>,
    pending: Vec<Pending>,
    intents: Vec<Intent>,
    equity: Vec<f64>,
    cash: Vec<f64>,
    exposure: Vec<f64>,
    start: usize,
    /// The bar being processed (after `open_bar`) or the next one (after `close_bar`).
    t: usize,
}

impl Session {
    /// A session of `sim` over `data` whose first bar is `start` (≤ `data.len()`).
    pub fn new(sim: &TradingSimulator, data: &MarketData, start: usize) -> Self {
        let cfg = *sim.config();
        let start = start.min(data.len());
        let n = data.len() - start;
        Session {
            cfg,
            bars: data.len(),
            pf: Portfolio::new(cfg.initial_cash, data.symbols().len()),
            orders: Vec::new(),
            pending: Vec::new(),
            intents: Vec::new(),
            equity: Vec::with_capacity(n),
            cash: Vec::with_capacity(n),
            exposure: Vec::with_capacity(n),
            start,
            t: start,
        }
    }

    /// The next bar `open_bar` processes (or the bar being decided on, after it).
    pub fn bar(&self) -> usize {
        self.t
    }

    /// True when every bar of the data has been processed.
    pub fn done(&self) -> bool {
        self.t >= self.bars
    }

    /// False when `data` is not the data the session was made for (or every bar is done).
    fn live(&self, data: &MarketData) -> bool {
        !self.done() && data.len() == self.bars && data.symbols().len() == self.pf.qty.len()
    }

    /// Net signed units held of `symbol`.
    pub fn position(&self, symbol: usize) -> f64 {
        self.pf.qty[symbol]
    }

    /// Cash now.
    pub fn cash(&self) -> f64 {
        self.pf.cash
    }

    /// Cash plus positions at their latest marks.
    pub fn equity(&self) -> f64 {
        self.pf.equity()
    }

    /// Equity recorded at the end of each processed bar, from `start`.
    pub fn equity_curve(&self) -> &[f64] {
        &self.equity
    }

    /// Step 0, 1 and the mark of bar [`Self::bar`]: corporate actions on positions held into
    /// it, orders from earlier bars against its open and range, positions marked to its close.
    pub fn open_bar(&mut self, data: &MarketData) {
        if !self.live(data) {
            return;
        }
        let exec = Executor {
            data,
            cfg: &self.cfg,
        };
        let t = self.t;
        if self.cfg.corporate_actions == CorporateActions::Apply {
            for (s, col) in data.cols.iter().enumerate() {
                let at = |name: &str| col.external.get(name).map_or(f64::NAN, |v| v[t]);
                let (k, d) = (at(CA_SPLIT), at(CA_DIVIDEND));
                if d.is_finite() && d > 0.0 && self.pf.qty[s] != 0.0 {
                    self.pf.dividend(s, d);
                }
                if k.is_finite() && k > 0.0 && k != 1.0 {
                    self.pf.split(s, k);
                }
            }
        }
        if !self.pending.is_empty() {
            let mut keep = Vec::with_capacity(self.pending.len());
            for p in self.pending.drain(..) {
                let out = exec.apply(
                    &mut self.pf,
                    &self.orders[p.order].intent,
                    p.signal,
                    t,
                    Phase::Open,
                    p.order,
                );
                if !settle(&mut self.orders[p.order], out, t) {
                    keep.push(p);
                }
            }
            self.pending = keep;
        }
        for (s, col) in data.cols.iter().enumerate() {
            let c = col.close[t];
            if !c.is_nan() {
                self.pf.mark[s] = c;
            }
        }
    }

    /// Step 2: `f` decides on bar [`Self::bar`]'s close through a [`Context`] (the market up to
    /// this bar, the portfolio, the order pad).
    pub fn decide(&mut self, data: &MarketData, f: impl FnOnce(&mut Context<'_>)) {
        if !self.live(data) {
            return;
        }
        let eq = self.pf.equity();
        let view = BarView::new(data, self.t);
        let mut ctx = Context::new(view, &self.pf.qty, self.pf.cash, eq, &mut self.intents);
        f(&mut ctx);
    }

    /// Step 3 and 4 of bar [`Self::bar`]: the decided intents become orders (market orders fill
    /// at this close with [`FillTiming::SignalClose`], otherwise they wait for the next open),
    /// and the portfolio is marked for the equity curve. Moves to the next bar.
    pub fn close_bar(&mut self, data: &MarketData) {
        if !self.live(data) {
            return;
        }
        let exec = Executor {
            data,
            cfg: &self.cfg,
        };
        let t = self.t;
        let n_symbols = data.symbols().len();
        let mut intents = std::mem::take(&mut self.intents);
        for intent in intents.drain(..) {
            let order = self.orders.len();
            self.orders.push(OrderRecord {
                bar: t,
                intent,
                status: OrderStatus::Pending,
            });
            if let Some(bad) = self.orders[order].intent.symbol_out_of(n_symbols) {
                // A strategy bug must not take the run (or the server) down: the order is
                // rejected with the reason, like any order that cannot be filled.
                let reason =
                    format!("symbol #{bad} does not exist (the data has {n_symbols} symbols)");
                settle(&mut self.orders[order], Outcome::Rejected(reason), t);
                continue;
            }
            if let Intent::Cancel(which) = self.orders[order].intent {
                let orders = &mut self.orders;
                self.pending.retain(|p| {
                    let hit = orders[p.order].intent.is_resting()
                        && match (&orders[p.order].intent, which) {
                            (Intent::Order(r), Some(s)) => r.symbol == s,
                            _ => true,
                        };
                    if hit {
                        orders[p.order].status = OrderStatus::Cancelled { bar: t };
                    }
                    !hit
                });
                self.orders[order].status = OrderStatus::Done { bar: t };
                continue;
            }
            if self.cfg.fill == FillTiming::SignalClose && !self.orders[order].intent.is_resting() {
                let out = exec.apply(
                    &mut self.pf,
                    &self.orders[order].intent,
                    t,
                    t,
                    Phase::Close,
                    order,
                );
                if settle(&mut self.orders[order], out, t) {
                    continue;
                }
            }
            self.pending.push(Pending { order, signal: t });
        }
        self.intents = intents;
        self.equity.push(self.pf.equity());
        self.cash.push(self.pf.cash);
        self.exposure.push(self.pf.gross_exposure());
        self.t += 1;
    }

    /// Ends the run after the last processed bar: closes positions when the configuration says
    /// so, lists open trades, and returns the result over the processed bars.
    pub fn finish(mut self, data: &MarketData) -> BacktestResult {
        let cfg = self.cfg;
        let span = self.start..self.t;
        if let Some(last_bar) = self.t.checked_sub(1).filter(|b| *b >= self.start) {
            let last_ts = data.ts()[last_bar];
            if cfg.close_at_end {
                self.pf.close_all(
                    FillAt {
                        order: None,
                        bar: last_bar,
                        ts: last_ts,
                    },
                    &cfg.costs,
                );
                let i = last_bar - self.start;
                self.equity[i] = self.pf.equity();
                self.cash[i] = self.pf.cash;
                self.exposure[i] = self.pf.gross_exposure();
            }
            let open = self.pf.open_trades(last_bar, last_ts);
            self.pf.trades.extend(open);
        }
        BacktestResult {
            symbols: data.symbols().to_vec(),
            ts: data.ts()[span].to_vec(),
            equity: self.equity,
            cash: self.cash,
            exposure: self.exposure,
            trades: std::mem::take(&mut self.pf.trades),
            orders: self.orders,
            fills: std::mem::take(&mut self.pf.fills),
            initial_cash: cfg.initial_cash,
        }
    }
}

/// Records a final outcome on the order; false when it must keep waiting.
fn settle(rec: &mut OrderRecord, out: Outcome, t: usize) -> bool {
    rec.status = match out {
        Outcome::Wait => return false,
        Outcome::Filled => OrderStatus::Filled { bar: t },
        Outcome::Done => OrderStatus::Done { bar: t },
        Outcome::Rejected(reason) => OrderStatus::Rejected { bar: t, reason },
    };
    true
}
