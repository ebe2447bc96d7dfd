//! What a tuning study is asked to do, checked against the strategy's parameter schema before
//! any bar is read.

use super::TuningServiceError;
use crate::backtest::BacktestRequest;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sextant_backtest::strategy::schema_for;
use sextant_tuning::backtest::{Constraints, ObjectiveExpr, Validation};
use sextant_tuning::{
    Direction, Distribution, Param, PrunerKind, SamplerKind, SearchSpace, StudySpec,
};

/// Most trials one study may hold.
pub const MAX_TRIALS: u32 = 20_000;
/// Most trials of a study of several objectives.
pub const MAX_TRIALS_MULTI: u32 = 5_000;
/// Most trials asked (and evaluated in parallel) together.
pub const MAX_BATCH: usize = 64;
/// Most objectives of one study.
pub const MAX_OBJECTIVES: usize = 4;

/// A request to tune a library strategy's parameters on cached bars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizeRequest {
    /// The backtest every trial runs: strategy, symbols, dates, simulator, prices; its
    /// `params` are held fixed (searched parameters may not appear there).
    pub backtest: BacktestRequest,
    /// The searched parameters, each a strategy parameter with its distribution.
    pub search: Vec<Param>,
    /// What to maximise: one or more metrics or weighted sums (`sharpe`,
    /// `0.7*sharpe+0.3*calmar`); several make a multi-objective study. Default: `["sharpe"]`.
    #[serde(default = "sharpe")]
    pub objectives: Vec<String>,
    /// Default: `tpe` (one objective) or `nsga2` (several).
    #[serde(default)]
    pub sampler: Option<SamplerKind>,
    /// Default: `none`.
    #[serde(default)]
    pub pruner: PrunerKind,
    /// Trials in the study, 1 to [`MAX_TRIALS`]. Default: 100. Asking the same study for more
    /// trials later continues it.
    #[serde(default = "hundred")]
    pub trials: u32,
    /// Trials asked and evaluated together, 1 to [`MAX_BATCH`]. Part of what makes a study
    /// reproducible (never the core count). Default: 8.
    #[serde(default = "eight")]
    pub batch: usize,
    /// Seeds every trial's random stream. Default: 0.
    #[serde(default)]
    pub seed: u64,
    /// Where trials are scored. Default: walk-forward, 504 training and 126 test bars, rolling.
    #[serde(default)]
    pub validation: Validation,
    /// Rules trials must keep. Default: none.
    #[serde(default)]
    pub constraints: Constraints,
    /// A label for listings. Default: none.
    #[serde(default)]
    pub name: Option<String>,
}

fn sharpe() -> Vec<String> {
    vec!["sharpe".into()]
}
fn hundred() -> u32 {
    100
}
fn eight() -> usize {
    8
}

