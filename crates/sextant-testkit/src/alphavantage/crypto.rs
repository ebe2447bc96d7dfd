//! `DIGITAL_CURRENCY_DAILY` / `_WEEKLY` / `_MONTHLY` and `CRYPTO_INTRADAY` over SYNTHETIC coins.
//!
//! Three coins (BTC, ETH, SOL) walk deterministically in USD over every calendar day from
//! [`CRYPTO_FIRST_DATE`] to [`CRYPTO_LAST_DATE`]; the other markets (EUR, CNY) are the USD
//! prices times a fixed rate, rounded to eight decimals. Weekly bars end on Sundays and monthly
//! bars on the month's last day, the latest partial, keyed by their last day as the vendor does.
//! Intraday serves the last [`CRYPTO_INTRADAY_DAYS`] days from 00:00 UTC, prices with five
//! decimals and an integer volume written unquoted, as the vendor writes it.
//!
//! Two row layouts, chosen with the server's `crypto_layout` option ([`CryptoLayout`]):
//! - [`CryptoLayout::New`] (the default, 2024 on): `1. open` … `5. volume`, CSV
//!   `timestamp,open,high,low,close,volume`.
//! - [`CryptoLayout::Old`] (2017 to about 2023): `1a. open (CNY)`, `1b. open (USD)`, …,
//!   `5. volume`, `6. market cap (USD)` (which repeats the volume, as from 2020). The vendor's
//!   CSV header of that era is NOT confirmed; this server writes `open (CNY),open (USD),…`.

use super::endpoints::{compact_tail, flag_outputsize, interval_minutes};
use super::faults::invalid_call;
use super::fx::{date, first_key};
use super::intraday::{aggregate, IntradayBar};
use super::render::{Answer, Body, Field, Row, Series};
use super::synth::{calendar_days, daily_walk, minute_path, periods, round, DayBar};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

/// First date of the synthetic crypto history.
pub const CRYPTO_FIRST_DATE: NaiveDate = date(2023, 11, 1);
/// Last date of the synthetic crypto history.
pub const CRYPTO_LAST_DATE: NaiveDate = date(2024, 10, 31);
/// How many trailing days `CRYPTO_INTRADAY` serves.
pub const CRYPTO_INTRADAY_DAYS: usize = 2;

/// Which per-row layout the crypto daily/weekly/monthly functions answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CryptoLayout {
    /// Five keys, one value set in the market currency (observed from 2024-10 on).
    #[default]
    New,
    /// Ten keys: every price in the market currency (`a`) and in USD (`b`), the volume and the
    /// market cap in USD (observed 2017 to at least 2023-09).
    Old,
}

struct Coin {
    code: &'static str,
    name: &'static str,
    start_usd: f64,
    vol: f64,
    volume: f64,
}

const COINS: [Coin; 3] = [
    Coin {
        code: "BTC",
        name: "Bitcoin",
        start_usd: 34_500.0,
        vol: 0.03,
        volume: 25_000.0,
    },
    Coin {
        code: "ETH",
        name: "Ethereum",
        start_usd: 1_800.0,
        vol: 0.035,
        volume: 300_000.0,
    },
    Coin {
        code: "SOL",
        name: "Solana",
        start_usd: 40.0,
        vol: 0.05,
        volume: 700_000.0,
    },
];

/// Markets: code, name, units per USD.
const MARKETS: [(&str, &str, f64); 3] = [
    ("USD", "United States Dollar", 1.0),
    ("EUR", "Euro", 0.92),
    ("CNY", "Chinese Yuan", 7.2),
];

fn coin(code: &str) -> Option<&'static Coin> {
    COINS.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

fn market(code: &str) -> Option<(&'static str, &'static str, f64)> {
    MARKETS
        .iter()
        .copied()
        .find(|m| m.0.eq_ignore_ascii_case(code))
}

/// The coins served (`BTC`, `ETH`, `SOL`) and the markets (`USD`, `EUR`, `CNY`).
pub fn crypto_codes() -> (Vec<&'static str>, Vec<&'static str>) {
    (
        COINS.iter().map(|c| c.code).collect(),
        MARKETS.iter().map(|m| m.0).collect(),
    )
}

fn usd_daily(c: &Coin) -> Vec<DayBar> {
    let days = calendar_days(CRYPTO_FIRST_DATE, CRYPTO_LAST_DATE);
    daily_walk(c.code, &days, c.start_usd, c.vol, 8, c.volume)
}

fn in_market(b: &DayBar, rate: f64) -> DayBar {
    DayBar {
        date: b.date,
        open: round(b.open * rate, 8),
        high: round(b.high * rate, 8),
        low: round(b.low * rate, 8),
        close: round(b.close * rate, 8),
        volume: b.volume,
    }
}

/// Daily bars of `coin` in `market` (case-insensitive), oldest first; volume in coins.
/// `None` for a coin or market not served.
pub fn crypto_daily(coin_code: &str, market_code: &str) -> Option<Vec<DayBar>> {
    let c = coin(coin_code)?;
    let (_, _, rate) = market(market_code)?;
    Some(usd_daily(c).iter().map(|b| in_market(b, rate)).collect())
}

