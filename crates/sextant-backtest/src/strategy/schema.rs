//! Parameter schemas (JSON Schema) and validation of parameter objects against them.
//!
//! Each strategy declares its parameters once as [`ParamSpec`]s; the JSON Schema shown to API
//! clients and the validator are both derived from that table, so they cannot disagree.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Type, range and default of one parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// An integer in `min..=max`; a JSON number with a decimal point (`2.5`, even `7.0`) is
    /// rejected.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
        /// Value taken when the field is missing or `null`.
        default: i64,
    },
    /// A number in `min..=max`; integers are accepted.
    Float {
        /// Smallest accepted value.
        min: f64,
        /// Largest accepted value.
        max: f64,
        /// Value taken when the field is missing or `null`.
        default: f64,
    },
    /// `true` or `false`.
    Bool {
        /// Value taken when the field is missing or `null`.
        default: bool,
    },
    /// A JSON object (parameters of a nested strategy) or `null`; the default is `null`.
    Object,
    /// A name, 1..=64 characters.
    Str {
        /// Value taken when the field is missing or `null`; it is not checked against the
        /// identifier rule (it may be empty).
        default: &'static str,
    },
}

/// One parameter of a strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    /// Key in the JSON parameter object.
    pub name: &'static str,
    /// Shown to API clients in the JSON Schema.
    pub description: &'static str,
    /// Type, range and default.
    pub kind: ParamKind,
}

/// Why a strategy cannot be built from a name and a parameter object. Every variant about one
/// parameter names the offending field ([`Self::field`]) so that an API client can point at it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// No strategy of this name in the library.
    #[error("unknown strategy {0:?}")]
    UnknownStrategy(String),
    /// The parameters are neither an object nor `null`; carries the JSON type given, e.g.
    /// `"an array"`.
    #[error("parameters must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// A key the strategy does not declare.
    #[error("unknown parameter {field:?}")]
    UnknownField {
        /// The unknown key.
        field: String,
    },
    /// A value of the wrong JSON type.
    #[error("parameter {field:?} must be {expected}")]
    WrongType {
        /// The parameter.
        field: String,
        /// What it must be, e.g. `"an integer"`.
        expected: &'static str,
    },
    /// A number outside the declared range.
    #[error("parameter {field:?} = {value} is outside [{min}, {max}]")]
    OutOfRange {
        /// The parameter.
        field: String,
        /// The value given, as text.
        value: String,
        /// Lower bound, as text.
        min: String,
        /// Upper bound, as text.
        max: String,
    },
    /// A value that breaks a rule beyond type and range: `slow` not above `fast`, a string that is
    /// not an identifier, a period an indicator refuses, a required reference left empty.
    #[error("parameter {field:?}: {reason}")]
    Invalid {
        /// The parameter at fault.
        field: String,
        /// Which rule it breaks.
        reason: String,
    },
}

