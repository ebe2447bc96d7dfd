//! SYNTHETIC intraday bars.
//!
//! No real intraday data ships with Sextant, so intraday endpoints serve minute bars synthesised
//! deterministically from each real daily bar: the same seed, symbol and date always give the same
//! bars. The regular session (09:30–16:00 US/Eastern, 390 one-minute bars) is consistent with the
//! day: its first open is the daily open, its last close the daily close, its extremes are the
//! daily high and low, and its volumes sum to the daily volume. Extended hours (04:00–09:30 and
//! 16:00–20:00) add thin, flat-ish bars around the open and the close. Use these bars to test
//! parsing, time zones and aggregation — never as market data.

use super::dataset::DailyRow;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

/// One synthetic bar; `start` is a US/Eastern wall-clock time (Alpha Vantage keys intraday bars by
/// their start in that zone).
#[derive(Debug, Clone, PartialEq)]
pub struct IntradayBar {
    /// Start of the bar, US/Eastern wall-clock time.
    pub start: NaiveDateTime,
    /// Opening price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Closing price.
    pub close: f64,
    /// Shares traded; the regular-session minutes of a day sum to its daily volume.
    pub volume: u64,
}

const REGULAR_MINUTES: usize = 390;
const PRE_MINUTES: usize = 330; // 04:00–09:30
const POST_MINUTES: usize = 240; // 16:00–20:00

/// A tiny deterministic generator (SplitMix64), so the server needs no RNG dependency and the bars
/// never change between runs or platforms.
pub(crate) struct SplitMix(u64);

