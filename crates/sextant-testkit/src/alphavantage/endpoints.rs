//! The `/query` functions: request parameters in, an Alpha Vantage answer (or error body) out.
//! The `TIME_SERIES_*` functions live here; the others in their own modules.

use super::crypto::CryptoLayout;
use super::dataset::{DailyRow, Dataset, Period, PeriodRow};
use super::faults::{invalid_call, unknown_function};
use super::intraday::{aggregate, minute_bars, IntradayBar};
use super::render::{Answer, Body, Field, Formats, LineEnd, NumberStyle, Row, Series};
use super::{corporate, crypto, economic, fx, reference};
use std::collections::BTreeMap;

/// Compact output size: the latest 100 points.
pub const COMPACT_POINTS: usize = 100;

/// How many trailing sessions intraday serves when no `month` is given.
pub const INTRADAY_TRAILING_SESSIONS: usize = 30;

/// Knobs of the data answers.
#[derive(Debug, Clone, Copy)]
pub struct DataOptions {
    pub numbers: NumberStyle,
    pub intraday_seed: u64,
    /// The crypto daily/weekly/monthly row layout.
    pub crypto_layout: CryptoLayout,
    /// 2018–2019 FX answers (`GMT+8`) and exchange rates without bid and ask.
    pub legacy_fx: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Daily,
    Weekly,
    Monthly,
    Intraday,
}

/// Builds the answer to `params`, or the documented error body when the call is invalid
/// (unknown function, symbol or pair, missing or bad parameter, a month without data).
pub fn answer(
    ds: &Dataset,
    params: &BTreeMap<String, String>,
    opts: DataOptions,
) -> Result<Answer, String> {
    let function = params.get("function").map(String::as_str).unwrap_or("");
    match function {
        f if f.starts_with("TIME_SERIES_") => time_series(ds, params, opts).map(|s| Answer {
            body: Body::Series(s),
            formats: Formats::Both,
            // The equity CSVs have always been served with CRLF here.
            line_end: LineEnd::CrLf,
        }),
        "FX_INTRADAY" | "FX_DAILY" | "FX_WEEKLY" | "FX_MONTHLY" => {
            fx::answer(params, opts.legacy_fx)
        }
        "DIGITAL_CURRENCY_DAILY"
        | "DIGITAL_CURRENCY_WEEKLY"
        | "DIGITAL_CURRENCY_MONTHLY"
        | "CRYPTO_INTRADAY" => crypto::answer(params, opts.crypto_layout),
        "CURRENCY_EXCHANGE_RATE" => reference::currency_exchange_rate(params, opts.legacy_fx),
        "DIVIDENDS" => Ok(corporate::dividends(ds, params)),
        "SPLITS" => Ok(corporate::splits(params)),
        "SYMBOL_SEARCH" => reference::symbol_search(params),
        "LISTING_STATUS" => reference::listing_status(params),
        "MARKET_STATUS" => Ok(reference::market_status()),
        "TREASURY_YIELD" | "FEDERAL_FUNDS_RATE" | "CPI" => economic::answer(params),
        _ => Err(unknown_function(function)),
    }
}

/// `interval` → minutes per bar (`1min` … `60min`).
pub(crate) fn interval_minutes(interval: &str) -> Option<u32> {
    match interval {
        "1min" => Some(1),
        "5min" => Some(5),
        "15min" => Some(15),
        "30min" => Some(30),
        "60min" => Some(60),
        _ => None,
    }
}

/// Whether `outputsize` asks for the compact answer (the default), and the meta data's words.
pub(crate) fn flag_outputsize(params: &BTreeMap<String, String>) -> (bool, &'static str) {
    let compact = params.get("outputsize").map(String::as_str) != Some("full");
    (compact, if compact { "Compact" } else { "Full size" })
}

