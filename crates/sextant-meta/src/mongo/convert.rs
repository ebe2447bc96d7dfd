//! JSON ⇄ BSON conversion with fixed, lossless rules for what the store writes.
//!
//! Integers become Int64 and floats Double, so `1` and `1.0` come back exactly as written (both
//! still compare equal in queries, as on the embedded backend). Types that only appear in data
//! written by other tools are read as strings (ObjectId → hex, DateTime → RFC 3339) or as
//! relaxed Extended JSON.

use mongodb::bson::{Bson, Document as BsonDoc};
use serde_json::{Map, Number, Value};

use crate::doc::validate_number;
use crate::error::Result;

pub(crate) fn to_bson(v: &Value) -> Result<Bson> {
    Ok(match v {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => {
            validate_number(n)?;
            match n.as_i64() {
                Some(i) => Bson::Int64(i),
                None => Bson::Double(n.as_f64().unwrap_or(f64::NAN)),
            }
        }
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(items) => Bson::Array(items.iter().map(to_bson).collect::<Result<_>>()?),
        Value::Object(map) => Bson::Document(to_bson_doc(map)?),
    })
}

pub(crate) fn to_bson_doc(map: &Map<String, Value>) -> Result<BsonDoc> {
    let mut d = BsonDoc::new();
    for (k, v) in map {
        d.insert(k.clone(), to_bson(v)?);
    }
    Ok(d)
}

pub(crate) fn from_bson(b: Bson) -> Value {
    match b {
        Bson::Null | Bson::Undefined => Value::Null,
        Bson::Boolean(b) => Value::Bool(b),
        Bson::Int32(i) => Value::from(i),
        Bson::Int64(i) => Value::from(i),
        Bson::Double(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Bson::String(s) => Value::String(s),
        Bson::Array(items) => Value::Array(items.into_iter().map(from_bson).collect()),
        Bson::Document(d) => from_bson_doc(d),
        Bson::ObjectId(oid) => Value::String(oid.to_hex()),
        Bson::DateTime(dt) => match dt.try_to_rfc3339_string() {
            Ok(s) => Value::String(s),
            Err(_) => Value::from(dt.timestamp_millis()),
        },
        other => other.into_relaxed_extjson(),
    }
}

pub(crate) fn from_bson_doc(d: BsonDoc) -> Value {
    Value::Object(d.into_iter().map(|(k, v)| (k, from_bson(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_ints_and_floats_apart() {
        let v = json!({"i": 1, "f": 1.0, "big": i64::MAX, "neg": -3, "s": "é", "a": [null, true]});
        let Bson::Document(d) = to_bson(&v).expect("convertible") else {
            panic!("not a document");
        };
        assert_eq!(from_bson_doc(d), v);
    }

    #[test]
    fn u64_beyond_i64_is_invalid() {
        assert!(to_bson(&json!(u64::MAX)).is_err());
    }
}
