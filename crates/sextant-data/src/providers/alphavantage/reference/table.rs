//! Records of reference answers, read the same way from JSON arrays and CSV rows.
//!
//! A record is a list of named text values in the vendor's order; JSON names lose their `"N. "`
//! numbering (`"1. symbol"` → `symbol`), so one parser reads both formats by name.

use crate::providers::alphavantage::errors::{clip, AlphaVantageError};
use crate::providers::alphavantage::parse::values;
use crate::providers::alphavantage::parse::{csv_lines, json::field_name};
use crate::providers::alphavantage::request::ApiCall;
use chrono::{NaiveDate, NaiveTime};
use serde_json::{Map, Value};

/// One record (a JSON array element or a CSV row).
#[derive(Debug)]
pub(super) struct Record {
    cells: Vec<(String, String)>,
    /// What the record is called in errors (its date or symbol, set by the parser).
    pub label: String,
}

impl Record {
    /// The text of `name`; names compare case-sensitively, as the vendor spells them.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cells
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A [`AlphaVantageError::Malformed`] naming this record.
    pub fn malformed(
        &self,
        call: &ApiCall,
        field: &str,
        value: &str,
        reason: &str,
    ) -> AlphaVantageError {
        AlphaVantageError::Malformed {
            symbol: call.subject.clone(),
            field: field.to_string(),
            ts: self.label.clone(),
            value: clip(value),
            reason: reason.to_string(),
        }
    }

    /// A required value; missing is malformed.
    pub fn text(&self, call: &ApiCall, name: &str) -> Result<&str, AlphaVantageError> {
        self.get(name)
            .ok_or_else(|| self.malformed(call, name, "", "missing"))
    }

    /// A required non-empty value.
    pub fn nonempty(&self, call: &ApiCall, name: &str) -> Result<String, AlphaVantageError> {
        let v = self.text(call, name)?;
        if v.trim().is_empty() {
            return Err(self.malformed(call, name, v, "empty"));
        }
        Ok(v.to_string())
    }

    /// A required decimal number within `ok` (described by `range` in the error).
    pub fn number(
        &self,
        call: &ApiCall,
        name: &str,
        ok: impl Fn(f64) -> bool,
        range: &str,
    ) -> Result<f64, AlphaVantageError> {
        let v = self.text(call, name)?;
        let x = values::number(v)
            .ok_or_else(|| self.malformed(call, name, v, "not a decimal number"))?;
        if ok(x) {
            Ok(x)
        } else {
            Err(self.malformed(call, name, v, &format!("out of range: {range}")))
        }
    }

    /// A required `YYYY-MM-DD` date.
    pub fn date(&self, call: &ApiCall, name: &str) -> Result<NaiveDate, AlphaVantageError> {
        let v = self.text(call, name)?;
        values::date(v).map_err(|reason| self.malformed(call, name, v, &reason))
    }

    /// A `YYYY-MM-DD` date, or `None` when the vendor writes `absent` (`"None"` in DIVIDENDS,
    /// `"null"` in LISTING_STATUS). Any other text is malformed: an empty string is not taken for
    /// a missing date.
    pub fn optional_date(
        &self,
        call: &ApiCall,
        name: &str,
        absent: &str,
    ) -> Result<Option<NaiveDate>, AlphaVantageError> {
        let v = self.text(call, name)?;
        if v == absent {
            return Ok(None);
        }
        values::date(v)
            .map(Some)
            .map_err(|reason| self.malformed(call, name, v, &format!("{reason}, or {absent:?}")))
    }

    /// A required `HH:MM` clock time.
    pub fn clock(&self, call: &ApiCall, name: &str) -> Result<NaiveTime, AlphaVantageError> {
        let v = self.text(call, name)?;
        let ok = v.len() == 5 && v.as_bytes().get(2) == Some(&b':');
        NaiveTime::parse_from_str(v, "%H:%M")
            .ok()
            .filter(|_| ok)
            .ok_or_else(|| self.malformed(call, name, v, "expected an HH:MM time"))
    }
}

fn unexpected(call: &ApiCall, detail: String) -> AlphaVantageError {
    AlphaVantageError::UnexpectedBody {
        function: call.function.to_string(),
        detail,
    }
}

