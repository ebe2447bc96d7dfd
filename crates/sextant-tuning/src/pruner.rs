//! Pruners: stopping a trial after a fold when it is already worse than its peers were.
//!
//! A trial's intermediate value at step `s` is its objective on folds `0..=s`. Decisions only
//! look at the trials finished before the trial's batch began (the history snapshot), so they
//! do not depend on which trial of a batch finishes first.

use crate::trial::{Direction, Trial, TrialState};
use serde::{Deserialize, Serialize};

/// Which pruner a study uses.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PrunerKind {
    /// Never prune. The default.
    #[default]
    None,
    /// Optuna's `MedianPruner`: prune when the trial's best value so far is worse than the
    /// median of complete trials at the same step (after 5 complete trials).
    Median,
    /// Optuna's `SuccessiveHalvingPruner` (minimum resource 1 fold, reduction factor 4): at
    /// steps 1, 4, 16, … keep only the best quarter of the trials that reached that rung.
    SuccessiveHalving,
}

/// Complete trials needed before the median pruner acts (Optuna's default).
pub const MEDIAN_STARTUP_TRIALS: usize = 5;
/// Successive halving's reduction factor (Optuna's default).
pub const REDUCTION_FACTOR: usize = 4;

impl PrunerKind {
    /// Whether the trial with `intermediate` values (steps `0..len`) stops now.
    pub fn should_prune(self, history: &[Trial], dir: Direction, intermediate: &[f64]) -> bool {
        let Some(step) = intermediate.len().checked_sub(1) else {
            return false;
        };
        match self {
            PrunerKind::None => false,
            PrunerKind::Median => median(history, dir, intermediate, step),
            PrunerKind::SuccessiveHalving => halving(history, dir, intermediate),
        }
    }
}

fn median(history: &[Trial], dir: Direction, intermediate: &[f64], step: usize) -> bool {
    let complete: Vec<&Trial> = history
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    if complete.len() < MEDIAN_STARTUP_TRIALS {
        return false;
    }
    let best = intermediate
        .iter()
        .copied()
        .reduce(|a, b| if dir.better(b, a) { b } else { a })
        .unwrap_or(f64::NAN);
    if best.is_nan() {
        return true;
    }
    let mut at: Vec<f64> = complete
        .iter()
        .filter_map(|t| t.intermediate.get(step).copied())
        .filter(|v| !v.is_nan())
        .collect();
    if at.is_empty() {
        return false;
    }
    at.sort_by(f64::total_cmp);
    let m = at.len();
    let med = if m % 2 == 1 {
        at[m / 2]
    } else {
        (at[m / 2 - 1] + at[m / 2]) / 2.0
    };
    dir.better(med, best)
}

fn halving(history: &[Trial], dir: Direction, intermediate: &[f64]) -> bool {
    let resource = intermediate.len();
    // Rungs at resources 1, η, η², …: a trial is judged when it reaches one.
    let mut rung = 1usize;
    while rung < resource {
        rung *= REDUCTION_FACTOR;
    }
    if rung != resource {
        return false;
    }
    let value = intermediate[resource - 1];
    if value.is_nan() {
        return true;
    }
    let mut competing: Vec<f64> = history
        .iter()
        .filter_map(|t| t.intermediate.get(resource - 1).copied())
        .filter(|v| !v.is_nan())
        .collect();
    competing.push(value);
    competing.sort_by(|a, b| dir.loss(*a).total_cmp(&dir.loss(*b)));
    let keep = (competing.len() / REDUCTION_FACTOR).max(1);
    // Promoted when at least as good as the `keep`-th best.
    dir.loss(value) > dir.loss(competing[keep - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(v: &[f64]) -> Trial {
        Trial {
            state: TrialState::Complete,
            intermediate: v.to_vec(),
            values: vec![*v.last().unwrap()],
            ..Trial::running(0, Default::default(), None)
        }
    }

    #[test]
    fn median_prunes_below_the_median() {
        let h: Vec<Trial> = (0..5).map(|i| done(&[i as f64, i as f64])).collect();
        let p = PrunerKind::Median;
        assert!(p.should_prune(&h, Direction::Maximize, &[1.0]));
        assert!(!p.should_prune(&h, Direction::Maximize, &[2.0]));
        assert!(!p.should_prune(&h[..4], Direction::Maximize, &[-9.0]));
        assert!(p.should_prune(&h, Direction::Minimize, &[3.0]));
        assert!(p.should_prune(&h, Direction::Maximize, &[f64::NAN]));
    }

    #[test]
    fn halving_keeps_the_best_quarter_at_rungs() {
        let h: Vec<Trial> = (0..7).map(|i| done(&[i as f64; 4])).collect();
        let p = PrunerKind::SuccessiveHalving;
        // 8 competitors at rung 1: the best 2 go on.
        assert!(!p.should_prune(&h, Direction::Maximize, &[7.0]));
        assert!(p.should_prune(&h, Direction::Maximize, &[4.5]));
        assert!(!p.should_prune(&h, Direction::Maximize, &[5.0])); // ties the 2nd best
                                                                   // Step 2 is no rung.
        assert!(!p.should_prune(&h, Direction::Maximize, &[7.0, -1.0]));
        assert!(p.should_prune(&h, Direction::Maximize, &[7.0, 0.0, 0.0, 0.5]));
    }
}
