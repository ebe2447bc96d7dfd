//! Proximal policy optimisation (Schulman et al. 2017) as Stable-Baselines3 runs it: separate
//! policy and value MLPs, rollouts of `n_steps` on each of the vectorised environments,
//! generalised advantage estimation, `n_epochs` passes of shuffled minibatches with the clipped
//! objective, advantages normalised per minibatch, value loss without clipping, gradients
//! clipped to a global norm, Adam, and the learning rate and clip range annealed linearly to 0.
//! A time-limit truncation bootstraps from the value of the final observation (SB3's rule).
//!
//! Everything random (initial weights, action sampling, minibatch order, environment seeds)
//! comes from ChaCha generators seeded by [`PpoConfig::seed`]: the same seed, environments and
//! configuration give the same weights to the bit.

use crate::env::{ActionSpace, Env};
use crate::epochs::{self, Learner, Plan};
use crate::fused::{FlatMlp, LossWeights};
use crate::nn::Mlp;
use crate::rollout::{Gae, Lanes};
use crate::{Result, RlError};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// PPO's hyperparameters (defaults: rl-baselines3-zoo's CartPole-v1 settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpoConfig {
    /// Environment steps in all (over every environment).
    pub total_steps: usize,
    /// Steps per environment per rollout (default 32).
    pub n_steps: usize,
    /// Minibatch size (default 256).
    pub batch_size: usize,
    /// Passes over each rollout (default 20).
    pub n_epochs: usize,
    /// Discount (default 0.98).
    pub gamma: f64,
    /// GAE λ (default 0.8).
    pub gae_lambda: f64,
    /// Clip range at the start, annealed to 0 (default 0.2).
    pub clip_range: f64,
    /// Learning rate at the start, annealed to 0 (default 0.001).
    pub learning_rate: f64,
    /// Entropy bonus weight (default 0).
    pub ent_coef: f64,
    /// Value loss weight (default 0.5).
    pub vf_coef: f64,
    /// Global gradient norm limit (default 0.5).
    pub max_grad_norm: f64,
    /// Hidden layer widths of both networks (default [64, 64]).
    pub hidden: Vec<usize>,
    /// Seed of everything random.
    pub seed: u64,
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            total_steps: 100_000,
            n_steps: 32,
            batch_size: 256,
            n_epochs: 20,
            gamma: 0.98,
            gae_lambda: 0.8,
            clip_range: 0.2,
            learning_rate: 0.001,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            hidden: vec![64, 64],
            seed: 0,
        }
    }
}

impl PpoConfig {
    /// The settings the RL service trains trading policies with (8 environments of 256 steps
    /// per rollout, 10 epochs, γ 0.99, GAE 0.95, lr 3e-4, entropy 0.01), for `total_steps`.
    pub fn trading(total_steps: usize, seed: u64) -> Self {
        PpoConfig {
            total_steps,
            n_steps: 256,
            batch_size: 256,
            n_epochs: 10,
            gamma: 0.99,
            gae_lambda: 0.95,
            learning_rate: 3e-4,
            ent_coef: 0.01,
            seed,
            ..PpoConfig::default()
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(RlError::Config(m.into()));
        if self.n_steps == 0 || self.batch_size == 0 || self.n_epochs == 0 {
            return bad("n_steps, batch_size and n_epochs must be positive");
        }
        let positive = |x: f64| x > 0.0; // false for NaN
        let lambda_ok = (0.0..=1.0).contains(&self.gae_lambda);
        if !(positive(self.gamma) && self.gamma <= 1.0 && lambda_ok) {
            return bad("gamma must be in (0, 1] and gae_lambda in [0, 1]");
        }
        if !positive(self.learning_rate)
            || !positive(self.clip_range)
            || !positive(self.max_grad_norm)
        {
            return bad("learning_rate, clip_range and max_grad_norm must be positive");
        }
        Ok(())
    }
}

/// A discrete-action policy and its value function.
#[derive(Debug, Clone)]
pub struct ActorCritic {
    /// Observation → action logits.
    pub pi: Mlp,
    /// Observation → state value.
    pub vf: Mlp,
}

impl ActorCritic {
    /// Networks for `obs_dim` inputs and `n_actions` actions (head gains 0.01 and 1, as SB3).
    pub fn new(
        obs_dim: usize,
        n_actions: usize,
        hidden: &[usize],
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        let sizes = |out: usize| {
            let mut s = vec![obs_dim];
            s.extend_from_slice(hidden);
            s.push(out);
            s
        };
        Ok(ActorCritic {
            pi: Mlp::new(&sizes(n_actions), 0.01, rng)?,
            vf: Mlp::new(&sizes(1), 1.0, rng)?,
        })
    }

    /// Action probabilities for one observation (softmax of the logits).
    pub fn probabilities(&self, obs: &[f32]) -> Vec<f64> {
        softmax(&self.pi.forward_row(obs))
    }

    /// The most probable action (the deterministic rollout's choice; ties go to the lowest).
    pub fn greedy(&self, obs: &[f32]) -> usize {
        let p = self.pi.forward_row(obs);
        let mut best = 0;
        for (i, v) in p.iter().enumerate() {
            if *v > p[best] {
                best = i;
            }
        }
        best
    }

