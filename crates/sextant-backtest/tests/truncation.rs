//! No look-ahead: for every strategy, a run on data cut after bar `t` must agree with the full
//! run on everything that happened before the cut — orders submitted, fills, closed trades, the
//! entries of open trades, equity and cash.

use crate::common;

use common::load_sample;
use serde_json::{json, Value};
use sextant_backtest::simulator::{
    BacktestResult, BarSeries, Context, Costs, FillTiming, MarketData, OrderKind, OrderRequest,
    OrderStatus, Quantity, ShareRounding, Side, SimConfig, Sizer, SizingConvention,
    TradingSimulator,
};
use sextant_backtest::strategy::{build_strategy, strategy_library, Strategy};

/// Checks that `cut` (a run on the first `n` bars) is a prefix of `full`.
fn assert_prefix(full: &BacktestResult, cut: &BacktestResult, n: usize, ctx: &str) {
    assert_eq!(cut.equity.len(), n, "{ctx}");
    assert_eq!(&full.equity[..n], &cut.equity[..], "{ctx}: equity");
    assert_eq!(&full.cash[..n], &cut.cash[..], "{ctx}: cash");
    assert_eq!(
        &full.fills[..cut.fills.len()],
        &cut.fills[..],
        "{ctx}: fills"
    );
    assert!(
        full.fills.get(cut.fills.len()).is_none_or(|f| f.bar >= n),
        "{ctx}: a fill before the cut is missing"
    );
    let placed = full.orders.iter().take_while(|o| o.bar < n).count();
    assert_eq!(
        placed,
        cut.orders.len(),
        "{ctx}: orders placed before the cut"
    );
    for (f, c) in full.orders.iter().zip(&cut.orders) {
        assert_eq!((f.bar, &f.intent), (c.bar, &c.intent), "{ctx}: order");
        match &c.status {
            OrderStatus::Pending => assert!(
                !matches!(f.status, OrderStatus::Filled { bar } if bar < n),
                "{ctx}"
            ),
            settled => assert_eq!(settled, &f.status, "{ctx}: order status"),
        }
    }
    let closed_cut: Vec<_> = cut.trades.iter().filter(|t| !t.open).collect();
    let closed_full: Vec<_> = full
        .trades
        .iter()
        .filter(|t| !t.open)
        .take(closed_cut.len())
        .collect();
    assert_eq!(closed_full, closed_cut, "{ctx}: closed trades");
    // An open lot may later be closed in parts, which splits its size and entry commission, so
    // only where and at what price it was entered must agree.
    for open in cut.trades.iter().filter(|t| t.open) {
        let same = full.trades.iter().any(|t| {
            (t.symbol, t.long, t.entry_bar, t.entry_price)
                == (open.symbol, open.long, open.entry_bar, open.entry_price)
        });
        assert!(
            same,
            "{ctx}: open trade entered at {} not in the full run",
            open.entry_bar
        );
    }
}

fn check(name: &str, data: &MarketData, cfg: SimConfig, make: &dyn Fn() -> Box<dyn Strategy>) {
    let sim = TradingSimulator::new(cfg).expect("config");
    let full = sim.run(data, make().as_mut());
    assert!(
        !full.orders.is_empty(),
        "{name}: the strategy never traded, the test would be vacuous"
    );
    let n = data.len();
    // A cut at zero bars is an empty run, not a panic.
    let empty = sim.run(&data.truncated(0), make().as_mut());
    assert!(
        empty.equity.is_empty() && empty.trades.is_empty() && empty.fills.is_empty(),
        "{name}: an empty window trades nothing"
    );
    for cut in [1, 2, 25, 260, 1000, 1777, 2500, n - 1] {
        let part = sim.run(&data.truncated(cut), make().as_mut());
        assert_prefix(
            &full,
            &part,
            cut,
            &format!("{name} {:?} cut {cut}", cfg.fill),
        );
    }
}

/// A deterministic "model probability" per bar, computed from closes up to that bar only.
fn with_proba(s: BarSeries) -> BarSeries {
    let c = s.close().to_vec();
    let p = (0..c.len())
        .map(|i| {
            if i < 5 {
                f64::NAN
            } else {
                0.5 + (c[i] / c[i - 5] - 1.0) * 5.0
            }
        })
        .collect();
    let s = s.with_series("ml_proba", p).expect("series");
    with_regime(s)
}

