//! `CURRENCY_EXCHANGE_RATE`, `SYMBOL_SEARCH`, `LISTING_STATUS` and `MARKET_STATUS`.
//!
//! - Exchange rates are cross rates of the synthetic FX and crypto closes on their last day
//!   ([`EXCHANGE_RATE_REFRESHED`]), eight decimals, with a bid and an ask around them; with the
//!   server's `legacy_fx` option the answer stops at field 7 (no bid or ask), as before 2020.
//! - Symbol search ranks a small directory (the dataset's symbols plus the reference's samples).
//! - The listing table holds a handful of real listings; `date` picks those listed (or, with
//!   `state=delisted`, delisted) by then, today being [`LISTING_TODAY`].
//! - Market status is the reference's 16 entries with fixed statuses (all closed but crypto,
//!   as on the Sunday the reference's sample was taken).

use super::crypto::{crypto_codes, crypto_daily};
use super::faults::invalid_call;
use super::fx::{date, fx_daily, fx_pairs, CURRENCY_NAMES};
use super::render::{Answer, Body, Field, Formats, LineEnd, Records, Single};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// When every exchange rate was "last refreshed" (UTC).
pub const EXCHANGE_RATE_REFRESHED: &str = "2024-10-31 21:59:00";

/// The date `LISTING_STATUS` takes for today when no `date` is given.
pub const LISTING_TODAY: NaiveDate = date(2026, 5, 17);

/// The value of one unit of `code` in USD, from the synthetic closes.
fn usd_value(code: &str) -> Option<f64> {
    let code = code.to_ascii_uppercase();
    if code == "USD" {
        return Some(1.0);
    }
    if code == "CNY" {
        return Some(1.0 / 7.2);
    }
    let last =
        |bars: Option<Vec<super::synth::DayBar>>| bars.and_then(|b| b.last().map(|x| x.close));
    for p in fx_pairs() {
        let (from, to) = p.split_at(3);
        if from == code && to == "USD" {
            return last(fx_daily(from, to));
        }
        if to == code && from == "USD" {
            return last(fx_daily(from, to)).map(|r| 1.0 / r);
        }
    }
    if crypto_codes().0.contains(&code.as_str()) {
        return last(crypto_daily(&code, "USD"));
    }
    None
}

fn currency_name(code: &str) -> Option<&'static str> {
    CURRENCY_NAMES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, n)| *n)
        .or(match code.to_ascii_uppercase().as_str() {
            "BTC" => Some("Bitcoin"),
            "ETH" => Some("Ethereum"),
            "SOL" => Some("Solana"),
            _ => None,
        })
}

/// The rate served for `from` → `to` (units of `to` per `from`) with its bid and ask, each
/// rounded to eight decimals as written.
pub fn exchange_rate(from: &str, to: &str) -> Option<(f64, f64, f64)> {
    let r = usd_value(from)? / usd_value(to)?;
    let r8 = |x: f64| (x * 1e8).round() / 1e8;
    Some((r8(r), r8(r * (1.0 - 2e-5)), r8(r * (1.0 + 2e-5))))
}

/// `CURRENCY_EXCHANGE_RATE` (JSON only).
pub(crate) fn currency_exchange_rate(
    params: &BTreeMap<String, String>,
    legacy: bool,
) -> Result<Answer, String> {
    let bad = || invalid_call("CURRENCY_EXCHANGE_RATE");
    let from = params
        .get("from_currency")
        .ok_or_else(bad)?
        .to_ascii_uppercase();
    let to = params
        .get("to_currency")
        .ok_or_else(bad)?
        .to_ascii_uppercase();
    let (from_name, to_name) = (
        currency_name(&from).ok_or_else(bad)?,
        currency_name(&to).ok_or_else(bad)?,
    );
    let (rate, bid, ask) = exchange_rate(&from, &to).ok_or_else(bad)?;
    let f = |json: &str, v: String| Field::new(json, json, v);
    let mut fields = vec![
        f("1. From_Currency Code", from.clone()),
        f("2. From_Currency Name", from_name.to_string()),
        f("3. To_Currency Code", to.clone()),
        f("4. To_Currency Name", to_name.to_string()),
        f("5. Exchange Rate", format!("{rate:.8}")),
        f("6. Last Refreshed", EXCHANGE_RATE_REFRESHED.to_string()),
        f("7. Time Zone", "UTC".to_string()),
    ];
    if !legacy {
        fields.push(f("8. Bid Price", format!("{bid:.8}")));
        fields.push(f("9. Ask Price", format!("{ask:.8}")));
    }
    Ok(Answer {
        body: Body::Single(Single {
            key: "Realtime Currency Exchange Rate".into(),
            fields,
        }),
        formats: Formats::JsonOnly,
        line_end: LineEnd::Lf,
    })
}

