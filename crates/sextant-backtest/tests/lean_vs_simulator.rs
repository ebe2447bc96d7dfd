//! The lean engine (what sweeps of every strategy and tuning trials run) against the
//! simulator: every library strategy, long only and with shorts, both fill timings, with and
//! without costs, whole and fractional units, on real bars. Equity must be equal bit for bit,
//! and so must the trades and their PnL.

use crate::common;

use common::load_sample;
use serde_json::{json, Value};
use sextant_backtest::simulator::{
    BarSeries, Costs, FillTiming, MarketData, ShareRounding, SimConfig, TradingSimulator,
};
use sextant_backtest::strategy::{
    build_strategy, strategy_library, PORTFOLIO_STRATEGIES, REGIME_SERIES,
};
use sextant_backtest::sweep::{lean, sweep_sma_cross, sweep_strategy, SmaGrid, SweepConfig};
use std::collections::BTreeSet;

/// Parameter sets per strategy; every library strategy must have some.
fn cases() -> Vec<(&'static str, Vec<Value>)> {
    vec![
        ("buy_and_hold", vec![json!({})]),
        (
            "sma_cross",
            vec![
                json!({"fast": 10, "slow": 30}),
                json!({"fast": 5, "slow": 50, "allow_short": true}),
            ],
        ),
        (
            "ema_cross",
            vec![
                json!({"fast": 12, "slow": 26}),
                json!({"fast": 8, "slow": 40, "allow_short": true}),
            ],
        ),
        (
            "rsi_reversion",
            vec![
                json!({"period": 14}),
                json!({"period": 5, "lower": 20.0, "upper": 80.0, "allow_short": true}),
            ],
        ),
        (
            "bollinger_reversion",
            vec![
                json!({}),
                json!({"period": 10, "k": 1.5, "allow_short": true}),
            ],
        ),
        (
            "macd",
            vec![
                json!({}),
                json!({"fast": 8, "slow": 21, "signal": 5, "allow_short": true}),
            ],
        ),
        (
            "donchian_breakout",
            vec![
                json!({}),
                json!({"entry": 55, "exit": 20, "allow_short": true}),
            ],
        ),
        (
            "ts_momentum",
            vec![
                json!({"lookback": 63}),
                json!({"lookback": 252, "allow_short": true}),
            ],
        ),
        (
            "series_threshold",
            vec![
                json!({}),
                json!({"lower": 0.4, "upper": 0.6, "allow_short": true}),
            ],
        ),
        (
            "ml_signal",
            vec![
                json!({"model": "m"}),
                json!({"model": "m", "allow_short": true}),
            ],
        ),
        (
            "regime_switch",
            vec![json!({"model": "m", "bull": {"fast": 5, "slow": 20},
                                       "bear": {"fast": 10, "slow": 40, "allow_short": true}})],
        ),
        (
            // User-defined strategies without stops or sizing name targets only.
            "rules",
            vec![
                json!({"definition": {"name": "trend_rsi", "long": {
                    "entry": "close > sma(close, 100) and rsi(close, 3) < 20",
                    "exit": "rsi(close, 3) > 80 or close < lowest(low, 20)[1]"},
                    "short": {"entry": "crossunder(ema(close, 10), ema(close, 50)) and adx(14) > 25",
                              "exit": "rising(close, 3)"}}}),
                json!({"definition": {"name": "proba", "long": {
                    "entry": "series(\"ml_proba\") > 0.55", "exit": "series(\"ml_proba\") < 0.45"}}}),
            ],
        ),
    ]
}

/// A symbol's bars with the external series the strategies read: an "ML probability" from
/// the 10-bar return and a regime code cycling every 100 bars (NaN before bar 50).
fn with_series(s: &BarSeries) -> BarSeries {
    let c = s.close();
    let proba: Vec<f64> = (0..c.len())
        .map(|t| {
            if t < 10 {
                f64::NAN
            } else {
                0.5 + 0.5 * (10.0 * (c[t] / c[t - 10] - 1.0)).tanh()
            }
        })
        .collect();
    let regime: Vec<f64> = (0..c.len())
        .map(|t| {
            if t < 50 {
                f64::NAN
            } else {
                ((t / 100) % 4) as f64
            }
        })
        .collect();
    s.clone()
        .with_series("ml_proba", proba)
        .and_then(|b| b.with_series(REGIME_SERIES, regime))
        .expect("series attach")
}

fn configs() -> Vec<SimConfig> {
    let costs = Costs {
        commission_pct: 0.001,
        commission_fixed: 1.0,
        slippage_bps: 5.0,
    };
    let mut out = Vec::new();
    for fill in [FillTiming::NextOpen, FillTiming::SignalClose] {
        for c in [Costs::default(), costs] {
            for shares in [ShareRounding::Whole, ShareRounding::Fractional] {
                out.push(SimConfig {
                    fill,
                    costs: c,
                    shares,
                    ..SimConfig::default()
                });
            }
        }
    }
    out
}

#[test]
fn every_library_strategy_has_cases() {
    let mut covered: BTreeSet<&str> = cases().iter().map(|c| c.0).collect();
    // The portfolio strategies trade many names at once (rotations, weights): the lean engine
    // refuses them and every caller falls back to the simulator.
    covered.extend(PORTFOLIO_STRATEGIES);
    let library: BTreeSet<&str> = strategy_library().iter().map(|s| s.name).collect();
    assert_eq!(covered, library);
}

