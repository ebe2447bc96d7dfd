//! Answers that are not `Meta Data` + series: lists of records (`DIVIDENDS`, `SPLITS`,
//! `SYMBOL_SEARCH`, `LISTING_STATUS`, `MARKET_STATUS`, the economic series) and single objects
//! (`CURRENCY_EXCHANGE_RATE`), plus what every answer shares: its formats and line ends.

use super::{corrupt_fields, quote, Field, Series};

/// `{"<head>": "...", …, "<list_key>": [ {record}, … ]}`; CSV is `csv_header` then one line per
/// record, in list order.
#[derive(Debug, Clone, PartialEq)]
pub struct Records {
    /// Top-level strings before the list (`"symbol": "IBM"`; `name`, `interval`, `unit`).
    pub head: Vec<(String, String)>,
    /// The list's key (`data`, `bestMatches`, `markets`).
    pub list_key: String,
    /// The CSV header's columns, written even when there are no records.
    pub csv_header: Vec<String>,
    /// The records, in the vendor's order (newest first for dated lists).
    pub rows: Vec<Vec<Field>>,
}

impl Records {
    fn to_json(&self) -> String {
        let mut parts: Vec<String> = self
            .head
            .iter()
            .map(|(k, v)| format!("    {}: {}", quote(k), quote(v)))
            .collect();
        let list = if self.rows.is_empty() {
            "[]".to_string()
        } else {
            let items: Vec<String> = self
                .rows
                .iter()
                .map(|fields| {
                    let inner: Vec<String> = fields
                        .iter()
                        .map(|f| format!("            {}: {}", quote(&f.json), f.json_value()))
                        .collect();
                    format!("        {{\n{}\n        }}", inner.join(",\n"))
                })
                .collect();
            format!("[\n{}\n    ]", items.join(",\n"))
        };
        parts.push(format!("    {}: {list}", quote(&self.list_key)));
        format!("{{\n{}\n}}", parts.join(",\n"))
    }

    fn to_csv(&self, eol: &str) -> String {
        let mut s = self.csv_header.join(",");
        s.push_str(eol);
        for fields in &self.rows {
            let line: Vec<&str> = fields.iter().map(|f| f.value.as_str()).collect();
            s.push_str(&line.join(","));
            s.push_str(eol);
        }
        s
    }
}

/// `{"<key>": { fields }}`: one object (`CURRENCY_EXCHANGE_RATE`).
#[derive(Debug, Clone, PartialEq)]
pub struct Single {
    /// The object's key (`Realtime Currency Exchange Rate`).
    pub key: String,
    /// Its values, in order.
    pub fields: Vec<Field>,
}

impl Single {
    fn to_json(&self) -> String {
        let inner: Vec<String> = self
            .fields
            .iter()
            .map(|f| format!("        {}: {}", quote(&f.json), f.json_value()))
            .collect();
        format!(
            "{{\n    {}: {{\n{}\n    }}\n}}",
            quote(&self.key),
            inner.join(",\n")
        )
    }
}

/// The shape of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// `Meta Data` + a series keyed by date(time).
    Series(Series),
    /// A list of records under a key.
    Records(Records),
    /// One object under a key.
    Single(Single),
}

/// Which formats the vendor serves a function in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formats {
    /// `datatype=json` (the default) or `datatype=csv`.
    Both,
    /// JSON whatever `datatype` says (`CURRENCY_EXCHANGE_RATE`, `MARKET_STATUS`).
    JsonOnly,
    /// CSV whatever `datatype` says (`LISTING_STATUS`).
    CsvOnly,
}

/// How CSV lines end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnd {
    /// `\n`, as in the raw bytes of the vendor's CSV downloads captured in 2026.
    Lf,
    /// `\r\n`, as several third-party fixtures have it.
    CrLf,
}

impl LineEnd {
    /// The line terminator.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnd::Lf => "\n",
            LineEnd::CrLf => "\r\n",
        }
    }
}

