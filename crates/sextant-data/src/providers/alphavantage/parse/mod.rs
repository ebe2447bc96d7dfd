//! Strict parsing of Alpha Vantage bar answers (JSON and CSV): `TIME_SERIES_*`, `FX_*`,
//! `DIGITAL_CURRENCY_*` and `CRYPTO_INTRADAY`.
//!
//! Any bad value rejects the whole answer: a provider must never hand the cache a partial series
//! that looks complete. Keys arrive newest first; bars leave oldest first.

mod csv;
pub(crate) mod json;
pub(crate) mod values;

use super::errors::{clip, AlphaVantageError};
use super::request::{ApiCall, BarSpec, Family, Shape};
use chrono::{DateTime, NaiveDateTime, Utc};
use sextant_domain::{Bar, Source};
use values::Zone;

/// A parsed bar plus its wall-clock date-time for date-range filters: the exchange's local time
/// for equities, UTC for FX and crypto (stored with `tz = "UTC"`).
#[derive(Debug, Clone)]
pub(crate) struct ParsedBar {
    pub local: NaiveDateTime,
    pub bar: Bar,
}

/// A body told apart by its first character, after a byte-order mark and leading whitespace.
pub(crate) enum Body<'a> {
    /// Starts with `{`: data or one of the vendor's JSON error envelopes.
    Json(&'a str),
    /// Anything else, when CSV was asked for.
    Csv(&'a str),
}

/// Splits `body` into JSON or CSV. A body starting with `{` is JSON whatever `datatype` was asked
/// for: Alpha Vantage sends its JSON error bodies even for `datatype=csv` (and JSON data for
/// JSON-only functions). A leading byte-order mark is skipped.
///
/// # Errors
///
/// [`AlphaVantageError::UnexpectedBody`] for an empty body, a non-JSON body when JSON was asked
/// for, or a CSV body without its final line end (cut short).
pub(crate) fn split_body<'a>(body: &'a str, call: &ApiCall) -> Result<Body<'a>, AlphaVantageError> {
    let trimmed = body.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        Ok(Body::Json(trimmed))
    } else if call.datatype == super::DataType::Csv && !trimmed.is_empty() {
        // The vendor ends every CSV with a line end; without one the last row may be cut in the
        // middle of a value and still parse, so the body is refused instead.
        if !trimmed.ends_with('\n') {
            let mut tail: Vec<char> = trimmed.chars().rev().take(40).collect();
            tail.reverse();
            return Err(AlphaVantageError::UnexpectedBody {
                function: call.function.to_string(),
                detail: format!(
                    "CSV without a final line end (the body was cut?): ends with {:?}",
                    tail.into_iter().collect::<String>()
                ),
            });
        }
        Ok(Body::Csv(trimmed))
    } else {
        Err(AlphaVantageError::UnexpectedBody {
            function: call.function.to_string(),
            detail: format!(
                "expected {}, got {:?}",
                call.datatype.as_str(),
                clip(trimmed)
            ),
        })
    }
}

/// CSV lines without their `\r` (CRLF and LF both occur), blank lines dropped.
pub(crate) fn csv_lines(body: &str) -> impl Iterator<Item = &str> {
    body.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty())
}

/// Parses a whole bar answer for `call`.
pub(crate) fn parse_body(
    body: &str,
    call: &ApiCall,
    ingested_at: DateTime<Utc>,
) -> Result<Vec<ParsedBar>, AlphaVantageError> {
    let Some(spec) = call.bars.as_ref() else {
        return Err(AlphaVantageError::InvalidRequest {
            message: format!("{} is not a bar function", call.function),
        });
    };
    let mut bars = match split_body(body, call)? {
        Body::Json(text) => json::parse(text, call, spec, ingested_at)?,
        Body::Csv(text) => csv::parse(text, call, spec, ingested_at)?,
    };
    bars.sort_by_key(|b| b.bar.ts);
    if let Some(w) = bars.windows(2).find(|w| w[0].bar.ts == w[1].bar.ts) {
        return Err(AlphaVantageError::Malformed {
            symbol: call.subject.clone(),
            field: "timestamp".into(),
            ts: w[1].local.to_string(),
            value: w[1].local.to_string(),
            reason: "the same bar appears twice".into(),
        });
    }
    Ok(bars)
}

/// One value of a row: the vendor's numbering (`1`, `1a`; empty in CSV), its name lower-cased
/// (`open`, `adjusted close`, `open (cny)`) and its text.
pub(super) struct Cell {
    pub number: String,
    pub name: String,
    pub text: String,
}

