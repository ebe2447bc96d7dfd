//! `sextant optimize`: a tuning study in this process, stored like the server's (resumable),
//! printed as a leaderboard with the deflated Sharpe ratio, PBO and the out-of-sample result.

use crate::cmd_backtest::{parse_kv, parse_sizer, sim_config, CostArgs, DataArgs};
use crate::output::table;
use anyhow::{bail, Result};
use clap::Args;
use serde_json::{json, Map, Value};
use sextant_backtest::simulator::Sizer;
use sextant_core::backtest::BacktestRequest;
use sextant_core::tuning::{parse_param, OptimizeRequest, StudyRecord};
use sextant_core::Services;
use sextant_tuning::backtest::{Constraints, Validation};
use sextant_tuning::{PrunerKind, SamplerKind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Args)]
pub struct OptimizeArgs {
    /// Strategy name (see `sextant strategies`).
    #[arg(long, required_unless_present = "strategy_file")]
    strategy: Option<String>,
    /// A user-defined strategy: a definition file in the rule language; --param searches its
    /// declared parameters.
    #[arg(long, conflicts_with = "strategy")]
    strategy_file: Option<std::path::PathBuf>,
    /// A searched parameter: fast=5..50, slow=20..200:5 (step), k=0.5..3.0, k=log:0.01..1,
    /// allow_short=true,false (choices), or a bare name for the schema's range (repeatable).
    #[arg(long = "param", required = true)]
    params: Vec<String>,
    /// A fixed parameter NAME=VALUE (repeatable).
    #[arg(long = "set", value_parser = parse_kv)]
    fixed: Vec<(String, Value)>,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    costs: CostArgs,
    /// Position sizing: all-in, fraction:F, units:N or voltarget:ANNUAL_VOL.
    #[arg(long, default_value = "all-in", value_parser = parse_sizer)]
    sizer: Sizer,
    /// tpe (default for one objective), cmaes, nsga2 (default for several), random or grid.
    #[arg(long)]
    sampler: Option<SamplerKind>,
    /// none (default), median or successive_halving, on walk-forward folds.
    #[arg(long, default_value = "none")]
    pruner: PrunerKind,
    /// Trials in the study.
    #[arg(long, default_value_t = 100)]
    trials: u32,
    /// Trials asked and evaluated together (part of the study's identity).
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// What to maximise: sharpe, sortino, calmar, cagr, total_return, profit_factor,
    /// max_drawdown or a weighted sum like 0.7*sharpe+0.3*calmar (repeat for several).
    #[arg(long = "objective", default_value = "sharpe")]
    objectives: Vec<String>,
    /// Walk forward TRAIN:TEST bars (default 504:126).
    #[arg(long)]
    walk_forward: Option<String>,
    /// Anchored (expanding) training windows.
    #[arg(long)]
    anchored: bool,
    /// Score trials on all bars (the in-sample number other tools report; no out-of-sample).
    #[arg(long, conflicts_with = "walk_forward")]
    in_sample: bool,
    /// Trials with fewer trades fail.
    #[arg(long)]
    min_trades: Option<u32>,
    /// Trials with a deeper drawdown (a fraction, 0.3 = 30 %) fail.
    #[arg(long)]
    max_drawdown: Option<f64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Rows of the leaderboard.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Print the study as JSON.
    #[arg(long)]
    json: bool,
}

fn validation(a: &OptimizeArgs) -> Result<Validation> {
    if a.in_sample {
        return Ok(Validation::InSample);
    }
    let Some(wf) = &a.walk_forward else {
        return Ok(match Validation::default() {
            Validation::WalkForward {
                train_bars,
                test_bars,
                ..
            } => Validation::WalkForward {
                train_bars,
                test_bars,
                anchored: a.anchored,
            },
            v => v,
        });
    };
    let Some((tr, te)) = wf.split_once(':') else {
        bail!("--walk-forward expects TRAIN:TEST, got {wf:?}");
    };
    Ok(Validation::WalkForward {
        train_bars: tr.trim().parse()?,
        test_bars: te.trim().parse()?,
        anchored: a.anchored,
    })
}

