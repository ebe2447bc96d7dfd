//! From ranked scores to target weights: which names, how much of each, within which limits.

use super::risk::{inverse_vol, ledoit_wolf, mean_variance, risk_parity};
use super::signal::{returns, sample_std};
use crate::simulator::BarView;
use strum::{Display, EnumString, VariantNames};

/// How the selected names of one side share its exposure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Display, EnumString, VariantNames)]
#[strum(serialize_all = "snake_case")]
pub enum Weighting {
    /// The same weight each.
    Equal,
    /// Proportional to 1 / (sample volatility of the last `vol_lookback` returns).
    InverseVol,
    /// Equal risk contributions under the Ledoit–Wolf covariance of the last `vol_lookback`
    /// returns.
    RiskParity,
    /// Long-only mean-variance under the Ledoit–Wolf covariance, expected returns from the
    /// scores (see [`Construction::alpha_scale`]).
    MeanVariance,
}

impl Weighting {
    /// Whether the weighting needs each name's return history (names without a full window
    /// are then left out of the portfolio).
    pub fn needs_history(self) -> bool {
        self != Weighting::Equal
    }
}

/// Which ranked names are held, and on which side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// The `k` best scores, long.
    TopK(usize),
    /// The best `n / quantiles` (at least one) long, the worst as many short.
    LongShort {
        /// Number of quantiles the ranking is cut into (5: quintiles).
        quantiles: usize,
    },
}

/// Exposure limits applied to every target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest absolute weight of one name, as a fraction of equity.
    pub max_weight: f64,
    /// Gross exposure `Σ|w|` aimed at (1: fully invested, no leverage).
    pub gross: f64,
    /// Net exposure `Σw` aimed at by long-short portfolios (0: dollar neutral); long-only
    /// portfolios are net = gross.
    pub net: f64,
    /// Largest one-way turnover `Σ|w_new − w_old|` per rebalance; 0 means no budget. Over the
    /// budget, every trade is scaled by the same factor toward the target.
    pub turnover: f64,
}

/// A full construction rule: selection, weighting and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Construction {
    /// Which names.
    pub selection: Selection,
    /// How they share each side.
    pub weighting: Weighting,
    /// Returns used by the risk-based weightings (≥ 2).
    pub vol_lookback: usize,
    /// Mean-variance risk aversion λ in `μᵀw − (λ/2) wᵀΣw`.
    pub risk_aversion: f64,
    /// Mean-variance expected return per bar of a name one cross-sectional standard deviation
    /// above the mean score.
    pub alpha_scale: f64,
    /// The limits.
    pub limits: Limits,
}

impl Construction {
    /// Target weights for `ranked` (eligible names with a finite score, best first), read
    /// through `view` for the return histories. Empty when nothing can be held.
    pub fn target(&self, view: &BarView<'_>, ranked: &[(usize, f64)]) -> Vec<(usize, f64)> {
        let l = &self.limits;
        match self.selection {
            Selection::TopK(k) => {
                let names = self.with_history(view, ranked, k, false);
                self.side(view, &names, ranked, l.gross)
            }
            Selection::LongShort { quantiles } => {
                let m = (ranked.len() / quantiles.max(1)).max(1);
                if ranked.len() < 2 * m {
                    return Vec::new();
                }
                let longs = self.with_history(view, ranked, m, false);
                let shorts = self.with_history(view, ranked, m, true);
                let mut out = self.side(view, &longs, ranked, l.gross * (1.0 + l.net) / 2.0);
                out.extend(
                    self.side(view, &shorts, ranked, l.gross * (1.0 - l.net) / 2.0)
                        .into_iter()
                        .map(|(s, w)| (s, -w)),
                );
                out
            }
        }
    }

    /// The first `k` names from the top (or the bottom) that the weighting can use.
    fn with_history(
        &self,
        view: &BarView<'_>,
        ranked: &[(usize, f64)],
        k: usize,
        bottom: bool,
    ) -> Vec<usize> {
        let usable = |s: &usize| {
            !self.weighting.needs_history() || returns(view.close(*s), self.vol_lookback).is_some()
        };
        let names = ranked.iter().map(|r| r.0);
        if bottom {
            names.rev().filter(usable).take(k).collect()
        } else {
            names.filter(usable).take(k).collect()
        }
    }

