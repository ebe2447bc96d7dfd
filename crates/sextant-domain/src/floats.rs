//! Serde helpers for figures that may be undefined (NaN): JSON has no NaN, and `serde_json`
//! writes one as `null`, which a plain `f64` field then refuses to read back. Fields using
//! these write NaN as `null` and read `null` as NaN, so a stored record always reads back.
//! Infinities are written as `null` too and read back as NaN: an infinite figure (a ratio over
//! a zero deviation) is as undefined as a NaN one.

use serde::{Deserialize, Deserializer, Serializer};

/// `#[serde(with = "sextant_domain::floats::nan_as_null")]` on an `f64`.
pub mod nan_as_null {
    use super::*;

    /// Writes a finite value as a number, anything else as `null`.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    /// Reads a number, or `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// `#[serde(with = "sextant_domain::floats::nan_pair_as_null")]` on an `[f64; 2]` (an interval).
pub mod nan_pair_as_null {
    use super::*;
    use serde::Serialize;

    /// Writes each bound as [`super::nan_as_null`] does.
    pub fn serialize<S: Serializer>(v: &[f64; 2], s: S) -> Result<S::Ok, S::Error> {
        let f = |x: f64| x.is_finite().then_some(x);
        [f(v[0]), f(v[1])].serialize(s)
    }

    /// Reads each bound, `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
        let [a, b] = <[Option<f64>; 2]>::deserialize(d)?;
        Ok([a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN)])
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    struct Figures {
        #[serde(with = "super::nan_as_null")]
        x: f64,
        #[serde(with = "super::nan_pair_as_null")]
        ci: [f64; 2],
    }

    #[test]
    fn undefined_figures_round_trip_through_json() {
        let f = Figures {
            x: f64::NAN,
            ci: [0.1 + 0.2, f64::NAN],
        };
        let text = serde_json::to_string(&f).expect("write");
        assert_eq!(text, r#"{"x":null,"ci":[0.30000000000000004,null]}"#);
        let back: Figures = serde_json::from_str(&text).expect("read");
        assert!(back.x.is_nan() && back.ci[1].is_nan());
        assert_eq!(back.ci[0].to_bits(), (0.1f64 + 0.2).to_bits());
        let plain: Figures = serde_json::from_str(r#"{"x":1.5,"ci":[1,2]}"#).expect("read");
        assert_eq!((plain.x, plain.ci), (1.5, [1.0, 2.0]));
    }
}
