//! Alpha Vantage (`https://www.alphavantage.co/query`) as a [`Provider`], plus its reference
//! functions.
//!
//! - [`request`]: `FetchRequest` → function and parameters (asset class + resolution + adjusted
//!   → `TIME_SERIES_*`, `FX_*`, `DIGITAL_CURRENCY_*` or `CRYPTO_INTRADAY`), and the reference
//!   calls.
//! - `client`: limiter permit → HTTP GET → parse, retrying rate limits with backoff.
//! - `parse`: strict JSON and CSV parsing of bars; one bad value rejects the whole answer.
//! - [`reference`]: exchange rates, dividends, splits, symbol search, listings, market status
//!   and economic series, as typed values with their provenance ([`Answer`]).
//! - [`errors`]: every non-data body becomes a typed [`AlphaVantageError`].
//! - [`limiter`]: per-window, per-day and burst limits shared by concurrent calls.
//!
//! The API key is only ever added to the outgoing query string: it is absent from `Debug`
//! output, logs, errors and the provenance string.

mod client;
pub mod config;
pub mod errors;
pub mod limiter;
mod parse;
pub mod reference;
pub mod request;

pub use config::{AlphaVantageConfig, DataType, API_KEY_ENV, DEFAULT_BASE_URL};
pub use errors::AlphaVantageError;
pub use limiter::{LimiterConfig, QuotaSnapshot, RateLimiter};
pub use reference::{Answer, ExchangeRate, Listing, MarketStatus, SymbolMatch};
pub use request::ApiCall;

use super::{FetchRequest, Fetched, Provider};
use async_trait::async_trait;
use chrono::Utc;
use client::Client;
use std::sync::Arc;

/// The Alpha Vantage provider. Cheap to share behind an `Arc`; concurrent fetches share one
/// limiter.
pub struct AlphaVantage {
    client: Client,
}

impl std::fmt::Debug for AlphaVantage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlphaVantage")
            .field("config", self.client.config())
            .finish_non_exhaustive()
    }
}

impl AlphaVantage {
    /// A provider with its own limiter built from `config`.
    pub fn new(config: AlphaVantageConfig) -> Result<Self, AlphaVantageError> {
        let limiter = Arc::new(RateLimiter::new(config.limiter()));
        Self::with_limiter(config, limiter)
    }

    /// A provider using an existing limiter, e.g. one shared by every client of the same key
    /// (the vendor counts per key, not per process object).
    pub fn with_limiter(
        config: AlphaVantageConfig,
        limiter: Arc<RateLimiter>,
    ) -> Result<Self, AlphaVantageError> {
        Ok(AlphaVantage {
            client: Client::new(config, limiter)?,
        })
    }

    /// The configuration in use (its `Debug` output hides the key).
    pub fn config(&self) -> &AlphaVantageConfig {
        self.client.config()
    }

    /// The limiter this provider's calls go through, to share with other providers of the same key.
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        self.client.limiter()
    }

    /// Quota state (`used_today`, `remaining_today`, ...) for readiness checks.
    pub fn quota(&self) -> QuotaSnapshot {
        self.client.limiter().snapshot()
    }

    /// Whether a key is configured (readiness: without one every fetch fails).
    pub fn has_key(&self) -> bool {
        !self.client.config().api_key.trim().is_empty()
    }

    /// Fetches `req` and returns its bars oldest first, filtered to `req.from..=req.to` (by the
    /// bar's exchange-local date for equities, its UTC date for FX and crypto), or a typed error
    /// and no bars at all.
    ///
    /// FX bars carry `volume: 0` (FX series have no volume) and crypto bars are stored under
    /// base + market (`BTCUSD`); both have `tz = "UTC"` and no corporate actions (see
    /// [`ApiCall::from_request`]).
    pub async fn fetch_bars(&self, req: &FetchRequest) -> Result<Fetched, AlphaVantageError> {
        let call = ApiCall::from_request(req, self.client.config().datatype)?;
        let parsed = self
            .client
            .call(&call, |body| parse::parse_body(body, &call, Utc::now()))
            .await?;
        let bars = parsed
            .into_iter()
            .filter(|p| {
                let d = p.local.date();
                req.from.is_none_or(|f| d >= f) && req.to.is_none_or(|t| d <= t)
            })
            .map(|p| p.bar)
            .collect();
        Ok(Fetched {
            bars,
            request: call.describe(),
        })
    }
}

#[async_trait]
impl Provider for AlphaVantage {
    fn name(&self) -> &'static str {
        "alphavantage"
    }

    async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, crate::DataError> {
        Ok(self.fetch_bars(req).await?)
    }
}
