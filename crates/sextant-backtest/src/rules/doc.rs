//! A strategy definition as a JSON document: its parameters, named sub-expressions, and a
//! rule set per side with risk exits and sizing.

use super::error::RuleError;
use crate::strategy::{is_identifier, ParamError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Names a parameter or a `let` cannot take: the price series and the keywords.
pub const RESERVED: [&str; 10] = [
    "open", "high", "low", "close", "volume", "true", "false", "and", "or", "not",
];

/// Most parameters a definition declares.
pub const MAX_PARAMS: usize = 32;
/// Most `let` definitions.
pub const MAX_LETS: usize = 64;

/// A user-defined strategy. See the module documentation of [`super`] for the language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    /// An identifier (letters, digits, `_`, `-`; 1–64 characters), shown in results.
    pub name: String,
    /// What the strategy does, in prose.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Tunable parameters, referenced by name in expressions, levels and sizes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, ParamDecl>,
    /// Conditions on the parameters alone (`fast < slow`), checked before anything runs: a
    /// parameter set that breaks one is refused, and the tuner counts it as infeasible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<String>,
    /// Named sub-expressions, usable in every expression (and in each other, without cycles).
    #[serde(default, rename = "let", skip_serializing_if = "BTreeMap::is_empty")]
    pub lets: BTreeMap<String, String>,
    /// When to hold a long position. At least one of `long` and `short` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long: Option<SideRules>,
    /// When to hold a short position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<SideRules>,
}

/// A declared parameter: its type, range and default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ParamDecl {
    /// An integer in `[min, max]` (periods, lags, bar counts).
    Int {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
        /// Value when none is given.
        default: i64,
        /// What it means.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        description: String,
    },
    /// A finite number in `[min, max]` (thresholds, multipliers, fractions).
    Float {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
        /// Value when none is given.
        default: f64,
        /// What it means.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        description: String,
    },
    /// A switch (`allow_short`), usable as a boolean in expressions.
    Bool {
        /// Value when none is given.
        default: bool,
        /// What it means.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        description: String,
    },
}

/// The rules of one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideRules {
    /// Boolean expression: when true, hold this side (opening it, or flipping from the other).
    pub entry: String,
    /// Boolean expression: when true while this side is held, close it. Default: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    /// Protective stop below a long's (above a short's) signal close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<Level>,
    /// Profit target above a long's (below a short's) signal close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<Level>,
    /// A stop that follows the close: at each close it moves to `close ∓ distance` if that is
    /// tighter, never back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing_stop: Option<Level>,
    /// Close the position after this many bars (counted from the entry signal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bars: Option<Num>,
    /// How a position of this side is sized. Default: the simulator's configured sizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<SizeSpec>,
}

/// A number written literally or as a parameter name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Num {
    /// A literal.
    Lit(f64),
    /// A declared numeric parameter.
    Param(String),
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Lit(v) => write!(f, "{v}"),
            Num::Param(p) => write!(f, "{p}"),
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.pct, &self.atr) {
            (Some(p), _) => write!(f, "{p} of the close"),
            (None, Some(k)) => {
                let period = self
                    .period
                    .as_ref()
                    .map_or("14".to_string(), |p| p.to_string());
                write!(f, "{k} x ATR({period})")
            }
            (None, None) => write!(f, "(none)"),
        }
    }
}

impl std::fmt::Display for SizeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SizeSpec::AllIn => write!(f, "all in"),
            SizeSpec::Fraction { fraction } => write!(f, "{fraction} of equity"),
            SizeSpec::Units { units } => write!(f, "{units} units"),
            SizeSpec::VolTarget {
                annual_vol,
                lookback,
                max_leverage,
                ..
            } => write!(
                f,
                "volatility target {annual_vol} over {lookback} returns, at most {max_leverage}x"
            ),
        }
    }
}

/// A distance from the signal close: a fraction of it, or a multiple of ATR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// Distance as a fraction of the close (0.05 = 5 %), in (0, 10].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct: Option<Num>,
    /// Distance in multiples of ATR(`period`), in (0, 100].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atr: Option<Num>,
    /// ATR period for `atr`. Default 14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Num>,
}

