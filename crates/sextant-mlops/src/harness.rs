//! The evaluation harness's statistics: is a result better than chance and than its baseline?
//!
//! * [`random_entries`]: Jesse's question ("would random entries have done as well?") made
//!   precise. The strategy's trades keep their count, their holding times and so their total
//!   exposure; only *when* they happen is drawn at random, uniformly over non-overlapping
//!   placements in the window. The p-value is `(1 + #{sim ≥ strategy}) / (n + 1)`.
//! * [`bootstrap_difference`]: a paired iid bootstrap of the per-period difference between a
//!   result and its baseline (mean return and Sharpe ratio), percentile intervals.
//! * [`psr_report`]: the probabilistic Sharpe ratio (Bailey & López de Prado) against 0 and
//!   against a benchmark's Sharpe ratio, from `sextant_tuning::overfit`.
//!
//! All draws come from [`SplitMix`] with `below(n) = next_u64 % n`, so the Python reference
//! (`scripts/mlops/reference.py`) replays them exactly.

use crate::drift::quantile_sorted;
use crate::MlopsError;
use serde::{Deserialize, Serialize};
use sextant_numeric::SplitMix;

/// One trade as the slots it holds: it earns the returns `entry..exit` (exclusive), the bar
/// indices the simulator reports as `entry_bar` and `exit_bar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// First return slot held.
    pub entry: usize,
    /// One past the last slot held.
    pub exit: usize,
}

/// What random placements of the strategy's trades earned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomEntryTest {
    /// The strategy's own compounded return on these slots, costs included.
    pub strategy_total: f64,
    /// Simulations run.
    pub simulations: usize,
    /// Mean simulated total.
    pub mean: f64,
    /// Median simulated total.
    pub median: f64,
    /// 5th percentile.
    pub p05: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Simulations that did at least as well as the strategy.
    pub at_least_as_good: usize,
    /// `(1 + at_least_as_good) / (simulations + 1)`: small when the timing mattered.
    pub p_value: f64,
    /// The first simulation's blocks as (first slot, length), for audit.
    pub first_blocks: Vec<(usize, usize)>,
    /// Every simulated total, in draw order.
    pub totals: Vec<f64>,
}

fn growth(returns: &[f64], start: usize, len: usize, cost: f64) -> f64 {
    let keep = 1.0 - cost;
    returns[start..start + len]
        .iter()
        .fold(keep * keep, |g, r| g * (1.0 + r))
}

fn total(returns: &[f64], blocks: &[(usize, usize)], cost: f64) -> f64 {
    blocks
        .iter()
        .fold(1.0, |g, (s, d)| g * growth(returns, *s, *d, cost))
        - 1.0
}

/// One uniform placement of blocks of lengths `durations` (shuffled) in `slots` slots.
fn place(rng: &mut SplitMix, durations: &[usize], slots: usize) -> Vec<(usize, usize)> {
    let k = durations.len();
    let mut d = durations.to_vec();
    for i in (1..k).rev() {
        let j = rng.below(i + 1);
        d.swap(i, j);
    }
    let free = slots - d.iter().sum::<usize>();
    let m = free + k;
    // Floyd's algorithm: k distinct values in 0..m.
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    for j in (m - k)..m {
        let t = rng.below(j + 1);
        chosen.push(if chosen.contains(&t) { j } else { t });
    }
    chosen.sort_unstable();
    let mut used = 0;
    let mut blocks = Vec::with_capacity(k);
    for (i, c) in chosen.iter().enumerate() {
        blocks.push((c - i + used, d[i]));
        used += d[i];
    }
    blocks
}

