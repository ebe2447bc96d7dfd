//! Parsers of `CURRENCY_EXCHANGE_RATE`, `SYMBOL_SEARCH`, `LISTING_STATUS` and `MARKET_STATUS`.
//!
//! Same rules as the bar parsers: a JSON body without the data key is an error envelope
//! (classified by key and wording, also when CSV was asked for), and one bad value rejects the
//! whole answer with [`AlphaVantageError::Malformed`].

use super::table::{csv_records, json_record, json_records, Record};
use super::types::{ExchangeRate, Listing, MarketStatus, SymbolMatch};
use crate::providers::alphavantage::errors::{classify, AlphaVantageError};
use crate::providers::alphavantage::parse::json::data_object;
use crate::providers::alphavantage::parse::{split_body, values, Body};
use crate::providers::alphavantage::request::ApiCall;
use chrono::NaiveDateTime;
use serde_json::Value;

fn unexpected(call: &ApiCall, detail: String) -> AlphaVantageError {
    AlphaVantageError::UnexpectedBody {
        function: call.function.to_string(),
        detail,
    }
}

/// A JSON answer's top-level object (`None` for CSV) and its records.
pub(super) type Records = (Option<serde_json::Map<String, Value>>, Vec<Record>);

/// Records of a function served as JSON (`json_key` holds the array) and CSV (`csv_first` is
/// the header's first column); `label` names the field records are called by in errors.
pub(super) fn records(
    body: &str,
    call: &ApiCall,
    json_key: &str,
    csv_first: &str,
    label: &str,
) -> Result<Records, AlphaVantageError> {
    match split_body(body, call)? {
        Body::Json(text) => {
            let obj = data_object(text, call, json_key)?;
            let recs = json_records(&obj, json_key, call, label)?;
            Ok((Some(obj), recs))
        }
        Body::Csv(text) => Ok((None, csv_records(text, call, csv_first, label)?)),
    }
}

const RATE_KEY: &str = "Realtime Currency Exchange Rate";

/// Checks an echoed currency code against the requested one.
fn echoed(
    rec: &Record,
    call: &ApiCall,
    name: &str,
    expected: &str,
    pair: &str,
) -> Result<String, AlphaVantageError> {
    let code = rec.nonempty(call, name)?;
    if code.trim().eq_ignore_ascii_case(expected) {
        Ok(code.trim().to_string())
    } else {
        Err(AlphaVantageError::SymbolMismatch {
            requested: pair.to_string(),
            returned: code,
        })
    }
}

/// `CURRENCY_EXCHANGE_RATE` (JSON only). `from`/`to` are the requested codes, which the answer
/// must echo.
pub(super) fn exchange_rate(
    body: &str,
    call: &ApiCall,
    from: &str,
    to: &str,
) -> Result<ExchangeRate, AlphaVantageError> {
    let Body::Json(text) = split_body(body, call)? else {
        return Err(unexpected(call, "CSV for a JSON-only function".into()));
    };
    let obj = data_object(text, call, RATE_KEY)?;
    let inner = obj
        .get(RATE_KEY)
        .and_then(Value::as_object)
        .ok_or_else(|| unexpected(call, format!("{RATE_KEY:?} is not an object")))?;
    let mut rec = json_record(inner, String::new(), call)?;
    rec.label = rec.get("Last Refreshed").unwrap_or_default().to_string();
    let pair = format!("{from}/{to}");
    let from_code = echoed(&rec, call, "From_Currency Code", from, &pair)?;
    let to_code = echoed(&rec, call, "To_Currency Code", to, &pair)?;
    let positive = |name: &str| rec.number(call, name, |x| x > 0.0, "> 0");
    let rate = positive("Exchange Rate")?;
    // Fields 8 and 9 appeared around 2020; older answers stop at 7. Present means valid.
    let bid = rec
        .get("Bid Price")
        .map(|_| positive("Bid Price"))
        .transpose()?;
    let ask = rec
        .get("Ask Price")
        .map(|_| positive("Ask Price"))
        .transpose()?;
    let zone_name = rec.nonempty(call, "Time Zone")?;
    let zone = values::zone(Some(&zone_name))
        .map_err(|e| rec.malformed(call, "Time Zone", &zone_name, &e))?;
    let refreshed = rec.text(call, "Last Refreshed")?;
    // Always a datetime in the samples; a date alone (as FX series have sent) is read as 00:00.
    let local = if refreshed.len() == 10 {
        values::date(refreshed).map(|d| d.and_time(chrono::NaiveTime::MIN))
    } else {
        values::datetime(refreshed)
    }
    .map_err(|e| rec.malformed(call, "Last Refreshed", refreshed, &e))?;
    let last_refreshed: NaiveDateTime = zone
        .to_utc(local)
        .map_err(|e| rec.malformed(call, "Last Refreshed", refreshed, &e))?;
    Ok(ExchangeRate {
        from: from_code,
        from_name: rec.text(call, "From_Currency Name")?.to_string(),
        to: to_code,
        to_name: rec.text(call, "To_Currency Name")?.to_string(),
        rate,
        last_refreshed,
        bid,
        ask,
    })
}

