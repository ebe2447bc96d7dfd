//! The run loop.

use super::config::{CorporateActions, FillTiming, SimConfig};
use super::data::MarketData;
use super::error::SimError;
use super::exec::{Executor, Outcome, Phase};
use super::order::Intent;
use super::portfolio::{FillAt, Portfolio};
use super::result::{BacktestResult, OrderRecord, OrderStatus};
use super::view::{BarView, Context};
use super::{CA_DIVIDEND, CA_SPLIT};
use crate::strategy::Strategy;

/// Runs strategies over market data with one configuration. See the module docs for the order of
/// events within a bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradingSimulator {
    config: SimConfig,
}

/// An intent waiting for a later bar: its index in the order log and its signal bar.
struct Pending {
    order: usize,
    signal: usize,
}

impl TradingSimulator {
    /// A simulator for `config`; errors with [`SimError::Config`] when [`SimConfig::validate`]
    /// rejects it.
    pub fn new(config: SimConfig) -> Result<Self, SimError> {
        config.validate()?;
        Ok(TradingSimulator { config })
    }

    /// The validated configuration every run uses.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Runs `strategy` from bar 0 to the last bar of `data`.
    pub fn run(&self, data: &MarketData, strategy: &mut dyn Strategy) -> BacktestResult {
        let cfg = &self.config;
        let n = data.len();
        let exec = Executor { data, cfg };
        let mut pf = Portfolio::new(cfg.initial_cash, data.symbols().len());
        let mut orders: Vec<OrderRecord> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut intents: Vec<Intent> = Vec::new();
        let mut equity = Vec::with_capacity(n);
        let mut cash = Vec::with_capacity(n);
        let mut exposure = Vec::with_capacity(n);

        for t in 0..n {
            // 0. Corporate actions effective at this bar's open, on positions held into it.
            if cfg.corporate_actions == CorporateActions::Apply {
                for (s, col) in data.cols.iter().enumerate() {
                    let at = |name: &str| col.external.get(name).map_or(f64::NAN, |v| v[t]);
                    let (k, d) = (at(CA_SPLIT), at(CA_DIVIDEND));
                    if d.is_finite() && d > 0.0 && pf.qty[s] != 0.0 {
                        pf.dividend(s, d);
                    }
                    if k.is_finite() && k > 0.0 && k != 1.0 {
                        pf.split(s, k);
                    }
                }
            }
            // 1. Orders from earlier bars meet this bar's open and range.
            if !pending.is_empty() {
                let mut keep = Vec::with_capacity(pending.len());
                for p in pending.drain(..) {
                    let out = exec.apply(
                        &mut pf,
                        &orders[p.order].intent,
                        p.signal,
                        t,
                        Phase::Open,
                        p.order,
                    );
                    if !settle(&mut orders[p.order], out, t) {
                        keep.push(p);
                    }
                }
                pending = keep;
            }
            for (s, col) in data.cols.iter().enumerate() {
                let c = col.close[t];
                if !c.is_nan() {
                    pf.mark[s] = c;
                }
            }

            // 2. The strategy decides on this bar's close.
            intents.clear();
            {
                let eq = pf.equity();
                let mut ctx =
                    Context::new(BarView::new(data, t), &pf.qty, pf.cash, eq, &mut intents);
                strategy.on_bar(&mut ctx);
            }

            // 3. Its market orders fill now or wait for the next open.
            for intent in intents.drain(..) {
                let order = orders.len();
                orders.push(OrderRecord {
                    bar: t,
                    intent,
                    status: OrderStatus::Pending,
                });
                if let Some(bad) = orders[order].intent.symbol_out_of(data.symbols().len()) {
                    // A strategy bug must not take the run (or the server) down: the order is
                    // rejected with the reason, like any order that cannot be filled.
                    let reason = format!(
                        "symbol #{bad} does not exist (the data has {} symbols)",
                        data.symbols().len()
                    );
                    settle(&mut orders[order], Outcome::Rejected(reason), t);
                    continue;
                }
                if let Intent::Cancel(which) = orders[order].intent {
                    pending.retain(|p| {
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
                    orders[order].status = OrderStatus::Done { bar: t };
                    continue;
                }
                if cfg.fill == FillTiming::SignalClose && !orders[order].intent.is_resting() {
                    let out = exec.apply(&mut pf, &orders[order].intent, t, t, Phase::Close, order);
                    if settle(&mut orders[order], out, t) {
                        continue;
                    }
                }
                pending.push(Pending { order, signal: t });
            }

            // 4. Mark to this bar's close.
            equity.push(pf.equity());
            cash.push(pf.cash);
            exposure.push(pf.gross_exposure());
        }

        // An empty window (a walk-forward or truncation cut at 0 bars) has no last bar: there
        // is nothing to close and nothing open.
        if let Some(last_bar) = n.checked_sub(1) {
            let last_ts = data.ts()[last_bar];
            if cfg.close_at_end {
                pf.close_all(
                    FillAt {
                        order: None,
                        bar: last_bar,
                        ts: last_ts,
                    },
                    &cfg.costs,
                );
                equity[last_bar] = pf.equity();
                cash[last_bar] = pf.cash;
                exposure[last_bar] = pf.gross_exposure();
            }
            let open = pf.open_trades(last_bar, last_ts);
            pf.trades.extend(open);
        }
        let trades = std::mem::take(&mut pf.trades);
        BacktestResult {
            symbols: data.symbols().to_vec(),
            ts: data.ts().to_vec(),
            equity,
            cash,
            exposure,
            trades,
            orders,
            fills: std::mem::take(&mut pf.fills),
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
