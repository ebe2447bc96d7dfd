//! `datatype=json` bar answers: `Meta Data` plus one series object keyed by date(time).

use super::{build_bar, is_old_crypto_layout, values, Cell, ParsedBar};
use crate::providers::alphavantage::errors::{classify, clip, AlphaVantageError};
use crate::providers::alphavantage::request::{ApiCall, BarSpec, Family};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// `"1. open"` → (`"1"`, `"open"`), `"1a. open (CNY)"` → (`"1a"`, `"open (CNY)"`); names
/// without a numeric prefix are kept whole with an empty number.
pub(crate) fn split_name(key: &str) -> (&str, &str) {
    match key.split_once(". ") {
        Some((n, name)) if numbering(n) => (n, name),
        _ => ("", key),
    }
}

/// `1`, `12`, `1a`: digits, optionally followed by one lower-case letter.
fn numbering(n: &str) -> bool {
    let digits = n.trim_end_matches(|c: char| c.is_ascii_lowercase());
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && n.len() - digits.len() <= 1
}

/// `"1. open"` → `"open"`.
pub(crate) fn field_name(key: &str) -> &str {
    split_name(key).1
}

fn unexpected(call: &ApiCall, detail: String) -> AlphaVantageError {
    AlphaVantageError::UnexpectedBody {
        function: call.function.to_string(),
        detail,
    }
}

/// Parses a JSON body into an object, classifying it as an error body when `expected` (the key
/// data answers carry) is absent.
pub(crate) fn data_object(
    body: &str,
    call: &ApiCall,
    expected: &str,
) -> Result<Map<String, Value>, AlphaVantageError> {
    let obj: Map<String, Value> = serde_json::from_str(body).map_err(|e| {
        unexpected(
            call,
            format!("invalid JSON ({e}); the body may be truncated"),
        )
    })?;
    // The rule from the reference: no data key ⇒ an error body, classified by key and wording.
    if obj.contains_key(expected) {
        Ok(obj)
    } else {
        Err(classify(&obj, call.function))
    }
}

/// Checks that `Meta Data`'s `name` (compared case-insensitively) is `expected`.
fn echo(
    call: &ApiCall,
    meta_get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    expected: &str,
    requested: &str,
) -> Result<(), AlphaVantageError> {
    let returned =
        meta_get(name).ok_or_else(|| unexpected(call, format!("Meta Data has no {name}")))?;
    if returned.trim().eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(AlphaVantageError::SymbolMismatch {
            requested: requested.to_string(),
            returned: returned.to_string(),
        })
    }
}

pub(super) fn parse(
    body: &str,
    call: &ApiCall,
    spec: &BarSpec,
    ingested_at: DateTime<Utc>,
) -> Result<Vec<ParsedBar>, AlphaVantageError> {
    let series_key = call
        .series_key()
        .ok_or_else(|| unexpected(call, "not a bar-series call".into()))?;
    let obj = data_object(body, call, &series_key)?;
    let series = obj
        .get(&series_key)
        .and_then(Value::as_object)
        .ok_or_else(|| unexpected(call, format!("{series_key:?} is not an object")))?;
    let meta = obj
        .get("Meta Data")
        .and_then(Value::as_object)
        .ok_or_else(|| unexpected(call, "no \"Meta Data\" object".into()))?;
    let meta_get = |name: &str| {
        meta.iter()
            .find(|(k, _)| field_name(k).eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_string)
    };

    let zone = match &spec.family {
        Family::Equity(_) => {
            echo(
                call,
                &meta_get,
                "Symbol",
                spec.symbol.as_str(),
                spec.symbol.as_str(),
            )?;
            values::zone(meta_get("Time Zone").as_deref())
        }
        Family::Fx { from, to } => {
            let pair = format!("{from}/{to}");
            echo(call, &meta_get, "From Symbol", from, &pair)?;
            echo(call, &meta_get, "To Symbol", to, &pair)?;
            required_zone(call, meta_get("Time Zone"))?
        }
        Family::Crypto { base, market } => {
            let pair = format!("{base}/{market}");
            echo(call, &meta_get, "Digital Currency Code", base, &pair)?;
            echo(call, &meta_get, "Market Code", market, &pair)?;
            required_zone(call, meta_get("Time Zone"))?
        }
    }
    .map_err(|e| unexpected(call, e))?;
    if spec.resolution.is_intraday() {
        if let Some(interval) = meta_get("Interval") {
            if interval != spec.resolution.as_str() {
                return Err(unexpected(
                    call,
                    format!(
                        "interval {interval:?} but {} was requested",
                        spec.resolution
                    ),
                ));
            }
        }
    }

    // Only CRYPTO_INTRADAY writes a value unquoted: its volume is a JSON integer.
    let numeric_volume = call.function == "CRYPTO_INTRADAY";
    let mut old_layout: Option<bool> = None;
    let mut bars = Vec::with_capacity(series.len());
    for (key, row) in series {
        let malformed = |field: &str, value: String, reason: &str| AlphaVantageError::Malformed {
            symbol: call.subject.clone(),
            field: field.to_string(),
            ts: key.clone(),
            value: clip(&value),
            reason: reason.to_string(),
        };
        let row = row
            .as_object()
            .ok_or_else(|| malformed("row", row.to_string(), "not an object"))?;
        let mut cells = Vec::with_capacity(row.len());
        for (k, v) in row {
            let (number, name) = split_name(k);
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) if numeric_volume && name == "volume" => n.to_string(),
                other => {
                    return Err(malformed(
                        name,
                        other.to_string(),
                        "Alpha Vantage sends this value as a string",
                    ))
                }
            };
            cells.push(Cell {
                number: number.to_string(),
                name: name.to_ascii_lowercase(),
                text,
            });
        }
        if matches!(spec.family, Family::Crypto { .. }) {
            let old = is_old_crypto_layout(&cells);
            match old_layout {
                Some(first) if first != old => {
                    let keys: Vec<&str> = row.keys().map(String::as_str).collect();
                    return Err(malformed(
                        "row",
                        format!("{keys:?}"),
                        "row layout differs from the other rows of the answer",
                    ));
                }
                _ => old_layout = Some(old),
            }
        }
        bars.push(build_bar(call, spec, &zone, key, &cells, ingested_at)?);
    }
    Ok(bars)
}

/// FX and crypto answers always name their zone (`UTC`; `GMT+8` in 2018–2019): a missing one is
/// not guessed.
fn required_zone(
    call: &ApiCall,
    zone: Option<String>,
) -> Result<Result<values::Zone, String>, AlphaVantageError> {
    match zone {
        Some(z) => Ok(values::zone(Some(&z))),
        None => Err(unexpected(call, "Meta Data has no Time Zone".into())),
    }
}