/// `obj[key]` as records: an array of objects whose values are all strings. Each record is
/// called by its `label` field in errors (by its position, `#0` for the first, without one).
pub(super) fn json_records(
    obj: &Map<String, Value>,
    key: &str,
    call: &ApiCall,
    label: &str,
) -> Result<Vec<Record>, AlphaVantageError> {
    let items = obj
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| unexpected(call, format!("{key:?} is not an array")))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let position = format!("#{i}");
            let fields = item
                .as_object()
                .ok_or_else(|| AlphaVantageError::Malformed {
                    symbol: call.subject.clone(),
                    field: "row".into(),
                    ts: position.clone(),
                    value: clip(&item.to_string()),
                    reason: "not an object".into(),
                })?;
            let named = fields
                .iter()
                .find(|(k, _)| field_name(k) == label)
                .and_then(|(_, v)| v.as_str())
                .map(str::to_string);
            json_record(fields, named.unwrap_or(position), call)
        })
        .collect()
}

/// One JSON object as a record; every value must be a string.
pub(super) fn json_record(
    fields: &Map<String, Value>,
    label: String,
    call: &ApiCall,
) -> Result<Record, AlphaVantageError> {
    let mut cells = Vec::with_capacity(fields.len());
    for (k, v) in fields {
        let name = field_name(k).to_string();
        match v {
            Value::String(s) => cells.push((name, s.clone())),
            other => {
                return Err(AlphaVantageError::Malformed {
                    symbol: call.subject.clone(),
                    field: name,
                    ts: label,
                    value: clip(&other.to_string()),
                    reason: "Alpha Vantage sends this value as a string".into(),
                })
            }
        }
    }
    Ok(Record { cells, label })
}

/// Splits one CSV line. The vendor's reference CSVs show no quoting, but a name holding a comma
/// would have to be quoted, so RFC 4180 quotes (`"a, b"`, `""` for a quote) are read rather
/// than split apart.
fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            (true, '"') => {
                quoted = false;
                if chars.peek().is_some_and(|n| *n != ',') {
                    return Err("text after a closing quote".into());
                }
            }
            (false, ',') => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
            }
            (_, c) => {
                cur.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    out.push(cur);
    Ok(out)
}

/// A CSV body as records. `first_column` is the header's first column name, which tells a data
/// answer from anything else; `label` names the column each record is called by in errors (the
/// first column when the header has none of that name).
pub(super) fn csv_records(
    body: &str,
    call: &ApiCall,
    first_column: &str,
    label: &str,
) -> Result<Vec<Record>, AlphaVantageError> {
    let mut lines = csv_lines(body);
    let header = lines
        .next()
        .map(split_line)
        .transpose()
        .map_err(|e| unexpected(call, format!("unreadable CSV header: {e}")))?
        .unwrap_or_default();
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    if header.first().map(String::as_str) != Some(first_column) {
        return Err(unexpected(
            call,
            format!("CSV without a {first_column} header: {:?}", clip(body)),
        ));
    }
    // CSV may name the label column differently (`timestamp` for JSON's `date`): then the
    // first column, which tells the rows apart in every reference CSV, names them.
    let at = header.iter().position(|h| h == label).or(Some(0));
    lines
        .enumerate()
        .map(|(i, line)| {
            let row_malformed = |reason: String| AlphaVantageError::Malformed {
                symbol: call.subject.clone(),
                field: "row".into(),
                ts: format!("line {}", i + 2),
                value: clip(line),
                reason,
            };
            let values = split_line(line).map_err(row_malformed)?;
            if values.len() != header.len() {
                return Err(row_malformed(format!(
                    "{} columns, header has {}",
                    values.len(),
                    header.len()
                )));
            }
            let label = at
                .and_then(|a| values.get(a).cloned())
                .unwrap_or_else(|| format!("line {}", i + 2));
            Ok(Record {
                cells: header.iter().cloned().zip(values).collect(),
                label,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_split_with_quotes() {
        assert_eq!(split_line("a,b,,c").expect("plain"), ["a", "b", "", "c"]);
        assert_eq!(
            split_line("X,\"Foo, Inc\",\"say \"\"hi\"\"\",1").expect("quoted"),
            ["X", "Foo, Inc", "say \"hi\"", "1"]
        );
        assert!(split_line("\"open").is_err());
        assert!(split_line("\"a\"b,c").is_err());
    }
}
