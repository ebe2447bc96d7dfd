//! `sextant bench --tuning`: the sampler parity and speed study against Optuna
//! (`scripts/bench-tuning` runs `scripts/tuning/optuna_peer.py` in the same run and compares):
//! Branin, Hartmann-6 and the in-sample Sharpe of an SMA cross on the bundled GOOG, 20 seeds ×
//! 100 trials each with TPE and CMA-ES asked one at a time (as Optuna's loop does); the
//! sampler's time per ask with 1,000 and 10,000 trials of history; end-to-end trials/s of a
//! 200-trial TPE study on the SMA cross, one at a time and in batches of 8 on all cores.

use anyhow::{Context, Result};
use serde_json::{json, Value};
use sextant_backtest::run::BacktestRequest;
use sextant_core::backtest::BacktestService;
use sextant_data::cache::FileOptions;
use sextant_data::Cache;
use sextant_tuning::backtest::{BacktestObjective, Constraints, Metric, ObjectiveExpr, Validation};
use sextant_tuning::functions::TestFunction;
use sextant_tuning::runner::{run, Objective, RunConfig};
use sextant_tuning::{
    Direction, Distribution, Outcome, Param, PrunerKind, SamplerKind, SearchSpace, Study, StudySpec,
};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn int(name: &str, low: i64, high: i64) -> Param {
    Param {
        name: name.into(),
        distribution: Distribution::Int {
            low,
            high,
            step: 1,
            log: false,
        },
        condition: None,
    }
}

/// The SMA-cross objective on the bundled GOOG (total-return prices), in sample.
fn sma_goog(dir: &Path) -> Result<BacktestObjective> {
    let sample = dir.join(sextant_data::providers::sample::FILE_NAME);
    std::fs::write(&sample, sextant_data::providers::sample::BYTES)?;
    let cache = Cache::open(&dir.join("bench-tuning.duckdb"))?;
    cache.ingest_file(&sample, &FileOptions::default())?;
    let req: BacktestRequest = serde_json::from_value(json!({
        "strategy": "sma_cross", "symbols": ["GOOG"]
    }))?;
    let data = BacktestService::load(&cache, &req)?;
    // The peer trades exactly these bars.
    let bars = cache.bars_on(&req.symbols[0], req.resolution, None, None, req.prices)?;
    let mut csv = String::from("ts,open,high,low,close,volume\n");
    for b in &bars {
        csv.push_str(&format!(
            "{},{:?},{:?},{:?},{:?},{:?}\n",
            b.ts.date(),
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume
        ));
    }
    std::fs::write(dir.join("goog.csv"), csv)?;
    Ok(BacktestObjective::new(
        "sma_cross",
        Arc::new(data.market),
        req.sim,
        Validation::InSample,
        vec![ObjectiveExpr::metric(Metric::Sharpe)],
        Constraints::default(),
        252.0,
    )?)
}

fn study(space: SearchSpace, dir: Direction, sampler: SamplerKind, seed: u64) -> Result<Study> {
    Ok(Study::new(StudySpec {
        space,
        directions: vec![dir],
        sampler,
        pruner: PrunerKind::None,
        seed,
    })?)
}

/// Runs `trials` trials one at a time, timing the asks; returns (best, wall s, ask ms total).
fn sequential(s: &mut Study, obj: &dyn Objective, trials: u32) -> Result<(f64, f64, f64)> {
    let t0 = Instant::now();
    let mut ask_ms = 0.0;
    for _ in 0..trials {
        let a = Instant::now();
        let t = s.ask(1).pop().context("the sampler ran out")?;
        ask_ms += a.elapsed().as_secs_f64() * 1e3;
        let params = s.spec().space.to_json(&t.params, &Default::default());
        let out = obj.evaluate(&params, &|_| false);
        s.tell(t.number, out, 0.0)?;
    }
    let best = s.ranked().first().map_or(f64::NAN, |t| t.values[0]);
    Ok((best, t0.elapsed().as_secs_f64(), ask_ms))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    (v[(n - 1) / 2] + v[n / 2]) / 2.0
}

/// Tells trial `t` of a Branin study its value.
fn tell_branin(s: &mut Study, t: &sextant_tuning::Trial) -> Result<()> {
    let x: Vec<f64> = ["x1", "x2"].iter().map(|k| t.params[*k]).collect();
    let values = vec![TestFunction::Branin.value(&x)];
    s.tell(
        t.number,
        Outcome::Complete {
            values,
            intermediate: Vec::new(),
        },
        0.0,
    )?;
    Ok(())
}