/// A deterministic regime code per bar (index into `REGIME_LABELS`), from closes up to that bar
/// only: high_vol when the 20-bar volatility of returns is above 2.5% a day, else bull or bear
/// by the sign of the 20-bar return; NaN (no label) for the first 20 bars.
fn with_regime(s: BarSeries) -> BarSeries {
    let c = s.close().to_vec();
    let code = (0..c.len())
        .map(|i| {
            if i < 20 {
                return f64::NAN;
            }
            let r: Vec<f64> = (i - 19..=i).map(|j| c[j] / c[j - 1] - 1.0).collect();
            let m = r.iter().sum::<f64>() / 20.0;
            let sd = (r.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 19.0).sqrt();
            if sd > 0.025 {
                3.0
            } else if c[i] > c[i - 20] {
                0.0
            } else {
                1.0
            }
        })
        .collect();
    s.with_series(sextant_backtest::strategy::REGIME_SERIES, code)
        .expect("series")
}

fn configs() -> Vec<SimConfig> {
    let costs = Costs {
        commission_pct: 0.001,
        commission_fixed: 1.0,
        slippage_bps: 2.0,
    };
    vec![
        SimConfig {
            costs,
            ..SimConfig::default()
        },
        SimConfig {
            fill: FillTiming::SignalClose,
            costs,
            shares: ShareRounding::Fractional,
            sizer: Sizer::FixedFraction { fraction: 0.5 },
            convention: SizingConvention::BacktestingPy,
            ..SimConfig::default()
        },
        SimConfig {
            sizer: Sizer::VolatilityTarget {
                annual_vol: 0.15,
                lookback: 20,
                periods_per_year: 252.0,
                max_leverage: 2.0,
            },
            ..SimConfig::default()
        },
    ]
}

#[test]
fn every_library_strategy_is_causal() {
    let data = load_sample();
    let single = MarketData::single(with_proba(data["AAPL"].clone())).expect("data");
    // Two symbols with different calendars (GOOG starts in 2004) exercise the aligned gaps.
    let multi = MarketData::new(vec![
        with_proba(data["GOOG"].clone()),
        with_proba(data["IBM"].clone()),
    ])
    .expect("data");
    for info in strategy_library() {
        for params in [Value::Null, json!({"allow_short": true})] {
            if params != Value::Null && info.schema["properties"].get("allow_short").is_none() {
                continue;
            }
            // `ml_signal` reads the attached `ml_proba` series; it only needs a model name.
            let mut params = params.clone();
            if info.name == "ml_signal" {
                let mut p = params.as_object().cloned().unwrap_or_default();
                p.insert("model".into(), json!("m"));
                params = Value::Object(p);
            }
            // `regime_switch` reads the attached `regime` series: SMA 5/20 in bull, a short-
            // capable SMA 10/30 in bear, flat in high_vol.
            if info.name == "regime_switch" {
                params = json!({"model": "m", "bull": {"fast": 5, "slow": 20},
                                "bear": {"fast": 10, "slow": 30, "allow_short": true}});
            }
            // `rules`: a user-defined strategy with every kind of exit, sizing on the short
            // side, and the attached `ml_proba` series.
            if info.name == "rules" {
                params = json!({"definition": {"name": "all_exits",
                    "long": {"entry": "series(\"ml_proba\") > 0.6 and close > sma(close, 50)",
                             "exit": "crossunder(ema(close, 5), ema(close, 20))",
                             "stop_loss": {"atr": 2, "period": 14}, "take_profit": {"pct": 0.1},
                             "trailing_stop": {"pct": 0.06}, "max_bars": 30},
                    "short": {"entry": "series(\"ml_proba\") < 0.3 and falling(close, 2)",
                              "exit": "rsi(close, 5) < 25", "stop_loss": {"pct": 0.04},
                              "size": {"kind": "fraction", "fraction": 0.5}}}});
            }
            let make = || build_strategy(info.name, &params).expect("strategy");
            for cfg in configs() {
                check(info.name, &single, cfg, &make);
                check(info.name, &multi, cfg, &make);
            }
        }
    }
}

