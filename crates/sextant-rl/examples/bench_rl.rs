//! `cargo run --release -p sextant-rl --example bench_rl`: environment throughput on one core
//! with random actions (the trading environment on the bundled MSFT daily bars, 252-bar
//! episodes, costs on; CartPole), and PPO's training throughput on CartPole and the trading
//! environment (environment steps per second, updates included, the median of five runs; PPO
//! uses two threads, as PyTorch does for SB3 on this machine). Figures only; `scripts/bench-rl`
//! puts SB3's beside them.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sextant_backtest::simulator::{BarSeries, Costs, MarketData, SimConfig};
use sextant_rl::cartpole::CartPole;
use sextant_rl::env::{Action, Env};
use sextant_rl::ppo::{self, PpoConfig};
use sextant_rl::trading::{Observations, TradingConfig, TradingEnv};
use std::sync::Arc;
use std::time::Instant;

fn steps_per_second(env: &mut dyn Env, n_actions: usize, steps: usize) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    env.reset(Some(0));
    let t = Instant::now();
    for _ in 0..steps {
        let a = Action::Discrete(rng.gen_range(0..n_actions));
        match env.step(&a) {
            Ok(s) if s.terminated || s.truncated => {
                env.reset(None);
            }
            Ok(_) => {}
            Err(e) => panic!("step: {e}"),
        }
    }
    steps as f64 / t.elapsed().as_secs_f64()
}

/// PPO runs per figure (the median is reported: a run lasts under a second here).
const RUNS: usize = 5;

/// Trains PPO on `envs`: (steps, seconds, the agent).
fn timed<E: sextant_rl::env::Env>(
    envs: Vec<E>,
    cfg: &PpoConfig,
) -> Result<(usize, f64, ppo::ActorCritic), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let (ac, history) = ppo::train(envs, cfg, |_| true)?;
    let secs = t.elapsed().as_secs_f64();
    Ok((history.last().map_or(0, |p| p.steps), secs, ac))
}

/// The run of median time.
fn median(runs: &mut [(usize, f64)]) -> (usize, f64) {
    runs.sort_by(|a, b| a.1.total_cmp(&b.1));
    runs[runs.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cache = sextant_data::Cache::open_in_memory()?;
    cache.ingest_sample()?;
    let sym = sextant_domain::Symbol::new("MSFT")?;
    let bars = cache.bars(&sym, sextant_domain::Resolution::Daily, None, None)?;
    let data = Arc::new(MarketData::single(BarSeries::from_bars(&bars)?)?);
    let obs = Arc::new(Observations::build(&data, None)?);
    let trading_cfg = TradingConfig {
        sim: SimConfig {
            costs: Costs {
                commission_pct: 0.001,
                commission_fixed: 0.0,
                slippage_bps: 5.0,
            },
            ..SimConfig::default()
        },
        ..TradingConfig::default()
    };
    let mut env = TradingEnv::new(Arc::clone(&data), Arc::clone(&obs), trading_cfg.clone())?;
    let n = 2_000_000;
    println!(
        "trading env (MSFT daily, {} bars, 252-bar episodes, 3 actions, costs on), random actions, one core: {:.0} steps/s",
        data.len(),
        steps_per_second(&mut env, 3, n)
    );
    let mut cp = CartPole::new();
    println!(
        "CartPole-v1, random actions, one core: {:.0} steps/s",
        steps_per_second(&mut cp, 2, 5_000_000)
    );
    let cfg = PpoConfig::default();
    let mut runs = Vec::new();
    let mut score = f64::NAN;
    for _ in 0..RUNS {
        let envs: Vec<CartPole> = (0..8).map(|_| CartPole::new()).collect();
        let (steps, secs, ac) = timed(envs, &cfg)?;
        score = ppo::evaluate(&mut CartPole::new(), &ac, 10, 1000)?;
        runs.push((steps, secs));
    }
    let (steps, secs) = median(&mut runs);
    println!(
        "PPO on CartPole-v1 (rl-zoo settings, 8 envs, 2 threads): {steps} steps in {secs:.2} s = {:.0} steps/s (median of {RUNS} runs), greedy mean return {score}",
        steps as f64 / secs
    );
    // PPO with the RL service's settings on the trading environment (training range: the
    // first 2,500 bars), 8 environments.
    let train_cfg = TradingConfig {
        to: Some(2500),
        ..trading_cfg
    };
    let ppo_cfg = PpoConfig::trading(49_152, 0);
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let envs = (0..8)
            .map(|_| TradingEnv::new(Arc::clone(&data), Arc::clone(&obs), train_cfg.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let (steps, secs, _) = timed(envs, &ppo_cfg)?;
        runs.push((steps, secs));
    }
    let (steps, secs) = median(&mut runs);
    println!(
        "PPO on the trading env (8 envs, n_steps 256, 10 epochs, 2 threads): {steps} steps in {secs:.2} s = {:.0} steps/s (median of {RUNS} runs)",
        steps as f64 / secs
    );
    Ok(())
}