fn time_series(
    ds: &Dataset,
    params: &BTreeMap<String, String>,
    opts: DataOptions,
) -> Result<Series, String> {
    let function = params.get("function").map(String::as_str).unwrap_or("");
    let (kind, adjusted) = match function {
        "TIME_SERIES_DAILY" => (Kind::Daily, false),
        "TIME_SERIES_DAILY_ADJUSTED" => (Kind::Daily, true),
        "TIME_SERIES_WEEKLY" => (Kind::Weekly, false),
        "TIME_SERIES_WEEKLY_ADJUSTED" => (Kind::Weekly, true),
        "TIME_SERIES_MONTHLY" => (Kind::Monthly, false),
        "TIME_SERIES_MONTHLY_ADJUSTED" => (Kind::Monthly, true),
        "TIME_SERIES_INTRADAY" => (Kind::Intraday, flag(params, "adjusted", true)),
        _ => return Err(invalid_call(function)),
    };
    let symbol = params
        .get("symbol")
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_default();
    let Some(daily) = ds.daily(&symbol) else {
        return Err(invalid_call(function));
    };
    let compact = params.get("outputsize").map(String::as_str) != Some("full");
    let out_size = if compact { "Compact" } else { "Full size" };
    let n = opts.numbers;
    let mut series = match kind {
        Kind::Daily => {
            let rows = compact_tail(daily, compact);
            daily_series(&symbol, rows, adjusted, out_size, n)
        }
        Kind::Weekly | Kind::Monthly => {
            let period = if kind == Kind::Weekly {
                Period::Week
            } else {
                Period::Month
            };
            let rows = ds.periods(&symbol, period).unwrap_or_default();
            period_series(&symbol, &rows, period, adjusted, n)
        }
        Kind::Intraday => intraday_series(&symbol, daily, params, adjusted, compact, opts)
            .ok_or_else(|| invalid_call(function))?,
    };
    series.rows.reverse();
    Ok(series)
}

fn flag(params: &BTreeMap<String, String>, name: &str, default: bool) -> bool {
    match params.get(name).map(|s| s.to_ascii_lowercase()) {
        Some(v) if v == "false" => false,
        Some(v) if v == "true" => true,
        _ => default,
    }
}

/// The latest [`COMPACT_POINTS`] rows when `compact`, else all.
pub(crate) fn compact_tail<T>(rows: &[T], compact: bool) -> &[T] {
    if compact && rows.len() > COMPACT_POINTS {
        &rows[rows.len() - COMPACT_POINTS..]
    } else {
        rows
    }
}

fn field(json: &'static str, csv: &'static str, value: String) -> Field {
    Field::new(json, csv, value)
}

fn ohlc(n: NumberStyle, o: f64, h: f64, l: f64, c: f64) -> Vec<Field> {
    vec![
        field("1. open", "open", n.price(o)),
        field("2. high", "high", n.price(h)),
        field("3. low", "low", n.price(l)),
        field("4. close", "close", n.price(c)),
    ]
}

fn last_key(rows: &[Row]) -> String {
    rows.last().map(|r| r.key.clone()).unwrap_or_default()
}

/// `rows` oldest first; the caller reverses.
fn daily_series(
    symbol: &str,
    rows: &[DailyRow],
    adjusted: bool,
    out_size: &str,
    n: NumberStyle,
) -> Series {
    let rows: Vec<Row> = rows
        .iter()
        .map(|r| {
            let mut fields = ohlc(n, r.open, r.high, r.low, r.close);
            if adjusted {
                fields.push(field(
                    "5. adjusted close",
                    "adjusted_close",
                    n.price(r.adj_close),
                ));
                fields.push(field("6. volume", "volume", r.volume.to_string()));
                fields.push(field(
                    "7. dividend amount",
                    "dividend_amount",
                    n.price(r.dividend),
                ));
                fields.push(field(
                    "8. split coefficient",
                    "split_coefficient",
                    n.price(r.split_coefficient),
                ));
            } else {
                fields.push(field("5. volume", "volume", r.volume.to_string()));
            }
            Row {
                key: r.date.to_string(),
                fields,
            }
        })
        .collect();
    let info = if adjusted {
        "Daily Time Series with Splits and Dividend Events"
    } else {
        "Daily Prices (open, high, low, close) and Volumes"
    };
    Series {
        meta: vec![
            ("1. Information", info.to_string()),
            ("2. Symbol", symbol.to_string()),
            ("3. Last Refreshed", last_key(&rows)),
            ("4. Output Size", out_size.to_string()),
            ("5. Time Zone", "US/Eastern".to_string()),
        ],
        series_key: "Time Series (Daily)".to_string(),
        rows,
    }
}

