//! The search space: named parameters with their distributions and conditions.
//!
//! Values travel in an *internal* representation, one `f64` per active parameter: the number
//! itself for integers and floats, the index of the choice for categoricals (Optuna's
//! convention). [`SearchSpace::to_json`] turns an assignment into the strategy's JSON
//! parameter object.

use crate::TuningError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One assignment of values to the active parameters, in the internal representation.
pub type Assignment = BTreeMap<String, f64>;

/// The distribution a parameter is drawn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Integers `low..=high` on a grid of `step` (default 1) from `low`; `log` samples on a log
    /// scale (then `step` must be 1 and `low` ≥ 1).
    Int {
        /// Smallest value.
        low: i64,
        /// Largest value (included; rounded down onto the grid).
        high: i64,
        /// Grid spacing. Default: 1.
        #[serde(default = "one")]
        step: i64,
        /// Sample on a log scale. Default: false.
        #[serde(default)]
        log: bool,
    },
    /// Reals in `[low, high]`, optionally on a grid of `step`; `log` samples on a log scale
    /// (then `low` > 0 and no step).
    Float {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
        /// Grid spacing, if any. Default: none.
        #[serde(default)]
        step: Option<f64>,
        /// Sample on a log scale. Default: false.
        #[serde(default)]
        log: bool,
    },
    /// One of a list of JSON values (booleans, numbers or strings), 1..=64 of them.
    Categorical {
        /// The choices, in order (the internal value is the index).
        choices: Vec<Value>,
    },
}

fn one() -> i64 {
    1
}

/// When a parameter is active: only when another parameter took one of the listed values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The parameter this one depends on (declared earlier in the space).
    pub parent: String,
    /// The parent's values (as JSON, e.g. `true` or `"ema"`) under which this one is active.
    pub values: Vec<Value>,
}

/// One parameter to search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// Key in the strategy's parameter object.
    pub name: String,
    /// Where its values come from.
    pub distribution: Distribution,
    /// Active only under this condition; always active when absent.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

/// Parameters in declaration order (a condition refers to an earlier one), plus fixed values.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SearchSpace {
    /// The searched parameters.
    pub params: Vec<Param>,
}

/// At most this many parameters in one space.
pub const MAX_PARAMS: usize = 32;
/// At most this many choices in one categorical.
pub const MAX_CHOICES: usize = 64;

impl Distribution {
    /// Checks bounds, steps and log scales; `name` labels the error.
    pub fn validate(&self, name: &str) -> Result<(), TuningError> {
        let bad = |why: String| Err(TuningError::Space(format!("{name}: {why}")));
        match *self {
            Distribution::Int {
                low,
                high,
                step,
                log,
            } => {
                if low > high {
                    return bad(format!("low {low} above high {high}"));
                }
                if step < 1 {
                    return bad(format!("step must be at least 1, got {step}"));
                }
                if log && (low < 1 || step != 1) {
                    return bad("a log scale needs low >= 1 and step 1".into());
                }
            }
            Distribution::Float {
                low,
                high,
                step,
                log,
            } => {
                if !(low.is_finite() && high.is_finite()) || low > high {
                    return bad(format!("bounds [{low}, {high}] must be finite and ordered"));
                }
                if let Some(s) = step {
                    if !(s.is_finite() && s > 0.0) || log {
                        return bad("step must be finite, > 0 and not on a log scale".into());
                    }
                }
                if log && low <= 0.0 {
                    return bad("a log scale needs low > 0".into());
                }
            }
            Distribution::Categorical { ref choices } => {
                if choices.is_empty() || choices.len() > MAX_CHOICES {
                    return bad(format!("1..={MAX_CHOICES} choices, got {}", choices.len()));
                }
                if choices
                    .iter()
                    .any(|c| !(c.is_boolean() || c.is_number() || c.is_string()))
                {
                    return bad("choices must be booleans, numbers or strings".into());
                }
            }
        }
        Ok(())
    }