    /// Weights of one side's names (non-negative, summing to `total` unless capped).
    fn side(
        &self,
        view: &BarView<'_>,
        names: &[usize],
        ranked: &[(usize, f64)],
        total: f64,
    ) -> Vec<(usize, f64)> {
        if names.is_empty() || total <= 0.0 {
            return Vec::new();
        }
        let n = names.len();
        let cap = self.limits.max_weight;
        // Rows of returns (one per bar, one column per name); `with_history` kept only names
        // with a full window, so a missing one is a bug to surface as "no portfolio", not a
        // column of zeros.
        let history = || -> Option<Vec<Vec<f64>>> {
            let cols: Vec<Vec<f64>> = names
                .iter()
                .map(|s| returns(view.close(*s), self.vol_lookback))
                .collect::<Option<_>>()?;
            Some(
                (0..self.vol_lookback)
                    .map(|t| cols.iter().map(|c| c[t]).collect())
                    .collect(),
            )
        };
        let w = match self.weighting {
            Weighting::Equal => vec![1.0 / n as f64; n],
            Weighting::InverseVol => {
                let vols: Vec<f64> = names
                    .iter()
                    .map(|s| {
                        returns(view.close(*s), self.vol_lookback)
                            .map_or(f64::NAN, |r| sample_std(&r))
                    })
                    .collect();
                inverse_vol(&vols)
            }
            Weighting::RiskParity => match history() {
                Some(h) => risk_parity(&ledoit_wolf(&h).0, n),
                None => return Vec::new(),
            },
            Weighting::MeanVariance => {
                let mu = self.expected_returns(names, ranked);
                let Some(h) = history() else {
                    return Vec::new();
                };
                let cov = ledoit_wolf(&h).0;
                let w = mean_variance(&mu, &cov, self.risk_aversion, cap / total, 1.0);
                return names
                    .iter()
                    .zip(w)
                    .filter(|(_, w)| *w > 0.0)
                    .map(|(s, w)| (*s, w * total))
                    .collect();
            }
        };
        let w = capped(w.iter().map(|v| v * total).collect(), cap);
        names
            .iter()
            .copied()
            .zip(w)
            .filter(|(_, w)| *w > 0.0)
            .collect()
    }

    /// `alpha_scale ×` the cross-sectional z-score of each name's score among all ranked names.
    fn expected_returns(&self, names: &[usize], ranked: &[(usize, f64)]) -> Vec<f64> {
        let scores: Vec<f64> = ranked.iter().map(|r| r.1).collect();
        let m = scores.iter().sum::<f64>() / scores.len() as f64;
        let sd = sample_std(&scores);
        names
            .iter()
            .map(|s| {
                let x = ranked.iter().find(|r| r.0 == *s).map_or(m, |r| r.1);
                if sd > 0.0 {
                    self.alpha_scale * (x - m) / sd
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// Caps every weight at `cap`, handing the excess to the uncapped names in proportion to their
/// weights until none is over; when all are capped the rest stays cash.
pub fn capped(mut w: Vec<f64>, cap: f64) -> Vec<f64> {
    for _ in 0..w.len() + 1 {
        let excess: f64 = w.iter().map(|v| (v - cap).max(0.0)).sum();
        if excess <= 1e-15 {
            break;
        }
        let free: f64 = w.iter().filter(|v| **v < cap).sum();
        for v in &mut w {
            if *v >= cap {
                *v = cap;
            } else if free > 0.0 {
                *v += excess * *v / free;
            }
        }
        if free <= 0.0 {
            break;
        }
    }
    w
}

/// Scales the move from `old` (current weights, indexed by symbol) to `new` (complete over
/// every name either holds) so that its one-way turnover `Σ|new − old|` is at most `budget`; a
/// budget of 0 means none.
pub fn within_turnover(old: &[f64], new: &mut [(usize, f64)], budget: f64) {
    if budget <= 0.0 {
        return;
    }
    let was = |s: usize| old.get(s).copied().unwrap_or(0.0);
    let turnover: f64 = new.iter().map(|(s, w)| (w - was(*s)).abs()).sum();
    if turnover <= budget {
        return;
    }
    let f = budget / turnover;
    for (s, w) in new.iter_mut() {
        let o = was(*s);
        *w = o + f * (*w - o);
    }
}
