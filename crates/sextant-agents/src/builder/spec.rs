//! The build spec: what a strategy request asks for, in the builder's vocabulary, and its
//! deterministic lowering to a backtest strategy config the engine runs.
//!
//! Both the offline parser and an LLM produce a [`BuildSpec`]; only [`BuildSpec::lower`] turns
//! it into a config, and [`BuildSpec::validate`] checks that config with the engine's own
//! validation (strategy parameter schema, rule-language compiler, simulator settings), so a
//! config that would not run is never returned or persisted.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sextant_backtest::rules::{canonical_text, library_definitions};
use sextant_backtest::simulator::SimConfig;
use sextant_backtest::strategy::{build_strategy, strategy_library};

/// The name of the custom (rule-language) strategy in a spec.
pub const CUSTOM: &str = "custom";
/// ATR period used for `stop_loss_atr` (the library's and TA-Lib's default).
pub const ATR_PERIOD: u32 = 14;

/// A strategy request in structured form; every omitted field takes its default (see
/// `tests/eval/README.md` for the vocabulary).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSpec {
    /// A library strategy name, or `custom`.
    pub strategy: String,
    /// Library parameters the request states (defaults omitted), `allow_short` included.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// `custom` only: conditions that must all hold to go long.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<String>,
    /// `custom` only: conditions any of which closes the long.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exit: Vec<String>,
    /// Conditions every entry also needs (regime, ML probability, trend filters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// Stop distance as a fraction of the entry close (0.05 = 5 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<f64>,
    /// Stop distance in multiples of ATR(14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss_atr: Option<f64>,
    /// Take-profit distance as a fraction of the entry close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<f64>,
    /// Trailing-stop distance as a fraction of the close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing_stop: Option<f64>,
    /// Close a position after this many bars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bars: Option<u32>,
    /// Fraction of equity per position (default: all in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_fraction: Option<f64>,
    /// Commission as a fraction of notional per fill (0.001 = 0.1 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission: Option<f64>,
    /// Slippage in basis points per fill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slippage_bps: Option<f64>,
}

/// Why a spec cannot become a runnable config; the message names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    /// The spec field at fault (`params.fast`, `filters[1]`, ...).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError {
        field: field.into(),
        message: message.into(),
    }
}

/// A backtest strategy config: the `strategy`, `params` and `sim` fields of a backtest
/// request, ready to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyConfig {
    /// A library strategy, or `rules` with a rule-language definition.
    pub strategy: String,
    /// The strategy's parameters.
    pub params: Value,
    /// Simulator settings (costs), `{}` when the request named none.
    pub sim: Value,
}

/// The library strategies' parameter defaults, from the engine's own schemas.
fn library_defaults(strategy: &str) -> Option<Map<String, Value>> {
    let info = strategy_library()
        .into_iter()
        .find(|s| s.name == strategy)?;
    let props = info.schema.get("properties")?.as_object()?;
    Some(
        props
            .iter()
            .filter_map(|(k, v)| v.get("default").map(|d| (k.clone(), d.clone())))
            .collect(),
    )
}

/// Is `strategy` a name the spec accepts?
pub fn is_known_strategy(strategy: &str) -> bool {
    strategy == CUSTOM || library_definitions().iter().any(|(n, _)| *n == strategy)
}

/// `parts` joined by `word` (`and`, `or`), each in parentheses when there are several.
fn join(parts: &[String], word: &str) -> String {
    match parts {
        [one] => one.clone(),
        _ => parts
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(&format!(" {word} ")),
    }
}

fn and_all(parts: &[String]) -> String {
    join(parts, "and")
}

fn or_any(parts: &[String]) -> String {
    join(parts, "or")
}

fn fraction(field: &str, v: Option<f64>, max: f64) -> Result<(), SpecError> {
    match v {
        Some(x) if !(x.is_finite() && x > 0.0 && x <= max) => {
            Err(err(field, format!("must be in (0, {max}], got {x}")))
        }
        _ => Ok(()),
    }
}

impl BuildSpec {
    /// True when the spec is a library strategy with nothing added, so it lowers to the
    /// library strategy itself rather than to a rule-language definition.
    pub fn is_plain_library(&self) -> bool {
        self.strategy != CUSTOM
            && self.filters.is_empty()
            && self.stop_loss.is_none()
            && self.stop_loss_atr.is_none()
            && self.take_profit.is_none()
            && self.trailing_stop.is_none()
            && self.max_bars.is_none()
            && self.size_fraction.is_none()
    }

