//! `DIVIDENDS` and `SPLITS` with real corporate actions.
//!
//! - Splits are the real history, written out: AAPL and MSFT in full, IBM as the vendor lists it
//!   (the 2021 Kyndryl spin-off as a 1.0460 factor, and 1999's 2:1).
//! - Dividends come from the dataset: the ex-dates and amounts recovered from its adjusted
//!   closes (rounded to cents, so within a cent or so of the declared amounts, and the same
//!   numbers this server's `TIME_SERIES_DAILY_ADJUSTED` reports), with the declaration, record
//!   and payment dates unknown (`"None"`, as the vendor writes them for old rows). IBM also gets
//!   the five rows the reference quotes verbatim (1999, 2020, 2025–2026, with their dates), so
//!   its history has a gap between the dataset's end (2013) and 2020.
//!
//! A symbol without actions, or not known at all, gets `"data": []` (the reference's fixtures'
//! shape; the vendor's own answer for unknown symbols is not confirmed).

use super::dataset::Dataset;
use super::fx::date;
use super::render::{Answer, Body, Field, Records};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// One split: the date and new shares per old share.
const SPLITS: [(&str, NaiveDate, f64); 16] = [
    ("AAPL", date(1987, 6, 16), 2.0),
    ("AAPL", date(2000, 6, 21), 2.0),
    ("AAPL", date(2005, 2, 28), 2.0),
    ("AAPL", date(2014, 6, 9), 7.0),
    ("AAPL", date(2020, 8, 31), 4.0),
    ("MSFT", date(1987, 9, 21), 2.0),
    ("MSFT", date(1990, 4, 16), 2.0),
    ("MSFT", date(1991, 6, 27), 1.5),
    ("MSFT", date(1992, 6, 15), 1.5),
    ("MSFT", date(1994, 5, 23), 2.0),
    ("MSFT", date(1996, 12, 9), 2.0),
    ("MSFT", date(1998, 2, 23), 2.0),
    ("MSFT", date(1999, 3, 29), 2.0),
    ("MSFT", date(2003, 2, 18), 2.0),
    ("IBM", date(1999, 5, 27), 2.0),
    ("IBM", date(2021, 11, 4), 1.046),
];

/// A vendor dividend row: ex-date, declaration, record and payment dates, amount as written.
#[derive(Debug, Clone, PartialEq)]
pub struct DividendRow {
    /// The ex-dividend date.
    pub ex_date: NaiveDate,
    /// Declaration date, if known.
    pub declaration_date: Option<NaiveDate>,
    /// Record date, if known.
    pub record_date: Option<NaiveDate>,
    /// Payment date, if known.
    pub payment_date: Option<NaiveDate>,
    /// Cash per share.
    pub amount: f64,
}

/// IBM's rows quoted verbatim in the reference (PT 2026-05-17 CSV and the QV documentation).
fn ibm_quoted() -> Vec<DividendRow> {
    let full = |ex, decl, rec, pay, amount| DividendRow {
        ex_date: ex,
        declaration_date: Some(decl),
        record_date: Some(rec),
        payment_date: Some(pay),
        amount,
    };
    let bare = |ex, amount| DividendRow {
        ex_date: ex,
        declaration_date: None,
        record_date: None,
        payment_date: None,
        amount,
    };
    vec![
        bare(date(1999, 2, 8), 0.22),
        bare(date(2020, 11, 9), 1.63),
        full(
            date(2025, 8, 8),
            date(2025, 7, 23),
            date(2025, 8, 8),
            date(2025, 9, 10),
            1.68,
        ),
        full(
            date(2025, 11, 10),
            date(2025, 10, 22),
            date(2025, 11, 10),
            date(2025, 12, 10),
            1.68,
        ),
        full(
            date(2026, 5, 8),
            date(2026, 4, 22),
            date(2026, 5, 8),
            date(2026, 6, 10),
            1.69,
        ),
    ]
}

/// `symbol`'s dividends, oldest first (empty when none or unknown).
pub fn dividend_rows(ds: &Dataset, symbol: &str) -> Vec<DividendRow> {
    let mut rows: Vec<DividendRow> = ds
        .daily(symbol)
        .unwrap_or_default()
        .iter()
        .filter(|r| r.dividend > 0.0)
        .map(|r| DividendRow {
            ex_date: r.date,
            declaration_date: None,
            record_date: None,
            payment_date: None,
            amount: r.dividend,
        })
        .collect();
    if symbol.eq_ignore_ascii_case("IBM") {
        rows.extend(ibm_quoted());
    }
    rows.sort_by_key(|r| r.ex_date);
    rows
}

/// `symbol`'s splits, oldest first: (effective date, factor).
pub fn split_rows(symbol: &str) -> Vec<(NaiveDate, f64)> {
    SPLITS
        .iter()
        .filter(|(s, _, _)| s.eq_ignore_ascii_case(symbol))
        .map(|(_, d, f)| (*d, *f))
        .collect()
}

fn opt(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "None".to_string(), |d| d.to_string())
}

/// The amount as the vendor writes it: no fixed decimals (`1.68`, `0.2`).
fn amount(x: f64) -> String {
    format!("{}", (x * 10_000.0).round() / 10_000.0)
}

fn field(name: &str, value: String) -> Field {
    Field::new(name, name, value)
}

fn symbol_of(params: &BTreeMap<String, String>) -> String {
    params
        .get("symbol")
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_default()
}

/// `DIVIDENDS`, newest first.
pub(crate) fn dividends(ds: &Dataset, params: &BTreeMap<String, String>) -> Answer {
    let symbol = symbol_of(params);
    let cols = [
        "ex_dividend_date",
        "declaration_date",
        "record_date",
        "payment_date",
        "amount",
    ];
    let rows = dividend_rows(ds, &symbol)
        .iter()
        .rev()
        .map(|r| {
            vec![
                field(cols[0], r.ex_date.to_string()),
                field(cols[1], opt(r.declaration_date)),
                field(cols[2], opt(r.record_date)),
                field(cols[3], opt(r.payment_date)),
                field(cols[4], amount(r.amount)),
            ]
        })
        .collect();
    Answer::both(Body::Records(Records {
        head: vec![("symbol".into(), symbol)],
        list_key: "data".into(),
        csv_header: cols.iter().map(|c| c.to_string()).collect(),
        rows,
    }))
}

/// `SPLITS`, newest first; factors with four decimals.
pub(crate) fn splits(params: &BTreeMap<String, String>) -> Answer {
    let symbol = symbol_of(params);
    let rows = split_rows(&symbol)
        .iter()
        .rev()
        .map(|(d, f)| {
            vec![
                field("effective_date", d.to_string()),
                field("split_factor", format!("{f:.4}")),
            ]
        })
        .collect();
    Answer::both(Body::Records(Records {
        head: vec![("symbol".into(), symbol)],
        list_key: "data".into(),
        csv_header: vec!["effective_date".into(), "split_factor".into()],
        rows,
    }))
}
