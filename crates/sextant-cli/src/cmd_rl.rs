//! `sextant rl train|ls|show|eval`: reinforcement-learning policies trained on a symbol's daily
//! bars up to a date, evaluated on the bars after it beside buy and hold, flat and the best SMA
//! cross tuned on the training range.

use crate::output::table;
use anyhow::Result;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use sextant_core::rl::{Algo, Evaluation, PolicyRecord, RlTrainRequest};
use sextant_core::Services;
use sextant_domain::Symbol;
use sextant_rl::trading::{Actions, Reward};

/// The RL commands.
#[derive(Subcommand)]
pub enum RlCmd {
    /// Train a policy, checkpoint it, evaluate it out of sample and register it.
    ///
    /// Example: sextant rl train --symbol MSFT --train-to 2009-12-31 --steps 200000 --seed 1
    Train(TrainArgs),
    /// Every registered policy, newest first.
    Ls,
    /// A policy's request, reward curve and evaluation.
    Show(IdArg),
    /// Re-run a policy's evaluation from its checkpoint on the current bars (the same bars
    /// give the same figures and audit hash).
    Eval(IdArg),
}

/// A policy id.
#[derive(Args)]
pub struct IdArg {
    /// `rlp_…`
    id: String,
}

/// What to train.
#[derive(Args)]
pub struct TrainArgs {
    /// The symbol traded.
    #[arg(long)]
    symbol: Symbol,
    /// Last session of the training range; the evaluation uses the bars after it.
    #[arg(long)]
    train_to: NaiveDate,
    /// Last session of the evaluation (default: the newest bar).
    #[arg(long)]
    test_to: Option<NaiveDate>,
    /// ppo or dqn.
    #[arg(long, default_value = "ppo")]
    algo: Algo,
    /// Environment steps.
    #[arg(long, default_value_t = 100_000)]
    steps: usize,
    /// Seed of everything random.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// short_flat_long, long_flat or buckets.
    #[arg(long, default_value = "short_flat_long")]
    actions: Actions,
    /// log_return, drawdown:PENALTY or dsr:ETA (differential Sharpe).
    #[arg(long, default_value = "log_return")]
    reward: String,
    /// Bars per training episode.
    #[arg(long, default_value_t = 252)]
    episode_bars: usize,
    /// Commission as a fraction of notional.
    #[arg(long, default_value_t = 0.001)]
    commission: f64,
    /// Slippage in basis points.
    #[arg(long, default_value_t = 5.0)]
    slippage_bps: f64,
    /// Add regime probabilities to the observation: the states (2 to 4) of a walk-forward HMM
    /// on the symbol's return and volatility.
    #[arg(long)]
    regime_states: Option<usize>,
}

fn reward(s: &str) -> Result<Reward> {
    let num = |v: &str| -> Result<f64> {
        v.parse::<f64>()
            .map_err(|_| anyhow::anyhow!("--reward: {v:?} is not a number"))
    };
    Ok(match s.split_once(':') {
        None if s == "log_return" => Reward::LogReturn,
        Some(("drawdown", p)) => Reward::Drawdown { penalty: num(p)? },
        Some(("dsr", e)) => Reward::DifferentialSharpe { eta: num(e)? },
        _ => anyhow::bail!("--reward: log_return, drawdown:PENALTY or dsr:ETA, not {s:?}"),
    })
}

fn pct(x: f64) -> String {
    format!("{:+.2}%", 100.0 * x)
}