/// The random-entry baseline of trades `held` on per-slot `returns`, with `cost_per_side` paid
/// at each entry and exit.
pub fn random_entries(
    returns: &[f64],
    held: &[Held],
    cost_per_side: f64,
    simulations: usize,
    seed: u64,
) -> Result<RandomEntryTest, MlopsError> {
    if let Some(i) = returns.iter().position(|r| !r.is_finite()) {
        return Err(MlopsError::Input(format!("return {i} is not finite")));
    }
    if !(0.0..1.0).contains(&cost_per_side) {
        return Err(MlopsError::Input(format!(
            "cost per side must be in [0, 1), got {cost_per_side}"
        )));
    }
    if simulations == 0 {
        return Err(MlopsError::Input("at least one simulation".into()));
    }
    let mut prev_end = 0;
    let mut blocks = Vec::new();
    for (i, h) in held.iter().enumerate() {
        if h.exit > returns.len() || h.entry < prev_end || h.exit < h.entry {
            return Err(MlopsError::Input(format!(
                "trade {i} ({}..{}) overlaps the previous one or leaves the {} slots",
                h.entry,
                h.exit,
                returns.len()
            )));
        }
        prev_end = h.exit;
        if h.exit > h.entry {
            blocks.push((h.entry, h.exit - h.entry));
        }
    }
    if blocks.is_empty() {
        return Err(MlopsError::Input("no trade held a position".into()));
    }
    let strategy_total = total(returns, &blocks, cost_per_side);
    let durations: Vec<usize> = blocks.iter().map(|b| b.1).collect();
    let mut rng = SplitMix::new(seed);
    let mut totals = Vec::with_capacity(simulations);
    let mut first_blocks = Vec::new();
    for s in 0..simulations {
        let b = place(&mut rng, &durations, returns.len());
        totals.push(total(returns, &b, cost_per_side));
        if s == 0 {
            first_blocks = b;
        }
    }
    let mut sorted = totals.clone();
    sorted.sort_by(f64::total_cmp);
    let at_least_as_good = totals.iter().filter(|t| **t >= strategy_total).count();
    Ok(RandomEntryTest {
        strategy_total,
        simulations,
        mean: totals.iter().sum::<f64>() / simulations as f64,
        median: quantile_sorted(&sorted, 0.5),
        p05: quantile_sorted(&sorted, 0.05),
        p95: quantile_sorted(&sorted, 0.95),
        at_least_as_good,
        p_value: (1 + at_least_as_good) as f64 / (simulations + 1) as f64,
        first_blocks,
        totals,
    })
}

/// A paired bootstrap of `result − baseline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapDifference {
    /// Resamples.
    pub resamples: usize,
    /// Difference of mean per-period returns on the sample.
    pub mean_diff: f64,
    /// Its 95 % percentile interval.
    pub mean_diff_ci: [f64; 2],
    /// Difference of per-period Sharpe ratios (mean / sample std) on the sample; NaN (`null`
    /// in JSON) when either side's returns do not vary (a flat leg has no Sharpe ratio).
    #[serde(with = "sextant_domain::floats::nan_as_null")]
    pub sharpe_diff: f64,
    /// Its 95 % percentile interval (bounds NaN as `sharpe_diff`).
    #[serde(with = "sextant_domain::floats::nan_pair_as_null")]
    pub sharpe_diff_ci: [f64; 2],
    /// Share of resamples where the result's Sharpe ratio was not above the baseline's.
    pub share_sharpe_not_better: f64,
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

