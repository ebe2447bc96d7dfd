//! Sweeps of any library strategy: every parameter set on every symbol, on all cores.
//!
//! SMA cross has its own bit-mask kernel ([`super::sweep_sma_cross`]). Every other strategy's
//! parameter sets run through the lean engine ([`super::lean`]): the simulator's arithmetic
//! without its logs, exact against it. A strategy that submits anything but target positions
//! runs in the simulator itself, so every strategy sweeps; the statistics are the same as
//! [`super::ComboStats`]'s.

use super::kernel::Acc;
use super::lean;
use super::{SweepConfig, SweepError};
use crate::simulator::{BarSeries, MarketData, TradingSimulator};
use crate::strategy::build_strategy;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Summary of one parameter set on one symbol.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ParamStats {
    /// Index of the parameter set in the request.
    pub params: usize,
    /// Cash plus any open position marked at the last close.
    pub final_equity: f64,
    /// `final_equity / initial_cash - 1`.
    pub total_return: f64,
    /// Positions opened.
    pub trades: u32,
    /// Largest peak-to-trough fall, a negative fraction (initial cash as first peak).
    pub max_drawdown: f64,
    /// Mean over sample std of the per-bar returns, annualised; NaN without variation.
    pub sharpe: f64,
}

/// Every parameter set of one symbol, in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategySweep {
    /// Symbol of the series.
    pub symbol: String,
    /// Bars in the series.
    pub bars: usize,
    /// One entry per parameter set.
    pub results: Vec<ParamStats>,
}

/// Statistics of an equity curve, accumulated as the SMA kernel does (same arithmetic).
fn stats(params: usize, equity: &[f64], trades: usize, cfg: &SweepConfig) -> ParamStats {
    let init = cfg.initial_cash;
    let mut acc = Acc {
        sum: 0.0,
        sum_sq: 0.0,
        prev: init,
        peak: init,
        max_dd: 0.0,
    };
    for &e in equity {
        acc.push(e);
    }
    let final_equity = equity.last().copied().unwrap_or(init);
    let nf = equity.len() as f64;
    let mean = acc.sum / nf;
    let var = (acc.sum_sq - acc.sum * mean) / (nf - 1.0);
    ParamStats {
        params,
        final_equity,
        total_return: final_equity / init - 1.0,
        trades: trades as u32,
        max_drawdown: acc.max_dd,
        sharpe: mean / var.sqrt() * cfg.periods_per_year.sqrt(),
    }
}

/// Runs `strategy` with each of `params` on each series (all-in, the sweep's costs and
/// fills; `allow_short` and the other parameters as given). Every parameter set is checked
/// before anything runs.
pub fn sweep_strategy(
    series: &[BarSeries],
    strategy: &str,
    params: &[Value],
    cfg: &SweepConfig,
) -> Result<Vec<StrategySweep>, SweepError> {
    let sim_cfg = cfg.sim_config();
    sim_cfg.validate()?;
    for (i, p) in params.iter().enumerate() {
        build_strategy(strategy, p).map_err(|e| SweepError::Params(i, e))?;
    }
    if params.is_empty() {
        return Err(SweepError::EmptyGrid);
    }
    let markets: Vec<MarketData> = series
        .iter()
        .map(|s| MarketData::single(s.clone()))
        .collect::<Result<_, _>>()?;
    let sim = TradingSimulator::new(sim_cfg)?;
    let tasks: Vec<(usize, usize)> = (0..series.len())
        .flat_map(|s| (0..params.len()).map(move |p| (s, p)))
        .collect();
    let results: Vec<(usize, ParamStats)> = tasks
        .par_iter()
        .map(|&(s, p)| {
            let build = || build_strategy(strategy, &params[p]);
            let mut st = build().map_err(|e| SweepError::Params(p, e))?;
            let md = &markets[s];
            let (equity, trades) = match lean::run(&sim_cfg, md, st.as_mut()) {
                Ok(run) => (run.equity, run.trades),
                Err(_) => {
                    let mut st = build().map_err(|e| SweepError::Params(p, e))?;
                    let r = sim.run(md, st.as_mut());
                    (r.equity, r.trades.len())
                }
            };
            Ok((s, stats(p, &equity, trades, cfg)))
        })
        .collect::<Result<_, SweepError>>()?;
    let mut out: Vec<StrategySweep> = series
        .iter()
        .map(|s| StrategySweep {
            symbol: s.symbol().to_string(),
            bars: s.len(),
            results: Vec::with_capacity(params.len()),
        })
        .collect();
    for (s, r) in results {
        out[s].results.push(r);
    }
    Ok(out)
}
