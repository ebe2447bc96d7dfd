//! Turning intents into fills at one bar.

use super::config::{SimConfig, Sizer};
use super::data::MarketData;
use super::order::{Intent, OrderKind, OrderRequest, Quantity, Side, Target};
use super::portfolio::{FillAt, Leg, Portfolio};

/// Which price of bar `t` market orders take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Open,
    Close,
}

/// What happened to an intent at one bar.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Filled,
    Done,
    Wait,
    Rejected(String),
}

pub(crate) struct Executor<'a> {
    pub data: &'a MarketData,
    pub cfg: &'a SimConfig,
}

/// A sized quantity with its commission and, when it differs from `qty·price + fee`, its cash.
struct Sized {
    qty: f64,
    fee: f64,
    cash_out: Option<f64>,
}

impl Executor<'_> {
    pub(super) fn quote(&self, symbol: usize, t: usize, phase: Phase) -> Option<f64> {
        let c = &self.data.cols[symbol];
        let p = match phase {
            Phase::Open => c.open[t],
            Phase::Close => c.close[t],
        };
        (!p.is_nan()).then_some(p)
    }

    pub(super) fn fill_price(&self, side: Side, quote: f64) -> f64 {
        match side {
            Side::Buy => self.cfg.costs.buy_price(quote),
            Side::Sell => self.cfg.costs.sell_price(quote),
        }
    }

    fn whole(&self, q: f64) -> f64 {
        if self.cfg.whole() {
            q.floor()
        } else {
            q
        }
    }

    /// Runs `intent` (submitted at `signal`) at bar `t`.
    pub fn apply(
        &self,
        pf: &mut Portfolio,
        intent: &Intent,
        signal: usize,
        t: usize,
        phase: Phase,
        order: usize,
    ) -> Outcome {
        let at = FillAt {
            order: Some(order),
            bar: t,
            ts: self.data.ts()[t],
        };
        match intent {
            Intent::Target { symbol, target } => self.target(
                pf,
                *symbol,
                *target,
                &self.cfg.sizer,
                (signal, t),
                phase,
                at,
            ),
            Intent::SizedTarget {
                symbol,
                target,
                sizer,
            } => self.target(pf, *symbol, *target, sizer, (signal, t), phase, at),
            Intent::Order(req) => self.order(pf, req, signal, t, phase, at),
            Intent::Rebalance(w) => self.rebalance(pf, w, t, phase, at, false),
            Intent::RebalanceAvailable(w) => self.rebalance(pf, w, t, phase, at, true),
            Intent::Rotate { sell, buy, budget } => {
                self.rotate(pf, (sell, buy), *budget, t, phase, at)
            }
            Intent::Cancel(_) => Outcome::Done,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn target(
        &self,
        pf: &mut Portfolio,
        s: usize,
        target: Target,
        sizer: &Sizer,
        (signal, t): (usize, usize),
        phase: Phase,
        at: FillAt,
    ) -> Outcome {
        let want = match target {
            Target::Long => 1.0,
            Target::Flat => 0.0,
            Target::Short => -1.0,
        };
        let cur = pf.qty[s];
        let held = if cur > 0.0 {
            1.0
        } else if cur < 0.0 {
            -1.0
        } else {
            0.0
        };
        if held == want {
            return Outcome::Done;
        }
        let Some(quote) = self.quote(s, t, phase) else {
            return Outcome::Wait;
        };
        if cur != 0.0 {
            let side = if cur > 0.0 { Side::Sell } else { Side::Buy };
            let price = self.fill_price(side, quote);
            let fee = self.cfg.costs.fee(cur, price);
            pf.execute(
                at,
                Leg {
                    symbol: s,
                    side,
                    qty: cur.abs(),
                    price,
                    fee,
                },
                None,
            );
        }
        if want == 0.0 {
            return Outcome::Filled;
        }
        let side = if want > 0.0 { Side::Buy } else { Side::Sell };
        match self.size(pf, s, side, quote, signal, sizer) {
            Ok(z) => {
                let price = self.fill_price(side, quote);
                pf.execute(
                    at,
                    Leg {
                        symbol: s,
                        side,
                        qty: z.qty,
                        price,
                        fee: z.fee,
                    },
                    z.cash_out,
                );
                Outcome::Filled
            }
            Err(_) if cur != 0.0 => Outcome::Filled,
            Err(reason) => Outcome::Rejected(reason),
        }
    }

    /// Sizes a new position on `s` opened at `quote` by `sizer`.
    fn size(
        &self,
        pf: &Portfolio,
        s: usize,
        side: Side,
        quote: f64,
        signal: usize,
        sizer: &Sizer,
    ) -> Result<Sized, String> {
        let cfg = self.cfg;
        let price = self.fill_price(side, quote);
        let budget = match *sizer {
            Sizer::AllIn if side == Side::Buy => {
                let a = cfg
                    .costs
                    .all_in_buy(pf.cash, price, cfg.whole(), cfg.convention);
                return if a.qty > 0.0 {
                    Ok(Sized {
                        qty: a.qty,
                        fee: a.fee,
                        cash_out: Some(a.cash_out),
                    })
                } else {
                    Err("not enough cash for one unit".into())
                };
            }
            Sizer::AllIn => pf.equity_with(s, quote),
            Sizer::FixedFraction { fraction } => fraction * pf.equity_with(s, quote),
            Sizer::FixedQuantity { units } => {
                let qty = self.whole(units);
                return if qty > 0.0 {
                    Ok(Sized {
                        qty,
                        fee: cfg.costs.fee(qty, price),
                        cash_out: None,
                    })
                } else {
                    Err("fixed quantity rounds to 0 units".into())
                };
            }
            Sizer::VolatilityTarget {
                annual_vol,
                lookback,
                periods_per_year,
                max_leverage,
            } => {
                let vol = realised_vol(
                    &self.data.cols[s].close[..=signal],
                    lookback,
                    periods_per_year,
                )
                .ok_or_else(|| {
                    format!("fewer than {lookback} returns for the volatility estimate")
                })?;
                let w = if vol > 0.0 {
                    (annual_vol / vol).min(max_leverage)
                } else {
                    max_leverage
                };
                w * pf.equity_with(s, quote)
            }
        };
        let qty = cfg
            .costs
            .all_in_buy(budget, price, cfg.whole(), cfg.convention)
            .qty;
        if qty > 0.0 {
            Ok(Sized {
                qty,
                fee: cfg.costs.fee(qty, price),
                cash_out: None,
            })
        } else {
            Err("size rounds to 0 units".into())
        }
    }

    fn order(
        &self,
        pf: &mut Portfolio,
        req: &OrderRequest,
        signal: usize,
        t: usize,
        phase: Phase,
        at: FillAt,
    ) -> Outcome {
        let s = req.symbol;
        let quote = match req.kind {
            OrderKind::Market => match self.quote(s, t, phase) {
                Some(q) => q,
                None => return Outcome::Wait,
            },
            OrderKind::Limit(_) | OrderKind::Stop(_) if phase == Phase::Close || t <= signal => {
                return Outcome::Wait
            }
            OrderKind::Limit(_) | OrderKind::Stop(_) => match self.resting_fill(req, t) {
                Some(q) => q,
                None => return Outcome::Wait,
            },
        };
        // Only once the order would fill: an exit waiting for an entry that has not filled yet
        // (no open for the symbol on this bar) keeps waiting instead of being dropped.
        if req.qty == Quantity::Position && reducible(pf.qty[s], req.side) == 0.0 {
            // Nothing left to protect (the position was closed, flipped or never opened).
            return Outcome::Done;
        }
        let price = self.fill_price(req.side, quote);
        let mut z = match req.qty {
            Quantity::Units(u) => {
                let qty = self.whole(u.abs());
                Sized {
                    qty,
                    fee: self.cfg.costs.fee(qty, price),
                    cash_out: None,
                }
            }
            Quantity::Sized => match self.size(pf, s, req.side, quote, signal, &self.cfg.sizer) {
                Ok(z) => z,
                Err(reason) => return Outcome::Rejected(reason),
            },
            Quantity::Position => {
                let qty = reducible(pf.qty[s], req.side);
                Sized {
                    qty,
                    fee: self.cfg.costs.fee(qty, price),
                    cash_out: None,
                }
            }
        };
        // A buy that adds to a long (or opens one) is capped at the cash available.
        if req.side == Side::Buy
            && pf.qty[s] >= 0.0
            && z.cash_out.is_none()
            && z.qty * price + z.fee > pf.cash
        {
            let a =
                self.cfg
                    .costs
                    .all_in_buy(pf.cash, price, self.cfg.whole(), self.cfg.convention);
            z = Sized {
                qty: a.qty.min(z.qty),
                fee: a.fee,
                cash_out: Some(a.cash_out),
            };
        }
        if z.qty <= 0.0 {
            return Outcome::Rejected("quantity rounds to 0 units or no cash".into());
        }
        pf.execute(
            at,
            Leg {
                symbol: s,
                side: req.side,
                qty: z.qty,
                price,
                fee: z.fee,
            },
            z.cash_out,
        );
        Outcome::Filled
    }

    /// The quoted fill price of a limit/stop order in bar `t`'s range, if it is reached.
    fn resting_fill(&self, req: &OrderRequest, t: usize) -> Option<f64> {
        let c = &self.data.cols[req.symbol];
        let (open, high, low) = (c.open[t], c.high[t], c.low[t]);
        if open.is_nan() {
            return None;
        }
        match (req.kind, req.side) {
            (OrderKind::Stop(p), Side::Buy) => (high >= p).then(|| open.max(p)),
            (OrderKind::Stop(p), Side::Sell) => (low <= p).then(|| open.min(p)),
            (OrderKind::Limit(p), Side::Buy) => (low <= p).then(|| open.min(p)),
            (OrderKind::Limit(p), Side::Sell) => (high >= p).then(|| open.max(p)),
            (OrderKind::Market, _) => Some(open),
        }
    }
}

/// Units an order on `side` can reduce of the signed position `qty`: a sell reduces a long, a
/// buy a short.
fn reducible(qty: f64, side: Side) -> f64 {
    match side {
        Side::Sell => qty.max(0.0),
        Side::Buy => (-qty).max(0.0),
    }
}

/// Annualised sample std of the last `lookback` log returns of `close` (None if too short or
/// a gap falls inside the window).
fn realised_vol(close: &[f64], lookback: usize, periods_per_year: f64) -> Option<f64> {
    if close.len() < lookback + 1 {
        return None;
    }
    let w = &close[close.len() - lookback - 1..];
    let rets: Vec<f64> = w.windows(2).map(|p| (p[1] / p[0]).ln()).collect();
    if rets.iter().any(|r| !r.is_finite()) {
        return None;
    }
    let n = rets.len() as f64;
    let mean = rets.iter().sum::<f64>() / n;
    let var = rets.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1.0);
    Some(var.sqrt() * periods_per_year.sqrt())
}