    fn check_fields(&self) -> Result<(), SpecError> {
        if !is_known_strategy(&self.strategy) {
            return Err(err(
                "strategy",
                format!("unknown strategy '{}'", self.strategy),
            ));
        }
        if self.strategy == CUSTOM {
            if self.entry.is_empty() {
                return Err(err(
                    "entry",
                    "a custom strategy needs at least one entry condition",
                ));
            }
            if !self.params.is_empty() {
                return Err(err(
                    "params",
                    "a custom strategy takes no library parameters",
                ));
            }
        } else if !self.entry.is_empty() || !self.exit.is_empty() {
            return Err(err(
                "entry",
                "entry and exit conditions are for custom strategies only",
            ));
        }
        if self.stop_loss.is_some() && self.stop_loss_atr.is_some() {
            return Err(err(
                "stop_loss",
                "give stop_loss or stop_loss_atr, not both",
            ));
        }
        fraction("stop_loss", self.stop_loss, 0.99)?;
        fraction("take_profit", self.take_profit, 10.0)?;
        fraction("trailing_stop", self.trailing_stop, 0.99)?;
        fraction("stop_loss_atr", self.stop_loss_atr, 100.0)?;
        fraction("size_fraction", self.size_fraction, 10.0)?;
        if self.max_bars == Some(0) {
            return Err(err("max_bars", "must be at least 1"));
        }
        Ok(())
    }

    /// Lowers the spec to a strategy config: the library strategy itself when nothing is
    /// added to it, otherwise a rule-language definition (the library strategy's definition
    /// with the filters joined to every entry, or the custom conditions) with the risk exits
    /// and size on each side.
    ///
    /// # Errors
    ///
    /// [`SpecError`] for an unknown strategy or an out-of-range field; the engine's checks
    /// are in [`validate`](Self::validate).
    pub fn lower(&self) -> Result<StrategyConfig, SpecError> {
        self.lower_with(false)
    }

    /// The spec as one self-contained rule-language definition (the library strategy's
    /// definition when the spec names one), its parameter defaults set to the request's
    /// values: what the builder saves as a user strategy.
    ///
    /// # Errors
    ///
    /// [`SpecError`] as [`lower`](Self::lower).
    pub fn to_definition(&self, name: &str) -> Result<Value, SpecError> {
        let config = self.lower_with(true)?;
        let mut params = config.params;
        let mut definition = params
            .as_object_mut()
            .and_then(|p| p.remove("definition"))
            .ok_or_else(|| err("strategy", "no definition"))?;
        if let Some(obj) = definition.as_object_mut() {
            obj.insert("name".into(), json!(name));
            if let Some(decls) = obj.get_mut("params").and_then(Value::as_object_mut) {
                for (k, v) in params.as_object().into_iter().flatten() {
                    if let Some(d) = decls.get_mut(k).and_then(Value::as_object_mut) {
                        d.insert("default".into(), v.clone());
                    }
                }
            }
        }
        Ok(definition)
    }

    fn lower_with(&self, force_rules: bool) -> Result<StrategyConfig, SpecError> {
        self.check_fields()?;
        let sim = self.sim()?;
        if self.is_plain_library() && !force_rules {
            return Ok(StrategyConfig {
                strategy: self.strategy.clone(),
                params: Value::Object(self.params.clone()),
                sim,
            });
        }
        let mut definition = if self.strategy == CUSTOM {
            let mut long = Map::new();
            long.insert("entry".into(), Value::String(and_all(&self.entry)));
            if !self.exit.is_empty() {
                long.insert("exit".into(), Value::String(or_any(&self.exit)));
            }
            json!({"name": "custom", "description": "Built from a natural-language request.", "long": long})
        } else {
            library_definitions()
                .into_iter()
                .find(|(n, _)| *n == self.strategy)
                .map(|(_, d)| d)
                .ok_or_else(|| err("strategy", format!("unknown strategy '{}'", self.strategy)))?
        };
        for side in ["long", "short"] {
            let Some(rules) = definition.get_mut(side).and_then(Value::as_object_mut) else {
                continue;
            };
            self.decorate(rules);
        }
        let mut params = self.params.clone();
        params.insert("definition".into(), definition);
        Ok(StrategyConfig {
            strategy: "rules".into(),
            params: Value::Object(params),
            sim,
        })
    }

