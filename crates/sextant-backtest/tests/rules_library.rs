//! Every library strategy the rule language expresses gives bit-identical results to its Rust
//! implementation: the same orders, fills, trades, cash and equity, on the bundled real data,
//! with both fill timings, long-only and long-short, default and other parameters, with costs.

use crate::common;

use common::load_sample;
use serde_json::{json, Value};
use sextant_backtest::rules::library_definitions;
use sextant_backtest::simulator::{
    Costs, FillTiming, MarketData, SimConfig, SizingConvention, TradingSimulator,
};
use sextant_backtest::strategy::build_strategy;

fn with(defn: &Value, params: &Value) -> Value {
    let mut p = params.as_object().cloned().unwrap_or_default();
    p.insert("definition".into(), defn.clone());
    Value::Object(p)
}

/// Parameter sets per strategy beyond the defaults.
fn variants(name: &str) -> Vec<Value> {
    let mut v = vec![json!({}), json!({"allow_short": true})];
    v.extend(match name {
        "sma_cross" => vec![
            json!({"fast": 5, "slow": 60, "allow_short": true}),
            json!({"fast": 30, "slow": 31}),
        ],
        "ema_cross" => vec![json!({"fast": 3, "slow": 40, "allow_short": true})],
        "rsi_reversion" => {
            vec![json!({"period": 5, "lower": 20.0, "upper": 80.0, "allow_short": true})]
        }
        "bollinger_reversion" => vec![json!({"period": 10, "k": 1.5, "allow_short": true})],
        "macd" => vec![json!({"fast": 5, "slow": 35, "signal": 5, "allow_short": true})],
        "donchian_breakout" => vec![
            json!({"entry": 55, "exit": 20, "allow_short": true}),
            json!({"entry": 5, "exit": 30}),
        ],
        "ts_momentum" => vec![json!({"lookback": 20, "allow_short": true})],
        "buy_and_hold" => return vec![json!({})],
        _ => vec![],
    });
    v
}

#[test]
fn library_strategies_re_expressed_trade_identically() {
    let data = load_sample();
    let sets: Vec<MarketData> = data
        .values()
        .map(|s| MarketData::single(s.clone()).expect("data"))
        .chain(std::iter::once(
            MarketData::new(vec![data["GOOG"].clone(), data["IBM"].clone()]).expect("data"),
        ))
        .collect();
    let mut runs = 0;
    let mut trades = 0;
    for (name, defn) in library_definitions() {
        for params in variants(name) {
            for fill in [FillTiming::NextOpen, FillTiming::SignalClose] {
                let cfg = SimConfig {
                    fill,
                    costs: Costs {
                        commission_pct: 0.001,
                        slippage_bps: 2.0,
                        ..Costs::default()
                    },
                    convention: SizingConvention::BacktestingPy,
                    ..SimConfig::default()
                };
                let sim = TradingSimulator::new(cfg).expect("config");
                for md in &sets {
                    let mut builtin = build_strategy(name, &params).expect("built-in");
                    let mut rules = build_strategy("rules", &with(&defn, &params)).expect("rules");
                    let a = sim.run(md, builtin.as_mut());
                    let b = sim.run(md, rules.as_mut());
                    let ctx = format!("{name} {params} {fill:?} {:?}", md.symbols());
                    assert_eq!(a.orders, b.orders, "{ctx}: orders");
                    assert_eq!(a.fills, b.fills, "{ctx}: fills");
                    assert_eq!(a.trades, b.trades, "{ctx}: trades");
                    assert_eq!(a.equity, b.equity, "{ctx}: equity");
                    assert_eq!(a.cash, b.cash, "{ctx}: cash");
                    runs += 1;
                    trades += a.trades.len();
                }
            }
        }
    }
    eprintln!("{runs} runs compared, {trades} trades");
    assert!(runs >= 150, "{runs} runs");
    assert!(
        trades > 5_000,
        "only {trades} trades: the comparison would be weak"
    );
}

#[test]
fn parameter_requirements_refuse_bad_sets() {
    let defs = library_definitions();
    let (_, sma) = defs.iter().find(|(n, _)| *n == "sma_cross").expect("sma");
    let e = build_strategy("rules", &with(sma, &json!({"fast": 30, "slow": 20}))).err();
    let text = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("require[0]") && text.contains("not met"),
        "{text}"
    );
    let e = build_strategy("rules", &with(sma, &json!({"fast": 0}))).err();
    assert!(
        matches!(
            e,
            Some(sextant_backtest::strategy::ParamError::OutOfRange { .. })
        ),
        "{e:?}"
    );
    let e = build_strategy("rules", &with(sma, &json!({"nope": 1}))).err();
    assert!(
        matches!(
            e,
            Some(sextant_backtest::strategy::ParamError::UnknownField { .. })
        ),
        "{e:?}"
    );
}

/// Definitions using every kind of exit and sizing, and the external series.
fn exit_definitions() -> Vec<Value> {
    vec![
        json!({"name": "atr_stops", "params": {"k": {"type": "float", "min": 0.5, "max": 5.0, "default": 2.0}},
               "long": {"entry": "crossover(ema(close, 10), ema(close, 30))", "exit": "rsi(close, 14) > 75",
                        "stop_loss": {"atr": "k", "period": 14}, "take_profit": {"atr": 4}, "size": {"kind": "fraction", "fraction": 0.5}},
               "short": {"entry": "crossunder(ema(close, 10), ema(close, 30)) and adx(14) > 20",
                         "trailing_stop": {"atr": 3, "period": 10}, "max_bars": 15,
                         "size": {"kind": "vol_target", "annual_vol": 0.1, "lookback": 20, "max_leverage": 1.5}}}),
        json!({"name": "timed", "long": {"entry": "rising(close, 2) and close > highest(close, 20)[1]", "max_bars": 5,
                                         "trailing_stop": {"pct": 0.03}, "size": {"kind": "units", "units": 7}}}),
        json!({"name": "external", "long": {"entry": "ml_proba(\"m\") > 0.6 and in_regime(\"r\", \"bull\")",
                                            "exit": "ml_proba(\"m\") < 0.4 or not in_regime(\"r\", \"bull\")"}}),
    ]
}

