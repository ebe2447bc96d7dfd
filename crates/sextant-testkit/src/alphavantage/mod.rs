//! A loopback server that speaks Alpha Vantage's `/query` API with real daily prices.
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

mod dataset;
mod endpoints;
mod faults;
pub mod intraday;
mod render;
mod server;

pub use dataset::{DailyRow, Dataset, DatasetError, Period, PeriodRow};
pub use endpoints::{COMPACT_POINTS, INTRADAY_TRAILING_SESSIONS};
pub use faults::{
    invalid_call, Fault, RateLimit, RateLimitBody, DEMO_KEY, INFORMATION_RATE_LIMIT, MISSING_KEY,
    NOTE_RATE_LIMIT, PREMIUM_ENDPOINT,
};
pub use render::NumberStyle;
pub use server::{
    max_requests_in_window, AlphaVantageServer, AlphaVantageServerBuilder, RecordedRequest,
};

#[cfg(doc)]
use std::time::Instant;
