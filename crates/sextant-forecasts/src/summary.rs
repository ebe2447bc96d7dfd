//! From simulated paths to what a risk user reads: a quantile fan per day, VaR and CVaR, the
//! probability of a drawdown deeper than a threshold within the horizon, and the expected
//! shortfall path. All relative to the value at the origin (multiply by it for currency).

use crate::simulate::Paths;
use crate::stats::{quantile_sorted, quantiles_unsorted};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The quantiles of every fan day: 1, 5, 10, 25, 50, 75, 90, 95 and 99 %.
pub const QUANTILES: [f64; 9] = [0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99];

/// The distribution of the value after one day of the horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanDay {
    /// Trading days after the origin (1 = the next session).
    pub day: usize,
    /// The value relative to the origin's at each of [`QUANTILES`].
    pub quantiles: Vec<f64>,
    /// The mean relative value.
    pub mean: f64,
}

/// Value at risk and expected shortfall over `days` at confidence `level`, as fractions of the
/// origin's value lost (0.031 = 3.1 % lost; negative when even the tail gains).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskFigure {
    /// Holding period in trading days.
    pub days: usize,
    /// Confidence level (0.95, 0.99).
    pub level: f64,
    /// The loss exceeded with probability `1 − level`.
    pub var: f64,
    /// The mean loss beyond the VaR (CVaR, expected shortfall).
    pub cvar: f64,
}

/// The probability that the value falls more than `threshold` below its running peak (the
/// origin's value counting as the first peak) at some day within the horizon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DrawdownRisk {
    /// Depth as a fraction (0.1 = 10 %).
    pub threshold: f64,
    /// Share of paths that fall that deep.
    pub probability: f64,
}

/// What a forecast says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The fan: one entry per day of the horizon.
    pub fan: Vec<FanDay>,
    /// VaR and CVaR at 1 and 10 days, 95 and 99 % (10-day figures are simulated even when the
    /// horizon is shorter).
    pub var: Vec<RiskFigure>,
    /// Drawdown probabilities within the horizon.
    pub drawdown: Vec<DrawdownRisk>,
    /// Probability of ending the horizon below the origin's value.
    pub probability_of_loss: f64,
    /// The mean path of the worst 5 % of paths by final value: what the tail looks like on the
    /// way down.
    pub shortfall_path: Vec<f64>,
    /// Paths whose value overflowed, saturated or underflowed to 0 within the horizon (a
    /// model with explosive tails on this history); they stay in every figure.
    pub non_finite_paths: usize,
}

/// Days VaR is reported for.
pub const VAR_DAYS: [usize; 2] = [1, 10];
/// Levels VaR is reported at.
pub const VAR_LEVELS: [f64; 2] = [0.95, 0.99];

/// Summarises `paths` over the first `horizon` days (`paths.days ≥ horizon`).
pub fn summarise(paths: &Paths, horizon: usize, drawdowns: &[f64]) -> Summary {
    let horizon = horizon.min(paths.days);
    // Fan days need nine quantiles (selection); the VaR days and the last day need the whole
    // sorted distribution (CVaR, the probability of a loss).
    let fan: Vec<FanDay> = (0..horizon)
        .into_par_iter()
        .map(|d| {
            let mut v = paths.day(d);
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            FanDay {
                day: d + 1,
                quantiles: quantiles_unsorted(&mut v, &QUANTILES),
                mean,
            }
        })
        .collect();
    let mut var = Vec::new();
    for days in VAR_DAYS.into_iter().filter(|d| *d <= paths.days) {
        let s = paths.sorted_day(days - 1);
        for level in VAR_LEVELS {
            let (v, c) = var_cvar(&s, level);
            var.push(RiskFigure {
                days,
                level,
                var: v,
                cvar: c,
            });
        }
    }
    let depth = paths.max_drawdowns(horizon);
    let drawdown = drawdowns
        .iter()
        .map(|&threshold| DrawdownRisk {
            threshold,
            probability: depth.iter().filter(|d| **d > threshold).count() as f64
                / paths.paths as f64,
        })
        .collect();
    let (probability_of_loss, shortfall_path) = if horizon > 0 {
        let s = paths.sorted_day(horizon - 1);
        let below = s.partition_point(|v| *v < 1.0) as f64 / s.len() as f64;
        (
            below,
            paths.mean_path_below(horizon, quantile_sorted(&s, 0.05)),
        )
    } else {
        (f64::NAN, Vec::new())
    };
    Summary {
        fan,
        var,
        drawdown,
        probability_of_loss,
        shortfall_path,
        non_finite_paths: paths.non_finite(horizon),
    }
}

/// VaR and CVaR (loss fractions) at `level` from ascending relative values.
pub fn var_cvar(sorted: &[f64], level: f64) -> (f64, f64) {
    let q = quantile_sorted(sorted, 1.0 - level);
    let tail: Vec<f64> = sorted.iter().copied().take_while(|v| *v <= q).collect();
    let mean = if tail.is_empty() {
        q
    } else {
        tail.iter().sum::<f64>() / tail.len() as f64
    };
    (1.0 - q, 1.0 - mean)
}

/// The deepest fall below the running peak of `1.0, path…`, as a fraction.
pub fn max_drawdown(path: &[f64]) -> f64 {
    let mut peak = 1.0f64;
    let mut worst = 0.0f64;
    for &v in path {
        peak = peak.max(v);
        worst = worst.max(1.0 - v / peak);
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawdown_counts_from_the_origin() {
        assert!((max_drawdown(&[0.9, 1.2, 0.96]) - 0.2).abs() < 1e-15);
        assert_eq!(max_drawdown(&[1.1, 1.2]), 0.0);
    }

    #[test]
    fn var_and_cvar_of_a_known_sample() {
        let s: Vec<f64> = (1..=100).map(|i| 0.9 + i as f64 * 0.002).collect();
        let (v, c) = var_cvar(&s, 0.95);
        // The 5 % quantile interpolates at 0.05·99 = 4.95 between 0.91 and 0.912.
        assert!((v - (1.0 - 0.9119)).abs() < 1e-12, "{v}");
        assert!((c - (1.0 - 0.906)).abs() < 1e-12, "{c}");
    }
}
