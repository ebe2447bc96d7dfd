//! Whole daily and coarser series, rendered once per data generation: every bar's JSON object
//! and CSV line with its session, so a request for any range of a cached series is a binary
//! search and a copy, never a query. Requests spread over symbols and ranges are served from
//! memory, not only repeats of one request (what a per-request response cache, this module's
//! predecessor, served). Intraday requests read and render only their range.
//!
//! Entries are valid while the cache's write generation is unchanged (a commit drops them
//! all), bounded in bytes ([`MAX_SERIES_BYTES`] by default), the least recently used evicted
//! first. A series over a quarter of the budget is rendered for its request and not kept.

use crate::routes::market_data::BarDto;
use axum::body::Bytes;
use chrono::NaiveDate;
use serde::Serialize;
use sextant_domain::{Bar, Resolution};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The most bytes of rendered series held by default (512 MiB: about 1.8 million daily bars at
/// ~300 bytes each, a 700-symbol, 10-year universe); `sextant serve --series-cache-mb`.
pub const MAX_SERIES_BYTES: usize = 512 << 20;

/// CSV header of the bars endpoint (the JSON bar fields, in order).
pub const CSV_HEADER: &str =
    "ts,session_date,open,high,low,close,volume,adj_close,dividend,split_coefficient,source\n";

/// One series: its bars' JSON objects and CSV lines back to back, and where each starts.
pub struct RenderedSeries {
    /// The JSON members before `bars`, rendered: `{"symbol":…,"count":`.
    head: Vec<u8>,
    sessions: Vec<NaiveDate>,
    json: Vec<u8>,
    json_at: Vec<usize>,
    csv: Vec<u8>,
    csv_at: Vec<usize>,
}

/// The members of the bars response before `count` (field order of `BarsResponse`).
#[derive(Serialize)]
struct Head<'a> {
    symbol: &'a str,
    resolution: &'a str,
    tz: &'a str,
    asset_class: &'a str,
    session: &'a str,
}

/// What a series is, for the members before its bars.
pub struct SeriesMeta<'a> {
    /// The ticker.
    pub symbol: &'a str,
    /// The resolution's name.
    pub resolution: &'a str,
    /// The exchange time zone of the first bar.
    pub tz: &'a str,
    /// The instrument's asset class name.
    pub asset_class: &'a str,
    /// The instrument's session model name.
    pub session: &'a str,
}

impl RenderedSeries {
    /// Renders `bars` (oldest first) with `session_of` giving each bar's session date.
    pub fn render(
        meta: &SeriesMeta<'_>,
        bars: &[Bar],
        session_of: impl Fn(&Bar) -> NaiveDate,
    ) -> Result<RenderedSeries, serde_json::Error> {
        let mut head = serde_json::to_vec(&Head {
            symbol: meta.symbol,
            resolution: meta.resolution,
            tz: meta.tz,
            asset_class: meta.asset_class,
            session: meta.session,
        })?;
        head.pop(); // the closing brace
        head.extend_from_slice(b",\"count\":");
        let mut out = RenderedSeries {
            head,
            sessions: Vec::with_capacity(bars.len()),
            json: Vec::with_capacity(bars.len() * 200),
            json_at: Vec::with_capacity(bars.len() + 1),
            csv: Vec::with_capacity(bars.len() * 100),
            csv_at: Vec::with_capacity(bars.len() + 1),
        };
        for b in bars {
            let session = session_of(b);
            out.json_at.push(out.json.len());
            out.csv_at.push(out.csv.len());
            let dto = BarDto::of(b, session);
            serde_json::to_writer(&mut out.json, &dto)?;
            use std::io::Write;
            // Infallible: writing into a Vec.
            let _ = writeln!(
                out.csv,
                "{},{},{},{},{},{},{},{},{},{},{}",
                dto.ts,
                session,
                b.open,
                b.high,
                b.low,
                b.close,
                b.volume,
                b.adj_close.map(|a| a.to_string()).unwrap_or_default(),
                b.dividend,
                b.split_coefficient,
                dto.source
            );
            out.sessions.push(session);
        }
        out.json_at.push(out.json.len());
        out.csv_at.push(out.csv.len());
        Ok(out)
    }

