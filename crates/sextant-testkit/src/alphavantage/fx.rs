//! `FX_INTRADAY`, `FX_DAILY`, `FX_WEEKLY` and `FX_MONTHLY` over SYNTHETIC pairs.
//!
//! Three pairs (EUR/USD, USD/JPY, GBP/USD) walk deterministically over the weekdays from
//! [`FX_FIRST_DATE`] to [`FX_LAST_DATE`] (see [`super::synth`]); prices have five decimals as
//! in every EUR/USD answer since 2023 (three for JPY). Intraday serves the last
//! [`FX_INTRADAY_SESSIONS`] sessions, each from 22:00 UTC the day before to 22:00 UTC (17:00
//! New York in winter, the conventional FX day), keyed by interval start in UTC. FX has no
//! volume: no row carries one. Meta data follow the documented key order per function.
//!
//! With the server's `legacy_fx` option the answers look like 2018–2019 ones: `Time Zone` is
//! `GMT+8` (UTC+08:00) and intraday keys are GMT+8 wall-clock times.

use super::endpoints::{compact_tail, flag_outputsize, interval_minutes};
use super::faults::invalid_call;
use super::intraday::{aggregate, IntradayBar};
use super::render::{Answer, Body, Field, Row, Series};
use super::synth::{daily_walk, minute_path, periods, weekdays, DayBar};
use chrono::{Datelike, NaiveDate, TimeDelta};
use std::collections::BTreeMap;

/// First date of the synthetic FX history.
pub const FX_FIRST_DATE: NaiveDate = date(2022, 1, 3);
/// Last date of the synthetic FX history (a Thursday).
pub const FX_LAST_DATE: NaiveDate = date(2024, 10, 31);
/// How many trailing sessions `FX_INTRADAY` serves.
pub const FX_INTRADAY_SESSIONS: usize = 5;

pub(crate) const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => NaiveDate::MIN,
    }
}

/// One synthetic pair: its codes, names, starting level, daily volatility and decimals.
struct Pair {
    from: &'static str,
    to: &'static str,
    start: f64,
    vol: f64,
    decimals: u32,
}

const PAIRS: [Pair; 3] = [
    Pair {
        from: "EUR",
        to: "USD",
        start: 1.1370,
        vol: 0.0045,
        decimals: 5,
    },
    Pair {
        from: "USD",
        to: "JPY",
        start: 115.10,
        vol: 0.005,
        decimals: 3,
    },
    Pair {
        from: "GBP",
        to: "USD",
        start: 1.3530,
        vol: 0.005,
        decimals: 5,
    },
];

/// Currency names as the vendor writes them (`CURRENCY_EXCHANGE_RATE`).
pub(crate) const CURRENCY_NAMES: [(&str, &str); 5] = [
    ("USD", "United States Dollar"),
    ("EUR", "Euro"),
    ("JPY", "Japanese Yen"),
    ("GBP", "British Pound Sterling"),
    ("CNY", "Chinese Yuan"),
];

fn pair(from: &str, to: &str) -> Option<&'static Pair> {
    PAIRS
        .iter()
        .find(|p| p.from.eq_ignore_ascii_case(from) && p.to.eq_ignore_ascii_case(to))
}

/// The pairs served, as `FROMTO` (`EURUSD`).
pub fn fx_pairs() -> Vec<String> {
    PAIRS
        .iter()
        .map(|p| format!("{}{}", p.from, p.to))
        .collect()
}

/// The daily bars of `from`/`to` (case-insensitive), oldest first; `None` for a pair not served.
pub fn fx_daily(from: &str, to: &str) -> Option<Vec<DayBar>> {
    let p = pair(from, to)?;
    let days = weekdays(FX_FIRST_DATE, FX_LAST_DATE);
    Some(daily_walk(
        &format!("{}{}", p.from, p.to),
        &days,
        p.start,
        p.vol,
        p.decimals,
        0.0,
    ))
}

/// The intraday bars of `from`/`to` at `minutes` per bar, oldest first, `start` in UTC
/// (volume 0); `None` for a pair not served.
pub fn fx_intraday(from: &str, to: &str, minutes: u32) -> Option<Vec<IntradayBar>> {
    let p = pair(from, to)?;
    let daily = fx_daily(from, to)?;
    let name = format!("{}{}", p.from, p.to);
    let mut bars = Vec::new();
    for day in &daily[daily.len().saturating_sub(FX_INTRADAY_SESSIONS)..] {
        let start = (day.date - TimeDelta::days(1)).and_hms_opt(22, 0, 0)?;
        let minute = minute_path(&name, day, start, 1440, p.decimals, 0.0);
        bars.extend(aggregate(&minute, minutes));
    }
    Some(bars)
}

