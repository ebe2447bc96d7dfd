//! Cross-sectional portfolio construction: strategies that rank a universe by a signal on each
//! decision bar and trade the portfolio built from the ranks, through the simulator's own fills
//! and costs.
//!
//! * [`Rule::Dropout`] is Qlib's `TopkDropoutStrategy` (`method_sell="bottom"`,
//!   `method_buy="top"`): hold `topk` names; each decision sells the held names among the
//!   `n_drop` worst of (held ∪ best candidates) and buys as many of the best names not held,
//!   each with an equal share of `risk_degree` × the cash after the sells; names kept are not
//!   traded. `tests/topk_pandas.rs` checks it trade for trade against an independent pandas
//!   computation on real data.
//! * [`Rule::Weights`] trades to target weights from a [`Construction`] (top-k or long-short
//!   quantiles; equal, inverse-volatility, risk-parity or mean-variance weights; caps, gross and
//!   net exposure, a turnover budget).
//!
//! Every name is ranked from what the `≤ t` view shows: its score ([`Signal`]) and, for a
//! universe, its membership on that bar ([`MEMBER_SERIES`]). A name without a bar on the
//! decision bar is not ranked; a name without a quote on the fill bar is skipped by the order
//! (it keeps its position, valued at its last close).

mod construct;
mod risk;
mod schedule;
mod signal;

pub use construct::{capped, within_turnover, Construction, Limits, Selection, Weighting};
pub use risk::{inverse_vol, ledoit_wolf, mean_variance, risk_contributions, risk_parity};
pub use schedule::Schedule;
pub use signal::{Signal, MEMBER_SERIES, SIGNAL_SERIES};

use crate::simulator::{BarView, Context, MarketData};
use crate::strategy::Strategy;
use std::cmp::Ordering;

/// What a decision does with the ranking.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Qlib's top-k dropout.
    Dropout {
        /// Names held.
        topk: usize,
        /// Names replaced per decision at most.
        n_drop: usize,
        /// Share of the cash after the sells spent on the buys.
        risk_degree: f64,
    },
    /// Trade to the weights of a construction.
    Weights(Construction),
}

/// A cross-sectional strategy: a signal, a schedule and a rule.
#[derive(Debug, Clone)]
pub struct PortfolioStrategy {
    name: &'static str,
    signal: Signal,
    schedule: Schedule,
    rule: Rule,
    /// The names of the last weights traded, sorted (for [`Schedule::OnChange`]).
    last_set: Option<Vec<usize>>,
}

impl PortfolioStrategy {
    /// A strategy registered as `name`.
    pub fn new(name: &'static str, signal: Signal, schedule: Schedule, rule: Rule) -> Self {
        PortfolioStrategy {
            name,
            signal,
            schedule,
            rule,
            last_set: None,
        }
    }
}

/// Best score first, NaN last, ties by symbol index (the order pandas' stable sort gives the
/// reference).
fn by_score(a: &(usize, f64), b: &(usize, f64)) -> Ordering {
    match (a.1.is_nan(), b.1.is_nan()) {
        (true, true) => a.0.cmp(&b.0),
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)),
    }
}

/// The last close of `symbol` up to the view's bar (its mark), NaN before its first bar.
fn mark(view: &BarView<'_>, symbol: usize) -> f64 {
    view.close(symbol)
        .iter()
        .rev()
        .find(|c| c.is_finite())
        .copied()
        .unwrap_or(f64::NAN)
}

