//! From a run to the metrics module's inputs.

use super::result::BacktestResult;
use crate::metrics::{Metrics, MetricsConfig, MetricsError, MetricsInput, TradeStats};

impl BacktestResult {
    /// The closed trades as the metrics module sees them (open trades are left out: their PnL is
    /// not realised).
    pub fn trade_stats(&self) -> Vec<TradeStats> {
        self.closed_trades()
            .map(|t| TradeStats::new(t.pnl, t.ret, t.exit_bar - t.entry_bar))
            .collect()
    }

    /// Absolute value bought plus sold per bar (two-sided), from the fills.
    pub fn traded_notional(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.equity.len()];
        for f in &self.fills {
            if let Some(slot) = out.get_mut(f.bar) {
                *slot += (f.qty * f.price).abs();
            }
        }
        out
    }

    /// Every metric of the run: per-bar equity returns ([`Self::returns`]), closed trades, gross
    /// exposure per bar and turnover.
    pub fn metrics(&self, config: &MetricsConfig) -> Result<Metrics, MetricsError> {
        let returns = self.returns();
        let trades = self.trade_stats();
        let traded = self.traded_notional();
        let input = MetricsInput {
            returns: &returns,
            trades: &trades,
            positions: Some(&self.exposure),
            traded_notional: Some(&traded),
            equity: Some(&self.equity),
            risk_free: None,
        };
        Metrics::compute(&input, config)
    }
}
