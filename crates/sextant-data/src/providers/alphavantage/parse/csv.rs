//! `datatype=csv` bar answers: a `timestamp,...` header and rows newest first. CSV has no meta
//! data, so the symbol is the requested one and the zone is the vendor's documented one:
//! US/Eastern for `TIME_SERIES_*`, UTC for FX and crypto (every answer since 2020 says UTC; the
//! 2018–2019 `GMT+8` era is only recognisable in JSON).

use super::{build_bar, csv_lines, values, Cell, ParsedBar};
use crate::providers::alphavantage::errors::{clip, AlphaVantageError};
use crate::providers::alphavantage::request::{ApiCall, BarSpec, Family};
use chrono::{DateTime, Utc};

/// Column names are read with underscores as spaces (`adjusted_close` = `adjusted close`), since
/// Alpha Vantage has used both spellings.
fn column_name(c: &str) -> String {
    c.trim().to_ascii_lowercase().replace('_', " ")
}

pub(super) fn parse(
    body: &str,
    call: &ApiCall,
    spec: &BarSpec,
    ingested_at: DateTime<Utc>,
) -> Result<Vec<ParsedBar>, AlphaVantageError> {
    let mut lines = csv_lines(body);
    let header: Vec<String> = lines
        .next()
        .map(|h| h.split(',').map(column_name).collect())
        .unwrap_or_default();
    if header.first().map(String::as_str) != Some("timestamp") {
        return Err(AlphaVantageError::UnexpectedBody {
            function: call.function.to_string(),
            detail: format!("CSV without a timestamp header: {:?}", clip(body)),
        });
    }
    let zone = match spec.family {
        Family::Equity(_) => {
            values::zone(None).map_err(|detail| AlphaVantageError::UnexpectedBody {
                function: call.function.to_string(),
                detail,
            })?
        }
        Family::Fx { .. } | Family::Crypto { .. } => values::Zone::utc(),
    };
    let mut bars = Vec::new();
    for line in lines {
        let values: Vec<&str> = line.split(',').collect();
        let key = values.first().copied().unwrap_or_default();
        if values.len() != header.len() {
            return Err(AlphaVantageError::Malformed {
                symbol: call.subject.clone(),
                field: "row".into(),
                ts: key.to_string(),
                value: clip(line),
                reason: format!("{} columns, header has {}", values.len(), header.len()),
            });
        }
        let cells: Vec<Cell> = header
            .iter()
            .zip(&values)
            .skip(1)
            .map(|(name, text)| Cell {
                number: String::new(),
                name: name.clone(),
                text: (*text).to_string(),
            })
            .collect();
        bars.push(build_bar(call, spec, &zone, key, &cells, ingested_at)?);
    }
    Ok(bars)
}
