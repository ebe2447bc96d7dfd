//! `datatype=csv` answers: a `timestamp,...` header and rows newest first. CSV has no meta data,
//! so the symbol is the requested one and the zone Alpha Vantage's (US/Eastern).

use super::{build_bar, values, ParsedBar};
use crate::providers::alphavantage::errors::{clip, AlphaVantageError};
use crate::providers::alphavantage::request::ApiCall;
use chrono::{DateTime, Utc};

/// Column names are read with underscores as spaces (`adjusted_close` = `adjusted close`), since
/// Alpha Vantage has used both spellings.
fn column_name(c: &str) -> String {
    c.trim().to_ascii_lowercase().replace('_', " ")
}

pub(super) fn parse(
    body: &str,
    call: &ApiCall,
    ingested_at: DateTime<Utc>,
) -> Result<Vec<ParsedBar>, AlphaVantageError> {
    let mut lines = body
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty());
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
    let zone = values::zone(None).map_err(|detail| AlphaVantageError::UnexpectedBody {
        function: call.function.to_string(),
        detail,
    })?;
    let mut bars = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let key = cells.first().copied().unwrap_or_default();
        if cells.len() != header.len() {
            return Err(AlphaVantageError::Malformed {
                symbol: call.symbol.to_string(),
                field: "row".into(),
                ts: key.to_string(),
                value: clip(line),
                reason: format!("{} columns, header has {}", cells.len(), header.len()),
            });
        }
        let get = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| cells.get(i).copied())
        };
        bars.push(build_bar(call, &zone, key, get, ingested_at)?);
    }
    Ok(bars)
}
