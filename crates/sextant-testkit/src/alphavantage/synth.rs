//! SYNTHETIC, deterministic prices for the FX and crypto functions (no real FX or crypto data
//! ships with Sextant): seeded random walks for daily bars, and minute paths through each daily
//! bar for intraday. The same inputs always give the same numbers, on every platform.

use super::intraday::{IntradayBar, SplitMix};
use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};

/// One synthetic daily bar.
#[derive(Debug, Clone, PartialEq)]
pub struct DayBar {
    /// The bar's date.
    pub date: NaiveDate,
    /// Opening price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Closing price.
    pub close: f64,
    /// Units traded (0 for FX, which has no volume).
    pub volume: f64,
}

/// FNV-1a of `name`, mixed with `seed`: one stream per instrument.
pub fn seed_of(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Roughly standard normal (Irwin–Hall with 12 terms).
fn normal(rng: &mut SplitMix) -> f64 {
    (0..12).map(|_| rng.unit()).sum::<f64>() - 6.0
}

/// Rounds to `decimals` places.
pub fn round(x: f64, decimals: u32) -> f64 {
    let f = 10f64.powi(decimals as i32);
    (x * f).round() / f
}

/// A seeded walk over `dates`: each bar opens at the previous close, moves by `vol` (daily
/// standard deviation of the log return), and spreads high and low around open and close.
/// Prices are rounded to `decimals`; `volume` is `mean_volume` times a seeded factor (0 gives 0).
pub fn daily_walk(
    name: &str,
    dates: &[NaiveDate],
    start: f64,
    vol: f64,
    decimals: u32,
    mean_volume: f64,
) -> Vec<DayBar> {
    let mut rng = SplitMix::new(seed_of(0x5EED_F00D, name));
    let mut close = start;
    dates
        .iter()
        .map(|&date| {
            let open = round(close, decimals);
            close *= (vol * normal(&mut rng)).exp();
            let c = round(close, decimals);
            let up = rng.unit() * vol * 0.8;
            let down = rng.unit() * vol * 0.8;
            let high = round(open.max(c) * (1.0 + up), decimals).max(open.max(c));
            let low = round(open.min(c) * (1.0 - down), decimals).min(open.min(c));
            let volume = if mean_volume > 0.0 {
                round(mean_volume * (0.5 + rng.unit()), 8)
            } else {
                0.0
            };
            DayBar {
                date,
                open,
                high,
                low,
                close: c,
                volume,
            }
        })
        .collect()
}

/// Weekdays from `first` to `last`, inclusive.
pub fn weekdays(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| d.weekday().number_from_monday() <= 5)
        .collect()
}

/// Every day from `first` to `last`, inclusive.
pub fn calendar_days(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    first.iter_days().take_while(|d| *d <= last).collect()
}

/// Groups daily bars into periods keyed by the last date present in each (the vendor keys
/// weekly and monthly series by the period's last trading day, the latest one partial).
/// `period_of` names a date's period.
pub fn periods<K: PartialEq>(bars: &[DayBar], period_of: impl Fn(NaiveDate) -> K) -> Vec<DayBar> {
    let mut out: Vec<DayBar> = Vec::new();
    let mut current: Option<K> = None;
    for b in bars {
        let k = period_of(b.date);
        match out.last_mut() {
            Some(p) if current.as_ref() == Some(&k) => {
                p.date = b.date;
                p.high = p.high.max(b.high);
                p.low = p.low.min(b.low);
                p.close = b.close;
                p.volume = round(p.volume + b.volume, 8);
            }
            _ => {
                current = Some(k);
                out.push(b.clone());
            }
        }
    }
    out
}

/// Minute bars from `start` through one daily bar: the first opens at its open, the last
/// closes at its close, the extremes are its high and low. `minute_volume` is the mean volume
/// per minute (0 gives 0).
pub fn minute_path(
    name: &str,
    day: &DayBar,
    start: NaiveDateTime,
    minutes: usize,
    decimals: u32,
    minute_volume: f64,
) -> Vec<IntradayBar> {
    let mut rng = SplitMix::new(seed_of(0x0001_A7E5, &format!("{name}{}", day.date)));
    let n = minutes.max(4);
    let mut a = 1 + rng.below(n / 2 - 1);
    let mut b = n / 2 + rng.below(n / 2 - 1);
    if rng.unit() < 0.5 {
        std::mem::swap(&mut a, &mut b);
    }
    let mut way = [(0, day.open), (a, day.high), (b, day.low), (n, day.close)];
    way.sort_by_key(|w| w.0);
    let range = (day.high - day.low).max(0.0);
    let path: Vec<f64> = (0..=n)
        .map(|i| {
            let seg = way.windows(2).find(|w| i >= w[0].0 && i <= w[1].0);
            let v = match seg {
                Some(w) if w[1].0 > w[0].0 => {
                    let t = (i - w[0].0) as f64 / (w[1].0 - w[0].0) as f64;
                    let base = w[0].1 + (w[1].1 - w[0].1) * t;
                    let on_waypoint = i == w[0].0 || i == w[1].0;
                    if on_waypoint {
                        base
                    } else {
                        base + (rng.unit() - 0.5) * 0.1 * range
                    }
                }
                _ => day.close,
            };
            round(v.clamp(day.low, day.high), decimals)
        })
        .collect();
    (0..n)
        .map(|i| {
            let (o, c) = (path[i], path[i + 1]);
            let wick = rng.unit() * 0.02 * range;
            IntradayBar {
                start: start + TimeDelta::minutes(i as i64),
                open: o,
                high: round((o.max(c) + wick).min(day.high), decimals).max(o.max(c)),
                low: round((o.min(c) - wick).max(day.low), decimals).min(o.min(c)),
                close: c,
                volume: (minute_volume * 2.0 * rng.unit()).round() as u64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_are_deterministic_and_consistent() {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
        let last = NaiveDate::from_ymd_opt(2024, 3, 31).expect("date");
        let days = weekdays(first, last);
        assert_eq!(days.len(), 65);
        let bars = daily_walk("EURUSD", &days, 1.1, 0.005, 5, 0.0);
        assert_eq!(bars, daily_walk("EURUSD", &days, 1.1, 0.005, 5, 0.0));
        assert!(bars
            .iter()
            .all(|b| b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close) && b.low > 0.0));
        assert!(bars.windows(2).all(|w| w[1].open == w[0].close));
        let weeks = periods(&bars, |d| d.iso_week());
        assert_eq!(weeks.len(), 13);
        assert_eq!(weeks[0].open, bars[0].open);
        let day = &bars[10];
        let start = day.date.and_hms_opt(0, 0, 0).expect("start");
        let minutes = minute_path("EURUSD", day, start, 1440, 5, 0.0);
        assert_eq!(minutes.len(), 1440);
        assert_eq!(
            (minutes[0].open, minutes[1439].close),
            (day.open, day.close)
        );
        let hi = minutes.iter().map(|m| m.high).fold(f64::MIN, f64::max);
        let lo = minutes.iter().map(|m| m.low).fold(f64::MAX, f64::min);
        assert_eq!((hi, lo), (day.high, day.low));
    }
}
