//! Simulator input: columnar bars per symbol, aligned on one timeline.

use super::error::DataError;
use sextant_domain::Bar;
use std::collections::BTreeMap;

/// One symbol's bars as columns, oldest first.
///
/// Columns rather than a `Vec<Bar>` because every consumer (indicators, the simulator, the sweep)
/// walks one field over many bars; `ts` is Unix seconds (UTC) of the bar label, see
/// [`sextant_domain::Bar`]. Extra named series (ML probabilities, regime labels, …) ride along
/// aligned to the bars and are shown to strategies with the same `≤ t` cut as prices.
#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    symbol: String,
    ts: Vec<i64>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
    external: BTreeMap<String, Vec<f64>>,
}

fn check_len(symbol: &str, column: &str, expected: usize, got: usize) -> Result<(), DataError> {
    if expected == got {
        return Ok(());
    }
    Err(DataError::LengthMismatch {
        symbol: symbol.into(),
        column: column.into(),
        expected,
        got,
    })
}

impl BarSeries {
    /// Validates lengths, strictly increasing `ts` and finite positive OHLC prices.
    pub fn new(
        symbol: impl Into<String>,
        ts: Vec<i64>,
        open: Vec<f64>,
        high: Vec<f64>,
        low: Vec<f64>,
        close: Vec<f64>,
        volume: Vec<f64>,
    ) -> Result<Self, DataError> {
        let symbol = symbol.into();
        let n = ts.len();
        for (name, col) in [
            ("open", &open),
            ("high", &high),
            ("low", &low),
            ("close", &close),
        ] {
            check_len(&symbol, name, n, col.len())?;
            if let Some(index) = col.iter().position(|p| !(p.is_finite() && *p > 0.0)) {
                return Err(DataError::BadPrice {
                    symbol,
                    column: name.into(),
                    index,
                });
            }
        }
        check_len(&symbol, "volume", n, volume.len())?;
        if let Some(i) = ts.windows(2).position(|w| w[1] <= w[0]) {
            return Err(DataError::UnsortedTimestamps {
                symbol,
                index: i + 1,
            });
        }
        Ok(BarSeries {
            symbol,
            ts,
            open,
            high,
            low,
            close,
            volume,
            external: BTreeMap::new(),
        })
    }

    /// Builds the columns from domain bars of one symbol (sorted or not; duplicates rejected).
    pub fn from_bars(bars: &[Bar]) -> Result<Self, DataError> {
        let first = bars.first().ok_or(DataError::Empty)?;
        let mut sorted: Vec<&Bar> = bars.iter().collect();
        sorted.sort_by_key(|b| b.ts);
        if let Some(other) = sorted.iter().find(|b| b.symbol != first.symbol) {
            return Err(DataError::MixedSymbols {
                first: first.symbol.to_string(),
                other: other.symbol.to_string(),
            });
        }
        let col = |f: fn(&Bar) -> f64| sorted.iter().map(|b| f(b)).collect::<Vec<f64>>();
        BarSeries::new(
            first.symbol.as_str(),
            sorted.iter().map(|b| b.ts.and_utc().timestamp()).collect(),
            col(|b| b.open),
            col(|b| b.high),
            col(|b| b.low),
            col(|b| b.close),
            col(|b| b.volume),
        )
    }

    /// Attaches a named series aligned to these bars (NaN where it has no value).
    pub fn with_series(
        mut self,
        name: impl Into<String>,
        values: Vec<f64>,
    ) -> Result<Self, DataError> {
        let name = name.into();
        check_len(&self.symbol, &name, self.ts.len(), values.len())?;
        self.external.insert(name, values);
        Ok(self)
    }

    /// The first `n` bars (all of them if `n >= len`): the data as it was known after bar `n-1`.
    pub fn truncated(&self, n: usize) -> BarSeries {
        let n = n.min(self.len());
        let cut = |v: &Vec<f64>| v[..n].to_vec();
        BarSeries {
            symbol: self.symbol.clone(),
            ts: self.ts[..n].to_vec(),
            open: cut(&self.open),
            high: cut(&self.high),
            low: cut(&self.low),
            close: cut(&self.close),
            volume: cut(&self.volume),
            external: self
                .external
                .iter()
                .map(|(k, v)| (k.clone(), cut(v)))
                .collect(),
        }
    }

    /// The symbol these bars belong to.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }
    /// Number of bars.
    pub fn len(&self) -> usize {
        self.ts.len()
    }
    /// Whether there are no bars (empty columns, or [`Self::truncated`] to 0).
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
    /// Bar timestamps, Unix seconds (UTC), strictly increasing.
    pub fn ts(&self) -> &[i64] {
        &self.ts
    }
    /// Opening prices, one per bar, finite and > 0.
    pub fn open(&self) -> &[f64] {
        &self.open
    }
    /// Highest prices, one per bar, finite and > 0 (not checked against the other columns).
    pub fn high(&self) -> &[f64] {
        &self.high
    }
    /// Lowest prices, one per bar, finite and > 0 (not checked against the other columns).
    pub fn low(&self) -> &[f64] {
        &self.low
    }
    /// Closing prices, one per bar, finite and > 0.
    pub fn close(&self) -> &[f64] {
        &self.close
    }
    /// Volumes, one per bar; not validated.
    pub fn volume(&self) -> &[f64] {
        &self.volume
    }
}

