//! Parsers of `DIVIDENDS`, `SPLITS` and the economic series (`TREASURY_YIELD`,
//! `FEDERAL_FUNDS_RATE`, `CPI`). Rows arrive newest first; they leave oldest first.

use super::parse::records;
use super::table::Record;
use crate::providers::alphavantage::errors::AlphaVantageError;
use crate::providers::alphavantage::parse::values;
use crate::providers::alphavantage::request::ApiCall;
use serde_json::{Map, Value};
use sextant_domain::{
    DividendEvent, EconomicSeries, Indicator, Observation, SeriesKey, SplitEvent, Symbol,
};

fn unexpected(call: &ApiCall, detail: String) -> AlphaVantageError {
    AlphaVantageError::UnexpectedBody {
        function: call.function.to_string(),
        detail,
    }
}

/// A JSON answer's top-level string `name`, if present; a non-string is unexpected.
fn top_text(
    obj: &Map<String, Value>,
    name: &str,
    call: &ApiCall,
) -> Result<Option<String>, AlphaVantageError> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(unexpected(
            call,
            format!("{name:?} is {other}, not a string"),
        )),
    }
}

/// DIVIDENDS and SPLITS echo the symbol in JSON (`"symbol": "IBM"`); another symbol is refused.
fn check_symbol(
    obj: &Option<Map<String, Value>>,
    symbol: &Symbol,
    call: &ApiCall,
) -> Result<(), AlphaVantageError> {
    let Some(obj) = obj else { return Ok(()) };
    match top_text(obj, "symbol", call)? {
        Some(s) if !s.trim().eq_ignore_ascii_case(symbol.as_str()) => {
            Err(AlphaVantageError::SymbolMismatch {
                requested: symbol.to_string(),
                returned: s,
            })
        }
        _ => Ok(()),
    }
}

/// `DIVIDENDS`, JSON (`data`) or CSV, oldest first. Missing dates are the string `"None"`; the
/// ex-date is required; the amount must be a finite number ≥ 0. Two dividends on one ex-date
/// (a special and a regular one) are both kept.
///
/// A symbol without dividends (or unknown) is read from `{"symbol": …, "data": []}` as an empty
/// list; that shape comes from fixtures and is not confirmed from a captured answer, and a
/// bare `{}` (also reported once) is refused as unexpected rather than guessed to mean "none".
pub(super) fn dividends(
    body: &str,
    call: &ApiCall,
    symbol: &Symbol,
) -> Result<Vec<DividendEvent>, AlphaVantageError> {
    let (obj, recs) = records(body, call, "data", "ex_dividend_date", "ex_dividend_date")?;
    check_symbol(&obj, symbol, call)?;
    let mut out = recs
        .iter()
        .map(|r| {
            Ok(DividendEvent {
                ex_date: r.date(call, "ex_dividend_date")?,
                declaration_date: r.optional_date(call, "declaration_date", "None")?,
                record_date: r.optional_date(call, "record_date", "None")?,
                payment_date: r.optional_date(call, "payment_date", "None")?,
                amount: r.number(call, "amount", |x| x >= 0.0, ">= 0")?,
            })
        })
        .collect::<Result<Vec<_>, AlphaVantageError>>()?;
    out.sort_by_key(|d| d.ex_date);
    Ok(out)
}

/// `SPLITS`, JSON (`data`) or CSV, oldest first; the factor (new shares per old share) must be
/// finite and > 0, and one date cannot carry two splits.
pub(super) fn splits(
    body: &str,
    call: &ApiCall,
    symbol: &Symbol,
) -> Result<Vec<SplitEvent>, AlphaVantageError> {
    let (obj, recs) = records(body, call, "data", "effective_date", "effective_date")?;
    check_symbol(&obj, symbol, call)?;
    let mut out: Vec<(SplitEvent, &Record)> = recs
        .iter()
        .map(|r| {
            Ok((
                SplitEvent {
                    effective_date: r.date(call, "effective_date")?,
                    factor: r.number(call, "split_factor", |x| x > 0.0, "> 0")?,
                },
                r,
            ))
        })
        .collect::<Result<Vec<_>, AlphaVantageError>>()?;
    out.sort_by_key(|(s, _)| s.effective_date);
    if let Some(w) = out
        .windows(2)
        .find(|w| w[0].0.effective_date == w[1].0.effective_date)
    {
        let r = w[1].1;
        let date = r.get("effective_date").unwrap_or_default();
        return Err(r.malformed(call, "effective_date", date, "the same split appears twice"));
    }
    Ok(out.into_iter().map(|(s, _)| s).collect())
}

