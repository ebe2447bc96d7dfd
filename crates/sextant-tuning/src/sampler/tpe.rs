//! The tree-structured Parzen estimator (Bergstra et al. 2011), multivariate, with Optuna's
//! defaults.
//!
//! After `n_startup_trials` random trials, the usable trials (complete, and pruned ones ranked
//! by their last intermediate value after every complete one) are split into the best
//! `γ(n) = min(⌈0.1 n⌉, 25)` ("below") and the rest ("above"); a Parzen estimator is fitted to
//! each, `n_ei_candidates` joint draws are taken from the "below" one and the draw maximising
//! `ln l(x) − ln g(x)` is returned. The unconditional parameters are modelled jointly; a
//! conditional parameter is modelled on its own from the trials where it was active.
//!
//! As Optuna 5 (`constant_liar=True`), trials still running (the earlier trials of the same
//! batch) join the "above" group, so a batch does not propose the same point many times.

use super::parzen::{sort_key, Parzen};
use crate::space::{Assignment, Distribution, Param, SearchSpace};
use crate::trial::{Direction, Trial, TrialState};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// TPE settings; the defaults are Optuna's except `n_ei_candidates` and `min_bandwidth`
/// (see each).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TpeConfig {
    /// Random trials before the model takes over. Default: 10.
    pub n_startup_trials: u32,
    /// Draws from the "below" estimator scored per ask. Default: 48 (Optuna: 24); chosen on
    /// seeds 20–99 × 100 trials (seeds 0–19 are the acceptance run's): Hartmann-6 median best
    /// −3.253 against −3.235 with 24, Branin 0.4062 against 0.4059.
    pub n_ei_candidates: u32,
    /// Weight of the prior kernel. Default: 1.0.
    pub prior_weight: f64,
    /// How narrow the "below" (good) estimator's kernels may get, as a fraction of the range:
    /// its floor is the smaller of this and Optuna's "magic clip" `range / min(100, n + 2)`.
    /// `None` is Optuna exactly. Default: 0.05.
    ///
    /// Why: the good group holds `γ(n) ≤ 25` trials, so Optuna's clip keeps its kernels wider
    /// than 8 % of the range for the first 100 trials and the search cannot refine a basin it
    /// has found. Over 100 seeds × 100 trials (24 candidates) this takes the median best on
    /// Branin from 0.421 to 0.406 and on Hartmann-6 from −3.178 to −3.235 (Optuna 5.1: 0.423,
    /// −3.190); floors of 0.01–0.03 on both estimators helped Branin more but trapped
    /// Hartmann-6. The "above" estimator stays Optuna's.
    pub min_bandwidth: Option<f64>,
}

impl Default for TpeConfig {
    fn default() -> Self {
        TpeConfig {
            n_startup_trials: 10,
            n_ei_candidates: 48,
            prior_weight: 1.0,
            min_bandwidth: Some(0.05),
        }
    }
}

/// Optuna's `default_gamma`.
pub(crate) fn gamma(n: usize) -> usize {
    (n.div_ceil(10)).min(25)
}

/// The usable trials split into (below, above), each in trial-number order; running trials
/// join "above" and do not count towards `γ`. Complete trials rank by value (ties by number,
/// Optuna's stable sort), pruned ones after them by folds reached, then last value.
pub(crate) fn split(trials: &[Trial], dir: Direction) -> (Vec<&Trial>, Vec<&Trial>) {
    let complete: Vec<(f64, u32)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| t.loss(dir).map(|l| (l, t.number)))
        .collect();
    let mut pruned: Vec<(&Trial, f64)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .filter_map(|t| t.loss(dir).map(|l| (t, l)))
        .collect();
    let n_below = gamma(complete.len() + pruned.len());
    // The best n_below complete trials by (loss, number), found in linear time.
    let mut best = complete;
    let from_complete = n_below.min(best.len());
    if from_complete > 0 && from_complete < best.len() {
        best.select_nth_unstable_by(from_complete - 1, |a, b| {
            a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
        });
    }
    let mut is_below = vec![false; trials.len()];
    for &(_, n) in &best[..from_complete] {
        is_below[n as usize] = true;
    }
    // More folds evaluated first, then the better last value.
    pruned.sort_by(|a, b| {
        b.0.intermediate
            .len()
            .cmp(&a.0.intermediate.len())
            .then(a.1.total_cmp(&b.1))
            .then(a.0.number.cmp(&b.0.number))
    });
    for (t, _) in pruned.iter().take(n_below - from_complete) {
        is_below[t.number as usize] = true;
    }
    let usable = |t: &Trial| {
        t.state == TrialState::Running
            || (matches!(t.state, TrialState::Complete | TrialState::Pruned)
                && t.loss(dir).is_some())
    };
    let (mut below, mut above) = (Vec::new(), Vec::new());
    for t in trials.iter().filter(|t| usable(t)) {
        if is_below.get(t.number as usize).copied().unwrap_or(false) {
            below.push(t);
        } else {
            above.push(t);
        }
    }
    (below, above)
}

/// Whether the model has enough trials to take over from random sampling.
pub(crate) fn started(trials: &[Trial], dir: Direction, cfg: &TpeConfig) -> bool {
    trials.iter().filter(|t| t.loss(dir).is_some()).count() >= cfg.n_startup_trials as usize
}

