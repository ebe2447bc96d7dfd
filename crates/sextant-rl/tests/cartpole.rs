//! CartPole-v1: the port's dynamics against gymnasium's own trajectories, and the agents'
//! sanity test (PPO solves it within 100k steps on every seed; same seed, same checkpoint).

use serde_json::Value;
use sextant_rl::cartpole::{CartPole, MAX_STEPS};
use sextant_rl::env::{Action, Env};
use sextant_rl::ppo::{self, PpoConfig};

#[test]
fn dynamics_equal_gymnasium() {
    let golden: Value =
        serde_json::from_str(include_str!("golden/cartpole.json")).expect("golden json");
    let cases = golden["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    for case in cases {
        let start: Vec<f64> = serde_json::from_value(case["start"].clone()).expect("start");
        let mut env = CartPole::new();
        env.set_state([start[0], start[1], start[2], start[3]]);
        let actions = case["actions"].as_array().expect("actions");
        let steps = case["steps"].as_array().expect("steps");
        for (a, want) in actions.iter().zip(steps) {
            let a = a.as_u64().expect("action") as usize;
            let got = env.step(&Action::Discrete(a)).expect("step");
            let state: Vec<f64> = serde_json::from_value(want["state"].clone()).expect("state");
            for (g, w) in env.state().iter().zip(&state) {
                assert!(
                    (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                    "state {g} vs gymnasium {w}"
                );
            }
            let obs: Vec<f64> = serde_json::from_value(want["obs"].clone()).expect("obs");
            for (g, w) in got.obs.iter().zip(&obs) {
                // The golden file holds each f32 as Python's shortest f64 repr.
                assert_eq!(*g, *w as f32, "the f32 observation");
            }
            assert_eq!(got.reward, want["reward"].as_f64().expect("reward"));
            assert_eq!(
                got.terminated,
                want["terminated"].as_bool().expect("terminated")
            );
        }
    }
    // The last golden step of the second case terminates.
    assert!(cases[1]["steps"]
        .as_array()
        .expect("steps")
        .last()
        .expect("last")["terminated"]
        .as_bool()
        .expect("bool"));
}

#[test]
fn time_limit_and_bad_actions() {
    let mut env = CartPole::new();
    env.reset(Some(3));
    // Balance by hand (push toward the lean) until the limit or a fall.
    let mut steps = 0;
    let mut last = None;
    for _ in 0..MAX_STEPS {
        let [_, _, theta, theta_dot] = env.state();
        let a = usize::from(theta + 0.5 * theta_dot > 0.0);
        let s = env.step(&Action::Discrete(a)).expect("step");
        steps += 1;
        let end = s.terminated || s.truncated;
        last = Some(s);
        if end {
            break;
        }
    }
    let last = last.expect("a step");
    assert!(last.truncated && !last.terminated, "balanced to the limit");
    assert_eq!(steps, MAX_STEPS);
    assert!(env.step(&Action::Discrete(2)).is_err());
    assert!(env.step(&Action::Continuous(vec![0.5])).is_err());
    // Same seed, same first observation.
    let a = env.reset(Some(11));
    let b = env.reset(Some(11));
    assert_eq!(a, b);
}

#[test]
fn ppo_solves_cartpole_on_five_seeds() {
    for seed in 0..5 {
        let cfg = PpoConfig {
            seed,
            ..PpoConfig::default()
        };
        let envs: Vec<CartPole> = (0..8).map(|_| CartPole::new()).collect();
        let (ac, history) = ppo::train(envs, &cfg, |_| true).expect("train");
        assert!(history.last().expect("progress").steps <= 100_000);
        let score = ppo::evaluate(&mut CartPole::new(), &ac, 10, 1000 + seed).expect("eval");
        assert_eq!(score, 500.0, "seed {seed}: greedy mean return {score}");
    }
}

#[test]
fn same_seed_same_checkpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = |seed| {
        let cfg = PpoConfig {
            seed,
            total_steps: 4096,
            ..PpoConfig::default()
        };
        let envs: Vec<CartPole> = (0..8).map(|_| CartPole::new()).collect();
        let (ac, history) = ppo::train(envs, &cfg, |_| true).expect("train");
        let (_, hash) = sextant_rl::checkpoint::save(&ac, dir.path()).expect("save");
        (hash, history)
    };
    let (a, ha) = run(7);
    let (b, hb) = run(7);
    let (c, _) = run(8);
    assert_eq!(a, b, "same seed: the same bytes");
    assert_eq!(ha, hb);
    assert_ne!(a, c, "another seed: other weights");
    // A checkpoint loads back into the same policy.
    let cfg = PpoConfig {
        seed: 7,
        total_steps: 4096,
        ..PpoConfig::default()
    };
    let envs: Vec<CartPole> = (0..8).map(|_| CartPole::new()).collect();
    let (mut ac, _) = ppo::train(envs, &cfg, |_| false).expect("train one rollout");
    sextant_rl::checkpoint::load(&mut ac, &dir.path().join(format!("{a}.safetensors")))
        .expect("load");
    let (_, again) = sextant_rl::checkpoint::save(&ac, dir.path()).expect("save");
    assert_eq!(again, a);
}

#[test]
fn double_dqn_learns_cartpole() {
    use sextant_rl::dqn::{self, DqnConfig};
    let cfg = DqnConfig::default();
    let (policy, history) = dqn::train(CartPole::new(), &cfg, |_| true).expect("train");
    assert!(history.last().expect("progress").steps <= 50_000);
    let score = dqn::evaluate(&mut CartPole::new(), &policy, 10, 2000).expect("eval");
    // Random play lasts ~22 steps; learning means several times that.
    assert!(score >= 195.0, "greedy mean return {score} after 50k steps");
}
