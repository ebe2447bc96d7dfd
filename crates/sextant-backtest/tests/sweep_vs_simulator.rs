//! The sweep engine must reproduce the simulator's `sma_cross` runs exactly.

use crate::common;

use common::{close_rel, load_sample};
use serde_json::json;
use sextant_backtest::metrics::MetricsConfig;
use sextant_backtest::simulator::{
    BacktestResult, Costs, FillTiming, MarketData, ShareRounding, SizingConvention,
    TradingSimulator,
};
use sextant_backtest::strategy::build_strategy;
use sextant_backtest::sweep::{sweep_sma_cross, SmaGrid, SweepConfig};

/// empyrical's Sharpe (ddof 1) and max drawdown (initial value as first peak) of a run.
fn reference_stats(res: &BacktestResult, ppy: f64) -> (f64, f64) {
    let r = res.returns();
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    let mut peak = res.initial_cash;
    let mut dd = 0.0_f64;
    for &e in &res.equity {
        peak = peak.max(e);
        dd = dd.min((e - peak) / peak);
    }
    (mean / var.sqrt() * ppy.sqrt(), dd)
}

fn check(cfg: SweepConfig, grid: SmaGrid, symbols: &[&str]) {
    let data = load_sample();
    let series: Vec<_> = symbols.iter().map(|s| data[*s].clone()).collect();
    let out = sweep_sma_cross(&series, &grid, &cfg).expect("sweep");
    let sim = TradingSimulator::new(cfg.sim_config()).expect("config");
    for (s, sw) in series.iter().zip(&out) {
        assert_eq!(sw.combos.len(), grid.len());
        let md = MarketData::single(s.clone()).expect("data");
        for c in &sw.combos {
            let ctx = format!(
                "{} {:?} fast {} slow {}",
                sw.symbol, cfg.fill, c.fast, c.slow
            );
            let mut strat = build_strategy("sma_cross", &json!({"fast": c.fast, "slow": c.slow}))
                .expect("strategy");
            let res = sim.run(&md, strat.as_mut());
            assert_eq!(c.final_equity, res.final_equity(), "{ctx}: final equity");
            assert_eq!(c.trades as usize, res.trades.len(), "{ctx}: trades");
            let (sharpe, dd) = reference_stats(&res, cfg.periods_per_year);
            assert_eq!(
                c.total_return,
                res.final_equity() / res.initial_cash - 1.0,
                "{ctx}"
            );
            if c.trades == 0 {
                assert!(
                    c.sharpe.is_nan() && sharpe.is_nan(),
                    "{ctx}: sharpe without trades"
                );
            } else {
                assert!(
                    close_rel(c.sharpe, sharpe, 1e-9, 0.0),
                    "{ctx}: sharpe {} vs {sharpe}",
                    c.sharpe
                );
            }
            assert!(
                close_rel(c.max_drawdown, dd, 1e-9, 1e-12),
                "{ctx}: drawdown {} vs {dd}",
                c.max_drawdown
            );
            // The same numbers as the metrics module computes from the run's returns.
            let m = res
                .metrics(&MetricsConfig::equities_daily())
                .expect("metrics");
            assert!(
                close_rel(c.max_drawdown, m.max_drawdown, 1e-9, 1e-12),
                "{ctx}: metrics drawdown"
            );
            assert!(
                c.trades == 0 || close_rel(c.sharpe, m.sharpe, 1e-9, 0.0),
                "{ctx}: metrics sharpe {}",
                m.sharpe
            );
        }
    }
}

fn base(fill: FillTiming, convention: SizingConvention) -> SweepConfig {
    SweepConfig {
        initial_cash: 10_000.0,
        fill,
        costs: Costs {
            commission_pct: 0.002,
            ..Costs::default()
        },
        shares: ShareRounding::Whole,
        convention,
        periods_per_year: 252.0,
    }
}

#[test]
fn every_combo_matches_the_simulator_next_open() {
    let grid = SmaGrid {
        fast: 2..=14,
        slow: 3..=40,
    };
    check(
        base(FillTiming::NextOpen, SizingConvention::BacktestingPy),
        grid,
        &["AAPL", "GOOG"],
    );
}

