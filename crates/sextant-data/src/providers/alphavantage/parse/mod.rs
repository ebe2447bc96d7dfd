//! Strict parsing of Alpha Vantage answers (JSON and CSV) into bars.
//!
//! Any bad value rejects the whole answer: a provider must never hand the cache a partial series
//! that looks complete. Keys arrive newest first; bars leave oldest first.

mod csv;
mod json;
pub(crate) mod values;

use super::errors::{clip, AlphaVantageError};
use super::request::{ApiCall, Shape};
use chrono::{DateTime, NaiveDateTime, Utc};
use sextant_domain::{Bar, Source};
use values::Zone;

/// A parsed bar plus its wall-clock time in the exchange zone (for date-range filters).
#[derive(Debug, Clone)]
pub(crate) struct ParsedBar {
    pub local: NaiveDateTime,
    pub bar: Bar,
}

/// Parses a whole response body for `call`.
///
/// A body starting with `{` is JSON whatever `datatype` was asked for: Alpha Vantage sends its
/// JSON error bodies even for `datatype=csv`.
pub(crate) fn parse_body(
    body: &str,
    call: &ApiCall,
    ingested_at: DateTime<Utc>,
) -> Result<Vec<ParsedBar>, AlphaVantageError> {
    let trimmed = body.trim_start_matches('\u{feff}').trim_start();
    let mut bars = if trimmed.starts_with('{') {
        json::parse(trimmed, call, ingested_at)?
    } else if call.datatype == super::DataType::Csv && !trimmed.is_empty() {
        csv::parse(trimmed, call, ingested_at)?
    } else {
        return Err(AlphaVantageError::UnexpectedBody {
            function: call.function.to_string(),
            detail: format!(
                "expected {}, got {:?}",
                call.datatype.as_str(),
                clip(trimmed)
            ),
        });
    };
    bars.sort_by_key(|b| b.bar.ts);
    if let Some(w) = bars.windows(2).find(|w| w[0].bar.ts == w[1].bar.ts) {
        return Err(AlphaVantageError::Malformed {
            symbol: call.symbol.to_string(),
            field: "timestamp".into(),
            ts: w[1].local.to_string(),
            value: w[1].local.to_string(),
            reason: "the same bar appears twice".into(),
        });
    }
    Ok(bars)
}

/// Which values a row must carry, by canonical name (the vendor's name without its `"N. "`
/// prefix, CSV underscores read as spaces).
fn required_fields(shape: Shape) -> &'static [&'static str] {
    match shape {
        Shape::Plain => &["open", "high", "low", "close", "volume"],
        Shape::DailyAdjusted => &[
            "open",
            "high",
            "low",
            "close",
            "adjusted close",
            "volume",
            "dividend amount",
            "split coefficient",
        ],
        Shape::PeriodAdjusted => &[
            "open",
            "high",
            "low",
            "close",
            "adjusted close",
            "volume",
            "dividend amount",
        ],
    }
}

/// Builds one bar from a row; `get` looks a value up by canonical field name.
fn build_bar<'a>(
    call: &ApiCall,
    zone: &Zone,
    key: &str,
    get: impl Fn(&str) -> Option<&'a str>,
    ingested_at: DateTime<Utc>,
) -> Result<ParsedBar, AlphaVantageError> {
    let malformed = |field: &str, value: &str, reason: &str| AlphaVantageError::Malformed {
        symbol: call.symbol.to_string(),
        field: field.to_string(),
        ts: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let (local, ts) = values::timestamp(key, call.resolution.is_intraday(), zone)
        .map_err(|reason| malformed("timestamp", key, &reason))?;
    let value = |field: &str| -> Result<f64, AlphaVantageError> {
        let raw = get(field).ok_or_else(|| malformed(field, "", "missing"))?;
        let x = values::number(raw).ok_or_else(|| malformed(field, raw, "not a decimal number"))?;
        let ok = match field {
            "volume" | "dividend amount" => x >= 0.0,
            _ => x > 0.0,
        };
        if ok {
            Ok(x)
        } else {
            Err(malformed(field, raw, "out of range"))
        }
    };
    // Validate every required field, so the error names the first bad one in a fixed order.
    for f in required_fields(call.shape) {
        value(f)?;
    }
    let (adj_close, dividend, split_coefficient) = match call.shape {
        Shape::Plain => (None, 0.0, 1.0),
        Shape::DailyAdjusted => (
            Some(value("adjusted close")?),
            value("dividend amount")?,
            value("split coefficient")?,
        ),
        Shape::PeriodAdjusted => (
            Some(value("adjusted close")?),
            value("dividend amount")?,
            1.0,
        ),
    };
    Ok(ParsedBar {
        local,
        bar: Bar {
            symbol: call.symbol.clone(),
            resolution: call.resolution,
            ts,
            tz: zone.name.clone(),
            open: value("open")?,
            high: value("high")?,
            low: value("low")?,
            close: value("close")?,
            volume: value("volume")?,
            adj_close,
            dividend,
            split_coefficient,
            source: Source::AlphaVantage,
            ingested_at,
        },
    })
}

#[cfg(test)]
mod tests;
