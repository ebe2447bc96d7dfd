//! Market-data providers behind one trait.
//!
//! A provider turns a [`FetchRequest`] into bars; it never writes. The cache decides what to ask
//! for (incremental refresh) and writes a provider's whole answer in one transaction, so a provider
//! error can never leave a partial write behind.

pub mod alphavantage;
pub mod file;
pub mod sample;

use async_trait::async_trait;
use chrono::NaiveDate;
use sextant_domain::{Bar, Resolution, Symbol};

/// How much history to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputSize {
    /// The latest ~100 points (Alpha Vantage `compact`): enough for an incremental refresh.
    Compact,
    /// The whole available history.
    Full,
}

/// One request to a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    /// The instrument to fetch.
    pub symbol: Symbol,
    /// The bar length to fetch.
    pub resolution: Resolution,
    /// How much history to ask for (daily and intraday; weekly and monthly always come whole).
    pub output_size: OutputSize,
    /// Ask for split/dividend-adjusted data (adjusted close, dividend, split coefficient).
    pub adjusted: bool,
    /// Intraday only: one calendar month (`YYYY-MM`) of history.
    pub month: Option<String>,
    /// Intraday only: include pre- and post-market bars.
    pub extended_hours: bool,
    /// Optional range filter applied to the provider's answer.
    pub from: Option<NaiveDate>,
    /// Last date kept (inclusive); see `from`.
    pub to: Option<NaiveDate>,
}

impl FetchRequest {
    /// The whole unadjusted daily history of `symbol`, with no range filter.
    pub fn daily(symbol: Symbol) -> Self {
        FetchRequest {
            symbol,
            resolution: Resolution::Daily,
            output_size: OutputSize::Full,
            adjusted: false,
            month: None,
            extended_hours: true,
            from: None,
            to: None,
        }
    }
}

/// A provider's answer: bars oldest first, plus a description of the request for provenance.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The bars, oldest first.
    pub bars: Vec<Bar>,
    /// e.g. `alphavantage TIME_SERIES_DAILY symbol=MSFT outputsize=full` (no API key).
    pub request: String,
}

/// A source of bars.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Short name for logs and provenance (`alphavantage`, `file`, `sample`).
    fn name(&self) -> &'static str;
    /// Fetches what `req` asks for; on error, no bars at all. Never writes to the cache.
    async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, crate::DataError>;
}
