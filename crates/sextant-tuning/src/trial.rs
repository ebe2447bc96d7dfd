//! Trials: what was tried, what it scored, and how it ended.

use crate::space::Assignment;
use serde::{Deserialize, Serialize};

/// Whether an objective is to be maximised or minimised.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Direction {
    /// Larger is better (Sharpe, CAGR).
    Maximize,
    /// Smaller is better (a loss, a drawdown's size).
    Minimize,
}

impl Direction {
    /// The value as a loss (smaller is better): negated when maximising.
    pub fn loss(self, v: f64) -> f64 {
        match self {
            Direction::Maximize => -v,
            Direction::Minimize => v,
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        self.loss(a) < self.loss(b)
    }
}

/// How a trial ended (or that it has not yet).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TrialState {
    /// Asked, not yet told: on resume it runs again with the same parameters.
    Running,
    /// Every fold evaluated; `values` hold the objectives.
    Complete,
    /// Stopped early by the pruner after its last intermediate value.
    Pruned,
    /// The parameters were infeasible or the evaluation failed (`error` says why), or a
    /// constraint was broken.
    Failed,
}

/// One evaluation of one parameter assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// 0-based, in the order trials were asked.
    pub number: u32,
    /// The active parameters, internal representation ([`crate::space`]).
    pub params: Assignment,
    /// One value per objective for a complete trial; empty otherwise.
    pub values: Vec<f64>,
    /// The single objective after each fold (step `i` = fold `i`), for pruning.
    pub intermediate: Vec<f64>,
    /// How it ended.
    pub state: TrialState,
    /// The sampler's generation (CMA-ES, NSGA-II); `None` for startup or other samplers.
    pub generation: Option<u32>,
    /// Wall time of the evaluation in milliseconds (excluded from reproducibility).
    pub duration_ms: f64,
    /// Why a failed trial failed.
    pub error: Option<String>,
}

impl Trial {
    /// A trial just asked.
    pub fn running(number: u32, params: Assignment, generation: Option<u32>) -> Self {
        Trial {
            number,
            params,
            values: Vec::new(),
            intermediate: Vec::new(),
            state: TrialState::Running,
            generation,
            duration_ms: 0.0,
            error: None,
        }
    }

    /// Whether the trial is complete with finite values.
    pub fn is_complete(&self) -> bool {
        self.state == TrialState::Complete && self.values.iter().all(|v| v.is_finite())
    }

    /// The single objective as a loss, for complete trials; pruned trials rank by their last
    /// intermediate value (Optuna's TPE does the same), others are `None`.
    pub fn loss(&self, d: Direction) -> Option<f64> {
        match self.state {
            TrialState::Complete => self.values.first().map(|&v| d.loss(v)),
            TrialState::Pruned => self.intermediate.last().map(|&v| d.loss(v)),
            _ => None,
        }
        .filter(|v| v.is_finite())
    }
}

/// What an evaluation reports back.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every fold ran: the objective values and the per-fold intermediate values.
    Complete {
        /// One per direction.
        values: Vec<f64>,
        /// Per fold.
        intermediate: Vec<f64>,
    },
    /// The pruner stopped it after these intermediate values.
    Pruned {
        /// Per fold evaluated.
        intermediate: Vec<f64>,
    },
    /// It could not be evaluated, or broke a constraint.
    Failed(String),
}