#[test]
fn every_combo_matches_the_simulator_signal_close() {
    let grid = SmaGrid {
        fast: 5..=12,
        slow: 15..=60,
    };
    check(
        base(FillTiming::SignalClose, SizingConvention::VectorBt),
        grid,
        &["MSFT", "IBM"],
    );
}

#[test]
fn fractional_shares_fixed_fees_and_slippage_match_too() {
    let mut cfg = base(FillTiming::NextOpen, SizingConvention::VectorBt);
    cfg.shares = ShareRounding::Fractional;
    cfg.costs = Costs {
        commission_pct: 0.001,
        commission_fixed: 1.0,
        slippage_bps: 5.0,
    };
    check(
        cfg,
        SmaGrid {
            fast: 3..=9,
            slow: 10..=30,
        },
        &["IBM"],
    );
    cfg.shares = ShareRounding::Whole;
    cfg.fill = FillTiming::SignalClose;
    check(
        cfg,
        SmaGrid {
            fast: 3..=9,
            slow: 10..=30,
        },
        &["GOOG"],
    );
}

#[test]
fn grid_and_config_errors() {
    let s = vec![load_sample()["AAPL"].clone()];
    let empty = SmaGrid {
        fast: 10..=20,
        slow: 5..=10,
    };
    assert!(sweep_sma_cross(&s, &empty, &SweepConfig::default()).is_err());
    let cfg = SweepConfig {
        initial_cash: -1.0,
        ..SweepConfig::default()
    };
    assert!(sweep_sma_cross(
        &s,
        &SmaGrid {
            fast: 2..=3,
            slow: 4..=5
        },
        &cfg
    )
    .is_err());
}

/// Integer prices with plateaus make the averages tie exactly (sums of integers divided by powers
/// of two are exact), so the tie rule is exercised: rise, plateau, fall crosses *through* a tie
/// and must signal nothing in both engines.
#[test]
fn ties_are_handled_the_same_way() {
    use sextant_backtest::indicators::sma;
    use sextant_backtest::simulator::BarSeries;
    let mut close = Vec::new();
    for round in 0..40 {
        let base = 100.0 + (round % 7) as f64;
        close.extend((0..6).map(|i| base + i as f64)); // rise
        close.extend(std::iter::repeat_n(base + 6.0, 5)); // plateau: every average ties
        close.extend((0..6).map(|i| base + 5.0 - i as f64)); // fall
        close.extend(std::iter::repeat_n(base, 4 + round % 3)); // plateau
    }
    let n = close.len();
    let ts = (0..n as i64).map(|i| i * 86_400).collect();
    let open: Vec<f64> = close.iter().map(|c| c + 0.5).collect();
    let s = BarSeries::new(
        "TIE",
        ts,
        open.clone(),
        open.iter().map(|o| o + 1.0).collect(),
        close.iter().map(|c| c - 1.0).collect(),
        close.clone(),
        vec![1.0; n],
    )
    .expect("bars");
    let (f2, s4) = (sma(&close, 2), sma(&close, 4));
    assert!(
        (3..n).filter(|&i| f2[i] == s4[i]).count() > 100,
        "the data must contain ties"
    );
    let grid = SmaGrid {
        fast: 1..=4,
        slow: 2..=8,
    };
    for fill in [FillTiming::NextOpen, FillTiming::SignalClose] {
        let cfg = base(fill, SizingConvention::VectorBt);
        let out = sweep_sma_cross(std::slice::from_ref(&s), &grid, &cfg).expect("sweep");
        let sim = TradingSimulator::new(cfg.sim_config()).expect("config");
        let md = MarketData::single(s.clone()).expect("data");
        for c in &out[0].combos {
            let mut strat = build_strategy("sma_cross", &json!({"fast": c.fast, "slow": c.slow}))
                .expect("strategy");
            let res = sim.run(&md, strat.as_mut());
            assert_eq!(
                (c.final_equity, c.trades as usize),
                (res.final_equity(), res.trades.len()),
                "{fill:?} {}/{}",
                c.fast,
                c.slow
            );
        }
    }
}
