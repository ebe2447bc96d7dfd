//! Cash, FIFO lots per symbol, and the trade/fill logs they produce.

use super::costs::{spend, vbt_add, Costs};
use super::order::Side;
use super::result::{Fill, Trade};
use std::collections::VecDeque;

/// An open slice of a position: signed units, entry price, entry bar, entry commission left.
#[derive(Debug, Clone)]
struct Lot {
    qty: f64,
    price: f64,
    bar: usize,
    ts: i64,
    fee: f64,
}

/// One execution: `qty > 0` units of `symbol` at fill `price` (slippage included), commission
/// `fee`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Leg {
    pub symbol: usize,
    pub side: Side,
    pub qty: f64,
    pub price: f64,
    pub fee: f64,
}

/// Where and when a fill happens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FillAt {
    pub order: Option<usize>,
    pub bar: usize,
    pub ts: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Portfolio {
    pub cash: f64,
    /// Net signed units per symbol.
    pub qty: Vec<f64>,
    /// Latest known close per symbol (NaN before its first bar).
    pub mark: Vec<f64>,
    lots: Vec<VecDeque<Lot>>,
    pub trades: Vec<Trade>,
    pub fills: Vec<Fill>,
}

/// vectorbt's trade statistics (`get_trade_stats_nb`).
pub(crate) fn trade_pnl(
    long: bool,
    size: f64,
    entry: f64,
    exit: f64,
    entry_fee: f64,
    exit_fee: f64,
) -> (f64, f64) {
    let entry_val = size * entry;
    let mut diff = vbt_add(size * exit, -entry_val);
    if diff != 0.0 && !long {
        diff = -diff;
    }
    let pnl = diff - entry_fee - exit_fee;
    (pnl, pnl / entry_val)
}

impl Portfolio {
    pub fn new(cash: f64, n_symbols: usize) -> Self {
        Portfolio {
            cash,
            qty: vec![0.0; n_symbols],
            mark: vec![f64::NAN; n_symbols],
            lots: vec![VecDeque::new(); n_symbols],
            trades: Vec::new(),
            fills: Vec::new(),
        }
    }

    /// Cash plus every position at its mark (a symbol never seen is worth nothing yet).
    pub fn equity(&self) -> f64 {
        let mut e = self.cash;
        for (q, m) in self.qty.iter().zip(&self.mark) {
            if *q != 0.0 {
                e += q * m;
            }
        }
        e
    }

    /// A split of `k` new shares per old one: every lot holds `k` times the units at `1/k` of
    /// the price, so its value and cost basis are unchanged.
    pub fn split(&mut self, symbol: usize, k: f64) {
        self.qty[symbol] *= k;
        for lot in &mut self.lots[symbol] {
            lot.qty *= k;
            lot.price /= k;
        }
        self.mark[symbol] /= k;
    }

    /// A cash dividend of `per_share` on the position held into the ex-date (paid by shorts).
    pub fn dividend(&mut self, symbol: usize, per_share: f64) {
        self.cash += self.qty[symbol] * per_share;
    }

    /// Sum of the absolute marked values of all positions.
    pub fn gross_exposure(&self) -> f64 {
        let mut g = 0.0;
        for (q, m) in self.qty.iter().zip(&self.mark) {
            if *q != 0.0 {
                g += (q * m).abs();
            }
        }
        g
    }

    /// Like [`Self::equity`] with `symbol` marked at `price` instead.
    pub fn equity_with(&self, symbol: usize, price: f64) -> f64 {
        let mut e = self.cash;
        for (i, (q, m)) in self.qty.iter().zip(&self.mark).enumerate() {
            if *q != 0.0 {
                e += q * if i == symbol { price } else { *m };
            }
        }
        e
    }

