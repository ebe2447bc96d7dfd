//! The trading environment on the bundled real data: observations are point in time, fills and
//! costs are the simulator's (an episode's equity equals a backtest of the same decisions), and
//! the same seed gives the same episodes.

use sextant_backtest::simulator::{Context, Costs, SimConfig, Target, TradingSimulator};
use sextant_backtest::strategy::Strategy;
use sextant_rl::env::{Action, Env};
use sextant_rl::trading::{Actions, Observations, Reward, TradingConfig, TradingEnv};
use std::sync::Arc;

use crate::common;
use common::msft;

fn costly() -> SimConfig {
    SimConfig {
        costs: Costs {
            commission_pct: 0.001,
            commission_fixed: 0.0,
            slippage_bps: 5.0,
        },
        ..SimConfig::default()
    }
}

#[test]
fn observations_are_point_in_time() {
    let data = msft();
    let full = Observations::build(&data, None).expect("obs");
    for n in [30, 400, 2000] {
        let cut = Observations::build(&data.truncated(n), None).expect("obs");
        for t in 0..n {
            assert_eq!(cut.row(t), full.row(t), "row {t} with the data cut at {n}");
        }
    }
    // And what the agent sees through the environment.
    let cfg = TradingConfig {
        episode_bars: 50,
        ..TradingConfig::default()
    };
    let mut env =
        TradingEnv::new(Arc::new(data.clone()), Arc::new(full), cfg.clone()).expect("env");
    let cut_data = data.truncated(600);
    let cut_obs = Observations::build(&cut_data, None).expect("obs");
    let mut cut_env = TradingEnv::new(Arc::new(cut_data), Arc::new(cut_obs), cfg).expect("env");
    let (mut a, mut b) = (env.reset_at(500), cut_env.reset_at(500));
    for k in 0..50 {
        assert_eq!(a, b, "step {k}");
        let act = Action::Discrete([2, 2, 1, 0, 0][k % 5]);
        let (sa, sb) = (
            env.step(&act).expect("step"),
            cut_env.step(&act).expect("step"),
        );
        assert_eq!(sa.reward, sb.reward);
        if sa.truncated {
            break;
        }
        (a, b) = (sa.obs, sb.obs);
    }
}

/// Replays a fixed list of targets from bar `from` on: what the environment's actions mean.
struct Replay {
    from: usize,
    targets: Vec<Target>,
}

impl Strategy for Replay {
    fn name(&self) -> &str {
        "replay"
    }

    fn on_bar(&mut self, ctx: &mut Context<'_>) {
        let t = ctx.view().t();
        if t >= self.from {
            if let Some(target) = self.targets.get(t - self.from) {
                ctx.target(0, *target);
            }
        }
    }
}

#[test]
fn equity_equals_a_backtest_of_the_same_decisions() {
    let data = msft();
    let obs = Observations::build(&data, None).expect("obs");
    let cfg = TradingConfig {
        episode_bars: 300,
        sim: costly(),
        ..TradingConfig::default()
    };
    let mut env = TradingEnv::new(Arc::new(data.clone()), Arc::new(obs), cfg).expect("env");
    let start = 1000;
    env.reset_at(start);
    let choice = [2usize, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0];
    let mut targets = Vec::new();
    let mut log_sum = 0.0;
    for k in 0..300 {
        let a = choice[(k * 7 + k / 3) % choice.len()];
        targets.push([Target::Short, Target::Flat, Target::Long][a]);
        let s = env.step(&Action::Discrete(a)).expect("step");
        log_sum += s.reward;
        if s.truncated {
            break;
        }
    }
    let sim = TradingSimulator::new(costly()).expect("sim");
    let mut strategy = Replay {
        from: start,
        targets: targets.clone(),
    };
    let bt = sim.run(&data, &mut strategy);
    // The backtest holds cash until `start`, so its equity at `start` is the initial cash, and
    // at `start + 300` it is where the episode ended (last fill at that bar's open, marked to its
    // close).
    let end = start + targets.len();
    let e_bt = bt.equity[end] / bt.equity[start];
    let e_env = log_sum.exp();
    assert!(
        (e_bt / e_env - 1.0).abs() < 1e-12,
        "backtest growth {e_bt} vs the episode's {e_env}"
    );
    assert!(bt.trades.len() > 10, "the decisions traded");
}

#[test]
fn same_seed_same_episodes_and_rewards_shape() {
    let data = Arc::new(msft());
    let obs = Arc::new(Observations::build(&data, None).expect("obs"));
    let play = |reward: Reward, seed: u64| {
        let cfg = TradingConfig {
            reward,
            episode_bars: 60,
            actions: Actions::Buckets,
            ..TradingConfig::default()
        };
        let mut env = TradingEnv::new(Arc::clone(&data), Arc::clone(&obs), cfg).expect("env");
        let mut out = vec![];
        for ep in 0..3 {
            let o = env.reset(if ep == 0 { Some(seed) } else { None });
            out.push((env.bar(), o[0]));
            for k in 0..60 {
                let s = env.step(&Action::Discrete((k + ep) % 5)).expect("step");
                out.push((k, s.reward as f32));
                if s.truncated || s.terminated {
                    break;
                }
            }
        }
        out
    };
    for r in [
        Reward::LogReturn,
        Reward::Drawdown { penalty: 2.0 },
        Reward::DifferentialSharpe { eta: 0.01 },
    ] {
        assert_eq!(play(r, 5), play(r, 5), "{r:?}: same seed, same run");
        assert_ne!(play(r, 5), play(r, 6), "{r:?}: another seed, other windows");
    }
}

#[test]
fn bad_configuration_and_actions_are_errors() {
    let data = Arc::new(msft());
    let obs = Arc::new(Observations::build(&data, None).expect("obs"));
    let with = |cfg: TradingConfig| TradingEnv::new(Arc::clone(&data), Arc::clone(&obs), cfg);
    assert!(with(TradingConfig {
        episode_bars: 1,
        ..TradingConfig::default()
    })
    .is_err());
    assert!(with(TradingConfig {
        episode_bars: 100_000,
        ..TradingConfig::default()
    })
    .is_err());
    assert!(with(TradingConfig {
        reward: Reward::DifferentialSharpe { eta: 1.5 },
        ..TradingConfig::default()
    })
    .is_err());
    let mut env = with(TradingConfig {
        episode_bars: 5,
        ..TradingConfig::default()
    })
    .expect("env");
    env.reset(Some(1));
    assert!(
        env.step(&Action::Discrete(3)).is_err(),
        "three actions: 0..3"
    );
    assert!(env.step(&Action::Continuous(vec![0.1])).is_err());
    for _ in 0..5 {
        env.step(&Action::Discrete(1)).expect("step");
    }
    assert!(
        env.step(&Action::Discrete(1)).is_err(),
        "the episode has ended"
    );
}