/// The symbol-search directory: symbol, name, type, region, open, close, zone, currency.
const DIRECTORY: [[&str; 8]; 9] = [
    [
        "AAPL",
        "Apple Inc",
        "Equity",
        "United States",
        "09:30",
        "16:00",
        "UTC-04",
        "USD",
    ],
    [
        "BA",
        "The Boeing Company",
        "Equity",
        "United States",
        "09:30",
        "16:00",
        "UTC-04",
        "USD",
    ],
    [
        "FB",
        "Meta Platforms Inc - Class A",
        "Equity",
        "United States",
        "09:30",
        "16:00",
        "UTC-04",
        "USD",
    ],
    [
        "GOOG",
        "Alphabet Inc - Class C",
        "Equity",
        "United States",
        "09:30",
        "16:00",
        "UTC-04",
        "USD",
    ],
    [
        "IBM",
        "International Business Machines Corp",
        "Equity",
        "United States",
        "09:30",
        "16:00",
        "UTC-04",
        "USD",
    ],
    [
        "MSFT",
        "Microsoft Corporation",
        "Equity",
        "United States",
        "09:30",
        "16:00",
        "UTC-04",
        "USD",
    ],
    [
        "SPY",
        "SPDR S&P 500 ETF Trust",
        "ETF",
        "United States",
        "09:30",
        "16:00",
        "UTC-04",
        "USD",
    ],
    [
        "TSCO.LON",
        "Tesco PLC",
        "Equity",
        "United Kingdom",
        "08:00",
        "16:30",
        "UTC+01",
        "GBX",
    ],
    [
        "TCO2.FRK",
        "TESCO PLC ADR/1 LS-05",
        "Equity",
        "Frankfurt",
        "08:00",
        "20:00",
        "UTC+02",
        "EUR",
    ],
];

const SEARCH_COLUMNS: [(&str, &str); 9] = [
    ("1. symbol", "symbol"),
    ("2. name", "name"),
    ("3. type", "type"),
    ("4. region", "region"),
    ("5. marketOpen", "marketOpen"),
    ("6. marketClose", "marketClose"),
    ("7. timezone", "timezone"),
    ("8. currency", "currency"),
    ("9. matchScore", "matchScore"),
];

/// How well `keywords` match a directory entry: 1 for the symbol itself, else the share of the
/// symbol or name the keywords cover; `None` when they do not occur in either.
fn score(keywords: &str, symbol: &str, name: &str) -> Option<f64> {
    let k = keywords.to_ascii_lowercase();
    let (s, n) = (symbol.to_ascii_lowercase(), name.to_ascii_lowercase());
    if k == s {
        return Some(1.0);
    }
    if s.starts_with(&k) {
        return Some(k.len() as f64 / s.len() as f64);
    }
    if n.contains(&k) {
        return Some(k.len() as f64 / n.len() as f64);
    }
    None
}

/// The matches served for `keywords`, best first: (directory row, score).
pub fn symbol_matches(keywords: &str) -> Vec<([&'static str; 8], f64)> {
    let k = keywords.trim();
    let mut out: Vec<([&str; 8], f64)> = DIRECTORY
        .iter()
        .filter_map(|row| score(k, row[0], row[1]).map(|s| (*row, (s * 1e4).round() / 1e4)))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0[0].cmp(b.0[0])));
    out
}