    /// The state value of one observation.
    pub fn value(&self, obs: &[f32]) -> f64 {
        f64::from(self.vf.forward_row(obs)[0])
    }
}

/// The softmax of `logits`, in f64.
pub(crate) fn softmax(logits: &[f32]) -> Vec<f64> {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = logits.iter().map(|l| f64::from(l - m).exp()).collect();
    let z: f64 = e.iter().sum();
    e.into_iter().map(|v| v / z).collect()
}

/// What a training run reports per rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Environment steps so far.
    pub steps: usize,
    /// Mean return of the episodes that ended during this rollout (NaN if none did; `null`
    /// in JSON).
    #[serde(with = "sextant_domain::floats::nan_as_null")]
    pub mean_return: f64,
    /// Episodes that ended during this rollout.
    pub episodes: usize,
}

/// Trains a PPO agent on `envs` (discrete actions); `on_progress` sees every rollout's figures
/// and may stop the run early by returning false.
///
/// Runs on two threads: the rollouts in two lanes of environments (`rollout`), the epochs with
/// the policy on this thread and the value function on a second one (`epochs`). Every action
/// stream, lane and network's arithmetic is fixed by the configuration, not the cores, so the
/// weights are the same bits on one core or many. The gradients are computed by `fused` (the
/// chain rule written out, checked against candle's autograd), not through an autograd graph.
pub fn train<E: Env>(
    envs: Vec<E>,
    cfg: &PpoConfig,
    on_progress: impl FnMut(&Progress) -> bool + Send,
) -> Result<(ActorCritic, Vec<Progress>)> {
    train_here(envs, cfg, on_progress)
}

fn train_here<E: Env>(
    envs: Vec<E>,
    cfg: &PpoConfig,
    mut on_progress: impl FnMut(&Progress) -> bool,
) -> Result<(ActorCritic, Vec<Progress>)> {
    cfg.validate()?;
    let first = envs
        .first()
        .ok_or_else(|| RlError::Config("no environment".into()))?;
    let n_actions = match first.action_space() {
        ActionSpace::Discrete(n) => n,
        other => {
            return Err(RlError::Config(format!(
                "PPO here takes discrete actions, not {other:?}"
            )))
        }
    };
    let obs_dim = first.obs_dim();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut ac = ActorCritic::new(obs_dim, n_actions, &cfg.hidden, &mut rng)?;
    let n_envs = envs.len();
    let mut lanes = Lanes::new(
        envs,
        cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        obs_dim,
        n_actions,
    )?;
    let mut pi = Learner::new(FlatMlp::from_mlp(&ac.pi));
    let mut vf = Learner::new(FlatMlp::from_mlp(&ac.vf));
    let rollout = cfg.n_steps * n_envs;
    // Whole rollouts only: never more steps than asked for.
    let updates = (cfg.total_steps / rollout).max(1);
    let mut history = Vec::new();
    let gae = Gae {
        gamma: cfg.gamma,
        lambda: cfg.gae_lambda,
    };

    for update in 0..updates {
        let frac = 1.0 - update as f64 / updates as f64;
        let lr = cfg.learning_rate * frac;
        let weights = LossWeights {
            clip: cfg.clip_range * frac,
            vf_coef: cfg.vf_coef,
            ent_coef: cfg.ent_coef,
        };
        // 1–2. Rollout, values, GAE.
        let c = lanes.collect(&pi.net, &vf.net, &mut rng, cfg.n_steps, gae)?;
        let finished = &c.finished;

        // 3. Minibatch epochs: every epoch's order drawn first, then the policy and the value
        // function trained side by side.
        let mut order: Vec<u32> = (0..rollout as u32).collect();
        let orders: Vec<Vec<u32>> = (0..cfg.n_epochs)
            .map(|_| {
                order.shuffle(&mut rng);
                order.clone()
            })
            .collect();
        let plan = Plan {
            obs_dim,
            orders: &orders,
            batch_size: cfg.batch_size,
            lr,
            weights,
            max_grad_norm: cfg.max_grad_norm,
        };
        epochs::run(&mut pi, &mut vf, &c, &plan)?;
        pi.net.store_into(&mut ac.pi)?;
        vf.net.store_into(&mut ac.vf)?;
        let p = Progress {
            steps: (update + 1) * rollout,
            mean_return: if finished.is_empty() {
                f64::NAN
            } else {
                finished.iter().sum::<f64>() / finished.len() as f64
            },
            episodes: finished.len(),
        };
        let go_on = on_progress(&p);
        history.push(p);
        if !go_on {
            break;
        }
    }
    Ok((ac, history))
}

/// Mean undiscounted return of `episodes` greedy episodes of `env` (seeds `seed`, `seed + 1`, …).
pub fn evaluate<E: Env>(env: &mut E, ac: &ActorCritic, episodes: usize, seed: u64) -> Result<f64> {
    crate::env::mean_return(env, |o| ac.greedy(o), episodes, seed)
}

#[cfg(test)]
mod progress_tests {
    use super::Progress;

    #[test]
    fn a_rollout_without_a_finished_episode_reads_back() {
        let p = Progress {
            steps: 2048,
            mean_return: f64::NAN,
            episodes: 0,
        };
        let text = serde_json::to_string(&p).expect("write");
        assert!(text.contains("\"mean_return\":null"), "{text}");
        let back: Progress = serde_json::from_str(&text).expect("a stored curve reads back");
        assert!(back.mean_return.is_nan());
    }
}
