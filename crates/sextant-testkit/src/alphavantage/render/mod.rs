//! Writes answers in Alpha Vantage's exact JSON and CSV shapes.
//!
//! JSON is written by hand rather than through `serde_json::Map` because the order matters: Alpha
//! Vantage lists `Meta Data` first and series keys newest first, and a client must not depend on
//! any other order than the one the vendor really sends. Bodies are indented with four spaces
//! and end without a newline, like the vendor's.

mod records;

pub use records::{Answer, Body, Formats, LineEnd, Records, Single};

/// One value of a row: its JSON name (`"1. open"`), its CSV column (`"open"`) and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub json: String,
    pub csv: String,
    pub value: String,
    /// Written without quotes in JSON (only `CRYPTO_INTRADAY`'s integer volume).
    pub unquoted: bool,
}

impl Field {
    /// A quoted value.
    pub fn new(json: impl Into<String>, csv: impl Into<String>, value: String) -> Field {
        Field {
            json: json.into(),
            csv: csv.into(),
            value,
            unquoted: false,
        }
    }

    /// The value as JSON text.
    pub fn json_value(&self) -> String {
        if self.unquoted {
            self.value.clone()
        } else {
            quote(&self.value)
        }
    }
}

/// Replaces the value named `field` (JSON name or CSV column) in `fields`; the replacement is
/// written quoted, like every vendor value.
pub(crate) fn corrupt_fields(fields: &mut [Field], field: &str, value: &str) -> bool {
    match fields
        .iter_mut()
        .find(|f| f.json == field || f.csv == field)
    {
        Some(f) => {
            f.value = value.to_string();
            f.unquoted = false;
            true
        }
        None => false,
    }
}

/// One series point.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (US/Eastern).
    pub key: String,
    pub fields: Vec<Field>,
}

/// A whole answer: meta data, the series key and the rows, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub meta: Vec<(&'static str, String)>,
    pub series_key: String,
    pub rows: Vec<Row>,
}

impl Series {
    /// Replaces one value (see [`super::Fault::MalformedValue`]); returns whether it matched.
    pub fn corrupt(&mut self, row: usize, field: &str, value: &str) -> bool {
        match self.rows.get_mut(row) {
            Some(r) => corrupt_fields(&mut r.fields, field, value),
            None => false,
        }
    }

    /// The JSON body, indented with four spaces like Alpha Vantage's.
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\n    \"Meta Data\": {\n");
        let meta: Vec<String> = self
            .meta
            .iter()
            .map(|(k, v)| format!("        {}: {}", quote(k), quote(v)))
            .collect();
        s.push_str(&meta.join(",\n"));
        s.push_str("\n    },\n    ");
        s.push_str(&quote(&self.series_key));
        s.push_str(": {");
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                let fields: Vec<String> = r
                    .fields
                    .iter()
                    .map(|f| format!("            {}: {}", quote(&f.json), f.json_value()))
                    .collect();
                format!(
                    "\n        {}: {{\n{}\n        }}",
                    quote(&r.key),
                    fields.join(",\n")
                )
            })
            .collect();
        s.push_str(&rows.join(","));
        s.push_str(if self.rows.is_empty() {
            "}\n}"
        } else {
            "\n    }\n}"
        });
        s
    }

    /// The CSV body: `timestamp,` then the columns, rows newest first, each line ended by
    /// `eol`.
    pub fn to_csv(&self, eol: &str) -> String {
        let mut s = String::from("timestamp");
        if let Some(first) = self.rows.first() {
            for f in &first.fields {
                s.push(',');
                s.push_str(&f.csv);
            }
        }
        s.push_str(eol);
        for r in &self.rows {
            s.push_str(&r.key);
            for f in &r.fields {
                s.push(',');
                s.push_str(&f.value);
            }
            s.push_str(eol);
        }
        s
    }
}

pub(crate) fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// How numbers are written. Alpha Vantage has used both, sometimes in one body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumberStyle {
    /// `"166.5000"`, `"1.0000"` (the current format).
    #[default]
    FourDecimals,
    /// `"166.5"`, `"1.0"`: the shortest form that keeps one decimal.
    Short,
}

impl NumberStyle {
    /// Formats `x` in this style. Used for every decimal value (prices, adjusted close, dividend,
    /// split coefficient); volumes are written as integers.
    pub fn price(self, x: f64) -> String {
        match self {
            NumberStyle::FourDecimals => format!("{x:.4}"),
            NumberStyle::Short => {
                let s = format!("{x}");
                if s.contains('.') {
                    s
                } else {
                    format!("{s}.0")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Series {
        let f = |json: &str, csv: &str, v: &str| Field::new(json, csv, v.to_string());
        Series {
            meta: vec![("2. Symbol", "IBM".to_string())],
            series_key: "Time Series (Daily)".to_string(),
            rows: vec![
                Row {
                    key: "2024-05-06".into(),
                    fields: vec![
                        f("1. open", "open", "166.5000"),
                        f("5. volume", "volume", "4222266"),
                    ],
                },
                Row {
                    key: "2024-05-03".into(),
                    fields: vec![
                        f("1. open", "open", "165.0000"),
                        f("5. volume", "volume", "3400405"),
                    ],
                },
            ],
        }
    }

    #[test]
    fn json_keeps_newest_first_and_parses() {
        let body = series().to_json();
        assert!(body.find("2024-05-06").expect("a") < body.find("2024-05-03").expect("b"));
        let v: serde_json::Value = serde_json::from_str(&body).expect("valid json");
        assert_eq!(
            v["Time Series (Daily)"]["2024-05-03"]["1. open"],
            "165.0000"
        );
        let mut empty = series();
        empty.rows.clear();
        serde_json::from_str::<serde_json::Value>(&empty.to_json()).expect("valid empty json");
    }

    #[test]
    fn csv_and_corruption() {
        let mut s = series();
        assert!(s.corrupt(1, "open", "12.3x"));
        assert!(!s.corrupt(9, "open", "x"));
        assert_eq!(
            s.to_csv("\r\n"),
            "timestamp,open,volume\r\n2024-05-06,166.5000,4222266\r\n2024-05-03,12.3x,3400405\r\n"
        );
        assert_eq!(NumberStyle::Short.price(3.6), "3.6");
        assert_eq!(NumberStyle::Short.price(1.0), "1.0");
        assert_eq!(NumberStyle::FourDecimals.price(3.6), "3.6000");
    }
}