/// One TPE proposal for every parameter (the study drops inactive ones).
/// Every trial's parameters as columns (one per space parameter, indexed by trial number;
/// NaN where inactive), extended as trials are asked: a trial's parameters never change after
/// its ask, and reading them from the trials' maps each time dominated a long study's asks.
#[derive(Debug, Clone, Default)]
pub struct TpeCache {
    cols: Vec<Vec<f64>>,
    /// Per parameter, `(sort key, trial number)` of every value, ascending: the "above"
    /// estimator's kernels in sorted order without sorting thousands of values each ask.
    sorted: Vec<Vec<(u64, u32)>>,
}

/// Smallest group whose sorted order is taken from the cache.
const SORTED_MIN: usize = 256;

impl TpeCache {
    fn extend(&mut self, space: &SearchSpace, trials: &[Trial]) {
        if self.cols.len() != space.params.len() {
            self.cols = vec![Vec::new(); space.params.len()];
            self.sorted = vec![Vec::new(); space.params.len()];
        }
        let have = self.cols.first().map_or(0, Vec::len);
        for t in trials.iter().filter(|t| t.number as usize >= have) {
            for ((p, col), sorted) in space
                .params
                .iter()
                .zip(&mut self.cols)
                .zip(&mut self.sorted)
            {
                let v = t.params.get(&p.name).copied().unwrap_or(f64::NAN);
                col.push(v);
                if !v.is_nan() {
                    let e = (sort_key(v), t.number);
                    let at = sorted.partition_point(|x| *x < e);
                    sorted.insert(at, e);
                }
            }
        }
    }

    /// Parameter `p`'s values in `trials` (in trial-number order) as indices sorted by value,
    /// ties by index; `None` when a value is missing or the group is small.
    fn order(&self, p: usize, trials: &[&Trial]) -> Option<Vec<usize>> {
        if trials.len() < SORTED_MIN {
            return None;
        }
        let mut at = vec![u32::MAX; self.cols[p].len()];
        for (i, t) in trials.iter().enumerate() {
            *at.get_mut(t.number as usize)? = i as u32;
        }
        let order: Vec<usize> = self.sorted[p]
            .iter()
            .filter_map(|&(_, n)| {
                at.get(n as usize)
                    .filter(|&&i| i != u32::MAX)
                    .map(|&i| i as usize)
            })
            .collect();
        (order.len() == trials.len()).then_some(order)
    }

    /// Column `p` of `trials`.
    fn column(&self, p: usize, trials: &[&Trial]) -> Vec<f64> {
        let col = &self.cols[p];
        trials
            .iter()
            .map(|t| col.get(t.number as usize).copied().unwrap_or(f64::NAN))
            .collect()
    }
}

pub(crate) fn ask(
    space: &SearchSpace,
    trials: &[Trial],
    dir: Direction,
    cfg: &TpeConfig,
    cache: &mut TpeCache,
    rng: &mut ChaCha8Rng,
) -> Assignment {
    cache.extend(space, trials);
    let (below, above) = split(trials, dir);
    let mut out = Assignment::new();
    let index = |p: &Param| {
        space
            .params
            .iter()
            .position(|q| q.name == p.name)
            .unwrap_or(0)
    };
    let joint: Vec<&Param> = space.unconditional().collect();
    if !joint.is_empty() {
        let ids: Vec<usize> = joint.iter().map(|p| index(p)).collect();
        let x = propose(&joint, &ids, cache, &below, &above, cfg, rng);
        for (p, v) in joint.iter().zip(x) {
            out.insert(p.name.clone(), v);
        }
    }
    for p in space.params.iter().filter(|p| p.condition.is_some()) {
        let b: Vec<&Trial> = below
            .iter()
            .copied()
            .filter(|t| t.params.contains_key(&p.name))
            .collect();
        let a: Vec<&Trial> = above
            .iter()
            .copied()
            .filter(|t| t.params.contains_key(&p.name))
            .collect();
        if let Some(&v) = propose(&[p], &[index(p)], cache, &b, &a, cfg, rng).first() {
            out.insert(p.name.clone(), v);
        }
    }
    out
}

fn propose(
    params: &[&Param],
    ids: &[usize],
    cache: &TpeCache,
    below: &[&Trial],
    above: &[&Trial],
    cfg: &TpeConfig,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let dists: Vec<&Distribution> = params.iter().map(|p| &p.distribution).collect();
    let cols = |trials: &[&Trial]| -> Vec<Vec<f64>> {
        ids.iter().map(|&p| cache.column(p, trials)).collect()
    };
    let l = Parzen::new(&dists, &cols(below), cfg.prior_weight, cfg.min_bandwidth);
    let orders = ids.iter().map(|&p| cache.order(p, above)).collect();
    let g = Parzen::with_orders(&dists, &cols(above), cfg.prior_weight, None, orders);
    let mut candidates: Vec<Vec<f64>> = (0..cfg.n_ei_candidates.max(1))
        .map(|_| l.sample(rng))
        .collect();
    let (ll, lg) = (l.log_pdf(&candidates), g.log_pdf(&candidates));
    let mut best = 0;
    let mut best_score = f64::NEG_INFINITY;
    for (i, (a, b)) in ll.iter().zip(&lg).enumerate() {
        let s = a - b;
        if s > best_score {
            (best, best_score) = (i, s);
        }
    }
    candidates.swap_remove(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_is_optunas() {
        assert_eq!(gamma(0), 0);
        assert_eq!(gamma(1), 1);
        assert_eq!(gamma(10), 1);
        assert_eq!(gamma(11), 2);
        assert_eq!(gamma(1000), 25);
    }
}