/// Intraday bars of `coin` in `market` at `minutes` per bar, oldest first, `start` in UTC.
pub fn crypto_intraday(
    coin_code: &str,
    market_code: &str,
    minutes: u32,
) -> Option<Vec<IntradayBar>> {
    let c = coin(coin_code)?;
    let daily = crypto_daily(coin_code, market_code)?;
    let mut bars = Vec::new();
    for day in &daily[daily.len().saturating_sub(CRYPTO_INTRADAY_DAYS)..] {
        let start = day.date.and_hms_opt(0, 0, 0)?;
        let per_minute = c.volume / 1440.0;
        let minute = minute_path(c.code, day, start, 1440, 5, per_minute);
        bars.extend(aggregate(&minute, minutes));
    }
    Some(bars)
}

fn p8(x: f64) -> String {
    format!("{x:.8}")
}

fn new_fields(b: &DayBar) -> Vec<Field> {
    vec![
        Field::new("1. open", "open", p8(b.open)),
        Field::new("2. high", "high", p8(b.high)),
        Field::new("3. low", "low", p8(b.low)),
        Field::new("4. close", "close", p8(b.close)),
        Field::new("5. volume", "volume", p8(b.volume)),
    ]
}

fn old_fields(b: &DayBar, usd: &DayBar, market: &str) -> Vec<Field> {
    let mut out = Vec::with_capacity(10);
    for (n, name, m, u) in [
        (1, "open", b.open, usd.open),
        (2, "high", b.high, usd.high),
        (3, "low", b.low, usd.low),
        (4, "close", b.close, usd.close),
    ] {
        out.push(Field::new(
            format!("{n}a. {name} ({market})"),
            format!("{name} ({market})"),
            p8(m),
        ));
        out.push(Field::new(
            format!("{n}b. {name} (USD)"),
            format!("{name} (USD)"),
            p8(u),
        ));
    }
    out.push(Field::new("5. volume", "volume", p8(b.volume)));
    out.push(Field::new(
        "6. market cap (USD)",
        "market cap (USD)",
        p8(b.volume),
    ));
    out
}

/// Answers a crypto call in `layout` (daily, weekly and monthly; intraday has one layout).
pub(crate) fn answer(
    params: &BTreeMap<String, String>,
    layout: CryptoLayout,
) -> Result<Answer, String> {
    let function = params.get("function").map(String::as_str).unwrap_or("");
    let bad = || invalid_call(function);
    let c = params.get("symbol").and_then(|s| coin(s)).ok_or_else(bad)?;
    let (m_code, m_name, rate) = params
        .get("market")
        .and_then(|m| market(m))
        .ok_or_else(bad)?;
    let head = |info: String| {
        vec![
            ("1. Information", info),
            ("2. Digital Currency Code", c.code.to_string()),
            ("3. Digital Currency Name", c.name.to_string()),
            ("4. Market Code", m_code.to_string()),
            ("5. Market Name", m_name.to_string()),
        ]
    };
    if function == "CRYPTO_INTRADAY" {
        let interval = params.get("interval").ok_or_else(bad)?;
        let minutes = interval_minutes(interval).ok_or_else(bad)?;
        let (compact, out_size) = flag_outputsize(params);
        let bars = crypto_intraday(c.code, m_code, minutes).ok_or_else(bad)?;
        let rows: Vec<Row> = compact_tail(&bars, compact)
            .iter()
            .rev()
            .map(|b| {
                let mut fields: Vec<Field> = [
                    ("1. open", "open", b.open),
                    ("2. high", "high", b.high),
                    ("3. low", "low", b.low),
                    ("4. close", "close", b.close),
                ]
                .iter()
                .map(|(j, k, x)| Field::new(*j, *k, format!("{x:.5}")))
                .collect();
                let mut volume = Field::new("5. volume", "volume", b.volume.to_string());
                volume.unquoted = true;
                fields.push(volume);
                Row {
                    key: b.start.format("%Y-%m-%d %H:%M:%S").to_string(),
                    fields,
                }
            })
            .collect();
        let mut meta = head(format!("Crypto Intraday ({interval}) Time Series"));
        meta.push(("6. Last Refreshed", first_key(&rows)));
        meta.push(("7. Interval", interval.clone()));
        meta.push(("8. Output Size", out_size.to_string()));
        meta.push(("9. Time Zone", "UTC".to_string()));
        return Ok(Answer::both(Body::Series(Series {
            meta,
            series_key: format!("Time Series Crypto ({interval})"),
            rows,
        })));
    }
    let usd = usd_daily(c);
    let (usd, word) = match function {
        "DIGITAL_CURRENCY_DAILY" => (usd, "Daily"),
        "DIGITAL_CURRENCY_WEEKLY" => (periods(&usd, |d| d.iso_week()), "Weekly"),
        "DIGITAL_CURRENCY_MONTHLY" => (periods(&usd, |d| (d.year(), d.month())), "Monthly"),
        _ => return Err(bad()),
    };
    let rows: Vec<Row> = usd
        .iter()
        .rev()
        .map(|u| {
            let b = in_market(u, rate);
            let fields = match layout {
                CryptoLayout::New => new_fields(&b),
                CryptoLayout::Old => old_fields(&b, u, m_code),
            };
            Row {
                key: b.date.to_string(),
                fields,
            }
        })
        .collect();
    let mut meta = head(format!("{word} Prices and Volumes for Digital Currency"));
    meta.push((
        "6. Last Refreshed",
        format!("{} 00:00:00", first_key(&rows)),
    ));
    meta.push(("7. Time Zone", "UTC".to_string()));
    Ok(Answer::both(Body::Series(Series {
        meta,
        series_key: format!("Time Series (Digital Currency {word})"),
        rows,
    })))
}