/// `SYMBOL_SEARCH`; no match gives `"bestMatches": []`.
pub(crate) fn symbol_search(params: &BTreeMap<String, String>) -> Result<Answer, String> {
    let keywords = params
        .get("keywords")
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| invalid_call("SYMBOL_SEARCH"))?;
    let rows = symbol_matches(keywords)
        .iter()
        .map(|(row, s)| {
            let mut fields: Vec<Field> = row
                .iter()
                .zip(SEARCH_COLUMNS)
                .map(|(v, (j, c))| Field::new(j, c, v.to_string()))
                .collect();
            fields.push(Field::new(
                SEARCH_COLUMNS[8].0,
                SEARCH_COLUMNS[8].1,
                format!("{s:.4}"),
            ));
            fields
        })
        .collect();
    Ok(Answer::both(Body::Records(Records {
        head: Vec::new(),
        list_key: "bestMatches".into(),
        csv_header: SEARCH_COLUMNS.iter().map(|(_, c)| c.to_string()).collect(),
        rows,
    })))
}

/// A listing: symbol, name, exchange, asset type, IPO date, delisting date.
type Listing = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    NaiveDate,
    Option<NaiveDate>,
);

/// Real listings.
const LISTINGS: [Listing; 10] = [
    (
        "-P-HIZ",
        "Presurance Holdings Inc",
        "NASDAQ",
        "Stock",
        date(2023, 8, 30),
        None,
    ),
    (
        "A",
        "Agilent Technologies Inc",
        "NYSE",
        "Stock",
        date(1999, 11, 18),
        None,
    ),
    (
        "AA",
        "Alcoa Corp",
        "NYSE",
        "Stock",
        date(2016, 10, 18),
        None,
    ),
    (
        "AAPL",
        "Apple Inc",
        "NASDAQ",
        "Stock",
        date(1980, 12, 12),
        None,
    ),
    ("AMEH", "", "NASDAQ", "Stock", date(2024, 2, 26), None),
    (
        "FB",
        "Meta Platforms Inc - Class A",
        "NASDAQ",
        "Stock",
        date(2012, 5, 18),
        Some(date(2022, 6, 8)),
    ),
    (
        "IBM",
        "International Business Machines Corp",
        "NYSE",
        "Stock",
        date(1962, 1, 2),
        None,
    ),
    (
        "MSFT",
        "Microsoft Corporation",
        "NASDAQ",
        "Stock",
        date(1986, 3, 13),
        None,
    ),
    (
        "SPY",
        "SPDR S&P 500 ETF Trust",
        "NYSE ARCA",
        "ETF",
        date(1993, 1, 29),
        None,
    ),
    (
        "VECT",
        "VectivBio Holding AG",
        "NASDAQ",
        "Stock",
        date(2021, 4, 20),
        Some(date(2023, 7, 7)),
    ),
];

/// One `LISTING_STATUS` row as served.
pub type ListingRow = [String; 7];

/// The rows served for `date` (`None`: [`LISTING_TODAY`]) and state, in symbol order: active
/// ones were listed on or before the date and not delisted by then (their delisting date is
/// still unknown then: `null`); delisted ones were delisted on or before it.
pub fn listing_rows(date: Option<NaiveDate>, delisted: bool) -> Vec<ListingRow> {
    let on = date.unwrap_or(LISTING_TODAY);
    LISTINGS
        .iter()
        .filter(|(_, _, _, _, ipo, gone)| match (delisted, gone) {
            (false, Some(g)) => *ipo <= on && *g > on,
            (false, None) => *ipo <= on,
            (true, Some(g)) => *g <= on,
            (true, None) => false,
        })
        .map(|(s, n, e, t, ipo, gone)| {
            let (gone, status) = match gone {
                Some(g) if delisted => (g.to_string(), "Delisted"),
                _ => ("null".to_string(), "Active"),
            };
            [
                s.to_string(),
                n.to_string(),
                e.to_string(),
                t.to_string(),
                ipo.to_string(),
                gone,
                status.to_string(),
            ]
        })
        .collect()
}