    /// Books `leg`. `cash_out` overrides the cash a buy costs (vectorbt's all-in with fractional
    /// units spends exactly the cash it had).
    pub fn execute(&mut self, at: FillAt, leg: Leg, cash_out: Option<f64>) {
        let Leg {
            symbol,
            side,
            qty,
            price,
            fee,
        } = leg;
        debug_assert!(qty > 0.0);
        match side {
            Side::Buy => self.cash = spend(self.cash, cash_out.unwrap_or(qty * price + fee)),
            Side::Sell => self.cash += vbt_add(qty * price, -fee),
        }
        self.fills.push(Fill {
            order: at.order,
            bar: at.bar,
            ts: at.ts,
            symbol,
            side,
            qty,
            price,
            commission: fee,
        });
        let signed = side.sign() * qty;
        let mut left = qty;
        // Close opposite lots first, oldest first.
        while left > 0.0 {
            let Some(lot) = self.lots[symbol].front_mut() else {
                break;
            };
            if lot.qty.signum() == signed.signum() {
                break;
            }
            let lot_size = lot.qty.abs();
            let closed = lot_size.min(left);
            let long = lot.qty > 0.0;
            let entry_fee = if closed == lot_size {
                lot.fee
            } else {
                closed / lot_size * lot.fee
            };
            let exit_fee = if closed == qty {
                fee
            } else {
                closed / qty * fee
            };
            let (pnl, ret) = trade_pnl(long, closed, lot.price, price, entry_fee, exit_fee);
            self.trades.push(Trade {
                symbol,
                long,
                size: closed,
                entry_bar: lot.bar,
                entry_ts: lot.ts,
                entry_price: lot.price,
                entry_commission: entry_fee,
                exit_bar: at.bar,
                exit_ts: at.ts,
                exit_price: price,
                exit_commission: exit_fee,
                pnl,
                ret,
                open: false,
            });
            if closed == lot_size {
                self.lots[symbol].pop_front();
            } else {
                lot.qty -= closed * lot.qty.signum();
                lot.fee -= entry_fee;
            }
            left -= closed;
        }
        if left > 0.0 {
            let fee_left = if left == qty { fee } else { left / qty * fee };
            self.lots[symbol].push_back(Lot {
                qty: side.sign() * left,
                price,
                bar: at.bar,
                ts: at.ts,
                fee: fee_left,
            });
        }
        let q = self.qty[symbol] + signed;
        // Snap float residue of partial closes to flat.
        self.qty[symbol] = if self.lots[symbol].is_empty() { 0.0 } else { q };
    }

    /// Closes every position at its mark on `at` (used when the run closes out at the end).
    pub fn close_all(&mut self, at: FillAt, costs: &Costs) {
        for s in 0..self.qty.len() {
            let q = self.qty[s];
            if q == 0.0 || self.mark[s].is_nan() {
                continue;
            }
            let (side, price) = if q > 0.0 {
                (Side::Sell, costs.sell_price(self.mark[s]))
            } else {
                (Side::Buy, costs.buy_price(self.mark[s]))
            };
            let fee = costs.fee(q, price);
            self.execute(
                at,
                Leg {
                    symbol: s,
                    side,
                    qty: q.abs(),
                    price,
                    fee,
                },
                None,
            );
        }
    }

    /// The still-open lots as open trades marked at the latest close, like vectorbt's open trade
    /// records (exit commission 0).
    pub fn open_trades(&self, last_bar: usize, last_ts: i64) -> Vec<Trade> {
        let mut out = Vec::new();
        for (symbol, lots) in self.lots.iter().enumerate() {
            for lot in lots {
                let long = lot.qty > 0.0;
                let size = lot.qty.abs();
                let mark = self.mark[symbol];
                let (pnl, ret) = trade_pnl(long, size, lot.price, mark, lot.fee, 0.0);
                out.push(Trade {
                    symbol,
                    long,
                    size,
                    entry_bar: lot.bar,
                    entry_ts: lot.ts,
                    entry_price: lot.price,
                    entry_commission: lot.fee,
                    exit_bar: last_bar,
                    exit_ts: last_ts,
                    exit_price: mark,
                    exit_commission: 0.0,
                    pnl,
                    ret,
                    open: true,
                });
            }
        }
        out.sort_by_key(|t| (t.entry_bar, t.symbol));
        out
    }
}
