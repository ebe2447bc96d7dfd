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
use sextant_domain::{AssetClass, Bar, Resolution, Symbol};

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
    /// How much history to ask for (daily and intraday; weekly and monthly always come whole,
    /// and so do crypto daily bars, whose function takes no `outputsize`).
    pub output_size: OutputSize,
    /// Ask for split/dividend-adjusted data (adjusted close, dividend, split coefficient).
    /// Equities only: FX and crypto have no corporate actions, so it is ignored for them.
    pub adjusted: bool,
    /// Intraday only: one calendar month (`YYYY-MM`) of history.
    pub month: Option<String>,
    /// Equity intraday only: include pre- and post-market bars (FX and crypto trade around the
    /// clock; ignored for them).
    pub extended_hours: bool,
    /// What kind of instrument `symbol` is; decides the function family at Alpha Vantage
    /// (`TIME_SERIES_*` for equities and indices, `FX_*` for currency pairs such as `EURUSD`,
    /// `DIGITAL_CURRENCY_*`/`CRYPTO_INTRADAY` for crypto). Default in [`FetchRequest::daily`]:
    /// [`AssetClass::UsEquity`].
    pub asset: AssetClass,
    /// Crypto only: the market (quote) currency, e.g. `USD`. `None` (the default) takes it from
    /// the symbol (`BTCUSD` → `USD`); with a market the symbol may be the coin alone (`BTC`).
    /// Crypto bars are stored under coin + market (`BTCUSD`) either way.
    pub market: Option<String>,
    /// Optional range filter applied to the provider's answer.
    pub from: Option<NaiveDate>,
    /// Last date kept (inclusive); see `from`.
    pub to: Option<NaiveDate>,
}

impl FetchRequest {
    /// The whole unadjusted daily history of `symbol` as a US equity, with no range filter.
    pub fn daily(symbol: Symbol) -> Self {
        FetchRequest {
            symbol,
            resolution: Resolution::Daily,
            output_size: OutputSize::Full,
            adjusted: false,
            month: None,
            extended_hours: true,
            asset: AssetClass::UsEquity,
            market: None,
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