impl ParamError {
    /// The parameter the error is about, if any (API clients point at it).
    pub fn field(&self) -> Option<&str> {
        match self {
            ParamError::UnknownStrategy(_) | ParamError::NotAnObject(_) => None,
            ParamError::UnknownField { field }
            | ParamError::WrongType { field, .. }
            | ParamError::OutOfRange { field, .. }
            | ParamError::Invalid { field, .. } => Some(field),
        }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        ParamError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A validated value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// From [`ParamKind::Int`].
    Int(i64),
    /// From [`ParamKind::Float`].
    Float(f64),
    /// From [`ParamKind::Bool`].
    Bool(bool),
    /// From [`ParamKind::Str`].
    Str(String),
    /// From [`ParamKind::Object`]: the object, or `Null` when none was given.
    Object(Value),
}

/// A validated parameter object with every default filled in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params(BTreeMap<&'static str, ParamValue>);

impl Params {
    /// An integer parameter as a `usize` (the schemas keep integer ranges non-negative).
    pub fn usize(&self, name: &str) -> usize {
        match self.0.get(name) {
            Some(ParamValue::Int(v)) => usize::try_from(*v).unwrap_or(0),
            _ => 0,
        }
    }
    /// A numeric parameter as `f64` (integers converted); NaN if absent or not numeric.
    pub fn float(&self, name: &str) -> f64 {
        match self.0.get(name) {
            Some(ParamValue::Float(v)) => *v,
            Some(ParamValue::Int(v)) => *v as f64,
            _ => f64::NAN,
        }
    }
    /// A boolean parameter; `false` if absent or not a boolean.
    pub fn bool(&self, name: &str) -> bool {
        matches!(self.0.get(name), Some(ParamValue::Bool(true)))
    }
    /// A string parameter; `""` if absent or not a string.
    pub fn str(&self, name: &str) -> &str {
        match self.0.get(name) {
            Some(ParamValue::Str(s)) => s,
            _ => "",
        }
    }
    /// An object parameter; `None` when absent or `null`.
    pub fn object(&self, name: &str) -> Option<&Value> {
        match self.0.get(name) {
            Some(ParamValue::Object(v)) if !v.is_null() => Some(v),
            _ => None,
        }
    }
    /// Back to JSON (with defaults), e.g. to store with a result.
    pub fn to_json(&self) -> Value {
        let m: Map<String, Value> = self
            .0
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    ParamValue::Int(i) => json!(i),
                    ParamValue::Float(f) => json!(f),
                    ParamValue::Bool(b) => json!(b),
                    ParamValue::Str(s) => json!(s),
                    ParamValue::Object(v) => v.clone(),
                };
                (k.to_string(), v)
            })
            .collect();
        Value::Object(m)
    }
}

/// The JSON Schema (draft 2020-12) of a parameter object.
pub fn json_schema(title: &str, description: &str, specs: &[ParamSpec]) -> Value {
    let mut props = Map::new();
    for p in specs {
        let s = match p.kind {
            ParamKind::Int { min, max, default } => {
                json!({"type": "integer", "minimum": min, "maximum": max, "default": default})
            }
            ParamKind::Float { min, max, default } => {
                json!({"type": "number", "minimum": min, "maximum": max, "default": default})
            }
            ParamKind::Bool { default } => json!({"type": "boolean", "default": default}),
            ParamKind::Object => json!({"type": ["object", "null"], "default": null}),
            ParamKind::Str { default } => {
                json!({"type": "string", "minLength": 1, "maxLength": 64,
                       "pattern": IDENTIFIER_PATTERN, "default": default})
            }
        };
        let mut s = s;
        s["description"] = json!(p.description);
        props.insert(p.name.to_string(), s);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": description,
        "type": "object",
        "properties": props,
        "additionalProperties": false,
    })
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks `params` (an object, or `null` for all defaults) against `specs`.
pub fn validate(specs: &[ParamSpec], params: &Value) -> Result<Params, ParamError> {
    let empty = Map::new();
    let obj = match params {
        Value::Null => &empty,
        Value::Object(m) => m,
        other => return Err(ParamError::NotAnObject(json_type(other))),
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !specs.iter().any(|p| p.name == k.as_str()))
    {
        return Err(ParamError::UnknownField { field: k.clone() });
    }
    let mut out = BTreeMap::new();
    for p in specs {
        let field = p.name.to_string();
        let given = obj.get(p.name).filter(|v| !v.is_null());
        let value = match (p.kind, given) {
            (ParamKind::Int { default, .. }, None) => ParamValue::Int(default),
            (ParamKind::Int { min, max, .. }, Some(v)) => {
                let i = v.as_i64().ok_or(ParamError::WrongType {
                    field: field.clone(),
                    expected: "an integer",
                })?;
                if i < min || i > max {
                    return Err(ParamError::OutOfRange {
                        field,
                        value: i.to_string(),
                        min: min.to_string(),
                        max: max.to_string(),
                    });
                }
                ParamValue::Int(i)
            }
            (ParamKind::Float { default, .. }, None) => ParamValue::Float(default),
            (ParamKind::Float { min, max, .. }, Some(v)) => {
                let f = v.as_f64().ok_or(ParamError::WrongType {
                    field: field.clone(),
                    expected: "a number",
                })?;
                if !(f >= min && f <= max) {
                    return Err(ParamError::OutOfRange {
                        field,
                        value: f.to_string(),
                        min: min.to_string(),
                        max: max.to_string(),
                    });
                }
                ParamValue::Float(f)
            }
            (ParamKind::Bool { default }, None) => ParamValue::Bool(default),
            (ParamKind::Bool { .. }, Some(v)) => {
                ParamValue::Bool(v.as_bool().ok_or(ParamError::WrongType {
                    field,
                    expected: "a boolean",
                })?)
            }
            (ParamKind::Object, None) => ParamValue::Object(Value::Null),
            (ParamKind::Object, Some(v)) => {
                if !v.is_object() {
                    return Err(ParamError::WrongType {
                        field,
                        expected: "an object or null",
                    });
                }
                ParamValue::Object(v.clone())
            }
            (ParamKind::Str { default }, None) => ParamValue::Str(default.to_string()),
            (ParamKind::Str { .. }, Some(v)) => {
                let s = v.as_str().ok_or(ParamError::WrongType {
                    field: field.clone(),
                    expected: "a string",
                })?;
                // String parameters name things (a series, a model): identifiers, never prose.
                // They reach stored manifests, reports and language-model prompts, so free
                // text here would be a way to smuggle instructions into them.
                if !is_identifier(s) {
                    return Err(ParamError::invalid(
                        &field,
                        "must be 1 to 64 characters of A-Z, a-z, 0-9, _, . and -",
                    ));
                }
                ParamValue::Str(s.to_string())
            }
        };
        out.insert(p.name, value);
    }
    Ok(Params(out))
}

