#![warn(missing_docs)]
//! Configuration and the service registry.
//!
//! Everything that runs Sextant (the CLI, the HTTP server, workers) starts from
//! [`Config::load`] and [`Services::build`], so every entry point sees the same services.

pub mod agents;
pub mod backtest;
pub mod common;
pub mod config;
pub mod configs;
pub mod dashboard;
pub mod definitions;
pub mod factors;
pub mod forecasts;
pub mod jobs;
pub mod market_data;
pub mod mlops;
pub mod portfolios;
pub mod quality;
pub mod reference;
pub mod regimes;
pub mod registry;
pub mod reports;
pub mod rl;
pub mod scale;
pub mod signals;
pub mod tuning;
pub mod universes;
pub mod watchlists;

pub use backtest::BacktestService;
pub use config::Config;
pub use dashboard::DashboardService;
pub use market_data::MarketDataService;
pub use portfolios::PortfolioService;
pub use quality::QualityService;
pub use registry::{CoreError, Services};
pub use reports::ReportService;
pub use watchlists::WatchlistService;