/// Paired iid bootstrap over periods of `result` against `baseline` (same length, same
/// periods), `resamples` draws seeded by `seed`.
pub fn bootstrap_difference(
    result: &[f64],
    baseline: &[f64],
    resamples: usize,
    seed: u64,
) -> Result<BootstrapDifference, MlopsError> {
    let n = result.len();
    if n != baseline.len() || n < 3 {
        return Err(MlopsError::Input(format!(
            "paired series of at least 3 periods needed ({n} and {})",
            baseline.len()
        )));
    }
    if result.iter().chain(baseline).any(|v| !v.is_finite()) || resamples < 10 {
        return Err(MlopsError::Input(
            "finite returns and at least 10 resamples needed".into(),
        ));
    }
    let sharpe = |x: &[f64]| {
        let (m, s) = mean_sd(x);
        m / s
    };
    let mut rng = SplitMix::new(seed);
    let (mut dm, mut dsr) = (Vec::with_capacity(resamples), Vec::with_capacity(resamples));
    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..resamples {
        for i in 0..n {
            let k = rng.below(n);
            a[i] = result[k];
            b[i] = baseline[k];
        }
        dm.push(mean_sd(&a).0 - mean_sd(&b).0);
        dsr.push(sharpe(&a) - sharpe(&b));
    }
    let not_better = dsr.iter().filter(|d| **d <= 0.0).count() as f64 / resamples as f64;
    dm.sort_by(f64::total_cmp);
    dsr.sort_by(f64::total_cmp);
    let ci = |s: &[f64]| [quantile_sorted(s, 0.025), quantile_sorted(s, 0.975)];
    Ok(BootstrapDifference {
        resamples,
        mean_diff: mean_sd(result).0 - mean_sd(baseline).0,
        mean_diff_ci: ci(&dm),
        sharpe_diff: sharpe(result) - sharpe(baseline),
        sharpe_diff_ci: ci(&dsr),
        share_sharpe_not_better: not_better,
    })
}

/// The probabilistic Sharpe ratio of a track record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PsrReport {
    /// Per-period Sharpe ratio (ddof 1).
    pub sharpe: f64,
    /// Periods.
    pub periods: usize,
    /// Skewness (biased).
    pub skew: f64,
    /// Kurtosis (Pearson, biased).
    pub kurtosis: f64,
    /// P(true Sharpe > 0).
    pub psr_zero: f64,
    /// The benchmark's per-period Sharpe ratio, when one was given.
    pub benchmark_sharpe: Option<f64>,
    /// P(true Sharpe > the benchmark's).
    pub psr_benchmark: Option<f64>,
}

/// PSR of `returns` against 0 and, with `benchmark`, against the benchmark's Sharpe ratio.
pub fn psr_report(returns: &[f64], benchmark: Option<&[f64]>) -> Result<PsrReport, MlopsError> {
    use sextant_tuning::overfit::{deflated_sharpe_among, psr, sharpe};
    let d = deflated_sharpe_among(returns, &[], 0).map_err(|e| MlopsError::Input(e.to_string()))?;
    let bench = benchmark.map(sharpe).filter(|s| s.is_finite());
    Ok(PsrReport {
        sharpe: d.sharpe,
        periods: d.periods,
        skew: d.skew,
        kurtosis: d.kurtosis,
        psr_zero: d.psr,
        benchmark_sharpe: bench,
        psr_benchmark: bench.map(|b| psr(d.sharpe, d.periods, d.skew, d.kurtosis, b)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_never_overlap_and_keep_exposure() {
        let durations = [5, 1, 12, 7];
        let mut rng = SplitMix::new(3);
        for _ in 0..2000 {
            let b = place(&mut rng, &durations, 40);
            let mut lens: Vec<usize> = b.iter().map(|x| x.1).collect();
            lens.sort_unstable();
            assert_eq!(lens, vec![1, 5, 7, 12]);
            for w in b.windows(2) {
                assert!(w[0].0 + w[0].1 <= w[1].0, "{b:?}");
            }
            let last = b[b.len() - 1];
            assert!(last.0 + last.1 <= 40);
        }
    }

    #[test]
    fn overlapping_trades_are_refused() {
        let r = vec![0.0; 10];
        let bad = [Held { entry: 0, exit: 5 }, Held { entry: 4, exit: 6 }];
        assert!(random_entries(&r, &bad, 0.0, 10, 1).is_err());
        assert!(random_entries(&r, &[Held { entry: 8, exit: 11 }], 0.0, 10, 1).is_err());
    }
}
