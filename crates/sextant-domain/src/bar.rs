use crate::{Resolution, Symbol};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a bar came from; kept with every stored row as its provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    AlphaVantage,
    File,
    Sample,
    /// Derived inside the cache by resampling a finer resolution.
    Resampled,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::AlphaVantage => "alphavantage",
            Source::File => "file",
            Source::Sample => "sample",
            Source::Resampled => "resampled",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One OHLCV bar.
///
/// `ts` is UTC. Intraday bars are keyed by the start of the interval; daily, weekly and monthly
/// bars by their session date at 00:00 (a date label, since a session has no single instant), and
/// `tz` keeps the exchange time zone so that session boundaries can be recovered. Prices are the
/// unadjusted traded prices; `adj_close` carries the vendor's split/dividend adjusted close when
/// known, and `dividend`/`split_coefficient` the corporate actions effective on that bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub symbol: Symbol,
    pub resolution: Resolution,
    pub ts: NaiveDateTime,
    pub tz: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub adj_close: Option<f64>,
    pub dividend: f64,
    pub split_coefficient: f64,
    pub source: Source,
    pub ingested_at: DateTime<Utc>,
}
