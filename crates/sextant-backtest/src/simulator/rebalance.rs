//! Rebalancing to target weights.

use super::exec::{Executor, Outcome, Phase};
use super::order::Side;
use super::portfolio::{FillAt, Leg, Portfolio};

impl Executor<'_> {
    /// Trades every named symbol to `weight × equity` at this bar's quotes (equity marked at the
    /// same quotes), rounding units toward zero for whole shares. Sells go first so that their
    /// proceeds fund the buys, and a buy larger than the cash left is cut to what it affords.
    /// Waits while any named symbol has no bar, unless `skip_missing`: then those names are
    /// left as they are (valued at their last mark) and the others trade.
    pub(crate) fn rebalance(
        &self,
        pf: &mut Portfolio,
        weights: &[(usize, f64)],
        t: usize,
        phase: Phase,
        at: FillAt,
        skip_missing: bool,
    ) -> Outcome {
        // Quotes by position in `weights`; NaN marks a skipped name.
        let mut quotes = Vec::with_capacity(weights.len());
        for &(s, _) in weights {
            match self.quote(s, t, phase) {
                Some(q) => quotes.push(q),
                None if skip_missing => quotes.push(f64::NAN),
                None => return Outcome::Wait,
            }
        }
        // Names are few per rebalance next to the symbols, but a universe rebalance names
        // hundreds: look quotes up by symbol index, not by scanning the weights.
        let mut quote_of = vec![f64::NAN; pf.qty.len()];
        for (&(s, _), &q) in weights.iter().zip(&quotes) {
            quote_of[s] = q;
        }
        let mut equity = pf.cash;
        for (s, (q, m)) in pf.qty.iter().zip(&pf.mark).enumerate() {
            if *q != 0.0 {
                let mark = if quote_of[s].is_nan() {
                    *m
                } else {
                    quote_of[s]
                };
                equity += q * mark;
            }
        }
        let deltas: Vec<f64> = weights
            .iter()
            .zip(&quotes)
            .map(|(&(s, w), &q)| {
                if q.is_nan() {
                    return 0.0;
                }
                let target = w * equity / q;
                let target = if self.cfg.whole() {
                    target.trunc()
                } else {
                    target
                };
                target - pf.qty[s]
            })
            .collect();
        let mut traded = false;
        // Sells first so that their proceeds fund the buys.
        for sells in [true, false] {
            for (i, &(s, _)) in weights.iter().enumerate() {
                let d = deltas[i];
                if (sells && d >= 0.0) || (!sells && d <= 0.0) {
                    continue;
                }
                let side = if d > 0.0 { Side::Buy } else { Side::Sell };
                let price = self.fill_price(side, quotes[i]);
                let mut qty = d.abs();
                let mut fee = self.cfg.costs.fee(qty, price);
                let mut cash_out = None;
                if side == Side::Buy && qty * price + fee > pf.cash {
                    let a = self.cfg.costs.all_in_buy(
                        pf.cash,
                        price,
                        self.cfg.whole(),
                        self.cfg.convention,
                    );
                    (qty, fee, cash_out) = (a.qty.min(qty), a.fee, Some(a.cash_out));
                }
                if qty > 0.0 {
                    pf.execute(
                        at,
                        Leg {
                            symbol: s,
                            side,
                            qty,
                            price,
                            fee,
                        },
                        cash_out,
                    );
                    traded = true;
                }
            }
        }
        if traded {
            Outcome::Filled
        } else {
            Outcome::Done
        }
    }

    /// One `TopkDropout` step ([`super::Intent::Rotate`]): sells in the order given, then each
    /// planned buy gets `budget × cash / buy.len()` of the cash left after the sells, bought
    /// all-in (commission included, the configured rounding and convention). Names without a
    /// quote are skipped.
    pub(crate) fn rotate(
        &self,
        pf: &mut Portfolio,
        (sell, buy): (&[usize], &[usize]),
        budget: f64,
        t: usize,
        phase: Phase,
        at: FillAt,
    ) -> Outcome {
        let mut traded = false;
        for &s in sell {
            let held = pf.qty[s];
            let Some(quote) = self.quote(s, t, phase) else {
                continue;
            };
            if held == 0.0 {
                continue;
            }
            let side = if held > 0.0 { Side::Sell } else { Side::Buy };
            let price = self.fill_price(side, quote);
            let fee = self.cfg.costs.fee(held, price);
            pf.execute(
                at,
                Leg {
                    symbol: s,
                    side,
                    qty: held.abs(),
                    price,
                    fee,
                },
                None,
            );
            traded = true;
        }
        if !buy.is_empty() {
            let share = pf.cash * budget / buy.len() as f64;
            for &s in buy {
                let Some(quote) = self.quote(s, t, phase) else {
                    continue;
                };
                let price = self.fill_price(Side::Buy, quote);
                let a = self.cfg.costs.all_in_buy(
                    share.min(pf.cash),
                    price,
                    self.cfg.whole(),
                    self.cfg.convention,
                );
                if a.qty > 0.0 {
                    pf.execute(
                        at,
                        Leg {
                            symbol: s,
                            side: Side::Buy,
                            qty: a.qty,
                            price,
                            fee: a.fee,
                        },
                        Some(a.cash_out),
                    );
                    traded = true;
                }
            }
        }
        if traded {
            Outcome::Filled
        } else {
            Outcome::Done
        }
    }
}
