//! Throughput of the sweep engine and latency of one simulator run, on the bundled real data.
//!
//! `cargo run --release -p sextant-backtest --example bench_sweep [-- REPEATS [VECTORBT_JSON]]`
//!
//! Prints the full SMA grid (fast 2..=100 × slow fast+1..=200 = 14,751 combinations) on AAPL,
//! GOOG, IBM and MSFT daily closes, with vectorbt's semantics (signal-bar close fills, 0.2% fees,
//! whole shares): bar-evaluations per second, wall time (median of REPEATS runs after one
//! warm-up), process CPU time, peak RSS (VmHWM), and the median time of one 10-year daily
//! `sma_cross` backtest of one symbol held in memory. With the `--out` file of
//! `scripts/bench/vectorbt_sweep.py` it also reports how many combinations agree with vectorbt.

use serde_json::json;
use sextant_backtest::simulator::{
    BarSeries, Costs, FillTiming, MarketData, SimConfig, SizingConvention, TradingSimulator,
};
use sextant_backtest::strategy::build_strategy;
use sextant_backtest::sweep::{sweep_sma_cross, SmaGrid, SweepConfig, SymbolSweep};
use std::collections::BTreeMap;
use std::io::Read;
use std::time::Instant;

fn load(path: &str) -> Result<BTreeMap<String, BarSeries>, Box<dyn std::error::Error>> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut text)?;
    let mut rows: BTreeMap<String, Vec<(String, [f64; 5])>> = BTreeMap::new();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    for rec in rdr.records() {
        let rec = rec?;
        let mut v = [0.0; 5];
        for (i, x) in v.iter_mut().enumerate() {
            *x = rec[2 + i].parse()?;
        }
        rows.entry(rec[0].to_string())
            .or_default()
            .push((rec[1].to_string(), v));
    }
    let mut out = BTreeMap::new();
    for (sym, mut r) in rows {
        r.sort_by(|a, b| a.0.cmp(&b.0));
        let col = |i: usize| r.iter().map(|x| x.1[i]).collect::<Vec<f64>>();
        // The bench only needs increasing timestamps: bar index in days.
        let ts = (0..r.len() as i64).map(|i| i * 86_400).collect();
        out.insert(
            sym.clone(),
            BarSeries::new(sym, ts, col(0), col(1), col(2), col(3), col(4))?,
        );
    }
    Ok(out)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// User + system CPU seconds of this process so far (from /proc/self/stat, 100 Hz ticks).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of the line, i.e. 11 and 12 after the ")".
    field(11)
        .zip(field(12))
        .map_or(f64::NAN, |(u, s)| (u + s) / 100.0)
}

/// Compares final values and trade counts with vectorbt's (`vectorbt_sweep.py --out`).
fn compare_vectorbt(path: &str, ours: &[SymbolSweep]) -> Result<(), Box<dyn std::error::Error>> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let (mut same_value, mut same_trades, mut total) = (0, 0, 0);
    for s in ours {
        let theirs = &v["symbols"][&s.symbol];
        for (i, c) in s.combos.iter().enumerate() {
            let fv = theirs["final_value"][i].as_f64().unwrap_or(f64::NAN);
            let tr = theirs["trades"][i].as_u64().unwrap_or(u64::MAX);
            total += 1;
            same_value += usize::from((c.final_equity - fv).abs() <= 1e-9 * fv.abs());
            same_trades += usize::from(u64::from(c.trades) == tr);
        }
    }
    println!("vs vectorbt: final value equal (1e-9) in {same_value}/{total} combos, trade count in {same_trades}/{total}");
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let repeats: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(7);
    let vectorbt = std::env::args().nth(2);
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/sample/us-equities-daily-2000-2013.csv.gz"
    );
    let data = load(root)?;
    let series: Vec<BarSeries> = ["AAPL", "GOOG", "IBM", "MSFT"]
        .iter()
        .map(|s| data[*s].clone())
        .collect();
    let grid = SmaGrid {
        fast: 2..=100,
        slow: 3..=200,
    };
    let cfg = SweepConfig {
        fill: FillTiming::SignalClose,
        convention: SizingConvention::VectorBt,
        costs: Costs {
            commission_pct: 0.002,
            ..Costs::default()
        },
        ..SweepConfig::default()
    };
    let bars: usize = series.iter().map(BarSeries::len).sum();
    let evals = (grid.len() * bars) as f64;

    let warm = sweep_sma_cross(&series, &grid, &cfg)?;
    let mut walls = Vec::with_capacity(repeats);
    let cpu0 = cpu_seconds();
    for _ in 0..repeats.max(1) {
        let t0 = Instant::now();
        let out = sweep_sma_cross(&series, &grid, &cfg)?;
        walls.push(t0.elapsed().as_secs_f64());
        assert_eq!(out, warm, "sweeps must be deterministic");
    }
    let cpu = (cpu_seconds() - cpu0) / walls.len() as f64;
    let wall = median(walls.clone());
    println!(
        "sweep: {} combos x {} symbols, {:.1}M bar-evaluations, {} threads",
        grid.len(),
        series.len(),
        evals / 1e6,
        rayon::current_num_threads()
    );
    println!(
        "sweep wall: median {:.4} s, min {:.4} s over {} runs",
        wall,
        walls.iter().copied().fold(f64::INFINITY, f64::min),
        walls.len()
    );
    println!(
        "sweep throughput: {:.0}M bar-evals/s (median run)",
        evals / wall / 1e6
    );
    println!(
        "sweep CPU time: {cpu:.3} s per run ({:.0}M bar-evals per CPU-second)",
        evals / cpu / 1e6
    );
    for s in &warm {
        if let Some(b) = s.best() {
            println!(
                "  best {}: fast {} slow {} final {:.2} trades {} sharpe {:.3} maxdd {:.3}",
                s.symbol, b.fast, b.slow, b.final_equity, b.trades, b.sharpe, b.max_drawdown
            );
        }
    }

    if let Some(path) = vectorbt {
        compare_vectorbt(&path, &warm)?;
    }

    // One 10-year daily backtest (the last 2,520 MSFT bars) through the full simulator.
    let msft = &data["MSFT"];
    let ten_years = msft.len().min(2520);
    let cut = BarSeries::new(
        "MSFT",
        msft.ts()[msft.len() - ten_years..].to_vec(),
        msft.open()[msft.len() - ten_years..].to_vec(),
        msft.high()[msft.len() - ten_years..].to_vec(),
        msft.low()[msft.len() - ten_years..].to_vec(),
        msft.close()[msft.len() - ten_years..].to_vec(),
        msft.volume()[msft.len() - ten_years..].to_vec(),
    )?;
    let md = MarketData::single(cut)?;
    let sim = TradingSimulator::new(SimConfig {
        fill: FillTiming::NextOpen,
        ..cfg.sim_config()
    })?;
    let params = json!({"fast": 10, "slow": 20});
    let mut times = Vec::new();
    let mut final_equity = 0.0;
    for _ in 0..2000 {
        let t0 = Instant::now();
        let mut strat = build_strategy("sma_cross", &params)?;
        let res = sim.run(&md, strat.as_mut());
        times.push(t0.elapsed().as_secs_f64() * 1e6);
        final_equity = res.final_equity();
    }
    println!("single backtest ({ten_years} bars, sma_cross 10/20, next open): median {:.1} us, min {:.1} us over {} runs (final equity {final_equity:.2})", median(times.clone()), times.iter().copied().fold(f64::INFINITY, f64::min), times.len());
    println!("peak RSS (VmHWM): {:.1} MiB", peak_rss_mib());
    Ok(())
}