/// `SYMBOL_SEARCH`, JSON (`bestMatches`) or CSV; the vendor's ranking is kept. No match is read
/// from `{"bestMatches": []}` (or a header-only CSV) as an empty list: the fixtures' shape, not
/// confirmed from a captured answer.
pub(super) fn symbol_search(
    body: &str,
    call: &ApiCall,
) -> Result<Vec<SymbolMatch>, AlphaVantageError> {
    let (_, recs) = records(body, call, "bestMatches", "symbol", "symbol")?;
    recs.iter()
        .map(|r| {
            Ok(SymbolMatch {
                symbol: r.nonempty(call, "symbol")?,
                name: r.text(call, "name")?.to_string(),
                kind: r.text(call, "type")?.to_string(),
                region: r.text(call, "region")?.to_string(),
                market_open: r.clock(call, "marketOpen")?,
                market_close: r.clock(call, "marketClose")?,
                timezone: r.text(call, "timezone")?.to_string(),
                currency: r.text(call, "currency")?.to_string(),
                match_score: r.number(
                    call,
                    "matchScore",
                    |x| (0.0..=1.0).contains(&x),
                    "0 to 1",
                )?,
            })
        })
        .collect()
}

/// `LISTING_STATUS` (CSV only; a JSON body is an error envelope). Dates written `null` are
/// `None`; an empty name is kept empty.
pub(super) fn listing_status(
    body: &str,
    call: &ApiCall,
) -> Result<Vec<Listing>, AlphaVantageError> {
    let recs = match split_body(body, call)? {
        // No JSON data answer exists: any JSON is an error envelope (the demo key's `{}` for
        // `state=delisted` is reported as unexpected).
        Body::Json(text) => {
            let obj: serde_json::Map<String, Value> = serde_json::from_str(text).map_err(|e| {
                unexpected(
                    call,
                    format!("invalid JSON ({e}); the body may be truncated"),
                )
            })?;
            return Err(classify(&obj, call.function));
        }
        Body::Csv(text) => csv_records(text, call, "symbol", "symbol")?,
    };
    recs.iter()
        .map(|r| {
            Ok(Listing {
                symbol: r.nonempty(call, "symbol")?,
                name: r.text(call, "name")?.to_string(),
                exchange: r.nonempty(call, "exchange")?,
                asset_type: r.nonempty(call, "assetType")?,
                ipo_date: r.optional_date(call, "ipoDate", "null")?,
                delisting_date: r.optional_date(call, "delistingDate", "null")?,
                status: r.nonempty(call, "status")?,
            })
        })
        .collect()
}

/// `MARKET_STATUS` (JSON only), in the vendor's order.
pub(super) fn market_status(
    body: &str,
    call: &ApiCall,
) -> Result<Vec<MarketStatus>, AlphaVantageError> {
    let Body::Json(text) = split_body(body, call)? else {
        return Err(unexpected(call, "CSV for a JSON-only function".into()));
    };
    let obj = data_object(text, call, "markets")?;
    let mut recs = json_records(&obj, "markets", call, "region")?;
    recs.iter_mut()
        .map(|r| {
            r.label = format!(
                "{}/{}",
                r.get("market_type").unwrap_or_default(),
                r.get("region").unwrap_or_default()
            );
            Ok(MarketStatus {
                market_type: r.nonempty(call, "market_type")?,
                region: r.nonempty(call, "region")?,
                primary_exchanges: r.text(call, "primary_exchanges")?.to_string(),
                local_open: r.clock(call, "local_open")?,
                local_close: r.clock(call, "local_close")?,
                current_status: r.nonempty(call, "current_status")?,
                notes: r.text(call, "notes")?.to_string(),
            })
        })
        .collect()
}
