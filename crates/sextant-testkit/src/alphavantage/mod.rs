//! A loopback server that speaks Alpha Vantage's `/query` API with real daily prices.
//!
//! Functions spoken (JSON, and CSV where the vendor serves it; shapes, meta keys and their
//! order as in `shared/reference/alphavantage*.md`):
//! - `TIME_SERIES_*` over the bundled real daily prices (intraday SYNTHETIC, see [`intraday`]);
//! - `FX_INTRADAY/DAILY/WEEKLY/MONTHLY` over synthetic EUR/USD, USD/JPY and GBP/USD
//!   ([`fx_daily`]); `legacy_fx` on the builder gives 2018–2019 answers (`GMT+8`);
//! - `DIGITAL_CURRENCY_DAILY/WEEKLY/MONTHLY` and `CRYPTO_INTRADAY` over synthetic BTC, ETH and
//!   SOL in USD, EUR and CNY ([`crypto_daily`]); the builder's `crypto_layout` chooses the
//!   current five-key rows or the 2017–2023 ten-key ones ([`CryptoLayout`]);
//! - `CURRENCY_EXCHANGE_RATE` (JSON only; cross rates of those closes, [`exchange_rate`]);
//! - `DIVIDENDS` and `SPLITS` with real corporate actions ([`dividend_rows`], [`split_rows`]);
//! - `SYMBOL_SEARCH`, `LISTING_STATUS` (CSV only) and `MARKET_STATUS` (JSON only);
//! - `TREASURY_YIELD`, `FEDERAL_FUNDS_RATE` and `CPI` ([`economic_series`]; missing values
//!   written `"."`).
//!
//! Every function goes through the same key checks, rate limits and scripted faults; the demo
//! key is accepted for the documentation's demo calls only ([`demo_allows`]); unknown symbols,
//! pairs and parameters get the vendor's invalid-call body ending with the function's name.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sextant_testkit::alphavantage::{AlphaVantageServer, Fault};
//! use std::time::Duration;
//! let server = AlphaVantageServer::builder()
//!     .rate_limit(3, Duration::from_secs(1))
//!     .start()
//!     .await?;
//! server.push_fault(Fault::RateLimitNote); // the next request gets the `Note` body
//! let url = server.base_url(); // http://127.0.0.1:PORT/query
//! // ... point the client at `url`, then:
//! assert!(server.max_requests_in_window(Duration::from_secs(1)) <= 3);
//! # Ok(()) }
//! ```
//!
//! Every `/query` request is recorded with its arrival [`Instant`] (before any scripted delay), its
//! parameters and the outcome, so tests can prove what a client did on the wire. The same state
//! is reachable over HTTP for out-of-process tests: `GET /_control/requests`,
//! `POST /_control/fault` (a JSON [`Fault`], queued), `POST /_control/sticky` (a JSON [`Fault`] or
//! `null`), `POST /_control/reset`.
//!
//! Intraday answers are SYNTHETIC (see [`intraday`]); everything else is real.

mod corporate;
mod crypto;
mod dataset;
mod economic;
mod endpoints;
mod faults;
mod fx;
pub mod intraday;
mod reference;
mod render;
mod server;
mod synth;

pub use corporate::{dividend_rows, split_rows, DividendRow};
pub use crypto::{
    crypto_codes, crypto_daily, crypto_intraday, CryptoLayout, CRYPTO_FIRST_DATE,
    CRYPTO_INTRADAY_DAYS, CRYPTO_LAST_DATE,
};
pub use dataset::{DailyRow, Dataset, DatasetError, Period, PeriodRow};
pub use economic::{economic_series, EconomicData, ECONOMIC_FIRST_DATE, ECONOMIC_LAST_DATE};
pub use endpoints::{COMPACT_POINTS, INTRADAY_TRAILING_SESSIONS};
pub use faults::{
    demo_allows, invalid_call, unknown_function, Fault, RateLimit, RateLimitBody, DEMO_KEY,
    INFORMATION_RATE_LIMIT, MISSING_KEY, NOTE_RATE_LIMIT, PREMIUM_ENDPOINT, PREMIUM_FUNCTIONS,
};
pub use fx::{fx_daily, fx_intraday, fx_pairs, FX_FIRST_DATE, FX_INTRADAY_SESSIONS, FX_LAST_DATE};
pub use reference::{
    exchange_rate, listing_rows, symbol_matches, ListingRow, EXCHANGE_RATE_REFRESHED,
    LISTING_TODAY, MARKETS,
};
pub use render::{LineEnd, NumberStyle};
pub use server::{
    max_requests_in_window, AlphaVantageServer, AlphaVantageServerBuilder, RecordedRequest,
};
pub use synth::DayBar;

#[cfg(doc)]
use std::time::Instant;