/// Monthly equal-weight rebalancing plus resting limit and stop orders.
struct Mixed;

impl Strategy for Mixed {
    fn name(&self) -> &str {
        "mixed"
    }
    fn on_bar(&mut self, ctx: &mut Context<'_>) {
        let v = *ctx.view();
        let t = v.t();
        if t % 21 == 5 {
            let live: Vec<usize> = (0..v.n_symbols()).filter(|&s| v.has_bar(s)).collect();
            let w = 0.9 / live.len().max(1) as f64;
            ctx.rebalance(live.iter().map(|&s| (s, w)).collect());
        }
        if t % 50 == 17 && v.has_bar(0) {
            let c = v.close(0)[t];
            ctx.cancel(Some(0));
            ctx.submit(OrderRequest {
                symbol: 0,
                side: Side::Buy,
                kind: OrderKind::Limit(c * 0.97),
                qty: Quantity::Units(3.0),
            });
            ctx.submit(OrderRequest {
                symbol: 0,
                side: Side::Sell,
                kind: OrderKind::Stop(c * 0.9),
                qty: Quantity::Units(2.0),
            });
        }
    }
}

#[test]
fn rebalancing_and_resting_orders_are_causal() {
    let data = load_sample();
    let multi = MarketData::new(vec![
        data["MSFT"].clone(),
        data["GOOG"].clone(),
        data["AAPL"].clone(),
    ])
    .expect("data");
    for cfg in configs() {
        check("mixed", &multi, cfg, &|| Box::new(Mixed));
    }
}

/// Membership that changes over time (each name a member on alternating 300-bar spells, out
/// of phase), so universes that gain and lose names are cut too.
fn with_membership(s: BarSeries, phase: usize) -> BarSeries {
    let m = (0..s.len())
        .map(|i| {
            if (i / 300 + phase).is_multiple_of(3) {
                0.0
            } else {
                1.0
            }
        })
        .collect();
    s.with_series(sextant_backtest::portfolio::MEMBER_SERIES, m)
        .expect("series")
}

#[test]
fn every_portfolio_construction_is_causal() {
    let data = load_sample();
    // All five names, on calendars that differ (GOOG starts in 2004), with membership spells and
    // an attached score series.
    let universe = MarketData::new(
        ["AAPL", "FB", "GOOG", "IBM", "MSFT"]
            .iter()
            .enumerate()
            .filter_map(|(i, s)| data.get(*s).map(|b| (i, b.clone())))
            .map(|(i, b)| with_membership(with_proba(b), i))
            .collect(),
    )
    .expect("data");
    assert_eq!(universe.symbols().len(), 5, "the sample's names");
    let mut cases: Vec<(&str, Value)> = Vec::new();
    for rebalance in ["daily", "weekly", "monthly", "on_change"] {
        cases.push((
            "topk_dropout",
            json!({"topk": 2, "n_drop": 1, "rebalance": rebalance}),
        ));
        for weighting in ["equal", "inverse_vol", "risk_parity", "mean_variance"] {
            cases.push((
                "topk_weighted",
                json!({"topk": 3, "weighting": weighting, "rebalance": rebalance,
                       "max_weight": 0.45, "turnover": 0.8, "vol_lookback": 40}),
            ));
            if weighting != "mean_variance" {
                cases.push((
                    "long_short",
                    json!({"quantiles": 2, "weighting": weighting, "rebalance": rebalance,
                           "net": 0.2, "gross": 1.5}),
                ));
            }
        }
    }
    for signal in [
        json!({"signal": "reversal", "lookback": 5}),
        json!({"signal": "low_vol", "lookback": 20}),
        json!({"signal": "series", "series": "ml_proba"}),
    ] {
        let mut p = signal.clone();
        p["topk"] = json!(2);
        cases.push(("topk_dropout", p.clone()));
        p["weighting"] = json!("risk_parity");
        cases.push(("topk_weighted", p));
    }
    for (name, params) in cases {
        let make = || build_strategy(name, &params).expect("strategy");
        for cfg in configs() {
            check(&format!("{name} {params}"), &universe, cfg, &make);
        }
    }
}