/// Weekly and monthly series have no output size (always the whole history) and no split
/// coefficient.
fn period_series(
    symbol: &str,
    rows: &[PeriodRow],
    period: Period,
    adjusted: bool,
    n: NumberStyle,
) -> Series {
    let rows: Vec<Row> = rows
        .iter()
        .map(|r| {
            let mut fields = ohlc(n, r.open, r.high, r.low, r.close);
            if adjusted {
                fields.push(field(
                    "5. adjusted close",
                    "adjusted close",
                    n.price(r.adj_close),
                ));
                fields.push(field("6. volume", "volume", r.volume.to_string()));
                fields.push(field(
                    "7. dividend amount",
                    "dividend amount",
                    n.price(r.dividend),
                ));
            } else {
                fields.push(field("5. volume", "volume", r.volume.to_string()));
            }
            Row {
                key: r.date.to_string(),
                fields,
            }
        })
        .collect();
    let (name, key) = match (period, adjusted) {
        (Period::Week, false) => (
            "Weekly Prices (open, high, low, close) and Volumes",
            "Weekly Time Series",
        ),
        (Period::Week, true) => (
            "Weekly Adjusted Prices and Volumes",
            "Weekly Adjusted Time Series",
        ),
        (Period::Month, false) => (
            "Monthly Prices (open, high, low, close) and Volumes",
            "Monthly Time Series",
        ),
        (Period::Month, true) => (
            "Monthly Adjusted Prices and Volumes",
            "Monthly Adjusted Time Series",
        ),
    };
    Series {
        meta: vec![
            ("1. Information", name.to_string()),
            ("2. Symbol", symbol.to_string()),
            ("3. Last Refreshed", last_key(&rows)),
            ("4. Time Zone", "US/Eastern".to_string()),
        ],
        series_key: key.to_string(),
        rows,
    }
}

/// Synthetic intraday bars (see [`super::intraday`]); `None` for a bad interval or month, or a
/// month without sessions. `adjusted` scales prices by the day's `Adj Close / Close` factor.
fn intraday_series(
    symbol: &str,
    daily: &[DailyRow],
    params: &BTreeMap<String, String>,
    adjusted: bool,
    compact: bool,
    opts: DataOptions,
) -> Option<Series> {
    let interval = params.get("interval")?.as_str();
    let minutes = interval_minutes(interval)?;
    let extended = flag(params, "extended_hours", true);
    let sessions: &[DailyRow] = match params.get("month") {
        Some(month) => {
            let valid = month.len() == 7
                && month.as_bytes().get(4) == Some(&b'-')
                && month
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| i == 4 || b.is_ascii_digit());
            if !valid {
                return None;
            }
            let first = daily
                .iter()
                .position(|r| r.date.to_string().starts_with(month.as_str()))?;
            let len = daily[first..]
                .iter()
                .take_while(|r| r.date.to_string().starts_with(month.as_str()))
                .count();
            &daily[first..first + len]
        }
        None => &daily[daily.len().saturating_sub(INTRADAY_TRAILING_SESSIONS)..],
    };
    let mut bars: Vec<IntradayBar> = Vec::new();
    for day in sessions {
        let factor = if adjusted && day.close > 0.0 {
            day.adj_close / day.close
        } else {
            1.0
        };
        let minute = minute_bars(symbol, day, extended, opts.intraday_seed);
        bars.extend(aggregate(&minute, minutes).into_iter().map(|mut b| {
            if factor != 1.0 {
                for p in [&mut b.open, &mut b.high, &mut b.low, &mut b.close] {
                    *p = (*p * factor * 10_000.0).round() / 10_000.0;
                }
            }
            b
        }));
    }
    let bars = compact_tail(&bars, compact);
    let n = opts.numbers;
    let rows: Vec<Row> = bars
        .iter()
        .map(|b| {
            let mut fields = ohlc(n, b.open, b.high, b.low, b.close);
            fields.push(field("5. volume", "volume", b.volume.to_string()));
            Row {
                key: b.start.format("%Y-%m-%d %H:%M:%S").to_string(),
                fields,
            }
        })
        .collect();
    Some(Series {
        meta: vec![
            (
                "1. Information",
                format!("Intraday ({interval}) open, high, low, close prices and volume"),
            ),
            ("2. Symbol", symbol.to_string()),
            ("3. Last Refreshed", last_key(&rows)),
            ("4. Interval", interval.to_string()),
            (
                "5. Output Size",
                if compact { "Compact" } else { "Full size" }.to_string(),
            ),
            ("6. Time Zone", "US/Eastern".to_string()),
        ],
        series_key: format!("Time Series ({interval})"),
        rows,
    })
}