/// The score of every name on every bar, as the strategies see it on that bar (NaN where a
/// name cannot be ranked: no bar, not a member, no score yet): `scores[t][symbol]`. The factor
/// evaluation reads signals through this, so it judges exactly what a portfolio trades.
pub fn signal_panel(data: &MarketData, signal: &Signal) -> Vec<Vec<f64>> {
    (0..data.len())
        .map(|t| {
            let view = BarView::new(data, t);
            (0..data.symbols().len())
                .map(|s| {
                    if signal::eligible(&view, s) {
                        signal.score(&view, s)
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        })
        .collect()
}

/// The `open` or `close` columns of `data` up to bar `t` (`[symbol][bar]`, NaN where a name has
/// no bar); any other name gives closes.
pub fn columns(data: &MarketData, t: usize, which: &str) -> Vec<Vec<f64>> {
    if t >= data.len() {
        return Vec::new();
    }
    let view = BarView::new(data, t);
    (0..data.symbols().len())
        .map(|s| match which {
            "open" => view.open(s).to_vec(),
            _ => view.close(s).to_vec(),
        })
        .collect()
}

/// Every column of `data` as its last bar sees it (`open[symbol][t]`, NaN where a name has no
/// bar), for evaluations that need the whole span at once.
pub fn opens(data: &MarketData) -> Vec<Vec<f64>> {
    let Some(last) = data.len().checked_sub(1) else {
        return Vec::new();
    };
    let view = BarView::new(data, last);
    (0..data.symbols().len())
        .map(|s| view.open(s).to_vec())
        .collect()
}

/// One top-k dropout decision: `(sell, buy)` from the held names and the scores (NaN for a
/// name that cannot be ranked now).
pub fn dropout_step(
    held: &[usize],
    score: &dyn Fn(usize) -> f64,
    ranked: &[(usize, f64)],
    topk: usize,
    n_drop: usize,
) -> (Vec<usize>, Vec<usize>) {
    let mut last: Vec<(usize, f64)> = held.iter().map(|&s| (s, score(s))).collect();
    last.sort_by(by_score);
    let room = (n_drop + topk).saturating_sub(last.len());
    let today: Vec<(usize, f64)> = ranked
        .iter()
        .filter(|r| !held.contains(&r.0))
        .take(room)
        .copied()
        .collect();
    let mut comb: Vec<(usize, f64)> = last.iter().chain(&today).copied().collect();
    comb.sort_by(by_score);
    let bottom = &comb[comb.len().saturating_sub(n_drop)..];
    let mut sell: Vec<usize> = last
        .iter()
        .map(|r| r.0)
        .filter(|s| bottom.iter().any(|b| b.0 == *s))
        .collect();
    let n_buy = (sell.len() + topk).saturating_sub(last.len());
    let mut buy: Vec<usize> = today.iter().take(n_buy).map(|r| r.0).collect();
    sell.sort_unstable();
    buy.sort_unstable();
    (sell, buy)
}

impl Strategy for PortfolioStrategy {
    fn name(&self) -> &str {
        self.name
    }

    fn on_bar(&mut self, ctx: &mut Context<'_>) {
        let view = *ctx.view();
        if !self.schedule.due(view.ts())
            || (self.schedule == Schedule::Once && self.last_set.is_some())
        {
            return;
        }
        let n = view.n_symbols();
        let scores: Vec<f64> = (0..n)
            .map(|s| {
                if signal::eligible(&view, s) {
                    self.signal.score(&view, s)
                } else {
                    f64::NAN
                }
            })
            .collect();
        let mut ranked: Vec<(usize, f64)> = scores
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(s, v)| (s, *v))
            .collect();
        ranked.sort_by(by_score);
        match &self.rule {
            Rule::Dropout {
                topk,
                n_drop,
                risk_degree,
            } => {
                let held: Vec<usize> = (0..n).filter(|&s| ctx.position(s) > 0.0).collect();
                let (sell, buy) = dropout_step(&held, &|s| scores[s], &ranked, *topk, *n_drop);
                if !sell.is_empty() || !buy.is_empty() {
                    ctx.rotate(sell, buy, *risk_degree);
                }
            }
            Rule::Weights(c) => {
                // No score at all is no information, not a signal to sell: hold.
                if ranked.is_empty() {
                    return;
                }
                let mut target = c.target(&view, &ranked);
                let mut set: Vec<usize> = target.iter().map(|t| t.0).collect();
                set.sort_unstable();
                if self.schedule == Schedule::OnChange && self.last_set.as_ref() == Some(&set) {
                    return;
                }
                let equity = ctx.equity();
                let mut old = vec![0.0; n];
                for (s, o) in old.iter_mut().enumerate() {
                    let q = ctx.position(s);
                    if q != 0.0 {
                        *o = q * mark(&view, s) / equity;
                        if set.binary_search(&s).is_err() {
                            target.push((s, 0.0));
                        }
                    }
                }
                within_turnover(&old, &mut target, c.limits.turnover);
                target.sort_by_key(|t| t.0);
                self.last_set = Some(set);
                ctx.rebalance_available(target);
            }
        }
    }
}
