//! The run loop.

use super::config::SimConfig;
use super::data::MarketData;
use super::error::SimError;
use super::result::BacktestResult;
use super::session::Session;
use crate::strategy::Strategy;

/// Runs strategies over market data with one configuration. See the module docs for the order of
/// events within a bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradingSimulator {
    config: SimConfig,
}

impl TradingSimulator {
    /// A simulator for `config`; errors with [`SimError::Config`] when [`SimConfig::validate`]
    /// rejects it.
    pub fn new(config: SimConfig) -> Result<Self, SimError> {
        config.validate()?;
        Ok(TradingSimulator { config })
    }

    /// The validated configuration every run uses.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Runs `strategy` from bar 0 to the last bar of `data`.
    pub fn run(&self, data: &MarketData, strategy: &mut dyn Strategy) -> BacktestResult {
        let mut session = Session::new(self, data, 0);
        while !session.done() {
            session.open_bar(data);
            session.decide(data, |ctx| strategy.on_bar(ctx));
            session.close_bar(data);
        }
        session.finish(data)
    }
}
