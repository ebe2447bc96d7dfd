//! The synthetic daily series the quality tests corrupt: smooth enough that the clean series
//! raises no flag, so every flag in a test comes from its corruption.
#![allow(dead_code)]

use chrono::{NaiveDate, Utc};
use sextant_data::Cache;
use sextant_domain::{Bar, Resolution, Source, Symbol};
use sextant_quality::calendar::Calendar;

pub const SYM: &str = "SYN";

/// The first `n` sessions from 2013-01-02 (skips weekends and MLK, Presidents' Day, Good Friday).
pub fn sessions(n: usize) -> Vec<NaiveDate> {
    let mut cal = Calendar::new();
    let mut day = NaiveDate::from_ymd_opt(2013, 1, 2).expect("date");
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        if cal.is_session(day) {
            out.push(day);
        }
        day = day.succ_opt().expect("next day");
    }
    out
}

/// Deterministic pseudo-noise in [-1, 1] (41 is a generator step mod the prime 101).
pub fn noise(i: usize) -> f64 {
    ((i * 41 + 13) % 101) as f64 / 50.0 - 1.0
}

/// A smooth daily series: returns within ±1 %, open at the previous close, a 1-2 % range,
/// volume 1e6 ± 20 %.
pub fn series(n: usize) -> Vec<Bar> {
    let mut close = 100.0;
    sessions(n)
        .into_iter()
        .enumerate()
        .map(|(i, day)| {
            let open: f64 = close;
            close = open * (0.01 * noise(i)).exp();
            let pad = 0.004 + 0.002 * (noise(i + 37) + 1.0);
            Bar {
                symbol: Symbol::new(SYM).expect("symbol"),
                resolution: Resolution::Daily,
                ts: day.and_hms_opt(0, 0, 0).expect("midnight"),
                tz: "America/New_York".into(),
                open,
                high: open.max(close) * (1.0 + pad),
                low: open.min(close) * (1.0 - pad),
                close,
                volume: (1e6 * (1.0 + 0.2 * noise(i + 61))).round(),
                adj_close: None,
                dividend: 0.0,
                split_coefficient: 1.0,
                source: Source::File,
                ingested_at: Utc::now(),
            }
        })
        .collect()
}

pub fn cache() -> Cache {
    Cache::open_in_memory().expect("open")
}