/// Median ms of 20 TPE asks on Branin with `n` random trials of history.
fn overhead(n: u32) -> Result<f64> {
    let space = TestFunction::Branin.space();
    let mut history = study(space.clone(), Direction::Minimize, SamplerKind::Random, 0)?;
    for _ in 0..n {
        let t = history.ask(1).pop().context("random never runs out")?;
        tell_branin(&mut history, &t)?;
    }
    let tpe = study(space, Direction::Minimize, SamplerKind::Tpe, 0)?;
    let mut s = Study::resume(tpe.spec().clone(), history.trials().to_vec())?;
    let mut times = Vec::new();
    for _ in 0..20 {
        let a = Instant::now();
        let t = s.ask(1).pop().context("tpe never runs out")?;
        times.push(a.elapsed().as_secs_f64() * 1e3);
        tell_branin(&mut s, &t)?;
    }
    Ok(median(times))
}

/// Runs the study and writes `dir/sextant.json` (the schema of `optuna_peer.py`).
pub fn run_bench(dir: &Path, seeds: u64, trials: u32) -> Result<()> {
    let sma = sma_goog(dir)?;
    let sma_space = SearchSpace {
        params: vec![int("fast", 5, 50), int("slow", 20, 200)],
    };
    let studies: Vec<(&str, &dyn Objective, SearchSpace, Direction)> = vec![
        (
            "branin",
            &TestFunction::Branin,
            TestFunction::Branin.space(),
            Direction::Minimize,
        ),
        (
            "hartmann6",
            &TestFunction::Hartmann6,
            TestFunction::Hartmann6.space(),
            Direction::Minimize,
        ),
        ("sma_goog", &sma, sma_space.clone(), Direction::Maximize),
    ];
    let mut runs = Vec::new();
    for (name, obj, space, dir_) in &studies {
        for sampler in [SamplerKind::Tpe, SamplerKind::Cmaes] {
            let mut bests = Vec::new();
            for seed in 0..seeds {
                let mut s = study(space.clone(), *dir_, sampler, seed)?;
                let (best, wall, ask_ms) = sequential(&mut s, *obj, trials)?;
                let failed = s
                    .trials()
                    .iter()
                    .filter(|t| t.state == sextant_tuning::TrialState::Failed)
                    .count();
                bests.push(best);
                runs.push(
                    json!({"study": name, "sampler": sampler.to_string(), "seed": seed,
                    "trials": trials, "failed": failed, "best": best, "wall_s": wall,
                    "ask_ms_total": ask_ms}),
                );
            }
            println!("{name:<10} {sampler:<6} median best {:.6}", median(bests));
        }
    }
    let mut overheads = Vec::new();
    for n in [1_000, 10_000] {
        let ms = overhead(n)?;
        println!("overhead: history {n}: median ask {ms:.3} ms");
        overheads
            .push(json!({"history": n, "source": "synthetic", "asks": 20, "ask_ms_median": ms}));
    }
    // End to end on the SMA cross: one at a time, then batches of 8 on all cores.
    let mut s = study(sma_space.clone(), Direction::Maximize, SamplerKind::Tpe, 0)?;
    let (_, wall, _) = sequential(&mut s, &sma, 200)?;
    println!(
        "throughput: 200 trials one at a time in {wall:.2} s = {:.1} trials/s",
        200.0 / wall
    );
    let mut s = study(sma_space, Direction::Maximize, SamplerKind::Tpe, 0)?;
    let cfg = RunConfig {
        n_trials: 200,
        batch: 8,
        fixed: Default::default(),
    };
    let t0 = Instant::now();
    run::<()>(
        &mut s,
        &sma,
        &cfg,
        &mut |_| Ok(()),
        &mut |_| Ok(()),
        &|| false,
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let wall8 = t0.elapsed().as_secs_f64();
    println!(
        "throughput: 200 trials in batches of 8 on {} threads in {wall8:.2} s = {:.1} trials/s",
        rayon::current_num_threads(),
        200.0 / wall8
    );
    let doc: Value = json!({
        "engine": format!("sextant {}", env!("CARGO_PKG_VERSION")),
        "runs": runs,
        "overhead": overheads,
        "throughput": {"trials": 200, "wall_s": wall, "trials_per_s": 200.0 / wall,
                       "batched": {"batch": 8, "threads": rayon::current_num_threads(),
                                   "wall_s": wall8, "trials_per_s": 200.0 / wall8}},
    });
    std::fs::write(
        dir.join("sextant.json"),
        serde_json::to_string_pretty(&doc)?,
    )?;
    println!("wrote {}", dir.join("sextant.json").display());
    Ok(())
}
