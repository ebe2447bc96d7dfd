//! Statistics over closed trades.

use serde::{Deserialize, Serialize};

use super::config::Convention;
use super::nonfinite;

/// One closed trade as the metrics need it; the simulator maps its own trade records to this.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TradeStats {
    /// Profit or loss in account currency, after costs.
    #[serde(with = "nonfinite")]
    pub pnl: f64,
    /// Return of the trade as a **fraction** of the capital committed (0.05 = +5 %), like
    /// backtesting.py's `ReturnPct` and every other return in this module.
    #[serde(with = "nonfinite")]
    pub return_pct: f64,
    /// Bars from entry to exit.
    pub bars_held: usize,
}

impl TradeStats {
    /// Bundles one closed trade without validation; a NaN `pnl` or `return_pct` is skipped by
    /// [`trade_summary`] in the statistics that use it.
    pub fn new(pnl: f64, return_pct: f64, bars_held: usize) -> Self {
        Self {
            pnl,
            return_pct,
            bars_held,
        }
    }
}

/// Aggregates over a list of trades.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TradeSummary {
    /// Number of trades summarised, those with a NaN `pnl` or `return_pct` included.
    pub trade_count: usize,
    /// Share of winning trades (`pnl > 0`); see [`trade_summary`] for the denominator.
    #[serde(with = "nonfinite")]
    pub win_rate: f64,
    /// Gross profit over gross loss (currency).
    #[serde(with = "nonfinite")]
    pub profit_factor: f64,
    /// Mean PnL per trade (currency): `win_rate · avg_win − loss_rate · avg_loss`.
    #[serde(with = "nonfinite")]
    pub expectancy: f64,
    /// Mean `return_pct`.
    #[serde(with = "nonfinite")]
    pub avg_trade: f64,
    /// Highest `return_pct`.
    #[serde(with = "nonfinite")]
    pub best_trade: f64,
    /// Lowest `return_pct`.
    #[serde(with = "nonfinite")]
    pub worst_trade: f64,
    /// Mean `bars_held`.
    #[serde(with = "nonfinite")]
    pub avg_bars_held: f64,
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// Win rate over PnLs. empyrical has none; ours (default): wins / all trades, a scratch trade
/// is not a win; NaN without trades. quantstats' `win_rate` (run on trade PnLs): wins / trades
/// with non-zero PnL, 0.0 when there is none.
pub fn win_rate(pnls: &[f64], convention: Convention) -> f64 {
    let wins = pnls.iter().filter(|&&p| p > 0.0).count();
    let denominator = match convention {
        Convention::Empyrical => pnls.len(),
        Convention::QuantStats => pnls.iter().filter(|&&p| p != 0.0).count(),
    };
    match (denominator, convention) {
        (0, Convention::Empyrical) => f64::NAN,
        (0, Convention::QuantStats) => 0.0,
        (d, _) => wins as f64 / d as f64,
    }
}

/// Profit factor `Σ gains / |Σ losses|`. Ours (default): `+inf` with gains and no loss, NaN with
/// neither. quantstats' `profit_factor`: gains counted with `>= 0`, `0.0` with neither.
pub fn profit_factor(pnls: &[f64], convention: Convention) -> f64 {
    let gains: f64 = match convention {
        Convention::Empyrical => pnls.iter().filter(|&&p| p > 0.0).sum(),
        Convention::QuantStats => pnls.iter().filter(|&&p| p >= 0.0).sum(),
    };
    let losses: f64 = pnls.iter().filter(|&&p| p < 0.0).sum::<f64>().abs();
    if losses == 0.0 {
        return match (gains == 0.0, convention) {
            (true, Convention::Empyrical) => f64::NAN,
            (true, Convention::QuantStats) => 0.0,
            (false, _) => f64::INFINITY,
        };
    }
    gains / losses
}

/// Summary of `trades`. Trades whose `pnl` (or `return_pct`) is NaN are left out of the PnL (or
/// return) statistics but still counted in `trade_count`. Without trades every statistic is NaN
/// (0.0 for quantstats' win rate and profit factor) and `trade_count` is 0.
pub fn trade_summary(trades: &[TradeStats], convention: Convention) -> TradeSummary {
    let pnls: Vec<f64> = trades
        .iter()
        .map(|t| t.pnl)
        .filter(|p| !p.is_nan())
        .collect();
    let returns = || trades.iter().map(|t| t.return_pct).filter(|r| !r.is_nan());
    let extreme = |pick: fn(f64, f64) -> f64| returns().reduce(pick).unwrap_or(f64::NAN);
    TradeSummary {
        trade_count: trades.len(),
        win_rate: win_rate(&pnls, convention),
        profit_factor: profit_factor(&pnls, convention),
        expectancy: mean(pnls.iter().copied()),
        avg_trade: mean(returns()),
        best_trade: extreme(f64::max),
        worst_trade: extreme(f64::min),
        avg_bars_held: mean(trades.iter().map(|t| t.bars_held as f64)),
    }
}