/// Per-side position sizing (the simulator's sizers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SizeSpec {
    /// All available cash (a long) or equity (a short).
    AllIn,
    /// A fraction of equity.
    Fraction {
        /// Share of equity (above 1 borrows).
        fraction: Num,
    },
    /// A fixed number of units.
    Units {
        /// Units per position.
        units: Num,
    },
    /// Equity × min(annual_vol / realised vol, max_leverage).
    VolTarget {
        /// Target annualised volatility (0.15 = 15 %).
        annual_vol: Num,
        /// Returns in the realised-volatility estimate (≥ 2).
        lookback: Num,
        /// Cap on the position as a multiple of equity.
        max_leverage: Num,
        /// Bars per year. Default 252.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        periods_per_year: Option<Num>,
    },
}

/// A parameter's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue {
    /// An integer parameter.
    Int(i64),
    /// A float parameter.
    Float(f64),
    /// A boolean parameter.
    Bool(bool),
}

impl ParamValue {
    /// The value as a number (booleans are 1 and 0).
    pub fn as_f64(self) -> f64 {
        match self {
            ParamValue::Int(i) => i as f64,
            ParamValue::Float(f) => f,
            ParamValue::Bool(b) => f64::from(u8::from(b)),
        }
    }
}

impl RuleDoc {
    /// Reads a definition from JSON, with the serde error (line and column) on failure.
    pub fn from_value(v: &Value) -> Result<RuleDoc, RuleError> {
        RuleDoc::deserialize(v).map_err(|e| RuleError::field("definition", e.to_string()))
    }

    /// Structural checks that need no expression: the name, the parameter declarations, the
    /// number of `let`s and that some side exists.
    pub fn check_shape(&self) -> Result<(), RuleError> {
        if !is_identifier(&self.name) {
            return Err(RuleError::field(
                "name",
                "must be 1-64 characters of letters, digits, '_' or '-'",
            ));
        }
        if self.description.len() > 2_000 {
            return Err(RuleError::field("description", "at most 2000 bytes"));
        }
        if self.params.len() > MAX_PARAMS {
            return Err(RuleError::field("params", format!("at most {MAX_PARAMS}")));
        }
        if self.require.len() > MAX_LETS {
            return Err(RuleError::field("require", format!("at most {MAX_LETS}")));
        }
        if self.lets.len() > MAX_LETS {
            return Err(RuleError::field("let", format!("at most {MAX_LETS}")));
        }
        if self.long.is_none() && self.short.is_none() {
            return Err(RuleError::field(
                "long",
                "a definition needs a `long` or a `short` rule set",
            ));
        }
        for (name, decl) in &self.params {
            let field = format!("params.{name}");
            if RESERVED.contains(&name.as_str()) {
                return Err(RuleError::field(
                    field,
                    format!("`{name}` is reserved (a price or a keyword)"),
                ));
            }
            if !is_name(name) || name == "definition" {
                return Err(RuleError::field(
                    field,
                    "a parameter name is a letter or '_' then letters, digits or '_' (not `definition`)",
                ));
            }
            decl.check().map_err(|m| RuleError::field(field, m))?;
        }
        for name in self.lets.keys() {
            if RESERVED.contains(&name.as_str()) {
                return Err(RuleError::field(
                    format!("let.{name}"),
                    format!("`{name}` is reserved (a price or a keyword)"),
                ));
            }
            if !is_name(name) {
                return Err(RuleError::field(
                    format!("let.{name}"),
                    "a name is a letter or '_' then letters, digits or '_'",
                ));
            }
            if self.params.contains_key(name) {
                return Err(RuleError::field(
                    format!("let.{name}"),
                    "also declared as a parameter",
                ));
            }
        }
        Ok(())
    }

