//! Standard test functions for samplers (minimised), as in the optimisation literature and
//! `scripts/tuning/optuna_peer.py`: what the parity benchmark runs against Optuna.

use crate::runner::Objective;
use crate::space::{Distribution, Param, SearchSpace};
use crate::trial::Outcome;
use serde_json::Value;

/// A test function: its space, its value at a point, its known minimum.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum TestFunction {
    /// Branin–Hoo on `x1 ∈ [−5, 10]`, `x2 ∈ [0, 15]`; minimum 0.397887.
    Branin,
    /// Hartmann 6-D on `[0, 1]^6`; minimum −3.32237.
    Hartmann6,
}

fn real(name: &str, low: f64, high: f64) -> Param {
    Param {
        name: name.into(),
        distribution: Distribution::Float {
            low,
            high,
            step: None,
            log: false,
        },
        condition: None,
    }
}

const H6_ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
const H6_A: [[f64; 6]; 4] = [
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
];
const H6_P: [[f64; 6]; 4] = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
];

impl TestFunction {
    /// The search space.
    pub fn space(self) -> SearchSpace {
        let params = match self {
            TestFunction::Branin => vec![real("x1", -5.0, 10.0), real("x2", 0.0, 15.0)],
            TestFunction::Hartmann6 => (1..=6).map(|i| real(&format!("x{i}"), 0.0, 1.0)).collect(),
        };
        SearchSpace { params }
    }

    /// The known global minimum.
    pub fn minimum(self) -> f64 {
        match self {
            TestFunction::Branin => 0.397_887_357_729_738,
            TestFunction::Hartmann6 => -3.322_368_011_415_51,
        }
    }

    /// The value at `x` (in the space's parameter order).
    pub fn value(self, x: &[f64]) -> f64 {
        match self {
            TestFunction::Branin => {
                let pi = std::f64::consts::PI;
                let (b, c, t) = (5.1 / (4.0 * pi * pi), 5.0 / pi, 1.0 / (8.0 * pi));
                let (x1, x2) = (x[0], x[1]);
                (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
            }
            TestFunction::Hartmann6 => -(0..4)
                .map(|i| {
                    let s: f64 = (0..6)
                        .map(|j| H6_A[i][j] * (x[j] - H6_P[i][j]).powi(2))
                        .sum();
                    H6_ALPHA[i] * (-s).exp()
                })
                .sum::<f64>(),
        }
    }
}

impl Objective for TestFunction {
    fn evaluate(&self, params: &Value, _prune: &(dyn Fn(&[f64]) -> bool + Sync)) -> Outcome {
        let x: Option<Vec<f64>> = self
            .space()
            .params
            .iter()
            .map(|p| params.get(&p.name).and_then(Value::as_f64))
            .collect();
        match x {
            Some(x) => Outcome::Complete {
                values: vec![self.value(&x)],
                intermediate: Vec::new(),
            },
            None => Outcome::Failed("missing parameter".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minima_are_where_the_literature_says() {
        let pi = std::f64::consts::PI;
        for x in [[-pi, 12.275], [pi, 2.275], [9.424_78, 2.475]] {
            assert!((TestFunction::Branin.value(&x) - TestFunction::Branin.minimum()).abs() < 1e-5);
        }
        let x = [
            0.201_69, 0.150_011, 0.476_874, 0.275_332, 0.311_652, 0.657_3,
        ];
        assert!(
            (TestFunction::Hartmann6.value(&x) - TestFunction::Hartmann6.minimum()).abs() < 1e-5
        );
    }
}