impl SplitMix {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` ≥ 1).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

fn seed_for(seed: u64, symbol: &str, date: NaiveDate) -> u64 {
    // FNV-1a over the symbol and date, mixed with the caller's seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in symbol.bytes().chain(date.to_string().bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn at(date: NaiveDate, h: u32, m: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN))
}

/// Synthesises the one-minute bars of one session, oldest first.
pub fn minute_bars(symbol: &str, day: &DailyRow, extended: bool, seed: u64) -> Vec<IntradayBar> {
    let mut rng = SplitMix(seed_for(seed, symbol, day.date));
    let mut out = Vec::with_capacity(PRE_MINUTES + REGULAR_MINUTES + POST_MINUTES);
    if extended {
        out.extend(flat_bars(
            &mut rng,
            at(day.date, 4, 0),
            PRE_MINUTES,
            day.open,
            day.volume,
        ));
    }
    out.extend(regular_bars(&mut rng, day));
    if extended {
        out.extend(flat_bars(
            &mut rng,
            at(day.date, 16, 0),
            POST_MINUTES,
            day.close,
            day.volume,
        ));
    }
    out
}

/// A price path through open → high/low (in seeded order, at seeded minutes) → close, with seeded
/// wiggles, clamped to the day's range.
fn regular_bars(rng: &mut SplitMix, day: &DailyRow) -> Vec<IntradayBar> {
    let n = REGULAR_MINUTES;
    let mut a = 10 + rng.below(n / 2 - 20);
    let mut b = n / 2 + rng.below(n / 2 - 20);
    if rng.unit() < 0.5 {
        std::mem::swap(&mut a, &mut b);
    }
    // (minute index, value): `a` hits the high, `b` the low.
    let mut way = [(0, day.open), (a, day.high), (b, day.low), (n, day.close)];
    way.sort_by_key(|w| w.0);
    let range = (day.high - day.low).max(0.0);
    let mut path = Vec::with_capacity(n + 1);
    for i in 0..=n {
        let seg = way.windows(2).find(|w| i >= w[0].0 && i <= w[1].0);
        let v = match seg {
            Some(w) if w[1].0 > w[0].0 => {
                let t = (i - w[0].0) as f64 / (w[1].0 - w[0].0) as f64;
                let base = w[0].1 + (w[1].1 - w[0].1) * t;
                let is_waypoint = i == w[0].0 || i == w[1].0;
                let wiggle = if is_waypoint {
                    0.0
                } else {
                    (rng.unit() - 0.5) * 0.1 * range
                };
                base + wiggle
            }
            _ => day.close,
        };
        path.push(round4(v.clamp(day.low, day.high)));
    }
    let weights: Vec<f64> = (0..n)
        .map(|i| {
            let x = (i as f64 - n as f64 / 2.0) / (n as f64 / 2.0);
            (1.0 + 2.0 * x * x) * (0.5 + rng.unit())
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut volumes: Vec<u64> = weights
        .iter()
        .map(|w| (day.volume as f64 * w / total).floor() as u64)
        .collect();
    let assigned: u64 = volumes.iter().sum();
    if let Some(last) = volumes.last_mut() {
        *last += day.volume.saturating_sub(assigned);
    }
    let start = at(day.date, 9, 30);
    (0..n)
        .map(|i| {
            let (o, c) = (path[i], path[i + 1]);
            let up = rng.unit() * 0.02 * range;
            let down = rng.unit() * 0.02 * range;
            IntradayBar {
                start: start + TimeDelta::minutes(i as i64),
                open: o,
                high: round4((o.max(c) + up).min(day.high)),
                low: round4((o.min(c) - down).max(day.low)),
                close: c,
                volume: volumes[i],
            }
        })
        .collect()
}

/// Thin extended-hours bars hovering around `anchor`.
fn flat_bars(
    rng: &mut SplitMix,
    start: NaiveDateTime,
    n: usize,
    anchor: f64,
    day_volume: u64,
) -> Vec<IntradayBar> {
    let mut price = anchor;
    (0..n)
        .map(|i| {
            let open = price;
            price = round4(anchor * (1.0 + (rng.unit() - 0.5) * 0.004));
            let spread = anchor * 0.0005 * rng.unit();
            IntradayBar {
                start: start + TimeDelta::minutes(i as i64),
                open,
                high: round4(open.max(price) + spread),
                low: round4(open.min(price) - spread),
                close: price,
                volume: (day_volume as f64 * 0.0002 * rng.unit()).round() as u64,
            }
        })
        .collect()
}

/// Groups consecutive one-minute bars into `minutes`-long bars keyed by their start, aligned to
/// the clock (09:30 starts a 5-, 15- and 30-minute bar; the 60-minute bar holding 09:30–09:59 is
/// keyed 09:00).
pub fn aggregate(bars: &[IntradayBar], minutes: u32) -> Vec<IntradayBar> {
    let mut out: Vec<IntradayBar> = Vec::new();
    let step = i64::from(minutes.max(1));
    for b in bars {
        let since_midnight = (b.start - b.start.date().and_time(NaiveTime::MIN)).num_minutes();
        let start = b.start - TimeDelta::minutes(since_midnight % step);
        match out.last_mut() {
            Some(cur) if cur.start == start => {
                cur.high = cur.high.max(b.high);
                cur.low = cur.low.min(b.low);
                cur.close = b.close;
                cur.volume += b.volume;
            }
            _ => out.push(IntradayBar { start, ..b.clone() }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> DailyRow {
        DailyRow {
            date: NaiveDate::from_ymd_opt(2012, 3, 9).expect("date"),
            open: 31.5,
            high: 32.1,
            low: 31.2,
            close: 31.99,
            volume: 1_000_000,
            adj_close: 31.99,
            dividend: 0.0,
            split_coefficient: 1.0,
        }
    }

    #[test]
    fn regular_session_matches_the_day_and_is_deterministic() {
        let bars = minute_bars("MSFT", &day(), false, 7);
        assert_eq!(bars, minute_bars("MSFT", &day(), false, 7));
        assert_eq!(bars.len(), 390);
        assert_eq!(bars[0].open, 31.5);
        assert_eq!(bars[389].close, 31.99);
        let hi = bars.iter().map(|b| b.high).fold(f64::MIN, f64::max);
        let lo = bars.iter().map(|b| b.low).fold(f64::MAX, f64::min);
        assert_eq!((hi, lo), (32.1, 31.2));
        assert_eq!(bars.iter().map(|b| b.volume).sum::<u64>(), 1_000_000);
        assert!(bars
            .iter()
            .all(|b| b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close)));
    }

    #[test]
    fn aggregates_on_clock_boundaries() {
        let bars = minute_bars("MSFT", &day(), true, 7);
        assert_eq!(bars.len(), 960);
        let five = aggregate(&bars, 5);
        assert_eq!(five.len(), 192);
        let hourly = aggregate(&bars, 60);
        assert_eq!(hourly.len(), 16);
        assert_eq!(hourly[0].start, at(day().date, 4, 0));
        let total: u64 = bars.iter().map(|b| b.volume).sum();
        assert_eq!(hourly.iter().map(|b| b.volume).sum::<u64>(), total);
    }
}
