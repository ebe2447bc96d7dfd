//! `datatype=json` answers: `Meta Data` plus one series object keyed by date(time).

use super::{build_bar, values, ParsedBar};
use crate::providers::alphavantage::errors::{classify, AlphaVantageError};
use crate::providers::alphavantage::request::ApiCall;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// `"1. open"` → `"open"`; names without a numeric prefix are kept as they are.
pub(super) fn field_name(key: &str) -> &str {
    match key.split_once(". ") {
        Some((n, name)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => key,
    }
}

fn unexpected(call: &ApiCall, detail: String) -> AlphaVantageError {
    AlphaVantageError::UnexpectedBody {
        function: call.function.to_string(),
        detail,
    }
}

pub(super) fn parse(
    body: &str,
    call: &ApiCall,
    ingested_at: DateTime<Utc>,
) -> Result<Vec<ParsedBar>, AlphaVantageError> {
    let obj: Map<String, Value> = serde_json::from_str(body).map_err(|e| {
        unexpected(
            call,
            format!("invalid JSON ({e}); the body may be truncated"),
        )
    })?;
    // The rule from the reference: no series key ⇒ an error body, classified by key and wording.
    let series_key = call.series_key();
    let Some(series) = obj.get(&series_key) else {
        return Err(classify(&obj, call.function));
    };
    let series = series
        .as_object()
        .ok_or_else(|| unexpected(call, format!("{series_key:?} is not an object")))?;
    let meta = obj
        .get("Meta Data")
        .and_then(Value::as_object)
        .ok_or_else(|| unexpected(call, "no \"Meta Data\" object".into()))?;
    let meta_get = |name: &str| {
        meta.iter()
            .find(|(k, _)| field_name(k).eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    };

    let returned =
        meta_get("Symbol").ok_or_else(|| unexpected(call, "Meta Data has no Symbol".into()))?;
    if !returned.trim().eq_ignore_ascii_case(call.symbol.as_str()) {
        return Err(AlphaVantageError::SymbolMismatch {
            requested: call.symbol.to_string(),
            returned: returned.to_string(),
        });
    }
    if call.resolution.is_intraday() {
        if let Some(interval) = meta_get("Interval") {
            if interval != call.resolution.as_str() {
                return Err(unexpected(
                    call,
                    format!(
                        "interval {interval:?} but {} was requested",
                        call.resolution
                    ),
                ));
            }
        }
    }
    let zone = values::zone(meta_get("Time Zone")).map_err(|e| unexpected(call, e))?;

    let mut bars = Vec::with_capacity(series.len());
    for (key, row) in series {
        let row = row
            .as_object()
            .ok_or_else(|| AlphaVantageError::Malformed {
                symbol: call.symbol.to_string(),
                field: "row".into(),
                ts: key.clone(),
                value: super::clip(&row.to_string()),
                reason: "not an object".into(),
            })?;
        if let Some((k, v)) = row.iter().find(|(_, v)| !v.is_string()) {
            return Err(AlphaVantageError::Malformed {
                symbol: call.symbol.to_string(),
                field: field_name(k).to_string(),
                ts: key.clone(),
                value: super::clip(&v.to_string()),
                reason: "Alpha Vantage sends every value as a string".into(),
            });
        }
        let get = |name: &str| {
            row.iter()
                .find(|(k, _)| field_name(k) == name)
                .and_then(|(_, v)| v.as_str())
        };
        bars.push(build_bar(call, &zone, key, get, ingested_at)?);
    }
    Ok(bars)
}