#[test]
fn portfolio_strategies_fall_back_to_the_simulator() {
    let data = load_sample();
    let md = MarketData::new(vec![data["AAPL"].clone(), data["IBM"].clone()]).expect("data");
    let single = MarketData::single(data["IBM"].clone()).expect("data");
    let cfg = SimConfig::default();
    for name in PORTFOLIO_STRATEGIES {
        let p = match *name {
            "topk_dropout" => json!({"topk": 1, "n_drop": 1, "lookback": 20}),
            "long_short" => json!({"quantiles": 2, "lookback": 20}),
            _ => json!({"topk": 1, "lookback": 20}),
        };
        for data in [&md, &single] {
            let mut s = build_strategy(name, &p).expect("params");
            assert!(
                lean::run(&cfg, data, s.as_mut()).is_err(),
                "{name}: the lean engine must refuse, not mis-simulate, a portfolio"
            );
        }
    }
}

#[test]
fn lean_runs_equal_the_simulator_for_every_strategy() {
    let data = load_sample();
    let mut checked = 0;
    for sym in ["AAPL", "IBM", "GOOG"] {
        let md = MarketData::single(with_series(&data[sym])).expect("data");
        for cfg in configs() {
            let sim = TradingSimulator::new(cfg).expect("config");
            for (name, sets) in cases() {
                for p in &sets {
                    let ctx = format!("{sym} {name} {p} {cfg:?}");
                    let mut a = build_strategy(name, p).expect("params");
                    let mut b = build_strategy(name, p).expect("params");
                    let reference = sim.run(&md, a.as_mut());
                    let lean =
                        lean::run(&cfg, &md, b.as_mut()).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                    assert_eq!(lean.equity.len(), reference.equity.len(), "{ctx}");
                    for (t, (x, y)) in lean.equity.iter().zip(&reference.equity).enumerate() {
                        assert_eq!(
                            x.to_bits(),
                            y.to_bits(),
                            "{ctx}: equity at bar {t}: {x} vs {y}"
                        );
                    }
                    assert_eq!(lean.trades, reference.trades.len(), "{ctx}");
                    let closed: Vec<(usize, f64)> = reference
                        .closed_trades()
                        .map(|t| (t.exit_bar, t.pnl))
                        .collect();
                    assert_eq!(lean.closed, closed, "{ctx}");
                    assert_eq!(lean.returns(cfg.initial_cash), reference.returns(), "{ctx}");
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 3 * 8 * 22);
}

#[test]
fn cases_trade() {
    // A comparison of runs that never trade would prove nothing.
    let data = load_sample();
    let md = MarketData::single(with_series(&data["IBM"])).expect("data");
    let cfg = SimConfig::default();
    for (name, sets) in cases() {
        for p in &sets {
            let mut s = build_strategy(name, p).expect("params");
            let run = lean::run(&cfg, &md, s.as_mut()).expect("lean");
            assert!(
                run.trades >= 1 && (name == "buy_and_hold" || !run.closed.is_empty()),
                "{name} {p}"
            );
        }
    }
}

#[test]
fn strategy_sweeps_equal_the_sma_kernel_and_the_simulator() {
    let data = load_sample();
    let series = vec![data["MSFT"].clone(), data["GOOG"].clone()];
    let cfg = SweepConfig::default();
    let grid = SmaGrid {
        fast: 5..=12,
        slow: 20..=30,
    };
    let kernel = sweep_sma_cross(&series, &grid, &cfg).expect("kernel");
    let params: Vec<Value> = grid
        .combos()
        .map(|(f, s)| json!({"fast": f, "slow": s}))
        .collect();
    let generic = sweep_strategy(&series, "sma_cross", &params, &cfg).expect("generic");
    for (k, g) in kernel.iter().zip(&generic) {
        assert_eq!(k.combos.len(), g.results.len());
        for (a, b) in k.combos.iter().zip(&g.results) {
            assert_eq!(
                a.final_equity.to_bits(),
                b.final_equity.to_bits(),
                "{} {}/{}",
                k.symbol,
                a.fast,
                a.slow
            );
            assert_eq!(a.trades, b.trades);
            assert_eq!(a.max_drawdown.to_bits(), b.max_drawdown.to_bits());
            // The kernel sums held bars in SIMD lanes: the Sharpe ratio agrees to rounding.
            assert!(
                (a.sharpe - b.sharpe).abs() <= 1e-12 * a.sharpe.abs(),
                "{} vs {}",
                a.sharpe,
                b.sharpe
            );
        }
    }
    // Another strategy, checked against the simulator's final equity.
    let params = vec![
        json!({"period": 14}),
        json!({"period": 7, "lower": 25.0, "upper": 75.0}),
    ];
    let out = sweep_strategy(&series, "rsi_reversion", &params, &cfg).expect("sweep");
    let sim = TradingSimulator::new(cfg.sim_config()).expect("config");
    for (s, sw) in series.iter().zip(&out) {
        let md = MarketData::single(s.clone()).expect("data");
        for r in &sw.results {
            let mut st = build_strategy("rsi_reversion", &params[r.params]).expect("params");
            let reference = sim.run(&md, st.as_mut());
            assert_eq!(r.final_equity.to_bits(), reference.final_equity().to_bits());
            assert_eq!(r.trades as usize, reference.trades.len());
        }
    }
    assert!(sweep_strategy(&series, "macd", &[json!({"fast": 30, "slow": 20})], &cfg).is_err());
}