fn invalid(field: &str, message: impl Into<String>) -> TuningServiceError {
    TuningServiceError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

impl OptimizeRequest {
    /// The parsed objectives.
    pub fn objective_exprs(&self) -> Result<Vec<ObjectiveExpr>, TuningServiceError> {
        if self.objectives.is_empty() || self.objectives.len() > MAX_OBJECTIVES {
            return Err(invalid(
                "objectives",
                format!(
                    "1 to {MAX_OBJECTIVES} objectives, got {}",
                    self.objectives.len()
                ),
            ));
        }
        self.objectives
            .iter()
            .map(|o| ObjectiveExpr::parse(o).map_err(|e| invalid("objectives", e.to_string())))
            .collect()
    }

    /// The sampler, defaulted by the number of objectives.
    pub fn sampler_kind(&self) -> SamplerKind {
        self.sampler.unwrap_or(if self.objectives.len() > 1 {
            SamplerKind::Nsga2
        } else {
            SamplerKind::Tpe
        })
    }

    /// The fixed parameters (the backtest's `params`) as an object.
    pub fn fixed(&self) -> Map<String, Value> {
        match &self.backtest.params {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        }
    }

    /// Checks everything that can be checked without bars: the backtest, the search space
    /// against the strategy's schema, objectives, sampler, limits. Returns the study's spec.
    pub fn validate(&self) -> Result<StudySpec, TuningServiceError> {
        self.backtest.validate()?;
        if !(1..=MAX_TRIALS).contains(&self.trials) {
            return Err(invalid(
                "trials",
                format!("1 to {MAX_TRIALS}, got {}", self.trials),
            ));
        }
        if !(1..=MAX_BATCH).contains(&self.batch) {
            return Err(invalid(
                "batch",
                format!("1 to {MAX_BATCH}, got {}", self.batch),
            ));
        }
        if let Some(n) = &self.name {
            if n.chars().count() > 200 {
                return Err(invalid("name", "at most 200 characters"));
            }
        }
        let objectives = self.objective_exprs()?;
        if objectives.len() > 1 && self.trials > MAX_TRIALS_MULTI {
            return Err(invalid(
                "trials",
                format!(
                    "a study of several objectives holds at most {MAX_TRIALS_MULTI} trials \
                     (Pareto ranking is quadratic), got {}",
                    self.trials
                ),
            ));
        }
        check_search(
            &self.backtest.strategy,
            &self.backtest.params,
            &self.search,
            &self.fixed(),
        )?;
        let spec = StudySpec {
            space: SearchSpace {
                params: self.search.clone(),
            },
            directions: vec![Direction::Maximize; objectives.len()],
            sampler: self.sampler_kind(),
            pruner: self.pruner,
            seed: self.seed,
        };
        sextant_tuning::Study::new(spec.clone()).map_err(|e| invalid("search", e.to_string()))?;
        Ok(spec)
    }
}

/// The strategy's schema for parameter `name` (for `rules`, the definition's in `params`).
fn schema_of(strategy: &str, params: &Value, name: &str) -> Result<Value, TuningServiceError> {
    let schema = schema_for(strategy, params).ok_or_else(|| {
        invalid(
            "backtest.strategy",
            format!("unknown strategy {strategy:?} (or a `rules` definition that does not read)"),
        )
    })?;
    if strategy == sextant_backtest::rules::RULES && name == "definition" {
        return Err(invalid(
            "search",
            "the definition itself cannot be searched",
        ));
    }
    schema["properties"].get(name).cloned().ok_or_else(|| {
        let known: Vec<String> = schema["properties"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        invalid(
            "search",
            format!(
                "{strategy} has no parameter {name:?} (it has: {})",
                known.join(", ")
            ),
        )
    })
}

/// Each searched parameter must be one of the strategy's, of a matching type, inside its
/// schema's range, and not also fixed.
fn check_search(
    strategy: &str,
    params: &Value,
    search: &[Param],
    fixed: &Map<String, Value>,
) -> Result<(), TuningServiceError> {
    if search.is_empty() {
        return Err(invalid("search", "name at least one parameter to search"));
    }
    for p in search {
        let bad = |m: String| invalid("search", format!("{}: {m}", p.name));
        if fixed.contains_key(&p.name) {
            return Err(bad("is both searched and fixed in backtest.params".into()));
        }
        let s = schema_of(strategy, params, &p.name)?;
        let (lo, hi) = (s["minimum"].as_f64(), s["maximum"].as_f64());
        let within = |a: f64, b: f64| lo.is_none_or(|l| a >= l) && hi.is_none_or(|h| b <= h);
        match (&p.distribution, s["type"].as_str()) {
            (Distribution::Int { low, high, .. }, Some("integer")) => {
                if !within(*low as f64, *high as f64) {
                    return Err(bad(format!(
                        "[{low}, {high}] leaves the schema's range [{}, {}]",
                        s["minimum"], s["maximum"]
                    )));
                }
            }
            (Distribution::Float { low, high, .. }, Some("number")) => {
                if !within(*low, *high) {
                    return Err(bad(format!(
                        "[{low}, {high}] leaves the schema's range [{}, {}]",
                        s["minimum"], s["maximum"]
                    )));
                }
            }
            (Distribution::Categorical { choices }, t) => {
                for c in choices {
                    let ok = match t {
                        Some("boolean") => c.is_boolean(),
                        Some("string") => c.is_string(),
                        Some("integer") => c.as_i64().is_some_and(|v| within(v as f64, v as f64)),
                        Some("number") => c.as_f64().is_some_and(|v| within(v, v)),
                        _ => false,
                    };
                    if !ok {
                        return Err(bad(format!("choice {c} does not fit the schema {s}")));
                    }
                }
            }
            (d, t) => {
                return Err(bad(format!(
                    "a {} distribution cannot set a parameter of type {}",
                    match d {
                        Distribution::Int { .. } => "int",
                        Distribution::Float { .. } => "float",
                        Distribution::Categorical { .. } => "categorical",
                    },
                    t.unwrap_or("object")
                )))
            }
        }
    }
    Ok(())
}

/// Parses the CLI's `name=spec`: `fast=5..50`, `fast=5..50:5` (step), `k=0.5..3.0`,
/// `k=log:0.01..1`, `allow_short=true,false` (choices), or a bare `name` for the schema's
/// whole range (booleans: both values). The strategy's schema decides integer or float.
pub fn parse_param(
    strategy: &str,
    params: &Value,
    text: &str,
) -> Result<Param, TuningServiceError> {
    let (name, spec) = match text.split_once('=') {
        Some((n, s)) => (n.trim(), Some(s.trim())),
        None => (text.trim(), None),
    };
    let s = schema_of(strategy, params, name)?;
    let ty = s["type"].as_str().unwrap_or("");
    let bad = |m: &str| invalid("search", format!("{text:?}: {m}"));
    let distribution = match spec {
        None => match ty {
            "integer" => Distribution::Int {
                low: s["minimum"].as_i64().ok_or_else(|| bad("no minimum"))?,
                high: s["maximum"].as_i64().ok_or_else(|| bad("no maximum"))?,
                step: 1,
                log: false,
            },
            "number" => Distribution::Float {
                low: s["minimum"].as_f64().ok_or_else(|| bad("no minimum"))?,
                high: s["maximum"].as_f64().ok_or_else(|| bad("no maximum"))?,
                step: None,
                log: false,
            },
            "boolean" => Distribution::Categorical {
                choices: vec![json!(false), json!(true)],
            },
            _ => return Err(bad("give the choices, e.g. name=a,b")),
        },
        Some(spec) => {
            let (log, body) = match spec.strip_prefix("log:") {
                Some(b) => (true, b),
                None => (false, spec),
            };
            if let Some((lo, rest)) = body.split_once("..") {
                let (hi, step) = match rest.split_once(':') {
                    Some((h, st)) => (h, Some(st)),
                    None => (rest, None),
                };
                if ty == "integer" {
                    let p = |v: &str| {
                        v.trim()
                            .parse::<i64>()
                            .map_err(|_| bad("integers expected"))
                    };
                    Distribution::Int {
                        low: p(lo)?,
                        high: p(hi)?,
                        step: step.map(p).transpose()?.unwrap_or(1),
                        log,
                    }
                } else {
                    let p = |v: &str| v.trim().parse::<f64>().map_err(|_| bad("numbers expected"));
                    Distribution::Float {
                        low: p(lo)?,
                        high: p(hi)?,
                        step: step.map(p).transpose()?,
                        log,
                    }
                }
            } else {
                let choices = body
                    .split(',')
                    .map(|c| {
                        let c = c.trim();
                        serde_json::from_str::<Value>(c).unwrap_or_else(|_| json!(c))
                    })
                    .collect();
                Distribution::Categorical { choices }
            }
        }
    };
    Ok(Param {
        name: name.to_string(),
        distribution,
        condition: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(search: Vec<Param>, params: Value) -> OptimizeRequest {
        serde_json::from_value(json!({
            "backtest": {"strategy": "sma_cross", "symbols": ["GOOG"], "params": params},
            "search": search,
        }))
        .unwrap()
    }

    #[test]
    fn parses_cli_ranges_by_schema_type() {
        let p = parse_param("sma_cross", &Value::Null, "fast=5..50").unwrap();
        assert!(matches!(
            p.distribution,
            Distribution::Int {
                low: 5,
                high: 50,
                step: 1,
                log: false
            }
        ));
        let p = parse_param("bollinger_reversion", &Value::Null, "k=log:0.5..3").unwrap();
        assert!(matches!(
            p.distribution,
            Distribution::Float { log: true, .. }
        ));
        let p = parse_param("sma_cross", &Value::Null, "allow_short").unwrap();
        assert_eq!(
            p.distribution,
            Distribution::Categorical {
                choices: vec![json!(false), json!(true)]
            }
        );
        let p = parse_param("sma_cross", &Value::Null, "slow=20..200:10").unwrap();
        assert!(matches!(p.distribution, Distribution::Int { step: 10, .. }));
        assert!(parse_param("sma_cross", &Value::Null, "wealth=1..2").is_err());
        assert!(parse_param("sma_cross", &Value::Null, "fast=a..b").is_err());
    }

    #[test]
    fn search_is_checked_against_the_schema() {
        let fast = parse_param("sma_cross", &Value::Null, "fast=5..50").unwrap();
        assert!(req(vec![fast.clone()], json!({})).validate().is_ok());
        // Fixed and searched at once.
        assert!(req(vec![fast.clone()], json!({"fast": 3}))
            .validate()
            .is_err());
        // Outside the schema's range (fast is 1..=1000).
        let wide = Param {
            distribution: Distribution::Int {
                low: 0,
                high: 50,
                step: 1,
                log: false,
            },
            ..fast.clone()
        };
        assert!(req(vec![wide], json!({})).validate().is_err());
        // A float distribution on an integer parameter.
        let float = Param {
            distribution: Distribution::Float {
                low: 1.0,
                high: 5.0,
                step: None,
                log: false,
            },
            ..fast
        };
        assert!(req(vec![float], json!({})).validate().is_err());
        assert!(req(vec![], json!({})).validate().is_err());
    }
}