/// `LISTING_STATUS` (CSV only).
pub(crate) fn listing_status(params: &BTreeMap<String, String>) -> Result<Answer, String> {
    let bad = || invalid_call("LISTING_STATUS");
    let date = match params.get("date") {
        Some(d) => {
            let d = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| bad())?;
            if d < date(2010, 1, 1) {
                return Err(bad());
            }
            Some(d)
        }
        None => None,
    };
    let delisted = match params
        .get("state")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("active") => false,
        Some("delisted") => true,
        Some(_) => return Err(bad()),
    };
    let cols = [
        "symbol",
        "name",
        "exchange",
        "assetType",
        "ipoDate",
        "delistingDate",
        "status",
    ];
    let rows = listing_rows(date, delisted)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .zip(cols)
                .map(|(v, c)| Field::new(c, c, v))
                .collect()
        })
        .collect();
    Ok(Answer {
        body: Body::Records(Records {
            head: Vec::new(),
            list_key: "data".into(),
            csv_header: cols.iter().map(|c| c.to_string()).collect(),
            rows,
        }),
        formats: Formats::CsvOnly,
        line_end: LineEnd::Lf,
    })
}

/// The reference's 16 markets: type, region, exchanges, open, close, status, notes.
pub const MARKETS: [[&str; 7]; 16] = [
    ["Equity", "United States", "NASDAQ, NYSE, AMEX, BATS", "09:30", "16:15", "closed", ""],
    ["Equity", "Canada", "Toronto, Toronto Ventures", "09:30", "16:00", "closed", ""],
    ["Equity", "United Kingdom", "London", "08:00", "16:30", "closed", ""],
    ["Equity", "Germany", "XETRA, Berlin, Frankfurt, Munich, Stuttgart", "08:00", "20:00", "closed", ""],
    ["Equity", "France", "Paris", "09:00", "17:30", "closed", ""],
    ["Equity", "Spain", "Barcelona, Madrid", "09:00", "17:30", "closed", ""],
    ["Equity", "Portugal", "Lisbon", "08:00", "16:30", "closed", ""],
    ["Equity", "Japan", "Tokyo", "09:00", "15:00", "closed", "Noon trading break from 11:30 to 12:30 local time"],
    ["Equity", "India", "NSE, BSE", "09:15", "15:30", "closed", ""],
    ["Equity", "Mainland China", "Shanghai, Shenzhen", "09:30", "15:00", "closed", "Noon trading break from 11:30 to 13:00 local time"],
    ["Equity", "Hong Kong", "Hong Kong", "09:30", "16:00", "closed", "Noon trading break from 12:00 to 13:00 local time"],
    ["Equity", "Brazil", "Sao Paolo", "10:00", "17:30", "closed", ""],
    ["Equity", "Mexico", "Mexico", "08:30", "15:00", "closed", ""],
    ["Equity", "South Africa", "Johannesburg", "09:00", "17:00", "closed", ""],
    ["Forex", "Global", "Global", "00:00", "23:59", "closed", "The forex market is open 24 hours a day, EXCEPT between 16:00 EST on Friday and 17:00 EST on Sunday"],
    ["Cryptocurrency", "Global", "Global", "00:00", "23:59", "open", "The cryptocurrency market is open 24 hours a day"],
];

/// `MARKET_STATUS` (JSON only).
pub(crate) fn market_status() -> Answer {
    let cols = [
        "market_type",
        "region",
        "primary_exchanges",
        "local_open",
        "local_close",
        "current_status",
        "notes",
    ];
    let rows = MARKETS
        .iter()
        .map(|m| {
            m.iter()
                .zip(cols)
                .map(|(v, c)| Field::new(c, c, v.to_string()))
                .collect()
        })
        .collect();
    Answer {
        body: Body::Records(Records {
            head: vec![(
                "endpoint".into(),
                "Global Market Open & Close Status".into(),
            )],
            list_key: "markets".into(),
            csv_header: cols.iter().map(|c| c.to_string()).collect(),
            rows,
        }),
        formats: Formats::JsonOnly,
        line_end: LineEnd::Lf,
    }
}
