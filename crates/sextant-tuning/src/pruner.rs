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
    /// Whether the trial with `intermediate` values (steps `0..len`) stops now, judged against
    /// `history` (the trials finished before its batch). Builds a [`Snapshot`]: when judging
    /// many trials against the same history, build it once.
    pub fn should_prune(self, history: &[Trial], dir: Direction, intermediate: &[f64]) -> bool {
        Snapshot::new(self, history).should_prune(dir, intermediate)
    }
}

/// What a pruner needs of the history, sorted once per batch: per step, the values of the
/// complete trials (median) or of every trial that reached it (successive halving).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    kind: PrunerKind,
    complete: usize,
    /// `by_step[s]`: non-NaN intermediate values at step `s`, ascending.
    by_step: Vec<Vec<f64>>,
}

impl Snapshot {
    /// The snapshot of `history` for pruner `kind`.
    pub fn new(kind: PrunerKind, history: &[Trial]) -> Snapshot {
        let complete = history
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count();
        let mut by_step: Vec<Vec<f64>> = Vec::new();
        let counted = |t: &&Trial| match kind {
            PrunerKind::None => false,
            PrunerKind::Median => t.state == TrialState::Complete,
            PrunerKind::SuccessiveHalving => true,
        };
        for t in history.iter().filter(counted) {
            for (s, &v) in t.intermediate.iter().enumerate() {
                if by_step.len() <= s {
                    by_step.resize(s + 1, Vec::new());
                }
                if !v.is_nan() {
                    by_step[s].push(v);
                }
            }
        }
        for v in &mut by_step {
            v.sort_by(f64::total_cmp);
        }
        Snapshot {
            kind,
            complete,
            by_step,
        }
    }

    /// Whether the trial with `intermediate` values stops now.
    pub fn should_prune(&self, dir: Direction, intermediate: &[f64]) -> bool {
        let Some(step) = intermediate.len().checked_sub(1) else {
            return false;
        };
        match self.kind {
            PrunerKind::None => false,
            PrunerKind::Median => self.median(dir, intermediate, step),
            PrunerKind::SuccessiveHalving => self.halving(dir, intermediate),
        }
    }

    fn median(&self, dir: Direction, intermediate: &[f64], step: usize) -> bool {
        if self.complete < MEDIAN_STARTUP_TRIALS {
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
        let Some(at) = self.by_step.get(step).filter(|v| !v.is_empty()) else {
            return false;
        };
        let m = at.len();
        let med = if m % 2 == 1 {
            at[m / 2]
        } else {
            (at[m / 2 - 1] + at[m / 2]) / 2.0
        };
        dir.better(med, best)
    }

    fn halving(&self, dir: Direction, intermediate: &[f64]) -> bool {
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
        let others: &[f64] = self.by_step.get(resource - 1).map_or(&[], Vec::as_slice);
        // Rank among the others plus this trial, best first.
        let better = match dir {
            Direction::Maximize => others.len() - others.partition_point(|&v| v <= value),
            Direction::Minimize => others.partition_point(|&v| v < value),
        };
        let keep = ((others.len() + 1) / REDUCTION_FACTOR).max(1);
        // Promoted when at least as good as the `keep`-th best.
        better >= keep
    }
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
