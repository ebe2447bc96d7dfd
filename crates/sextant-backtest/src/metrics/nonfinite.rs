//! Serde for `f64` fields that may be NaN or infinite, which JSON cannot carry as numbers.
//!
//! Finite values are plain JSON numbers, NaN is `null`, and ±infinity are the strings `"inf"`
//! and `"-inf"` (so an infinite Sharpe survives a round trip). Reading also accepts `"NaN"`,
//! `"Infinity"` and `"-Infinity"`. Use with `#[serde(with = "nonfinite")]`.

use serde::{Deserialize, Deserializer, Serializer};

/// Writes `value` as a JSON number, `null` for NaN, or `"inf"`/`"-inf"` for an infinity.
pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_nan() {
        serializer.serialize_none()
    } else if value.is_infinite() {
        serializer.serialize_str(if *value > 0.0 { "inf" } else { "-inf" })
    } else {
        serializer.serialize_f64(*value)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Number(f64),
    Text(String),
}

/// Reads a number, `null` (NaN), or one of the strings `"inf"`, `"+inf"`, `"Infinity"`, `"-inf"`,
/// `"-Infinity"`, `"NaN"`, `"nan"`; any other string is an error.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    match Option::<Repr>::deserialize(deserializer)? {
        None => Ok(f64::NAN),
        Some(Repr::Number(v)) => Ok(v),
        Some(Repr::Text(s)) => match s.as_str() {
            "NaN" | "nan" => Ok(f64::NAN),
            "inf" | "Infinity" | "+inf" => Ok(f64::INFINITY),
            "-inf" | "-Infinity" => Ok(f64::NEG_INFINITY),
            other => Err(serde::de::Error::custom(format!(
                "expected a number, null, \"inf\" or \"-inf\", got {other:?}"
            ))),
        },
    }
}
