//! A definition in the rule language against the Rust implementation of the same library
//! strategy: runs per second in the simulator and in the lean engine (the tuner's), on the
//! bundled sample's MSFT (3,270 bars), building the strategy on every run as a sweep or a
//! tuning trial does. `cargo run --release -p sextant-backtest --example bench_rules`; prints
//! one JSON object per strategy and a summary line (the goal: within 2×).

#[path = "shared/sample.rs"]
mod sample;

use sample::msft;
use serde_json::{json, Value};
use sextant_backtest::rules::library_definitions;
use sextant_backtest::simulator::{MarketData, SimConfig, TradingSimulator};
use sextant_backtest::strategy::{build_strategy, Strategy};
use sextant_backtest::sweep::lean;
use std::time::Instant;

/// Median seconds per call of `f` over `batches` batches of `n` calls.
fn per_call(n: usize, batches: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..batches)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..n {
                f();
            }
            t0.elapsed().as_secs_f64() / n as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[batches / 2]
}

fn main() {
    let md = MarketData::single(msft()).expect("data");
    let cfg = SimConfig::default();
    let sim = TradingSimulator::new(cfg).expect("config");
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let mut worst: f64 = 0.0;
    let only = std::env::args().nth(2);
    for (name, defn) in library_definitions() {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let builtin_params = json!({});
        let rules_params = json!({"definition": defn});
        let build = |rules: bool| -> Box<dyn Strategy> {
            if rules {
                build_strategy("rules", &rules_params).expect("rules")
            } else {
                build_strategy(name, &builtin_params).expect("built-in")
            }
        };
        let mut row = serde_json::Map::new();
        row.insert("strategy".into(), json!(name));
        for (engine, lean_engine) in [("simulator", false), ("lean", true)] {
            let mut t = [0.0; 2];
            for (i, rules) in [false, true].into_iter().enumerate() {
                t[i] = per_call(n, 7, || {
                    let mut s = build(rules);
                    if lean_engine {
                        std::hint::black_box(lean::run(&cfg, &md, s.as_mut()).expect("lean case"));
                    } else {
                        std::hint::black_box(sim.run(&md, s.as_mut()));
                    }
                });
            }
            let ratio = t[1] / t[0];
            worst = worst.max(ratio);
            row.insert(
                format!("{engine}_builtin_us"),
                json!((t[0] * 1e7).round() / 10.0),
            );
            row.insert(
                format!("{engine}_rules_us"),
                json!((t[1] * 1e7).round() / 10.0),
            );
            row.insert(
                format!("{engine}_ratio"),
                json!((ratio * 100.0).round() / 100.0),
            );
        }
        let compile = per_call(n, 7, || {
            std::hint::black_box(
                sextant_backtest::rules::program_from_params(&rules_params).expect("compiles"),
            );
        });
        row.insert("compile_us".into(), json!((compile * 1e7).round() / 10.0));
        println!("{}", Value::Object(row));
    }
    println!(
        "{}",
        json!({"bars": md.len(), "runs_per_batch": n, "worst_ratio": (worst * 100.0).round() / 100.0, "goal": 2.0})
    );
}