    /// Adds the filters, risk exits and size to one side's rules.
    fn decorate(&self, rules: &mut Map<String, Value>) {
        if !self.filters.is_empty() {
            let mut parts = Vec::with_capacity(self.filters.len() + 1);
            if let Some(e) = rules.get("entry").and_then(Value::as_str) {
                parts.push(e.to_string());
            }
            parts.extend(self.filters.iter().cloned());
            rules.insert("entry".into(), Value::String(and_all(&parts)));
        }
        if let Some(p) = self.stop_loss {
            rules.insert("stop_loss".into(), json!({"pct": p}));
        }
        if let Some(k) = self.stop_loss_atr {
            rules.insert("stop_loss".into(), json!({"atr": k, "period": ATR_PERIOD}));
        }
        if let Some(p) = self.take_profit {
            rules.insert("take_profit".into(), json!({"pct": p}));
        }
        if let Some(p) = self.trailing_stop {
            rules.insert("trailing_stop".into(), json!({"pct": p}));
        }
        if let Some(n) = self.max_bars {
            rules.insert("max_bars".into(), json!(n));
        }
        if let Some(f) = self.size_fraction {
            rules.insert("size".into(), json!({"kind": "fraction", "fraction": f}));
        }
    }

    fn sim(&self) -> Result<Value, SpecError> {
        if self.commission.is_none() && self.slippage_bps.is_none() {
            return Ok(json!({}));
        }
        let c = self.commission.unwrap_or(0.0);
        let s = self.slippage_bps.unwrap_or(0.0);
        if !(c.is_finite() && (0.0..0.1).contains(&c)) {
            return Err(err("commission", format!("must be in [0, 0.1), got {c}")));
        }
        if !(s.is_finite() && (0.0..1000.0).contains(&s)) {
            return Err(err(
                "slippage_bps",
                format!("must be in [0, 1000), got {s}"),
            ));
        }
        Ok(json!({"costs": {"commission_pct": c, "commission_fixed": 0.0, "slippage_bps": s}}))
    }

    /// Lowers the spec and runs the engine's own checks on the result: the strategy's
    /// parameter schema and construction (for `rules`, the compiler with its causality and size
    /// limits) and the simulator settings.
    ///
    /// # Errors
    ///
    /// [`SpecError`] naming the field, with the engine's message.
    pub fn validate(&self) -> Result<StrategyConfig, SpecError> {
        let config = self.lower()?;
        build_strategy(&config.strategy, &config.params)
            .map_err(|e| err("params", e.to_string()))?;
        let sim: SimConfig =
            serde_json::from_value(config.sim.clone()).map_err(|e| err("sim", e.to_string()))?;
        sim.validate().map_err(|e| err("sim", e.to_string()))?;
        Ok(config)
    }

    /// The spec in a form where equal meaning gives equal JSON: library defaults filled in,
    /// every condition in canonical text, filters sorted, empty fields dropped. The builder's
    /// evaluation compares these.
    ///
    /// # Errors
    ///
    /// [`SpecError`] for an unknown strategy or a condition that does not parse.
    pub fn normalised(&self) -> Result<Value, SpecError> {
        let mut params = if self.strategy == CUSTOM {
            Map::new()
        } else {
            library_defaults(&self.strategy)
                .ok_or_else(|| err("strategy", format!("unknown strategy '{}'", self.strategy)))?
        };
        for (k, v) in &self.params {
            params.insert(
                k.clone(),
                json!(v.as_f64().map_or_else(|| v.clone(), |f| json!(f))),
            );
        }
        for v in params.values_mut() {
            if let Some(f) = v.as_f64() {
                *v = json!(f);
            }
        }
        let canon = |field: &str, list: &[String]| -> Result<Vec<String>, SpecError> {
            let mut out = list
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    canonical_text(t).map_err(|e| err(format!("{field}[{i}]"), e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.sort();
            Ok(out)
        };
        let mut out = Map::new();
        out.insert("strategy".into(), json!(self.strategy));
        out.insert("params".into(), Value::Object(params));
        out.insert("entry".into(), json!(canon("entry", &self.entry)?));
        out.insert("exit".into(), json!(canon("exit", &self.exit)?));
        out.insert("filters".into(), json!(canon("filters", &self.filters)?));
        let nums = [
            ("stop_loss", self.stop_loss),
            ("stop_loss_atr", self.stop_loss_atr),
            ("take_profit", self.take_profit),
            ("trailing_stop", self.trailing_stop),
            ("max_bars", self.max_bars.map(f64::from)),
            ("size_fraction", self.size_fraction),
            ("commission", self.commission),
            ("slippage_bps", self.slippage_bps),
        ];
        for (k, v) in nums {
            if let Some(x) = v {
                out.insert(k.into(), json!(x));
            }
        }
        Ok(Value::Object(out))
    }
}

/// The `'static` name of a library strategy, if `name` is one.
pub fn library_name(name: &str) -> Option<&'static str> {
    library_definitions()
        .into_iter()
        .map(|(n, _)| n)
        .find(|n| *n == name)
}