    /// The bars whose sessions are in `[from, to]` (open ends where `None`): their index range.
    fn range(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> std::ops::Range<usize> {
        let a = from.map_or(0, |f| self.sessions.partition_point(|s| *s < f));
        let b = to.map_or(self.sessions.len(), |t| {
            self.sessions.partition_point(|s| *s <= t)
        });
        a..b.max(a)
    }

    /// The JSON body for a range, or `None` when it holds no bar.
    pub fn json(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Option<Bytes> {
        let r = self.range(from, to);
        if r.is_empty() {
            return None;
        }
        let rows = &self.json[self.json_at[r.start]..self.json_at[r.end]];
        let count = r.len().to_string();
        let mut body =
            Vec::with_capacity(self.head.len() + count.len() + rows.len() + r.len() + 12);
        body.extend_from_slice(&self.head);
        body.extend_from_slice(count.as_bytes());
        body.extend_from_slice(b",\"bars\":[");
        for i in r.clone() {
            if i > r.start {
                body.push(b',');
            }
            body.extend_from_slice(&self.json[self.json_at[i]..self.json_at[i + 1]]);
        }
        body.extend_from_slice(b"]}");
        Some(Bytes::from(body))
    }

    /// The CSV body for a range, or `None` when it holds no bar.
    pub fn csv(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Option<Bytes> {
        let r = self.range(from, to);
        if r.is_empty() {
            return None;
        }
        let rows = &self.csv[self.csv_at[r.start]..self.csv_at[r.end]];
        let mut body = Vec::with_capacity(CSV_HEADER.len() + rows.len());
        body.extend_from_slice(CSV_HEADER.as_bytes());
        body.extend_from_slice(rows);
        Some(Bytes::from(body))
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.head.len()
            + self.json.len()
            + self.csv.len()
            + (self.json_at.len() + self.csv_at.len()) * std::mem::size_of::<usize>()
            + self.sessions.len() * std::mem::size_of::<NaiveDate>()
    }
}

type Key = (String, Resolution);

struct Entries {
    generation: u64,
    series: HashMap<Key, (Arc<RenderedSeries>, AtomicU64)>,
    bytes: usize,
}

/// Rendered series by (symbol, resolution), for one data generation.
pub struct SeriesCache {
    max_bytes: usize,
    clock: AtomicU64,
    inner: RwLock<Entries>,
}

impl SeriesCache {
    /// An empty cache holding at most `max_bytes` of rendered series.
    pub fn new(max_bytes: usize) -> Self {
        SeriesCache {
            max_bytes,
            clock: AtomicU64::new(0),
            inner: RwLock::new(Entries {
                generation: 0,
                series: HashMap::new(),
                bytes: 0,
            }),
        }
    }

    /// The series, if it was rendered at `generation`.
    pub fn get(
        &self,
        generation: u64,
        symbol: &str,
        resolution: Resolution,
    ) -> Option<Arc<RenderedSeries>> {
        let guard = self.inner.read().ok()?;
        if guard.generation != generation {
            return None;
        }
        let (s, used) = guard.series.get(&(symbol.to_string(), resolution))?;
        used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        Some(s.clone())
    }

    /// Keeps a series rendered at `generation` (dropping everything of an older generation;
    /// evicting the least recently used past the byte budget).
    pub fn put(
        &self,
        generation: u64,
        symbol: &str,
        resolution: Resolution,
        series: Arc<RenderedSeries>,
    ) {
        let size = series.bytes();
        if size > self.max_bytes / 4 {
            return;
        }
        let Ok(mut g) = self.inner.write() else {
            return;
        };
        if g.generation != generation {
            if generation < g.generation {
                return; // rendered from older data than what is held
            }
            g.series.clear();
            g.bytes = 0;
            g.generation = generation;
        }
        while g.bytes + size > self.max_bytes {
            let oldest = g
                .series
                .iter()
                .min_by_key(|(_, (_, used))| used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            let Some(k) = oldest else { break };
            if let Some((s, _)) = g.series.remove(&k) {
                g.bytes -= s.bytes();
            }
        }
        let stamp = AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed));
        if let Some((old, _)) = g
            .series
            .insert((symbol.to_string(), resolution), (series, stamp))
        {
            g.bytes -= old.bytes();
        }
        g.bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_domain::{Source, Symbol};

    fn bars(n: usize) -> Vec<Bar> {
        let d0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        (0..n)
            .map(|i| Bar {
                symbol: Symbol::new("ABC").unwrap_or_else(|_| unreachable!()),
                resolution: Resolution::Daily,
                ts: (d0 + chrono::Days::new(i as u64))
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default(),
                tz: "America/New_York".into(),
                open: 1.0 + i as f64,
                high: 2.5,
                low: 0.5,
                close: 1.25,
                volume: 1e6,
                adj_close: (i % 2 == 0).then_some(1.2),
                dividend: 0.0,
                split_coefficient: 1.0,
                source: Source::File,
                ingested_at: chrono::Utc::now(),
            })
            .collect()
    }

    fn meta() -> SeriesMeta<'static> {
        SeriesMeta {
            symbol: "ABC",
            resolution: "daily",
            tz: "America/New_York",
            asset_class: "us_equity",
            session: "xnys",
        }
    }

    #[test]
    fn a_range_is_the_bytes_serde_writes_for_those_bars() {
        let all = bars(10);
        let s = RenderedSeries::render(&meta(), &all, |b| b.ts.date())
            .unwrap_or_else(|e| panic!("{e}"));
        let (from, to) = (
            NaiveDate::from_ymd_opt(2020, 1, 3),
            NaiveDate::from_ymd_opt(2020, 1, 6),
        );
        let body = s.json(from, to).unwrap_or_default();
        let expect = crate::routes::market_data::BarsResponse {
            symbol: "ABC".into(),
            resolution: "daily".into(),
            tz: "America/New_York".into(),
            asset_class: "us_equity".into(),
            session: "xnys".into(),
            count: 4,
            bars: all[2..6]
                .iter()
                .map(|b| BarDto::of(b, b.ts.date()))
                .collect(),
        };
        assert_eq!(body, serde_json::to_vec(&expect).unwrap_or_default());
        let csv = s.csv(from, to).unwrap_or_default();
        let text = String::from_utf8_lossy(&csv);
        assert_eq!(text.lines().count(), 5);
        assert!(text.starts_with(CSV_HEADER));
        assert!(s.json(NaiveDate::from_ymd_opt(2021, 1, 1), None).is_none());
        assert!(s.json(None, None).map(|b| b.len()).unwrap_or(0) > body.len());
    }

    #[test]
    fn bounded_and_generation_scoped() {
        let one = Arc::new(
            RenderedSeries::render(&meta(), &bars(100), |b| b.ts.date())
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let c = SeriesCache::new(one.bytes() * 5);
        for i in 0..20 {
            c.put(1, &format!("S{i}"), Resolution::Daily, one.clone());
        }
        let held = c
            .inner
            .read()
            .map(|g| (g.series.len(), g.bytes))
            .unwrap_or_default();
        assert!(held.0 <= 5 && held.1 <= one.bytes() * 5, "{held:?}");
        assert!(
            c.get(1, "S19", Resolution::Daily).is_some(),
            "the newest is kept"
        );
        assert!(
            c.get(1, "S0", Resolution::Daily).is_none(),
            "the oldest went first"
        );
        assert!(
            c.get(2, "S19", Resolution::Daily).is_none(),
            "another generation"
        );
        c.put(2, "X", Resolution::Daily, one.clone());
        assert!(c.get(1, "S19", Resolution::Daily).is_none());
        c.put(1, "old", Resolution::Daily, one);
        assert!(
            c.get(2, "old", Resolution::Daily).is_none(),
            "older data is not kept"
        );
    }
}