/// The JSON Schema pattern of string parameters (see [`is_identifier`]).
pub const IDENTIFIER_PATTERN: &str = "^[A-Za-z0-9_.-]{1,64}$";

/// 1 to 64 characters of ASCII letters, digits, `_`, `.` and `-`.
pub fn is_identifier(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec {
            name: "n",
            description: "window",
            kind: ParamKind::Int {
                min: 2,
                max: 10,
                default: 5,
            },
        },
        ParamSpec {
            name: "k",
            description: "width",
            kind: ParamKind::Float {
                min: 0.0,
                max: 5.0,
                default: 2.0,
            },
        },
        ParamSpec {
            name: "short",
            description: "allow shorts",
            kind: ParamKind::Bool { default: false },
        },
    ];

    #[test]
    fn defaults_and_types() {
        let p = validate(SPECS, &Value::Null).unwrap();
        assert_eq!(
            (p.usize("n"), p.float("k"), p.bool("short")),
            (5, 2.0, false)
        );
        let p = validate(SPECS, &json!({"n": 7, "k": 1})).unwrap();
        assert_eq!((p.usize("n"), p.float("k")), (7, 1.0));
        assert_eq!(p.to_json(), json!({"n": 7, "k": 1.0, "short": false}));
    }

    #[test]
    fn errors_name_the_field() {
        let e = validate(SPECS, &json!({"n": 1})).unwrap_err();
        assert!(
            matches!(e, ParamError::OutOfRange { ref field, .. } if field == "n"),
            "{e}"
        );
        let e = validate(SPECS, &json!({"n": 2.5})).unwrap_err();
        assert!(matches!(e, ParamError::WrongType { ref field, .. } if field == "n"));
        let e = validate(SPECS, &json!({"short": "yes"})).unwrap_err();
        assert!(matches!(e, ParamError::WrongType { ref field, .. } if field == "short"));
        let e = validate(SPECS, &json!({"m": 1})).unwrap_err();
        assert_eq!(e, ParamError::UnknownField { field: "m".into() });
        assert_eq!(
            validate(SPECS, &json!([1])).unwrap_err(),
            ParamError::NotAnObject("an array")
        );
        let s = json_schema("t", "d", SPECS);
        assert_eq!(s["properties"]["n"]["minimum"], json!(2));
        assert_eq!(s["additionalProperties"], json!(false));
    }
}