/// Which values a row must carry, by canonical name (the vendor's name without its `"N. "`
/// prefix, CSV underscores read as spaces).
fn required_fields(family: &Family) -> &'static [&'static str] {
    match family {
        Family::Equity(Shape::Plain) => &["open", "high", "low", "close", "volume"],
        Family::Equity(Shape::DailyAdjusted) => &[
            "open",
            "high",
            "low",
            "close",
            "adjusted close",
            "volume",
            "dividend amount",
            "split coefficient",
        ],
        Family::Equity(Shape::PeriodAdjusted) => &[
            "open",
            "high",
            "low",
            "close",
            "adjusted close",
            "volume",
            "dividend amount",
        ],
        // FX series carry no volume at all (every sample, every era).
        Family::Fx { .. } => &["open", "high", "low", "close"],
        Family::Crypto { .. } => &["open", "high", "low", "close", "volume"],
    }
}

/// Whether a crypto row is in the pre-2024 layout (`1a. open (CNY)`, `1b. open (USD)`, …,
/// `5. volume`, `6. market cap (USD)`) rather than the current one (`1. open` … `5. volume`).
pub(super) fn is_old_crypto_layout(cells: &[Cell]) -> bool {
    !cells.iter().any(|c| c.name == "open")
}

/// Looks up a canonical field. Crypto rows in the old layout carry each price twice, in the
/// market currency (`a` columns) and in USD (`b` columns); the market currency's is taken, as
/// the new layout's single value is taken to be (the reference presumes the new layout's values
/// are in the requested market's currency; not independently confirmed). CSV has no numbering,
/// so there the first column named `open (<market>)` is taken (the old CSV header is not
/// confirmed; this is a defensive reading).
fn lookup<'a>(cells: &'a [Cell], family: &Family, field: &str) -> Option<&'a str> {
    if let Some(c) = cells.iter().find(|c| c.name == field) {
        return Some(&c.text);
    }
    let Family::Crypto { market, .. } = family else {
        return None;
    };
    if !matches!(field, "open" | "high" | "low" | "close") {
        return None;
    }
    let name = format!("{field} ({})", market.to_ascii_lowercase());
    cells
        .iter()
        .find(|c| c.name == name && (c.number.is_empty() || c.number.ends_with('a')))
        .map(|c| c.text.as_str())
}

/// Builds one bar from a row's cells.
fn build_bar(
    call: &ApiCall,
    spec: &BarSpec,
    zone: &Zone,
    key: &str,
    cells: &[Cell],
    ingested_at: DateTime<Utc>,
) -> Result<ParsedBar, AlphaVantageError> {
    let malformed = |field: &str, value: &str, reason: &str| AlphaVantageError::Malformed {
        symbol: call.subject.clone(),
        field: field.to_string(),
        ts: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let (local, ts) = values::timestamp(key, spec.resolution.is_intraday(), zone)
        .map_err(|reason| malformed("timestamp", key, &reason))?;
    let value = |field: &str| -> Result<f64, AlphaVantageError> {
        let raw =
            lookup(cells, &spec.family, field).ok_or_else(|| malformed(field, "", "missing"))?;
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
    for f in required_fields(&spec.family) {
        value(f)?;
    }
    let (adj_close, dividend, split_coefficient) = match spec.family {
        Family::Equity(Shape::DailyAdjusted) => (
            Some(value("adjusted close")?),
            value("dividend amount")?,
            value("split coefficient")?,
        ),
        Family::Equity(Shape::PeriodAdjusted) => (
            Some(value("adjusted close")?),
            value("dividend amount")?,
            1.0,
        ),
        // Currencies have no corporate actions.
        _ => (None, 0.0, 1.0),
    };
    let (volume, tz, local) = match spec.family {
        Family::Equity(_) => (value("volume")?, zone.name.clone(), local),
        // FX series carry no volume: stored as 0. FX and crypto are stored in UTC.
        Family::Fx { .. } => (0.0, "UTC".to_string(), ts),
        Family::Crypto { .. } => (value("volume")?, "UTC".to_string(), ts),
    };
    Ok(ParsedBar {
        local,
        bar: Bar {
            symbol: spec.symbol.clone(),
            resolution: spec.resolution,
            ts,
            tz,
            open: value("open")?,
            high: value("high")?,
            low: value("low")?,
            close: value("close")?,
            volume,
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
#[cfg(test)]
mod tests_more;