/// Aligned columns of one symbol inside [`MarketData`]; NaN where the symbol has no bar.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Columns {
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
    pub external: BTreeMap<String, Vec<f64>>,
}

/// Several symbols on the union of their timelines.
///
/// A symbol without a bar at some time has NaN there: it cannot trade at that bar (its orders
/// wait) and is valued at its last known close. Single-symbol data is stored as given.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketData {
    symbols: Vec<String>,
    ts: Vec<i64>,
    pub(crate) cols: Vec<Columns>,
}

impl MarketData {
    /// Aligns `series` on the sorted union of their timestamps; symbol index `i` is `series[i]`.
    /// Errors with [`DataError::Empty`] when there is no bar at all and with
    /// [`DataError::DuplicateSymbol`] when a symbol comes twice.
    pub fn new(series: Vec<BarSeries>) -> Result<Self, DataError> {
        if series.is_empty() || series.iter().all(BarSeries::is_empty) {
            return Err(DataError::Empty);
        }
        let mut symbols: Vec<String> = Vec::with_capacity(series.len());
        for s in &series {
            if symbols.iter().any(|x| x == &s.symbol) {
                return Err(DataError::DuplicateSymbol(s.symbol.clone()));
            }
            symbols.push(s.symbol.clone());
        }
        let mut ts: Vec<i64> = series.iter().flat_map(|s| s.ts.iter().copied()).collect();
        ts.sort_unstable();
        ts.dedup();
        let cols = series.into_iter().map(|s| align(s, &ts)).collect();
        Ok(MarketData { symbols, ts, cols })
    }

    /// One symbol; no alignment needed.
    pub fn single(series: BarSeries) -> Result<Self, DataError> {
        MarketData::new(vec![series])
    }

    /// Symbol names in input order; orders, trades and fills name a symbol by its index here.
    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }
    /// The aligned timeline, Unix seconds (UTC), strictly increasing.
    pub fn ts(&self) -> &[i64] {
        &self.ts
    }
    /// Number of bars on the aligned timeline.
    pub fn len(&self) -> usize {
        self.ts.len()
    }
    /// Whether the timeline is empty, which only [`Self::truncated`] to 0 produces ([`Self::new`]
    /// rejects empty data).
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
    /// Index of `symbol` in [`Self::symbols`], if present.
    pub fn symbol_index(&self, symbol: &str) -> Option<usize> {
        self.symbols.iter().position(|s| s == symbol)
    }

    /// Closing prices of symbol `s` on the whole timeline (NaN where it has no bar); empty when
    /// `s` is out of range. For consumers that precompute point-in-time features themselves.
    pub fn close_of(&self, s: usize) -> &[f64] {
        self.cols.get(s).map_or(&[], |c| c.close.as_slice())
    }

    /// The first `n` bars of the timeline (for look-ahead tests: a run on this must agree with
    /// the full run on every bar before `n`).
    pub fn truncated(&self, n: usize) -> MarketData {
        let n = n.min(self.len());
        let cut = |v: &Vec<f64>| v[..n].to_vec();
        let cols = self
            .cols
            .iter()
            .map(|c| Columns {
                open: cut(&c.open),
                high: cut(&c.high),
                low: cut(&c.low),
                close: cut(&c.close),
                volume: cut(&c.volume),
                external: c
                    .external
                    .iter()
                    .map(|(k, v)| (k.clone(), cut(v)))
                    .collect(),
            })
            .collect();
        MarketData {
            symbols: self.symbols.clone(),
            ts: self.ts[..n].to_vec(),
            cols,
        }
    }
}

fn align(s: BarSeries, ts: &[i64]) -> Columns {
    if s.ts == ts {
        return Columns {
            open: s.open,
            high: s.high,
            low: s.low,
            close: s.close,
            volume: s.volume,
            external: s.external,
        };
    }
    // Both timelines are sorted, so one merge pass places every bar.
    let mut pos = Vec::with_capacity(s.ts.len());
    let mut j = 0;
    for &t in &s.ts {
        while ts[j] < t {
            j += 1;
        }
        pos.push(j);
    }
    let spread = |v: &[f64]| {
        let mut out = vec![f64::NAN; ts.len()];
        for (&p, &x) in pos.iter().zip(v) {
            out[p] = x;
        }
        out
    };
    Columns {
        open: spread(&s.open),
        high: spread(&s.high),
        low: spread(&s.low),
        close: spread(&s.close),
        volume: spread(&s.volume),
        external: s
            .external
            .iter()
            .map(|(k, v)| (k.clone(), spread(v)))
            .collect(),
    }
}