/// The vendor's `name` and `unit` of a series, for CSV answers, which carry neither. Confirmed
/// from JSON answers for the 10-year yield, the funds rate and the CPI; the other maturities'
/// names follow the 10-year pattern, which is not confirmed (the reference has no sample).
pub(crate) fn vendor_series_text(key: &SeriesKey) -> (String, String) {
    match key.indicator {
        Indicator::TreasuryYield => {
            let maturity = match key.maturity.as_deref() {
                Some("3month") => "3-Month",
                Some("2year") => "2-Year",
                Some("5year") => "5-Year",
                Some("7year") => "7-Year",
                Some("30year") => "30-Year",
                _ => "10-Year",
            };
            (
                format!("{maturity} Treasury Constant Maturity Rate"),
                "percent".into(),
            )
        }
        Indicator::FederalFundsRate => ("Effective Federal Funds Rate".into(), "percent".into()),
        Indicator::Cpi => (
            "Consumer Price Index for all Urban Consumers".into(),
            "index 1982-1984=100".into(),
        ),
    }
}

/// An economic series, JSON (`name`, `interval`, `unit`, `data`) or CSV (`timestamp,value`),
/// observations oldest first.
///
/// A date that is not `YYYY-MM-DD` rejects the answer. A value that is not a number is a
/// missing observation (`value: None`): FRED, the vendor's source, writes `"."` for those, and
/// Alpha Vantage-shaped fixtures do too, but Alpha Vantage's own use of `"."` is NOT confirmed
/// (no captured answer shows a missing value), so any non-numeric text is read that way.
pub(super) fn economic(
    body: &str,
    call: &ApiCall,
    key: &SeriesKey,
) -> Result<EconomicSeries, AlphaVantageError> {
    let (obj, recs) = records(body, call, "data", "timestamp", "date")?;
    let (name, unit) = match &obj {
        Some(obj) => {
            let text = |n: &str| {
                top_text(obj, n, call)?
                    .ok_or_else(|| unexpected(call, format!("no {n:?} in the answer")))
            };
            // The interval echoes the request where known; an unknown word is not judged.
            if let Some(interval) = top_text(obj, "interval", call)? {
                let known = [
                    "daily",
                    "weekly",
                    "monthly",
                    "quarterly",
                    "semiannual",
                    "annual",
                ];
                let i = interval.to_ascii_lowercase();
                if known.contains(&i.as_str()) && i != key.interval {
                    return Err(unexpected(
                        call,
                        format!("interval {interval:?} but {} was requested", key.interval),
                    ));
                }
            }
            (text("name")?, text("unit")?)
        }
        None => vendor_series_text(key),
    };
    let date_field = if obj.is_some() { "date" } else { "timestamp" };
    let mut observations = recs
        .iter()
        .map(|r| {
            let raw = r.text(call, "value")?;
            Ok(Observation {
                date: r.date(call, date_field)?,
                value: values::number(raw),
            })
        })
        .collect::<Result<Vec<_>, AlphaVantageError>>()?;
    observations.sort_by_key(|o| o.date);
    if let Some(w) = observations.windows(2).find(|w| w[0].date == w[1].date) {
        let d = w[1].date.to_string();
        return Err(AlphaVantageError::Malformed {
            symbol: call.subject.clone(),
            field: date_field.to_string(),
            ts: d.clone(),
            value: d,
            reason: "the same date appears twice".into(),
        });
    }
    Ok(EconomicSeries {
        key: key.clone(),
        name,
        unit,
        observations,
    })
}
