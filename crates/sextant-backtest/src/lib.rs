#![warn(missing_docs)]
//! Backtesting: indicators, strategies, the trading simulator, metrics and the sweep engine.
//!
//! Layering follows Qlib's: data → indicators → strategy → simulator → metrics. Nothing here does
//! I/O; the backtest service in `sextant-core` feeds bars from the cache and stores results.

pub mod indicators;
pub mod metrics;
pub mod portfolio;
pub mod rules;
pub mod run;
pub mod simulator;
pub mod strategy;
pub mod sweep;