fn price(p: &Pair, x: f64) -> String {
    format!("{x:.*}", p.decimals as usize)
}

fn fields(p: &Pair, o: f64, h: f64, l: f64, c: f64) -> Vec<Field> {
    vec![
        Field::new("1. open", "open", price(p, o)),
        Field::new("2. high", "high", price(p, h)),
        Field::new("3. low", "low", price(p, l)),
        Field::new("4. close", "close", price(p, c)),
    ]
}

/// Answers an `FX_*` call; `legacy` writes 2018–2019 answers (GMT+8).
pub(crate) fn answer(params: &BTreeMap<String, String>, legacy: bool) -> Result<Answer, String> {
    let function = params.get("function").map(String::as_str).unwrap_or("");
    let bad = || invalid_call(function);
    let from = params.get("from_symbol").ok_or_else(bad)?;
    let to = params.get("to_symbol").ok_or_else(bad)?;
    let p = pair(from, to).ok_or_else(bad)?;
    let daily = fx_daily(from, to).ok_or_else(bad)?;
    let zone = if legacy { "GMT+8" } else { "UTC" };
    let (compact, out_size) = flag_outputsize(params);
    let head = |info: String| {
        vec![
            ("1. Information", info),
            ("2. From Symbol", p.from.to_string()),
            ("3. To Symbol", p.to.to_string()),
        ]
    };
    let day_rows = |bars: &[DayBar]| -> Vec<Row> {
        bars.iter()
            .rev()
            .map(|b| Row {
                key: b.date.to_string(),
                fields: fields(p, b.open, b.high, b.low, b.close),
            })
            .collect()
    };
    let series = match function {
        "FX_DAILY" => {
            let rows = day_rows(compact_tail(&daily, compact));
            let mut meta = head("Forex Daily Prices (open, high, low, close)".into());
            meta.push(("4. Output Size", out_size.to_string()));
            meta.push(("5. Last Refreshed", first_key(&rows)));
            meta.push(("6. Time Zone", zone.to_string()));
            Series {
                meta,
                series_key: "Time Series FX (Daily)".into(),
                rows,
            }
        }
        "FX_WEEKLY" | "FX_MONTHLY" => {
            let weekly = function == "FX_WEEKLY";
            let bars = if weekly {
                periods(&daily, |d| d.iso_week())
            } else {
                periods(&daily, |d| (d.year(), d.month()))
            };
            let rows = day_rows(&bars);
            let (info, key) = if weekly {
                (
                    "Forex Weekly Prices (open, high, low, close)",
                    "Time Series FX (Weekly)",
                )
            } else {
                (
                    "Forex Monthly Prices (open, high, low, close)",
                    "Time Series FX (Monthly)",
                )
            };
            let mut meta = head(info.into());
            meta.push(("4. Last Refreshed", first_key(&rows)));
            meta.push(("5. Time Zone", zone.to_string()));
            Series {
                meta,
                series_key: key.into(),
                rows,
            }
        }
        "FX_INTRADAY" => {
            let interval = params.get("interval").ok_or_else(bad)?;
            let minutes = interval_minutes(interval).ok_or_else(bad)?;
            let bars = fx_intraday(from, to, minutes).ok_or_else(bad)?;
            let shift = TimeDelta::hours(if legacy { 8 } else { 0 });
            let rows: Vec<Row> = compact_tail(&bars, compact)
                .iter()
                .rev()
                .map(|b| Row {
                    key: (b.start + shift).format("%Y-%m-%d %H:%M:%S").to_string(),
                    fields: fields(p, b.open, b.high, b.low, b.close),
                })
                .collect();
            let mut meta = head(format!("FX Intraday ({interval}) Time Series"));
            meta.push(("4. Last Refreshed", first_key(&rows)));
            meta.push(("5. Interval", interval.clone()));
            meta.push(("6. Output Size", out_size.to_string()));
            meta.push(("7. Time Zone", zone.to_string()));
            Series {
                meta,
                series_key: format!("Time Series FX ({interval})"),
                rows,
            }
        }
        _ => return Err(bad()),
    };
    Ok(Answer::both(Body::Series(series)))
}

/// The newest key (rows are newest first).
pub(crate) fn first_key(rows: &[Row]) -> String {
    rows.first().map(|r| r.key.clone()).unwrap_or_default()
}