fn request(a: &OptimizeArgs) -> Result<OptimizeRequest> {
    a.data.symbols_only("optimize")?;
    if a.data.csv.is_some() {
        bail!("optimize reads the cache; ingest the file first (`sextant ingest --file`)");
    }
    let fixed: Map<String, Value> = a.fixed.iter().cloned().collect();
    let (strategy, params) = crate::cmd_strategy::strategy_and_params(
        a.strategy.as_deref(),
        a.strategy_file.as_deref(),
        fixed,
    )?;
    let backtest = BacktestRequest {
        strategy: strategy.clone(),
        params: params.clone(),
        symbols: a.data.symbols.clone(),
        universe: None,
        resolution: a.data.resolution,
        from: a.data.from,
        to: a.data.to,
        sim: sim_config(&a.costs, a.sizer),
        seed: a.seed,
        periods_per_year: None,
        prices: a.data.prices,
        risk_free: Default::default(),
    };
    let search = a
        .params
        .iter()
        .map(|p| parse_param(&strategy, &params, p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OptimizeRequest {
        backtest,
        search,
        objectives: a.objectives.clone(),
        sampler: a.sampler,
        pruner: a.pruner,
        trials: a.trials,
        batch: a.batch,
        seed: a.seed,
        validation: validation(a)?,
        constraints: Constraints {
            min_trades: a.min_trades,
            max_drawdown: a.max_drawdown,
        },
        name: None,
    })
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64()
        .map_or_else(|| "n/a".into(), |x| format!("{x:.digits$}"))
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "n/a".into(), |x| format!("{:.1}%", x * 100.0))
}

fn print(rec: &StudyRecord, top: usize) {
    let c = rec.counts;
    println!(
        "study {}  {}  {} complete, {} pruned, {} failed",
        rec.id, rec.state, c.complete, c.pruned, c.failed
    );
    let Some(a) = &rec.analysis else {
        println!("no analysis yet: run the same command again to resume the study");
        return;
    };
    let objectives: Vec<String> = a["objectives"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|o| o.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = a["leaderboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .take(top)
                .map(|r| {
                    let mut row = vec![
                        r["rank"].to_string(),
                        r["trial"].to_string(),
                        shown_params(&r["params"]),
                    ];
                    row.extend(
                        r["values"]
                            .as_array()
                            .map(|v| v.iter().map(|x| num(x, 3)).collect::<Vec<_>>())
                            .unwrap_or_default(),
                    );
                    row.extend([
                        num(&r["sharpe"], 2),
                        pct(&r["cagr"]),
                        pct(&r["max_drawdown"]),
                        r["trades"].to_string(),
                    ]);
                    row
                })
                .collect()
        })
        .unwrap_or_default();
    let mut headers: Vec<String> = vec!["#".into(), "trial".into(), "params".into()];
    headers.extend(objectives.iter().map(|o| format!("{o} (train)")));
    headers.extend(["sharpe (all)", "cagr (all)", "max dd (all)", "trades"].map(String::from));
    let h: Vec<&str> = headers.iter().map(String::as_str).collect();
    println!();
    table(&h, &rows);
    let d = &a["deflated_sharpe"];
    let p = &a["pbo"];
    println!(
        "\nbest trial, all bars: deflated Sharpe ratio {} (PSR {}, SR* {} per period over {} trials)",
        num(&d["dsr"], 3),
        num(&d["psr"], 3),
        num(&d["sharpe_star"], 4),
        d["trials"]
    );
    println!(
        "probability of backtest overfitting (CSCV, {} blocks): {}   degradation slope {}   P(loss out of sample) {}",
        p["blocks"],
        num(&p["pbo"], 3),
        num(&p["degradation_slope"], 3),
        num(&p["prob_loss"], 3)
    );
    let o = &a["out_of_sample"];
    if o.is_object() {
        println!(
            "walk-forward out of sample ({} folds): Sharpe {} vs buy and hold {}   CAGR {} vs {}   max dd {} vs {}   PSR {}  P(SR > buy and hold) {}",
            o["folds"].as_array().map_or(0, Vec::len),
            num(&o["sharpe"], 2),
            num(&o["baseline_sharpe"], 2),
            pct(&o["cagr"]),
            pct(&o["baseline_cagr"]),
            pct(&o["max_drawdown"]),
            pct(&o["baseline_max_drawdown"]),
            num(&o["psr"], 3),
            num(&o["psr_vs_baseline"], 3)
        );
    }
    for n in a["notes"].as_array().into_iter().flatten() {
        println!("note: {}", n.as_str().unwrap_or_default());
    }
}

pub async fn optimize(a: OptimizeArgs, s: &Services) -> Result<()> {
    let req = request(&a)?;
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let t0 = Instant::now();
    let rec = s
        .tuning
        .optimize(
            &req,
            None,
            Arc::new(move |_, _| {
                d.fetch_add(1, Ordering::Relaxed);
            }),
            Arc::new(|| false),
        )
        .await?;
    let secs = t0.elapsed().as_secs_f64();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json!(rec))?);
        return Ok(());
    }
    let ran = done.load(Ordering::Relaxed);
    println!(
        "{ran} trials run in {secs:.2} s ({:.0} trials/s, analysis included){}",
        ran as f64 / secs.max(1e-9),
        if ran == 0 {
            "; the study was already complete"
        } else {
            ""
        }
    );
    print(&rec, a.top);
    Ok(())
}

/// A trial's parameters as shown: without a rule definition, which every trial shares.
fn shown_params(params: &Value) -> String {
    let mut p = params.clone();
    if let Some(m) = p.as_object_mut() {
        m.remove("definition");
    }
    p.to_string()
}