    /// Whether the internal value `v` is one this distribution can produce.
    pub fn contains(&self, v: f64) -> bool {
        match *self {
            Distribution::Int {
                low, high, step, ..
            } => {
                v.fract() == 0.0
                    && v >= low as f64
                    && v <= high as f64
                    && (v as i64 - low) % step == 0
            }
            Distribution::Float { low, high, .. } => v >= low && v <= high,
            Distribution::Categorical { ref choices } => {
                v.fract() == 0.0 && v >= 0.0 && (v as usize) < choices.len()
            }
        }
    }

    /// The largest value on the grid (ints and stepped floats), else `high`.
    pub(crate) fn top(&self) -> f64 {
        match *self {
            Distribution::Int {
                low, high, step, ..
            } => (low + (high - low) / step * step) as f64,
            Distribution::Float {
                low,
                high,
                step: Some(s),
                ..
            } => low + ((high - low) / s + 1e-9).floor() * s,
            Distribution::Float { high, .. } => high,
            Distribution::Categorical { ref choices } => (choices.len() - 1) as f64,
        }
    }

    /// Whether the internal value lives on a log scale.
    pub fn is_log(&self) -> bool {
        matches!(
            self,
            Distribution::Int { log: true, .. } | Distribution::Float { log: true, .. }
        )
    }

    /// Rounds a real in the distribution's range onto its grid (ints, stepped floats) and
    /// clamps it into the range.
    pub fn snap(&self, v: f64) -> f64 {
        match *self {
            Distribution::Int { low, step, .. } => {
                let k = ((v - low as f64) / step as f64).round();
                (low as f64 + k * step as f64).clamp(low as f64, self.top())
            }
            Distribution::Float {
                low, step: Some(s), ..
            } => {
                let k = ((v - low) / s).round();
                (low + k * s).clamp(low, self.top())
            }
            Distribution::Float { low, high, .. } => v.clamp(low, high),
            Distribution::Categorical { ref choices } => {
                v.round().clamp(0.0, (choices.len() - 1) as f64)
            }
        }
    }

    /// The JSON value of internal value `v`.
    pub fn to_json(&self, v: f64) -> Value {
        match self {
            Distribution::Int { .. } => Value::from(v as i64),
            Distribution::Float { .. } => {
                serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
            }
            Distribution::Categorical { choices } => {
                choices.get(v as usize).cloned().unwrap_or(Value::Null)
            }
        }
    }

    /// The internal value of a JSON value, if the distribution can produce it.
    pub fn from_json(&self, v: &Value) -> Option<f64> {
        let x = match self {
            Distribution::Categorical { choices } => choices.iter().position(|c| c == v)? as f64,
            _ => v.as_f64()?,
        };
        self.contains(x).then_some(x)
    }

    /// Number of distinct values for ints, stepped floats and categoricals; `None` for reals.
    pub fn cardinality(&self) -> Option<u64> {
        match *self {
            Distribution::Int {
                low, high, step, ..
            } => Some(((high - low) / step + 1) as u64),
            Distribution::Float {
                low,
                high,
                step: Some(s),
                ..
            } => Some(((high - low) / s + 1e-9).floor() as u64 + 1),
            Distribution::Float { .. } => None,
            Distribution::Categorical { ref choices } => Some(choices.len() as u64),
        }
    }
}