#[test]
fn every_definition_passes_the_truncation_test() {
    let mut defs: Vec<Value> = library_definitions().into_iter().map(|(_, d)| d).collect();
    defs.extend(exit_definitions());
    for d in defs {
        for extra in [json!({}), json!({"allow_short": true})] {
            let mut p = extra.as_object().cloned().unwrap_or_default();
            if d["params"].get("allow_short").is_none() && !p.is_empty() {
                continue;
            }
            p.insert("definition".into(), d.clone());
            let prog =
                sextant_backtest::rules::program_from_params(&Value::Object(p)).expect("compiles");
            let r = sextant_backtest::rules::truncation_test(&prog)
                .unwrap_or_else(|e| panic!("{}: {e}", d["name"]));
            assert!(
                r.orders > 0,
                "{}: no order, the test would be vacuous",
                d["name"]
            );
        }
    }
}

#[test]
fn time_exits_sizes_and_atr_stops_act() {
    let data = load_sample();
    let md = MarketData::single(data["MSFT"].clone()).expect("data");
    let sim = TradingSimulator::new(SimConfig::default()).expect("config");
    let defs = exit_definitions();
    let mut s = build_strategy("rules", &json!({"definition": defs[1]})).expect("timed");
    let r = sim.run(&md, s.as_mut());
    let closed: Vec<_> = r.closed_trades().collect();
    assert!(closed.len() > 20, "{} trades", closed.len());
    for t in &closed {
        // Entry fills the bar after the signal; the time exit fires 5 bars after the signal
        // and fills at the next open, unless the trailing stop came first.
        assert!(
            t.exit_bar - t.entry_bar <= 5,
            "held {} bars",
            t.exit_bar - t.entry_bar
        );
        assert_eq!(t.size, 7.0);
    }
    assert!(
        closed.iter().any(|t| t.exit_bar - t.entry_bar == 5),
        "no trade reached the time exit"
    );
    assert!(
        closed.iter().any(|t| t.exit_bar - t.entry_bar < 5),
        "the trailing stop never acted"
    );
    let mut s = build_strategy("rules", &json!({"definition": defs[0]})).expect("atr");
    let r = sim.run(&md, s.as_mut());
    assert!(r.trades.iter().any(|t| !t.long) && r.trades.iter().any(|t| t.long));
    let stops = r
        .orders
        .iter()
        .filter(|o| matches!(o.intent, sextant_backtest::simulator::Intent::Order(_)))
        .count();
    assert!(stops > 20, "{stops} stop/limit orders");
}

#[test]
fn a_lagged_condition_is_false_while_it_warms_up() {
    let data = load_sample();
    let md = MarketData::single(data["MSFT"].clone()).expect("data");
    let sim = TradingSimulator::new(SimConfig::default()).expect("config");
    let d = json!({"definition": {"name": "lag", "long": {"entry": "(close > open)[3]"}}});
    let r = sim.run(&md, build_strategy("rules", &d).expect("rules").as_mut());
    let first = r.orders.first().map(|o| o.bar).expect("an order");
    assert!(
        first >= 3,
        "ordered on bar {first}, before the lag had a value"
    );
}

#[test]
fn an_exit_placed_with_a_delayed_entry_still_protects_it() {
    use sextant_backtest::simulator::BarSeries;
    // A trades every day; B has no bar on day 1, so B's entry signalled on day 0 fills on day
    // 2, and its 1 % stop must still be working then. B falls 5 % on day 3.
    let day = |i: i64| 946_684_800 + 86_400 * i;
    let a = BarSeries::new(
        "A",
        (0..6).map(day).collect(),
        vec![10.0; 6],
        vec![10.5; 6],
        vec![9.5; 6],
        vec![10.0; 6],
        vec![1e6; 6],
    )
    .expect("A");
    let b_close = [100.0, 100.0, 100.0, 95.0, 95.0];
    let b = BarSeries::new(
        "B",
        [0, 2, 3, 4, 5].into_iter().map(day).collect(),
        vec![100.0, 100.0, 99.0, 95.0, 95.0],
        vec![100.5, 100.5, 100.0, 95.5, 95.5],
        vec![99.5, 99.5, 94.0, 94.5, 94.5],
        b_close.to_vec(),
        vec![1e6; 5],
    )
    .expect("B");
    let md = MarketData::new(vec![a, b]).expect("data");
    let d = json!({"definition": {"name": "protected",
        "long": {"entry": "close >= 100", "stop_loss": {"pct": 0.01}}}});
    let sim = TradingSimulator::new(SimConfig::default()).expect("config");
    let r = sim.run(&md, build_strategy("rules", &d).expect("rules").as_mut());
    let b_trades: Vec<_> = r.trades.iter().filter(|t| t.symbol == 1).collect();
    assert!(!b_trades.is_empty(), "{:?}", r.orders);
    let t = b_trades[0];
    assert_eq!(t.entry_bar, 2, "the entry waits for B's next bar");
    assert!(!t.open, "the stop closed it: {:?}", r.orders);
    assert_eq!(t.exit_bar, 3);
    assert_eq!(
        t.exit_price, 99.0,
        "filled at the stop, 1 % under the signal close"
    );
}
