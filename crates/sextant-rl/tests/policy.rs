//! A trained policy replayed in a backtest: deterministic (same checkpoint and data, same audit
//! trail and trades), and the same decisions as a greedy episode of the training environment.

use sextant_backtest::simulator::TradingSimulator;
use sextant_rl::env::{Action, Env};
use sextant_rl::policy::{obs_hash, PolicyStrategy};
use sextant_rl::ppo::{self, PpoConfig};
use sextant_rl::trading::{Observations, TradingConfig, TradingEnv};
use std::sync::Arc;

use crate::common;
use common::msft;

#[test]
fn replay_is_deterministic_and_matches_the_environment() {
    let data = Arc::new(msft());
    let obs = Arc::new(Observations::build(&data, None).expect("obs"));
    let cfg = TradingConfig {
        episode_bars: 64,
        to: Some(2000),
        ..TradingConfig::default()
    };
    let envs: Vec<TradingEnv> = (0..4)
        .map(|_| TradingEnv::new(Arc::clone(&data), Arc::clone(&obs), cfg.clone()).expect("env"))
        .collect();
    let ppo_cfg = PpoConfig {
        total_steps: 4096,
        n_steps: 64,
        batch_size: 64,
        n_epochs: 4,
        gamma: 0.99,
        gae_lambda: 0.95,
        learning_rate: 3e-4,
        seed: 3,
        ..PpoConfig::default()
    };
    let (ac, _) = ppo::train(envs, &ppo_cfg, |_| true).expect("train");

    // Out of sample: bars 2000..2300, after the training range.
    let (from, to) = (2000, 2300);
    let sim = TradingSimulator::new(cfg.sim).expect("sim");
    let cut = data.truncated(to + 1);
    let run = |ac: &ppo::ActorCritic| {
        let mut s = PolicyStrategy::new(Box::new(ac.clone()), Arc::clone(&obs), cfg.actions, from);
        let r = sim.run(&cut, &mut s);
        (r, s.audit().to_vec())
    };
    let (r1, a1) = run(&ac);
    let (r2, a2) = run(&ac);
    assert_eq!(a1, a2, "same checkpoint and data: the same audit trail");
    assert_eq!(r1.trades, r2.trades);
    assert_eq!(r1.equity, r2.equity);
    assert_eq!(a1.first().expect("decisions").bar, from);

    // The environment's greedy episode over the same window takes the same actions.
    let mut env = TradingEnv::new(
        Arc::clone(&data),
        Arc::clone(&obs),
        TradingConfig {
            to: None,
            ..cfg.clone()
        },
    )
    .expect("env");
    let mut o = env.reset_window(from, to);
    let mut log_growth = 0.0;
    for (k, row) in a1.iter().enumerate().take(to - from) {
        assert_eq!(obs_hash(&o), row.obs_hash, "observation at bar {}", row.bar);
        let a = ac.greedy(&o);
        assert_eq!(a, row.action, "action at decision {k}");
        let s = env.step(&Action::Discrete(a)).expect("step");
        log_growth += s.reward;
        o = s.obs;
        if s.truncated || s.terminated {
            break;
        }
    }
    let bt_growth = r1.equity[to] / r1.equity[from];
    assert!(
        (bt_growth / log_growth.exp() - 1.0).abs() < 1e-12,
        "backtest {bt_growth} vs episode {}",
        log_growth.exp()
    );
}