impl SearchSpace {
    /// Checks every distribution, unique names, and that each condition names an earlier
    /// parameter and values it can take.
    pub fn validate(&self) -> Result<(), TuningError> {
        if self.params.is_empty() || self.params.len() > MAX_PARAMS {
            return Err(TuningError::Space(format!(
                "1..={MAX_PARAMS} parameters, got {}",
                self.params.len()
            )));
        }
        for (i, p) in self.params.iter().enumerate() {
            p.distribution.validate(&p.name)?;
            if self.params[..i].iter().any(|q| q.name == p.name) {
                return Err(TuningError::Space(format!("{} is declared twice", p.name)));
            }
            if let Some(c) = &p.condition {
                let parent = self.params[..i]
                    .iter()
                    .find(|q| q.name == c.parent)
                    .ok_or_else(|| {
                        TuningError::Space(format!(
                            "{}: condition on {}, which is not declared before it",
                            p.name, c.parent
                        ))
                    })?;
                if c.values.is_empty()
                    || c.values
                        .iter()
                        .any(|v| parent.distribution.from_json(v).is_none())
                {
                    return Err(TuningError::Space(format!(
                        "{}: condition values must be values {} can take",
                        p.name, c.parent
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether `p` is active given the values assigned so far.
    pub fn is_active(&self, p: &Param, assigned: &Assignment) -> bool {
        let Some(c) = &p.condition else {
            return true;
        };
        let Some(parent) = self.params.iter().find(|q| q.name == c.parent) else {
            return false;
        };
        assigned.get(&c.parent).is_some_and(|&v| {
            c.values
                .iter()
                .any(|w| parent.distribution.from_json(w) == Some(v))
        })
    }

    /// The parameters without a condition (always active).
    pub fn unconditional(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.condition.is_none())
    }

    /// The JSON parameter object of an assignment, with `fixed` values merged under it.
    pub fn to_json(&self, a: &Assignment, fixed: &Map<String, Value>) -> Value {
        let mut m = fixed.clone();
        for p in &self.params {
            if let Some(&v) = a.get(&p.name) {
                m.insert(p.name.clone(), p.distribution.to_json(v));
            }
        }
        Value::Object(m)
    }

    /// Number of points of a full grid (conditionals counted as always active); `None` when a
    /// parameter is a continuous real.
    pub fn grid_size(&self) -> Option<u64> {
        self.params.iter().try_fold(1u64, |acc, p| {
            acc.checked_mul(p.distribution.cardinality()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn int(name: &str, low: i64, high: i64) -> Param {
        Param {
            name: name.into(),
            distribution: Distribution::Int {
                low,
                high,
                step: 1,
                log: false,
            },
            condition: None,
        }
    }

    #[test]
    fn parses_validates_and_converts() {
        let space: SearchSpace = serde_json::from_value(json!({"params": [
            {"name": "fast", "distribution": {"type": "int", "low": 5, "high": 50}},
            {"name": "short", "distribution": {"type": "categorical", "choices": [false, true]}},
            {"name": "k", "distribution": {"type": "float", "low": 0.1, "high": 10.0, "log": true},
             "if": {"parent": "short", "values": [true]}}
        ]}))
        .unwrap();
        space.validate().unwrap();
        let mut a = Assignment::new();
        a.insert("fast".into(), 7.0);
        a.insert("short".into(), 0.0);
        assert!(!space.is_active(&space.params[2], &a));
        a.insert("short".into(), 1.0);
        assert!(space.is_active(&space.params[2], &a));
        a.insert("k".into(), 2.5);
        let j = space.to_json(&a, &Map::new());
        assert_eq!(j, json!({"fast": 7, "short": true, "k": 2.5}));
        assert_eq!(
            space.params[1].distribution.from_json(&json!(true)),
            Some(1.0)
        );
        assert_eq!(space.grid_size(), None);
    }

    #[test]
    fn rejects_bad_spaces() {
        let mut s = SearchSpace {
            params: vec![int("a", 5, 1)],
        };
        assert!(s.validate().is_err());
        s.params = vec![int("a", 1, 5), int("a", 1, 5)];
        assert!(s.validate().is_err());
        s.params = vec![
            int("a", 1, 5),
            Param {
                condition: Some(Condition {
                    parent: "b".into(),
                    values: vec![json!(1)],
                }),
                ..int("c", 1, 2)
            },
        ];
        assert!(s.validate().is_err());
        let log0 = Distribution::Float {
            low: 0.0,
            high: 1.0,
            step: None,
            log: true,
        };
        assert!(log0.validate("x").is_err());
    }

    #[test]
    fn grids_snap_and_count() {
        let d = Distribution::Int {
            low: 2,
            high: 11,
            step: 3,
            log: false,
        };
        assert_eq!(d.cardinality(), Some(4)); // 2 5 8 11
        assert_eq!(d.snap(6.4), 5.0);
        assert_eq!(d.snap(100.0), 11.0);
        assert!(d.contains(8.0) && !d.contains(7.0));
        let f = Distribution::Float {
            low: 0.0,
            high: 1.0,
            step: Some(0.25),
            log: false,
        };
        assert_eq!(f.cardinality(), Some(5));
        assert_eq!(f.snap(0.3), 0.25);
    }
}