    /// The parameter values for `given` (an object of overrides; `definition` is skipped):
    /// declared names only, type and range checked, defaults for the rest.
    pub fn resolve(
        &self,
        given: &Map<String, Value>,
    ) -> Result<BTreeMap<String, ParamValue>, ParamError> {
        if let Some(k) = given
            .keys()
            .find(|k| *k != "definition" && !self.params.contains_key(*k))
        {
            return Err(ParamError::UnknownField { field: k.clone() });
        }
        let mut out = BTreeMap::new();
        for (name, decl) in &self.params {
            let v = given.get(name).filter(|v| !v.is_null());
            let wrong = |expected| ParamError::WrongType {
                field: name.clone(),
                expected,
            };
            let range = |value: String, min: String, max: String| ParamError::OutOfRange {
                field: name.clone(),
                value,
                min,
                max,
            };
            let value = match (decl, v) {
                (ParamDecl::Int { default, .. }, None) => ParamValue::Int(*default),
                (ParamDecl::Int { min, max, .. }, Some(v)) => {
                    let i = v
                        .as_i64()
                        .or_else(|| {
                            v.as_f64()
                                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                                .map(|f| f as i64)
                        })
                        .ok_or_else(|| wrong("an integer"))?;
                    if i < *min || i > *max {
                        return Err(range(i.to_string(), min.to_string(), max.to_string()));
                    }
                    ParamValue::Int(i)
                }
                (ParamDecl::Float { default, .. }, None) => ParamValue::Float(*default),
                (ParamDecl::Float { min, max, .. }, Some(v)) => {
                    let f = v.as_f64().ok_or_else(|| wrong("a number"))?;
                    if !(f >= *min && f <= *max) {
                        return Err(range(f.to_string(), min.to_string(), max.to_string()));
                    }
                    ParamValue::Float(f)
                }
                (ParamDecl::Bool { default, .. }, None) => ParamValue::Bool(*default),
                (ParamDecl::Bool { .. }, Some(v)) => {
                    ParamValue::Bool(v.as_bool().ok_or_else(|| wrong("a boolean"))?)
                }
            };
            out.insert(name.clone(), value);
        }
        Ok(out)
    }

    /// JSON Schema of the parameter object, in the shape of the library strategies' schemas
    /// (so the tuner reads ranges from it the same way).
    pub fn params_schema(&self) -> Value {
        let mut props = Map::new();
        for (name, decl) in &self.params {
            let s = match decl {
                ParamDecl::Int {
                    min,
                    max,
                    default,
                    description,
                } => json!({
                    "type": "integer", "minimum": min, "maximum": max, "default": default,
                    "description": description}),
                ParamDecl::Float {
                    min,
                    max,
                    default,
                    description,
                } => json!({
                    "type": "number", "minimum": min, "maximum": max, "default": default,
                    "description": description}),
                ParamDecl::Bool {
                    default,
                    description,
                } => json!({
                    "type": "boolean", "default": default, "description": description}),
            };
            props.insert(name.clone(), s);
        }
        props.insert(
            "definition".into(),
            json!({"description": "The definition itself (an object), or a saved definition's id.",
                   "type": ["object", "string"]}),
        );
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "description": self.description,
            "type": "object",
            "properties": props,
            "required": ["definition"],
            "additionalProperties": false,
        })
    }
}

impl ParamDecl {
    fn check(&self) -> Result<(), String> {
        let desc = match self {
            ParamDecl::Int {
                min,
                max,
                default,
                description,
            } => {
                if min > max || default < min || default > max {
                    return Err(format!(
                        "needs min <= default <= max, got {min}, {default}, {max}"
                    ));
                }
                if min.unsigned_abs() > 1_000_000_000 || max.unsigned_abs() > 1_000_000_000 {
                    return Err("integer bounds must lie within ±1e9".into());
                }
                description
            }
            ParamDecl::Float {
                min,
                max,
                default,
                description,
            } => {
                let finite = [min, max, default]
                    .iter()
                    .all(|v| v.is_finite() && v.abs() <= 1e12);
                if !finite || min > max || default < min || default > max {
                    return Err(format!(
                        "needs finite min <= default <= max within ±1e12, got {min}, {default}, {max}"
                    ));
                }
                description
            }
            ParamDecl::Bool { description, .. } => description,
        };
        if desc.len() > 500 {
            return Err("description: at most 500 bytes".into());
        }
        Ok(())
    }
}

/// A name usable in expressions: a letter or `_`, then letters, digits or `_`, at most 64.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 64
}
