#![warn(missing_docs)]
//! Sextant's market-data layer.
//!
//! - [`providers`]: where bars come from (Alpha Vantage over HTTP, CSV/Parquet files, the bundled
//!   sample). Providers only read.
//! - [`cache`]: the DuckDB analytical store. Every write is one transaction (all of a batch or
//!   none of it), upserts are idempotent, changed values keep their previous version, and coverage
//!   records tell the incremental refresh what is missing.
//! - the quarantine ([`cache::Cache::review`]): what fails the checks of [`sextant_quality`] on
//!   its way in is held there, out of every read, until a reviewer decides.

pub mod cache;
mod error;
pub mod parked;
pub mod process;
pub mod providers;

pub use cache::Cache;
pub use error::{DataError, Result};
