//! Runs per second of one strategy on one symbol: the simulator against the lean engine
//! (`cargo run --release -p sextant-backtest --example bench_lean -- [strategy]`), on the
//! bundled sample's MSFT (3,270 bars).

use serde_json::json;
use sextant_backtest::simulator::{BarSeries, MarketData, SimConfig, TradingSimulator};
use sextant_backtest::strategy::build_strategy;
use sextant_backtest::sweep::lean;
use std::time::Instant;

fn msft() -> BarSeries {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/sample/us-equities-daily-2000-2013.csv.gz"
    );
    let f = std::fs::File::open(path).expect("sample");
    let mut rdr = csv::Reader::from_reader(flate2::read::GzDecoder::new(f));
    let (mut ts, mut o, mut h, mut l, mut c, mut v) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for rec in rdr.records() {
        let r = rec.expect("row");
        if &r[0] != "MSFT" {
            continue;
        }
        let d = chrono::NaiveDate::parse_from_str(&r[1], "%Y-%m-%d").expect("date");
        ts.push(
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp(),
        );
        let x = |i: usize| r[i].parse::<f64>().expect("number");
        o.push(x(2));
        h.push(x(3));
        l.push(x(4));
        c.push(x(5));
        v.push(x(6));
    }
    BarSeries::new("MSFT", ts, o, h, l, c, v).expect("series")
}

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
