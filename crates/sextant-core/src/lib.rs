//! Configuration and the service registry.
//!
//! Everything that runs Sextant (the CLI, the HTTP server, workers) starts from
//! [`Config::load`] and [`Services::build`], so every entry point sees the same services.

pub mod backtest;
pub mod config;
pub mod market_data;
pub mod registry;

pub use backtest::BacktestService;
pub use config::Config;
pub use market_data::MarketDataService;
pub use registry::{CoreError, Services};
