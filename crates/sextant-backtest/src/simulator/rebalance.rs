//! Rebalancing to target weights.

use super::exec::{Executor, Outcome, Phase};
use super::order::Side;
use super::portfolio::{FillAt, Leg, Portfolio};

impl Executor<'_> {
    /// Trades every named symbol to `weight × equity` at this bar's quotes (equity marked at the
    /// same quotes), rounding units toward zero for whole shares. Sells go first so that their
    /// proceeds fund the buys, and a buy larger than the cash left is cut to what it affords.
    /// Waits while any named symbol has no bar.
    pub(crate) fn rebalance(
        &self,
        pf: &mut Portfolio,
        weights: &[(usize, f64)],
        t: usize,
        phase: Phase,
        at: FillAt,
    ) -> Outcome {
        let mut quotes = Vec::with_capacity(weights.len());
        for &(s, _) in weights {
            match self.quote(s, t, phase) {
                Some(q) => quotes.push(q),
                None => return Outcome::Wait,
            }
        }
        let mut equity = pf.cash;
        for (s, (q, m)) in pf.qty.iter().zip(&pf.mark).enumerate() {
            if *q != 0.0 {
                let mark = weights
                    .iter()
                    .position(|w| w.0 == s)
                    .map_or(*m, |i| quotes[i]);
                equity += q * mark;
            }
        }
        let deltas: Vec<f64> = weights
            .iter()
            .zip(&quotes)
            .map(|(&(s, w), &q)| {
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
}