/// A data answer: its body, the formats it is served in and its usual CSV line end.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// What is sent.
    pub body: Body,
    /// Which `datatype`s are honoured.
    pub formats: Formats,
    /// The line end used unless the server is told otherwise.
    pub line_end: LineEnd,
}

impl Answer {
    /// An answer served in JSON and CSV with LF line ends.
    pub fn both(body: Body) -> Answer {
        Answer {
            body,
            formats: Formats::Both,
            line_end: LineEnd::Lf,
        }
    }

    /// Whether the answer goes out as CSV when the request said `datatype=csv` (or not).
    pub fn is_csv(&self, csv_requested: bool) -> bool {
        match self.formats {
            Formats::Both => csv_requested,
            Formats::JsonOnly => false,
            Formats::CsvOnly => true,
        }
    }

    /// Replaces one value: `row` counts from the first record (the newest in dated lists);
    /// `field` is the JSON name or the CSV column. Returns whether it matched.
    pub fn corrupt(&mut self, row: usize, field: &str, value: &str) -> bool {
        match &mut self.body {
            Body::Series(s) => s.corrupt(row, field, value),
            Body::Records(r) => match r.rows.get_mut(row) {
                Some(fields) => corrupt_fields(fields, field, value),
                None => false,
            },
            Body::Single(s) if row == 0 => corrupt_fields(&mut s.fields, field, value),
            Body::Single(_) => false,
        }
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        match &self.body {
            Body::Series(s) => s.to_json(),
            Body::Records(r) => r.to_json(),
            Body::Single(s) => s.to_json(),
        }
    }

    /// The CSV text (a single object has no CSV form: its JSON is sent).
    pub fn to_csv(&self, eol: LineEnd) -> String {
        match &self.body {
            Body::Series(s) => s.to_csv(eol.as_str()),
            Body::Records(r) => r.to_csv(eol.as_str()),
            Body::Single(s) => s.to_json(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dividends(rows: usize) -> Answer {
        let row = |d: &str| {
            vec![
                Field::new("ex_dividend_date", "ex_dividend_date", d.to_string()),
                Field::new("amount", "amount", "1.68".to_string()),
            ]
        };
        Answer::both(Body::Records(Records {
            head: vec![("symbol".into(), "IBM".into())],
            list_key: "data".into(),
            csv_header: vec!["ex_dividend_date".into(), "amount".into()],
            rows: ["2025-11-10", "2025-08-08"]
                .iter()
                .take(rows)
                .map(|d| row(d))
                .collect(),
        }))
    }

    #[test]
    fn records_render_like_the_vendor() {
        let mut a = dividends(2);
        assert_eq!(
            a.to_json(),
            "{\n    \"symbol\": \"IBM\",\n    \"data\": [\n        {\n            \"ex_dividend_date\": \"2025-11-10\",\n            \"amount\": \"1.68\"\n        },\n        {\n            \"ex_dividend_date\": \"2025-08-08\",\n            \"amount\": \"1.68\"\n        }\n    ]\n}"
        );
        assert!(a.corrupt(1, "amount", "-1"));
        assert_eq!(
            a.to_csv(LineEnd::Lf),
            "ex_dividend_date,amount\n2025-11-10,1.68\n2025-08-08,-1\n"
        );
        let empty = dividends(0);
        assert_eq!(
            empty.to_json(),
            "{\n    \"symbol\": \"IBM\",\n    \"data\": []\n}"
        );
        assert_eq!(empty.to_csv(LineEnd::CrLf), "ex_dividend_date,amount\r\n");
        let single = Answer {
            body: Body::Single(Single {
                key: "K".into(),
                fields: vec![Field::new("1. a", "a", "x".into())],
            }),
            formats: Formats::JsonOnly,
            line_end: LineEnd::Lf,
        };
        assert_eq!(
            single.to_json(),
            "{\n    \"K\": {\n        \"1. a\": \"x\"\n    }\n}"
        );
        assert!(!single.is_csv(true));
        serde_json::from_str::<serde_json::Value>(&single.to_json()).expect("json");
    }
}
