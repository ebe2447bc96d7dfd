use crate::{Resolution, Symbol};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a bar came from; kept with every stored row as its provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Fetched from the Alpha Vantage API.
    AlphaVantage,
    /// Imported from a CSV or Parquet file, or fetched from a provider other than Alpha Vantage.
    File,
    /// The bundled sample data set of daily US-equity prices.
    Sample,
    /// Derived inside the cache by resampling a finer resolution.
    Resampled,
}

impl Source {
    /// The snake_case name stored with each row and used in serialised output (`alphavantage`,
    /// `file`, `sample`, `resampled`).
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
    /// The instrument; with `resolution` and `ts` it forms the bar's unique key.
    pub symbol: Symbol,
    /// The bar's length.
    pub resolution: Resolution,
    /// Interval start (intraday) or session date at 00:00 (daily and coarser), in UTC.
    pub ts: NaiveDateTime,
    /// IANA name of the exchange time zone, e.g. `America/New_York`.
    pub tz: String,
    /// Opening price; the traded (unadjusted) price in a stored bar.
    pub open: f64,
    /// Highest price of the interval; unadjusted in a stored bar.
    pub high: f64,
    /// Lowest price of the interval; unadjusted in a stored bar.
    pub low: f64,
    /// Closing price; unadjusted in a stored bar.
    pub close: f64,
    /// Shares traded; not split-adjusted in a stored bar.
    pub volume: f64,
    /// The vendor's split- and dividend-adjusted close; `None` when the source gives none.
    pub adj_close: Option<f64>,
    /// Cash dividend per share whose ex-date is this bar; `0.0` when there is none.
    pub dividend: f64,
    /// Split ratio effective on this bar (2.0 for a 2:1 split); `1.0` when there is no split.
    pub split_coefficient: f64,
    /// Where the bar came from.
    pub source: Source,
    /// When this version of the row was parsed or written; the cache keeps it unchanged when an
    /// identical bar is ingested again.
    pub ingested_at: DateTime<Utc>,
}