fn print_evaluation(e: &Evaluation) {
    println!(
        "out of sample {} to {} ({} days), costs included:",
        e.from, e.to, e.days
    );
    let rows: Vec<Vec<String>> = [&e.policy, &e.buy_and_hold, &e.flat, &e.best_rule]
        .iter()
        .map(|l| {
            vec![
                l.name.clone(),
                pct(l.total_return),
                l.sharpe.map_or("-".into(), |s| format!("{s:.3}")),
                pct(l.max_drawdown),
                l.trades.to_string(),
            ]
        })
        .collect();
    table(&["", "return", "sharpe", "max dd", "trades"], &rows);
    println!(
        "best rule (tuned on the training range only): sma_cross {}",
        e.best_rule_params
    );
    for (name, b) in [
        ("buy and hold", &e.vs_buy_and_hold),
        ("the best rule", &e.vs_best_rule),
    ] {
        println!(
            "policy vs {name}: daily Sharpe difference {:+.4}, 95% bootstrap CI [{:+.4}, {:+.4}] ({} resamples; not better in {:.1}%)",
            b.sharpe_diff,
            b.sharpe_diff_ci[0],
            b.sharpe_diff_ci[1],
            b.resamples,
            100.0 * b.share_sharpe_not_better
        );
    }
    println!(
        "actions taken: {:?}; audit hash {}",
        e.action_counts,
        &e.audit_hash[..16]
    );
}

fn print_record(r: &PolicyRecord) {
    println!(
        "{}  {} {} on {} (trained on {} to {}, {} steps, seed {}, {:.1} s)",
        r.id,
        r.request.algo,
        r.request.actions,
        r.request.symbol,
        r.train_range[0],
        r.train_range[1],
        r.curve.last().map_or(0, |p| p.steps),
        r.request.seed,
        r.train_secs
    );
    println!(
        "checkpoint {}  data snapshot {}",
        r.checkpoint, r.data_snapshot
    );
    if let Some(g) = &r.regimes {
        println!(
            "regime probabilities observed: {} (known from {}, {} walk-forward fits)",
            g.columns.join(", "),
            g.first_labelled,
            g.fits
        );
    }
    let shown: Vec<String> = r
        .curve
        .iter()
        .step_by((r.curve.len() / 10).max(1))
        .map(|p| format!("{}:{:.3}", p.steps, p.mean_return))
        .collect();
    println!(
        "reward curve (steps:mean episode return): {}",
        shown.join(" ")
    );
    print_evaluation(&r.evaluation);
}

/// Runs one RL command.
pub async fn run(cmd: RlCmd, s: &Services) -> Result<()> {
    match cmd {
        RlCmd::Train(a) => {
            let req = RlTrainRequest {
                symbol: a.symbol,
                train_to: a.train_to,
                test_to: a.test_to,
                algo: a.algo,
                steps: a.steps,
                seed: a.seed,
                actions: a.actions,
                reward: reward(&a.reward)?,
                episode_bars: a.episode_bars,
                commission_pct: a.commission,
                slippage_bps: a.slippage_bps,
                regime_states: a.regime_states,
            };
            let r = s.rl.train(req).await?;
            print_record(&r);
        }
        RlCmd::Ls => {
            let rows: Vec<Vec<String>> =
                s.rl.list()
                    .await?
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.request.symbol.to_string(),
                            r.request.algo.to_string(),
                            r.train_range[1].to_string(),
                            pct(r.evaluation.policy.total_return),
                            pct(r.evaluation.buy_and_hold.total_return),
                            r.created_at.format("%Y-%m-%d %H:%M").to_string(),
                        ]
                    })
                    .collect();
            table(
                &[
                    "id",
                    "symbol",
                    "algo",
                    "trained to",
                    "oos return",
                    "buy & hold",
                    "created",
                ],
                &rows,
            );
        }
        RlCmd::Show(IdArg { id }) => print_record(&s.rl.get(&id).await?),
        RlCmd::Eval(IdArg { id }) => {
            let r = s.rl.get(&id).await?;
            let trained_on = r.data_snapshot.clone();
            let (e, snap) = s.rl.reevaluate(&r).await?;
            if snap != trained_on {
                println!("note: the bars changed since training (snapshot {snap}; trained on {trained_on})");
            }
            print_evaluation(&e);
        }
    }
    Ok(())
}
