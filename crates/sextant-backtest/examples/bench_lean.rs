//! Runs per second of one strategy on one symbol: the simulator against the lean engine
//! (`cargo run --release -p sextant-backtest --example bench_lean -- [strategy]`), on the
//! bundled sample's MSFT (3,270 bars).

use serde_json::json;
#[path = "shared/sample.rs"]
mod sample;

use sample::msft;
use sextant_backtest::simulator::{MarketData, SimConfig, TradingSimulator};
use sextant_backtest::strategy::build_strategy;
use sextant_backtest::sweep::lean;
use std::time::Instant;

fn main() {
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sma_cross".into());
    let md = MarketData::single(msft()).expect("data");
    let cfg = SimConfig::default();
    let sim = TradingSimulator::new(cfg).expect("config");
    let params = json!({});
    let runs = 2000;
    let t0 = Instant::now();
    for _ in 0..runs {
        let mut s = build_strategy(&name, &params).expect("strategy");
        std::hint::black_box(sim.run(&md, s.as_mut()));
    }
    let a = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    for _ in 0..runs {
        let mut s = build_strategy(&name, &params).expect("strategy");
        std::hint::black_box(lean::run(&cfg, &md, s.as_mut()).expect("lean"));
    }
    let b = t0.elapsed().as_secs_f64();
    println!(
        "{name} on {} bars: simulator {:.1} µs/run, lean {:.1} µs/run ({:.1}x)",
        md.len(),
        a / runs as f64 * 1e6,
        b / runs as f64 * 1e6,
        a / b
    );
}
