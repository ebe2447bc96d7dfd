//! The simulator's arithmetic for the case sweeps and tuning trials live in: one symbol, a
//! strategy that only names target positions, the all-in sizer, no corporate actions, no
//! close-out at the end.
//!
//! Every library strategy but `regime_switch`'s nested books names targets, and in this case
//! a position is one lot opened and closed whole, so the simulator's order log, fill log, lot
//! queues and per-bar exposure are bookkeeping nobody reads. This loop keeps cash, units, the
//! lot's entry and the pending targets only, and applies the same fill, sizing, commission and
//! cash formulas ([`crate::simulator::costs`]) in the same order, so equity (bit for bit),
//! trades and their PnL equal the simulator's: `tests/sweep_vs_simulator.rs` checks every
//! strategy. Anything outside the case (an order, a rebalance, a second symbol) is reported as
//! [`Unsupported`] and the caller runs the simulator instead.

use crate::simulator::costs::{spend, vbt_add};
use crate::simulator::{
    BarView, Context, CorporateActions, FillTiming, Intent, MarketData, SimConfig, Sizer, Target,
};
use crate::strategy::Strategy;

/// Why a run is outside the lean case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// The configuration is not one symbol, all-in, corporate actions ignored, no close-out.
    #[error("the lean engine runs one symbol, all-in, without corporate actions or close-out")]
    Config,
    /// The strategy submitted something other than a target position.
    #[error("the strategy submits orders other than target positions")]
    Intent,
}

/// What a lean run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct LeanRun {
    /// Equity after each bar, marked at the latest close.
    pub equity: Vec<f64>,
    /// Positions opened (closed and still open).
    pub trades: usize,
    /// Exit bar and PnL (vectorbt's formula, commissions included) of each closed trade.
    pub closed: Vec<(usize, f64)>,
}

impl LeanRun {
    /// Per-bar returns, the first relative to `initial_cash` (as
    /// [`crate::simulator::BacktestResult::returns`]).
    pub fn returns(&self, initial_cash: f64) -> Vec<f64> {
        crate::simulator::returns_from_equity(initial_cash, &self.equity)
    }
}

/// Whether `cfg` on `data` is the lean case.
pub fn supported(cfg: &SimConfig, data: &MarketData) -> bool {
    data.symbols().len() == 1
        && cfg.sizer == Sizer::AllIn
        && cfg.corporate_actions == CorporateActions::Ignore
        && !cfg.close_at_end
}

/// The open lot: signed units, entry fill price, entry commission.
#[derive(Clone, Copy)]
struct Lot {
    qty: f64,
    price: f64,
    fee: f64,
}

struct Book {
    cash: f64,
    lot: Option<Lot>,
    mark: f64,
    trades: usize,
    closed: Vec<(usize, f64)>,
}

impl Book {
    fn qty(&self) -> f64 {
        self.lot.map_or(0.0, |l| l.qty)
    }

    /// The simulator's `Executor::target` with the all-in sizer, on one symbol. `None`: wait
    /// (no quote at this bar).
    fn target(&mut self, cfg: &SimConfig, want: Target, quote: f64, bar: usize) -> Option<()> {
        let want = match want {
            Target::Long => 1.0,
            Target::Flat => 0.0,
            Target::Short => -1.0,
        };
        let cur = self.qty();
        let held = if cur > 0.0 {
            1.0
        } else if cur < 0.0 {
            -1.0
        } else {
            0.0
        };
        if held == want {
            return Some(());
        }
        if quote.is_nan() {
            return None;
        }
        let costs = &cfg.costs;
        if let Some(lot) = self.lot.take() {
            // Close the whole lot (vectorbt's trade PnL, as `Portfolio::execute`).
            let long = lot.qty > 0.0;
            let size = lot.qty.abs();
            let price = if long {
                costs.sell_price(quote)
            } else {
                costs.buy_price(quote)
            };
            let fee = costs.fee(cur, price);
            if long {
                self.cash += vbt_add(size * price, -fee);
            } else {
                self.cash = spend(self.cash, size * price + fee);
            }
            let entry_val = size * lot.price;
            let mut diff = vbt_add(size * price, -entry_val);
            if diff != 0.0 && !long {
                diff = -diff;
            }
            self.closed.push((bar, diff - lot.fee - fee));
        }
        if want == 0.0 {
            return Some(());
        }
        let whole = cfg.whole();
        if want > 0.0 {
            let price = costs.buy_price(quote);
            let a = costs.all_in_buy(self.cash, price, whole, cfg.convention);
            if a.qty > 0.0 {
                self.cash = spend(self.cash, a.cash_out);
                self.lot = Some(Lot {
                    qty: a.qty,
                    price,
                    fee: a.fee,
                });
                self.trades += 1;
            }
        } else {
            let price = costs.sell_price(quote);
            // All-in short: the equity marked at this quote buys the units (flat here, so the
            // equity is the cash).
            let qty = costs
                .all_in_buy(self.cash, price, whole, cfg.convention)
                .qty;
            if qty > 0.0 {
                let fee = costs.fee(qty, price);
                self.cash += vbt_add(qty * price, -fee);
                self.lot = Some(Lot {
                    qty: -qty,
                    price,
                    fee,
                });
                self.trades += 1;
            }
        }
        Some(())
    }
}

/// Runs `strategy` on one symbol's bars the way the simulator would with `cfg`.
pub fn run(
    cfg: &SimConfig,
    data: &MarketData,
    strategy: &mut dyn Strategy,
) -> Result<LeanRun, Unsupported> {
    if !supported(cfg, data) {
        return Err(Unsupported::Config);
    }
    let n = data.len();
    let (open, close) = (data.cols[0].open.as_slice(), data.cols[0].close.as_slice());
    let mut book = Book {
        cash: cfg.initial_cash,
        lot: None,
        mark: f64::NAN,
        trades: 0,
        closed: Vec::new(),
    };
    let mut equity = Vec::with_capacity(n);
    let mut pending: Vec<Target> = Vec::new();
    let mut intents: Vec<Intent> = Vec::new();
    let next_open = cfg.fill == FillTiming::NextOpen;
    for t in 0..n {
        if !pending.is_empty() {
            let mut keep = Vec::new();
            for want in pending.drain(..) {
                if book.target(cfg, want, open[t], t).is_none() {
                    keep.push(want);
                }
            }
            pending = keep;
        }
        if !close[t].is_nan() {
            book.mark = close[t];
        }
        let eq = |b: &Book| {
            let q = b.qty();
            if q != 0.0 {
                b.cash + q * b.mark
            } else {
                b.cash
            }
        };
        intents.clear();
        {
            let positions = [book.qty()];
            let mut ctx = Context::new(
                BarView::new(data, t),
                &positions,
                book.cash,
                eq(&book),
                &mut intents,
            );
            strategy.on_bar(&mut ctx);
        }
        for intent in intents.drain(..) {
            let Intent::Target { symbol: 0, target } = intent else {
                return Err(Unsupported::Intent);
            };
            if !next_open && book.target(cfg, target, close[t], t).is_some() {
                continue;
            }
            pending.push(target);
        }
        equity.push(eq(&book));
    }
    Ok(LeanRun {
        equity,
        trades: book.trades,
        closed: book.closed,
    })
}
